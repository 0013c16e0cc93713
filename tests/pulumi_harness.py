"""Runs a Pulumi program (the stack's, or any other) under Pulumi's mocks and records every registration."""

from __future__ import annotations

import json
import runpy
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime.sync_await import _ensure_event_loop

from mailflow.guard import GUARD_NAME

ROOT = Path(__file__).resolve().parent.parent
STACK = "<stack>"
ROOT_STACK_TYPE = "pulumi:pulumi:Stack"


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
    provider: str
    """The explicit provider reference (``URN::ID``), empty for the default provider."""
    aliases: list[str]
    """The URN each alias names, sent as a URN or as a former parent (aliases that keep the
    current parent, such as a provider SDK's type aliases, are left out)."""
    stack: list[tuple[str, int]]
    """The stack trace the engine would keep in state: (file URI, line), innermost first."""


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

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        """The URN the engine gives: the parent's whole type chain in front of the type, except
        for the root stack's children. (Pulumi's mock keeps only the parent's last type and the
        stack's, so aliases computed from a real URN would not match it.)"""
        parent_types = parent.split("::")[2] if parent else ROOT_STACK_TYPE
        qualified = type_ if parent_types == ROOT_STACK_TYPE else f"{parent_types}${type_}"
        return f"urn:pulumi:{pulumi.get_stack()}::{pulumi.get_project()}::{qualified}::{name}"

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
                    provider=request.provider,
                    aliases=[
                        a.urn or self.make_urn(a.spec.parentUrn, request.type, a.spec.name or request.name)
                        for a in request.aliases
                        if a.urn or a.spec.noParent or a.spec.parentUrn
                    ],
                    stack=[(frame.pc.uri, frame.pc.line) for frame in request.stackTrace.frames],
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


def run_mocked(
    body: Callable[[], Any],
    config: dict[str, str] | None = None,
    secret_keys: list[str] | None = None,
    project: str = "mailflow",
) -> tuple[list[Registration], dict[str, Any], list[tuple[str, dict[str, Any]]]]:
    """Run ``body`` as a Pulumi program under mocks: every registration, what ``body`` returned
    (its Outputs resolved) and every provider function call."""
    mocks = RecordingMocks()
    monitor = RecordingMonitor(mocks)
    # A new root stack resource, of this project (made at once, so it needs an event loop).
    _ensure_event_loop()
    pulumi.runtime.reset_options()
    pulumi.runtime.set_mocks(mocks, project=project, stack="test", preview=False, monitor=monitor)
    pulumi.runtime.set_all_config(config or {}, secret_keys or [])
    captured: dict[str, Any] = {}

    @pulumi.runtime.test
    def program() -> Any:
        return pulumi.Output.from_input(body() or {}).apply(captured.update)

    program()
    return monitor.registrations, captured, mocks.calls


def run_program(
    values: dict[str, Any],
    extra_config: dict[str, str] | None = None,
    secret_keys: list[str] | None = None,
    as_main: bool = False,
) -> ProgramRun:
    """Run ``mailflow.program.run`` with ``mailflow:*`` config ``values`` under mocks; with
    ``as_main``, the project's ``__main__.py``, as Pulumi runs it, instead."""
    from mailflow.program import run

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
    body = partial(runpy.run_path, str(ROOT / "__main__.py"), run_name="__main__") if as_main else run
    registrations, outputs, calls = run_mocked(body, config, secret_keys)
    (guard,) = [r for r in registrations if r.name == GUARD_NAME]
    others = [r for r in registrations if r is not guard]
    return ProgramRun(others, outputs, calls, guard)
