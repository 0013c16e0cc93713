"""Runs the Pulumi program under Pulumi's mocks and records every registration."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime.sync_await import _sync_await

from mailflow.guard import GUARD_NAME

STACK = "<stack>"


@dataclass
class Registration:
    type: str
    name: str
    urn: str
    parent: str
    custom: bool
    protect: bool
    import_id: str
    inputs: dict[str, Any]
    dependencies: list[str]
    aliases: list[str]
    """The former parent each alias names: a URN, or ``STACK`` for the top of the stack (aliases
    that keep the current parent, such as a provider SDK's type aliases, are left out)."""


@dataclass
class RecordingMocks(pulumi.runtime.Mocks):
    """Answers registrations with their inputs and the Cloudflare zone lookup with a fake ID."""

    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        self.calls.append((args.token, dict(args.args)))
        if args.token == "cloudflare:index/getZone:getZone":
            name = args.args["filter"]["name"]
            return {"id": f"zone-of-{name}", "zoneId": f"zone-of-{name}", "name": name}
        return {}


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """Keeps what the engine would see: URN, parent, protect and import ID of each resource."""

    def __init__(self, mocks: RecordingMocks) -> None:
        super().__init__(mocks)
        self.registrations: list[Registration] = []

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            self.registrations.append(
                Registration(
                    type=request.type,
                    name=request.name,
                    urn=response.urn,
                    parent=request.parent,
                    custom=request.custom,
                    protect=request.protect,
                    import_id=request.importId,
                    inputs=pulumi.runtime.rpc.deserialize_properties(request.object),
                    dependencies=list(request.dependencies),
                    aliases=[
                        STACK if a.spec.noParent else a.spec.parentUrn
                        for a in request.aliases
                        if a.spec.noParent or a.spec.parentUrn
                    ],
                )
            )
        return response


@dataclass
class ProgramRun:
    registrations: list[Registration]
    """Every resource but the destructive-change guard, which is ``guard``."""
    outputs: dict[str, Any]
    calls: list[tuple[str, dict[str, Any]]]
    guard: Registration

    def of_type(self, type_token: str) -> list[Registration]:
        return [r for r in self.registrations if r.type == type_token]

    def named(self, name: str) -> Registration:
        (match,) = [r for r in self.registrations if r.name == name]
        return match

    def by_urn(self, urn: str) -> Registration:
        (match,) = [r for r in self.registrations if r.urn == urn]
        return match


def run_program(
    values: dict[str, Any], extra_config: dict[str, str] | None = None, secret_keys: list[str] | None = None
) -> ProgramRun:
    """Run ``mailflow.program.run`` with ``mailflow:*`` config ``values`` under mocks."""
    from mailflow.program import run

    mocks = RecordingMocks()
    monitor = RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project="mailflow", stack="test", preview=False, monitor=monitor)
    # A read tenant file is not config: the program reads it again from ``tenantFile``.
    config = {
        # As Pulumi hands config over: objects as compact JSON with sorted keys.
        f"mailflow:{key}": value
        if isinstance(value, str)
        else json.dumps(value, sort_keys=True, separators=(",", ":"))
        for key, value in values.items()
        if key != "tenant"
    }
    config.update(extra_config or {})
    pulumi.runtime.set_all_config(config, secret_keys or [])
    captured: dict[str, Any] = {}

    @pulumi.runtime.test
    def program() -> Any:
        outputs = run()
        return pulumi.Output.from_input(outputs).apply(captured.update)

    program()
    (guard,) = [r for r in monitor.registrations if r.name == GUARD_NAME]
    others = [r for r in monitor.registrations if r is not guard]
    return ProgramRun(others, captured, mocks.calls, guard)


def resolve(value: Any) -> Any:
    """The plain value behind an Output (for assertions on component attributes)."""
    return _sync_await(pulumi.Output.from_input(value).future())
