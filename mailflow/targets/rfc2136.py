"""RFC 2136 servers (BIND, Knot, PowerDNS, Windows DNS): one record set per name and type, kept
by signed dynamic updates from a Pulumi dynamic provider, with ``read`` for drift. The TSIG
secret is the Pulumi secret ``mailflow:tsigSecret``: encrypted in state, never an output."""

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

from mailflow.config import Rfc2136Target as Rfc2136Settings
from mailflow.config import StackSettings
from mailflow.dnsupdate import (
    RecordSetState,
    UpdateServer,
    delete_record_set,
    read_record_set,
    write_record_set,
)
from mailflow.names import fqdn
from mailflow.plan import DomainPlan
from mailflow.targets import RecordGroup, per_record_set

SECRET_KEY = "tsigSecret"
SERVER_INPUTS = ("server", "port", "zone", "keyName", "keyAlgorithm")
RECORD_INPUTS = ("name", "type")


def _server(props: dict[str, Any]) -> UpdateServer:
    return UpdateServer(
        address=props["server"],
        port=int(props["port"]),
        zone=props["zone"],
        key_name=props["keyName"],
        key_algorithm=props["keyAlgorithm"],
        secret=props[SECRET_KEY],
        timeout=float(props["timeout"]),
    )


def _state(props: dict[str, Any]) -> RecordSetState:
    return RecordSetState(int(props["ttl"]), tuple(sorted(props["values"])))


class RecordSetProvider(ResourceProvider):
    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures = [
            CheckFailure(key, "is required")
            for key in (*SERVER_INPUTS, *RECORD_INPUTS, SECRET_KEY)
            if not news.get(key)
        ]
        return CheckResult(news, failures)

    def create(self, props: dict[str, Any]) -> CreateResult:
        write_record_set(
            _server(props), props["name"], props["type"], int(props["ttl"]), props["values"], None
        )
        return CreateResult(id_=f"{props['name']}/{props['type']}", outs=props)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = [key for key in (*SERVER_INPUTS, *RECORD_INPUTS) if olds.get(key) != news.get(key)]
        changed = replaces or [
            key for key in ("ttl", "values", SECRET_KEY, "timeout") if olds.get(key) != news.get(key)
        ]
        return DiffResult(changes=bool(changed), replaces=replaces, delete_before_replace=True)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        if olds.get("values") != news.get("values") or olds.get("ttl") != news.get("ttl"):
            write_record_set(
                _server(news), news["name"], news["type"], int(news["ttl"]), news["values"], _state(olds)
            )
        return UpdateResult(outs=news)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        delete_record_set(_server(props), props["name"], props["type"], _state(props))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        current = read_record_set(_server(props), props["name"], props["type"])
        if current is None:
            return ReadResult(None, {})
        return ReadResult(id_, {**props, "ttl": current.ttl, "values": list(current.values)})


class DnsRecordSet(Resource):
    """A record set on an RFC 2136 server."""

    def __init__(self, name: str, props: dict[str, Any], opts: pulumi.ResourceOptions) -> None:
        secret_outputs = pulumi.ResourceOptions(additional_secret_outputs=[SECRET_KEY])
        super().__init__(RecordSetProvider(), name, props, pulumi.ResourceOptions.merge(opts, secret_outputs))


class Rfc2136Target:
    def __init__(self, settings: Rfc2136Settings, secret: pulumi.Input[str]) -> None:
        self.settings = settings
        self.secret = secret

    def groups(self, domain: DomainPlan) -> list[RecordGroup]:
        return per_record_set(domain)

    def placement(self, domain: DomainPlan) -> str:
        return f"zone {fqdn(self.settings.zone or domain.domain)}"

    def props(self, domain: DomainPlan, group: RecordGroup) -> dict[str, Any]:
        first = group.records[0]
        settings = self.settings
        return {
            "server": settings.server,
            "port": settings.port,
            "zone": fqdn(settings.zone or domain.domain),
            "keyName": fqdn(settings.key_name),
            "keyAlgorithm": settings.key_algorithm,
            "timeout": settings.timeout,
            SECRET_KEY: self.secret,
            "name": first.name,
            "type": first.type,
            "ttl": first.ttl,
            "values": sorted(record.value for record in group.records),
        }

    def register(self, domain: DomainPlan, group: RecordGroup, opts: pulumi.ResourceOptions) -> None:
        DnsRecordSet(group.name, self.props(domain, group), opts)


def make_target(settings: StackSettings) -> Rfc2136Target:
    assert isinstance(settings.target, Rfc2136Settings)
    secret = pulumi.Config("mailflow").require_secret(SECRET_KEY)
    return Rfc2136Target(settings.target, secret)
