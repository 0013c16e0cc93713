"""Zone files: one file per domain, written by a Pulumi dynamic provider (create, update, delete,
and read for drift), complete with SOA and NS so that ``named-checkzone`` and BIND load it."""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.SOA
import dns.zone
import pulumi
from pulumi.dynamic import (
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)

from mailflow.config import StackSettings
from mailflow.config import ZoneFileTarget as ZoneFileSettings
from mailflow.names import fqdn
from mailflow.plan import DomainPlan
from mailflow.targets import RecordGroup

INPUTS = ("path", "origin", "records", "nameservers", "hostmaster", "ttl")
# SOA timers: refresh, retry, expire, negative-caching TTL (RFC 1912 §2.2 ranges).
SOA_TIMERS = (7200, 3600, 1209600, 300)


def canonical(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Records in one order for inputs and for what ``read`` finds in the file."""
    return sorted(records, key=lambda r: (r["name"], r["type"], r["value"]))


def initial_serial(now: datetime | None = None) -> int:
    return int((now or datetime.now(UTC)).strftime("%Y%m%d")) * 100 + 1


def next_serial(previous: int | None, now: datetime | None = None) -> int:
    """RFC 1982 needs the serial to grow on every change: today's ``YYYYMMDDnn`` or previous + 1."""
    return max(initial_serial(now), int(previous or 0) + 1)


def render(props: dict[str, Any], serial: int) -> str:
    """The whole zone file, written by dnspython's zone writer. (Numbers arrive from the engine
    as floats, hence the ``int()``s.)"""
    origin = dns.name.from_text(props["origin"])
    zone = dns.zone.Zone(origin)
    rdclass = dns.rdataclass.IN
    nameservers = [dns.name.from_text(ns) for ns in props["nameservers"]]
    soa = f"{nameservers[0]} {props['hostmaster']} {serial} {' '.join(map(str, SOA_TIMERS))}"
    apex = zone.find_node(origin, create=True)
    apex.find_rdataset(rdclass, dns.rdatatype.SOA, create=True).add(
        dns.rdata.from_text(rdclass, dns.rdatatype.SOA, soa), int(props["ttl"])
    )
    ns_set = apex.find_rdataset(rdclass, dns.rdatatype.NS, create=True)
    for ns in nameservers:
        ns_set.add(dns.rdata.from_text(rdclass, dns.rdatatype.NS, ns.to_text()), int(props["ttl"]))
    for record in props["records"]:
        rdtype = dns.rdatatype.from_text(record["type"])
        node = zone.find_node(dns.name.from_text(record["name"]), create=True)
        node.find_rdataset(rdclass, rdtype, create=True).add(
            dns.rdata.from_text(rdclass, rdtype, record["value"], origin=origin), int(record["ttl"])
        )
    header = f"; {props['origin']} zone, managed by mailflow: edits are overwritten by the next run\n"
    return header + zone.to_text(relativize=True, want_origin=True)


def write_atomically(path: Path, text: str) -> None:
    """Readers (BIND, a half-finished run) see the old file or the new one, never a torn one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read_records(path: Path, origin: str) -> tuple[list[dict[str, Any]], int | None]:
    """The records in a zone file besides SOA and apex NS, and its serial."""
    zone = dns.zone.from_file(str(path), origin, relativize=False)
    records: list[dict[str, Any]] = []
    serial = None
    apex = dns.name.from_text(origin)
    for name, ttl, rdata in zone.iterate_rdatas():
        if isinstance(rdata, dns.rdtypes.ANY.SOA.SOA):
            serial = rdata.serial
            continue
        if rdata.rdtype == dns.rdatatype.NS and name == apex:
            continue
        records.append(
            {
                "name": name.to_text(),
                "type": dns.rdatatype.to_text(rdata.rdtype),
                "ttl": ttl,
                "value": rdata.to_text(),
            }
        )
    return canonical(records), serial


class ZoneFileProvider(ResourceProvider):
    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures = []
        if not str(news.get("path", "")).startswith("/"):
            failures.append(pulumi.dynamic.CheckFailure("path", "must be an absolute path"))
        return CheckResult(news, failures)

    def create(self, props: dict[str, Any]) -> CreateResult:
        serial = initial_serial()
        write_atomically(Path(props["path"]), render(props, serial))
        return CreateResult(id_=props["path"], outs={**props, "serial": serial})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [key for key in INPUTS if olds.get(key) != news.get(key)]
        replaces = ["path"] if "path" in changed else []
        return DiffResult(changes=bool(changed), replaces=replaces, delete_before_replace=False)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        serial = next_serial(olds.get("serial"))
        write_atomically(Path(news["path"]), render(news, serial))
        return UpdateResult(outs={**news, "serial": serial})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        Path(props["path"]).unlink(missing_ok=True)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        path = Path(props["path"])
        if not path.exists():
            return ReadResult(None, {})
        try:
            records, serial = read_records(path, props["origin"])
        except dns.exception.DNSException:
            # An unreadable file is drift like any other: the next update rewrites it.
            return ReadResult(id_, {**props, "records": [], "serial": None})
        return ReadResult(id_, {**props, "records": records, "serial": serial})


class ZoneFile(Resource):
    """A zone file on disk holding a domain's records."""

    serial: pulumi.Output[int]

    def __init__(self, name: str, props: dict[str, Any], opts: pulumi.ResourceOptions) -> None:
        super().__init__(ZoneFileProvider(), name, {**props, "serial": None}, opts)


class ZoneFileTarget:
    def __init__(self, settings: ZoneFileSettings) -> None:
        self.settings = settings
        self.directory = Path(settings.directory).resolve()

    def groups(self, domain: DomainPlan) -> list[RecordGroup]:
        return [RecordGroup(f"{domain.domain}/zone", domain.records)]

    def props(self, domain: DomainPlan) -> dict[str, Any]:
        records = [{"name": r.name, "type": r.type, "ttl": r.ttl, "value": r.value} for r in domain.records]
        return {
            "path": str(self.directory / f"{domain.domain}.zone"),
            "origin": fqdn(domain.domain),
            "records": canonical(records),
            "nameservers": [fqdn(ns) for ns in self.settings.nameservers],
            "hostmaster": fqdn(self.settings.hostmaster or f"hostmaster.{domain.domain}"),
            "ttl": domain.config.ttl,
        }

    def register(self, domain: DomainPlan, group: RecordGroup, opts: pulumi.ResourceOptions) -> None:
        ZoneFile(group.name, self.props(domain), opts)


def make_target(settings: StackSettings) -> ZoneFileTarget:
    assert isinstance(settings.target, ZoneFileSettings)
    return ZoneFileTarget(settings.target)
