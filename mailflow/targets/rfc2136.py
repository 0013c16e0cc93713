"""RFC 2136 servers (BIND, Knot, PowerDNS, Windows DNS): one record set per name and type, kept
by signed dynamic updates from a Pulumi dynamic provider, with ``read`` for drift. The TSIG
secret comes from the program (the stack's is the Pulumi secret ``mailflow:tsigSecret``):
encrypted in state, never an output.

Connection settings change in place: a new key is tried before it is relied on, and a record set
that moves to another server or zone is written there and read back before the old one goes."""

from __future__ import annotations

from functools import partial
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
    owners,
    read_record_set,
    release_marker,
    verify_key,
    write_record_set,
)
from mailflow.groups import RecordGroup
from mailflow.names import fqdn
from mailflow.plan import DomainPlan
from mailflow.settings import TSIG_SECRET, Rfc2136Settings, StackSettings
from mailflow.targets import Pending, TargetInputs, stack_owner

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
        if _changed(olds, news, PLACE_INPUTS) and not same_record_set(olds, news, expected):
            return UpdateResult(outs={**news, "adopted": _move(olds, news, expected)})
        outs = {**news, "adopted": olds.get("adopted")}
        if olds.get("owner") != news["owner"]:
            _check_owner_change(server, name, rtype, olds["owner"], news["owner"])
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

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        """Delete a record set this stack created; one it adopted stays, without its marker; one
        that only other stacks' markers name is theirs now, and stays as it is."""
        server, name, rtype = _server(props), props["name"], props["type"]
        marked = owners(server, name, rtype)
        if marked and props["owner"] not in marked:
            return
        if props.get("adopted"):
            release_marker(server, name, rtype, props["owner"])
            return
        delete_record_set(server, name, rtype, _state(props), props["owner"])

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        current = read_record_set(_server(props), props["name"], props["type"])
        if current is None:
            return ReadResult(None, {})
        return ReadResult(id_, {**props, "ttl": current.ttl, "values": list(current.values)})


def same_record_set(olds: dict[str, Any], news: dict[str, Any], expected: RecordSetState) -> bool:
    """Whether another server, port or zone is the same zone reached another way: it holds what
    mailflow last wrote under this stack's marker. Equal values alone could be another stack's
    record set, which this stack would then take and, on removal, delete."""
    server, name, rtype = _server(news), news["name"], news["type"]
    there = read_record_set(server, name, rtype)
    if there is None or there.values != expected.values:
        return False
    return bool({olds["owner"], news["owner"]} & set(owners(server, name, rtype)))


def _move(olds: dict[str, Any], news: dict[str, Any], expected: RecordSetState) -> dict[str, Any] | None:
    """Write the record set at the new place (refused there, as a create is, if it holds one this
    stack does not own and the domain does not adopt), read it back, and only then remove it at the
    old place: deleted, or, adopted there, left without the marker. Return what was adopted at the
    new place, for state."""
    server, name, rtype = _server(news), news["name"], news["type"]
    existing, adopted = claim_record_set(server, name, rtype, news["owner"], bool(news.get("adopt")))
    write_record_set(server, name, rtype, int(news["ttl"]), news["values"], existing, news["owner"])
    written = read_record_set(server, name, rtype)
    if written is None or written.ttl != int(news["ttl"]):
        raise UpdateFailed(
            f"moving to {server.describe(name, rtype)}: it does not answer with the new record set"
        )
    if olds.get("adopted"):
        release_marker(_server(olds), name, rtype, olds["owner"])
    else:
        delete_record_set(_server(olds), name, rtype, expected, olds["owner"])
    if adopted and existing is not None:
        return {"ttl": existing.ttl, "values": list(existing.values)}
    return None


def _check_owner_change(server: UpdateServer, name: str, rtype: str, old: str, new: str) -> None:
    """A changed owner id (``mailflow:ownerId``) takes over only a record set that carries this
    stack's marker under the old id (or the new one: a run cut off after the change); the update
    that follows swaps the markers in one message."""
    marked = owners(server, name, rtype)
    if old in marked or new in marked:
        return
    found = f"the marker of {', '.join(marked)}" if marked else "no mailflow marker"
    raise UpdateFailed(
        f"changing the owner id of {server.describe(name, rtype)} from {old} to {new}: it carries "
        f"{found}, not {old}'s, so it is left as it is: set mailflow:ownerId back, or remove the "
        "record set from this stack"
    )


class DnsRecordSet(Resource):
    """A record set on an RFC 2136 server."""

    def __init__(self, name: str, props: dict[str, Any], opts: pulumi.ResourceOptions) -> None:
        secret_outputs = pulumi.ResourceOptions(additional_secret_outputs=[TSIG_SECRET])
        props = {**props, "adopted": None}
        super().__init__(RecordSetProvider(), name, props, pulumi.ResourceOptions.merge(opts, secret_outputs))


class Rfc2136Target:
    resource_type = "pulumi-python:dynamic:Resource"

    def __init__(
        self, settings: Rfc2136Settings, secret: pulumi.Input[str], owner_id: str | None = None
    ) -> None:
        self.settings = settings
        self.owner_id = owner_id
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
            "owner": stack_owner(self.owner_id),
            "adopt": domain.place.adopt,
        }

    def pending(self, domain: DomainPlan, group: RecordGroup, opts: pulumi.ResourceOptions) -> Pending:
        return partial(DnsRecordSet, group.name, self.props(domain, group), opts)


def make_target(settings: StackSettings, inputs: TargetInputs) -> Rfc2136Target:
    assert isinstance(settings.target, Rfc2136Settings)
    assert inputs.tsig_secret is not None, "the gate refuses an rfc2136 target without its secret"
    return Rfc2136Target(settings.target, inputs.tsig_secret, settings.owner_id)
