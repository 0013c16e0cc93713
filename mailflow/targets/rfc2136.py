"""RFC 2136 servers (BIND, Knot, PowerDNS, Windows DNS): one record set per name and type, kept
by signed dynamic updates from a Pulumi dynamic provider, with ``read`` for drift. The TSIG
secret comes from the program (the stack's is the Pulumi secret ``mailflow:tsigSecret``):
encrypted in state, never an output.

Connection settings change in place: a new key is tried before it is relied on, and a record set
that moves to another server or zone is written there and read back before the old one goes."""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)

from mailflow.dnsupdate import (
    RecordSetState,
    UpdateFailed,
    UpdateServer,
    claim_record_set,
    delete_record_set,
    read_record_set,
    release_marker,
    verify_key,
    write_record_set,
)
from mailflow.groups import RecordGroup
from mailflow.names import fqdn
from mailflow.plan import DomainPlan
from mailflow.settings import TSIG_SECRET, Rfc2136Settings, StackSettings
from mailflow.targets import TargetInputs, stack_owner

PLACE_INPUTS = ("server", "port", "zone")
KEY_INPUTS = ("keyName", "keyAlgorithm", TSIG_SECRET)
RECORD_INPUTS = ("name", "type")
CONTENT_INPUTS = ("ttl", "values", "owner")


def _server(props: dict[str, Any]) -> UpdateServer:
    return UpdateServer(
        address=props["server"],
        port=int(props["port"]),
        zone=props["zone"],
        key_name=props["keyName"],
        key_algorithm=props["keyAlgorithm"],
        secret=props[TSIG_SECRET],
        timeout=float(props["timeout"]),
    )


def _state(props: dict[str, Any]) -> RecordSetState:
    return RecordSetState(int(props["ttl"]), tuple(sorted(props["values"])))


def _changed(olds: dict[str, Any], news: dict[str, Any], keys: tuple[str, ...]) -> bool:
    return any(olds.get(key) != news.get(key) for key in keys)


class RecordSetProvider(ResourceProvider):
    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures = [
            CheckFailure(key, "is required")
            for key in (*PLACE_INPUTS, *KEY_INPUTS, *RECORD_INPUTS, "owner")
            if not news.get(key)
        ]
        return CheckResult(news, failures)

    def create(self, props: dict[str, Any]) -> CreateResult:
        server, name, rtype = _server(props), props["name"], props["type"]
        existing, adopted = claim_record_set(server, name, rtype, props["owner"], bool(props.get("adopt")))
        write_record_set(server, name, rtype, int(props["ttl"]), props["values"], existing, props["owner"])
        outs = {**props, "adopted": None}
        if adopted and existing is not None:
            outs["adopted"] = {"ttl": existing.ttl, "values": list(existing.values)}
        return CreateResult(id_=f"{name}/{rtype}", outs=outs)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = [key for key in RECORD_INPUTS if olds.get(key) != news.get(key)]
        keys = (*PLACE_INPUTS, *KEY_INPUTS, *CONTENT_INPUTS, "timeout")
        return DiffResult(changes=bool(replaces) or _changed(olds, news, keys), replaces=replaces)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        server, name, rtype = _server(news), news["name"], news["type"]
        expected = _state(olds)
        outs = {**news, "adopted": olds.get("adopted")}
        if _changed(olds, news, PLACE_INPUTS) and self._move(olds, news, expected):
            return UpdateResult(outs=outs)
        if _changed(olds, news, CONTENT_INPUTS):
            write_record_set(
                server,
                name,
                rtype,
                int(news["ttl"]),
                news["values"],
                expected,
                news["owner"],
                olds.get("owner"),
            )
        elif _changed(olds, news, KEY_INPUTS):
            verify_key(server, name, rtype, expected)
        return UpdateResult(outs=outs)

    @staticmethod
    def _move(olds: dict[str, Any], news: dict[str, Any], expected: RecordSetState) -> bool:
        """Another server, port or zone. When it already holds what mailflow last wrote, it is the
        same zone reached another way: not a move (False). Otherwise write the record set there,
        read it back, and only then delete it at the old place (True)."""
        server, name, rtype = _server(news), news["name"], news["type"]
        there = read_record_set(server, name, rtype)
        if there is not None and there.values == expected.values:
            return False
        existing, _ = claim_record_set(server, name, rtype, news["owner"], adopt=False)
        write_record_set(server, name, rtype, int(news["ttl"]), news["values"], existing, news["owner"])
        written = read_record_set(server, name, rtype)
        if written is None or written.ttl != int(news["ttl"]):
            raise UpdateFailed(
                f"moving to {server.describe(name, rtype)}: it does not answer with the new record set"
            )
        delete_record_set(_server(olds), name, rtype, expected, olds["owner"])
        return True

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        """Delete a record set this stack created; one it adopted stays, without its marker."""
        server, name, rtype = _server(props), props["name"], props["type"]
        if props.get("adopted"):
            release_marker(server, name, rtype, props["owner"])
            return
        delete_record_set(server, name, rtype, _state(props), props["owner"])

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        current = read_record_set(_server(props), props["name"], props["type"])
        if current is None:
            return ReadResult(None, {})
        return ReadResult(id_, {**props, "ttl": current.ttl, "values": list(current.values)})


class DnsRecordSet(Resource):
    """A record set on an RFC 2136 server."""

    def __init__(self, name: str, props: dict[str, Any], opts: pulumi.ResourceOptions) -> None:
        secret_outputs = pulumi.ResourceOptions(additional_secret_outputs=[TSIG_SECRET])
        props = {**props, "adopted": None}
        super().__init__(RecordSetProvider(), name, props, pulumi.ResourceOptions.merge(opts, secret_outputs))


class Rfc2136Target:
    resource_type = "pulumi-python:dynamic:Resource"

    def __init__(self, settings: Rfc2136Settings, secret: pulumi.Input[str]) -> None:
        self.settings = settings
        # Secret in state and in every log, however the program holds it.
        self.secret = pulumi.Output.secret(secret)

    def placement(self, domain: DomainPlan) -> str:
        # A move to another server or zone writes there and reads back before deleting here, so
        # it is no deletion for the guard; the record sets stay where the stack's DNS is.
        return "rfc2136"

    def props(self, domain: DomainPlan, group: RecordGroup) -> dict[str, Any]:
        first = group.records[0]
        settings = self.settings
        return {
            "server": settings.server,
            "port": settings.port,
            "zone": fqdn(domain.place.zone),
            "keyName": fqdn(settings.key_name),
            "keyAlgorithm": settings.key_algorithm,
            "timeout": settings.timeout,
            TSIG_SECRET: self.secret,
            "name": first.name,
            "type": first.type,
            "ttl": first.ttl,
            "values": sorted(record.value for record in group.records),
            "owner": stack_owner(),
            "adopt": domain.place.adopt,
        }

    def register(self, domain: DomainPlan, group: RecordGroup, opts: pulumi.ResourceOptions) -> None:
        DnsRecordSet(group.name, self.props(domain, group), opts)


def make_target(settings: StackSettings, inputs: TargetInputs) -> Rfc2136Target:
    assert isinstance(settings.target, Rfc2136Settings)
    assert inputs.tsig_secret is not None, "the gate refuses an rfc2136 target without its secret"
    return Rfc2136Target(settings.target, inputs.tsig_secret)
