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

from mailflow.groups import RecordGroup
from mailflow.guard import same_place
from mailflow.names import fqdn
from mailflow.plan import DomainPlan
from mailflow.settings import StackSettings, ZoneFileSettings
from mailflow.targets import TargetInputs, stack_owner

INPUTS = ("path", "origin", "records", "nameservers", "hostmaster", "ttl", "owner")
# SOA timers: refresh, retry, expire, negative-caching TTL (RFC 1912 §2.2 ranges).
SOA_TIMERS = (7200, 3600, 1209600, 300)
SERIAL_BITS = 32
MARKER = "; managed by mailflow, stack "
"""The first line of every file mailflow writes names the stack that owns it."""


class NotOwned(Exception):
    """A zone file exists that this stack did not write; the message says whose it is and what to do."""


def canonical(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Records in one order for inputs and for what ``read`` finds in the file."""
    return sorted(records, key=lambda r: (r["name"], r["type"], r["value"]))


def initial_serial(now: datetime | None = None) -> int:
    return int((now or datetime.now(UTC)).strftime("%Y%m%d")) * 100 + 1


def serial_after(serial: int, other: int) -> bool:
    """``serial`` comes after ``other`` in RFC 1982 serial number arithmetic (32 bits)."""
    half = 1 << (SERIAL_BITS - 1)
    return serial != other and ((serial - other) % (1 << SERIAL_BITS)) < half


def next_serial(previous: int | None, on_disk: int | None = None, now: datetime | None = None) -> int:
    """A serial after the one the file on disk holds, which is what secondaries compare with (and
    what a run cut off before state was saved left there); without a file, after the one mailflow
    last wrote. Today's ``YYYYMMDDnn`` when that comes after it, else it plus one, modulo 2^32."""
    base = on_disk if on_disk is not None else previous
    if base is None:
        return initial_serial(now)
    today = initial_serial(now)
    return today if serial_after(today, int(base)) else (int(base) + 1) % (1 << SERIAL_BITS)


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
    header = f"{MARKER}{props['owner']}\n; {props['origin']} zone: edits are overwritten by the next run\n"
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


def file_owner(path: Path) -> str | None:
    """The stack named by a zone file's mailflow marker; None when it has none (or no file)."""
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            first = handle.readline().rstrip("\n")
    except FileNotFoundError:
        return None
    return first.removeprefix(MARKER) if first.startswith(MARKER) else None


def _disk(path: Path, origin: str) -> tuple[list[dict[str, Any]] | None, int | None]:
    """The records and serial of the file on disk; (None, None) when there is none or it is unreadable."""
    try:
        return read_records(path, origin)
    except (OSError, dns.exception.DNSException):
        return None, None


def _claim(path: Path, props: dict[str, Any]) -> dict[str, Any] | None:
    """Check that this stack may write ``path``: it is absent, or this stack wrote it, or the domain
    adopts it. Return what an adopted file held, for state; raise ``NotOwned`` otherwise."""
    if not path.exists():
        return None
    owner = file_owner(path)
    if owner == props["owner"]:
        return None
    if owner is not None:
        raise NotOwned(
            f"{path} is written by mailflow stack {owner}; a zone file has one owner, so this stack "
            f"({props['owner']}) leaves it alone: remove the domain from one of the two stacks"
        )
    if not props.get("adopt"):
        raise NotOwned(
            f"{path} exists and mailflow did not write it: writing it would lose its records. Move it "
            "away, or set adopt: true on the domain to take it over (its records are kept in state)"
        )
    records, serial = _disk(path, props["origin"])
    return {"records": records or [], "serial": serial}


def _write(path: Path, props: dict[str, Any], previous: int | None) -> int:
    """Write the file unless it already holds the planned records; return its serial. The serial
    follows both state and disk, so no two contents ever share one."""
    records, on_disk = _disk(path, props["origin"])
    if records == props["records"] and on_disk is not None and file_owner(path) == props["owner"]:
        return on_disk
    serial = next_serial(previous, on_disk)
    write_atomically(path, render(props, serial))
    return serial


class ZoneFileProvider(ResourceProvider):
    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures = []
        if not str(news.get("path", "")).endswith(".zone"):
            failures.append(pulumi.dynamic.CheckFailure("path", "must name a .zone file"))
        return CheckResult(news, failures)

    def create(self, props: dict[str, Any]) -> CreateResult:
        path = Path(props["path"])
        adopted = _claim(path, props)
        serial = _write(path, props, None)
        outs = {**props, "serial": serial}
        if adopted is not None:
            outs["adopted"] = adopted
        return CreateResult(id_=props["path"], outs=outs)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [key for key in INPUTS if olds.get(key) != news.get(key)]
        if "path" in changed and same_place(str(olds.get("path")), str(news["path"])):
            changed.remove("path")  # the file of an older state, which spelled it absolute
        replaces = ["path"] if "path" in changed else []
        return DiffResult(changes=bool(changed), replaces=replaces, delete_before_replace=False)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        path = Path(news["path"])
        owner = file_owner(path)
        if path.exists() and owner not in (olds.get("owner"), news["owner"]):
            raise NotOwned(
                f"{path} no longer carries this stack's mailflow marker (someone replaced it): left "
                "as it is. Move it away, or adopt it (adopt: true), then run again"
            )
        serial = _write(path, news, olds.get("serial"))
        outs = {**news, "serial": serial}
        if olds.get("adopted") is not None:
            outs["adopted"] = olds["adopted"]
        return UpdateResult(outs=outs)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        """Delete only a file this stack wrote; a file the domain adopted stays (with mailflow's
        records), as does one someone else has written since."""
        path = Path(props["path"])
        if props.get("adopted") is None and file_owner(path) == props["owner"]:
            path.unlink(missing_ok=True)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        path = Path(props["path"])
        if not path.exists():
            return ReadResult(None, {})
        records, serial = _disk(path, props["origin"])
        # An unreadable file is drift like any other: the next update rewrites it.
        return ReadResult(id_, {**props, "records": records or [], "serial": serial})


class ZoneFile(Resource):
    """A zone file on disk holding a domain's records."""

    serial: pulumi.Output[int]

    def __init__(self, name: str, props: dict[str, Any], opts: pulumi.ResourceOptions) -> None:
        super().__init__(ZoneFileProvider(), name, {**props, "serial": None, "adopted": None}, opts)


class ZoneFileTarget:
    resource_type = "pulumi-python:dynamic:Resource"

    def __init__(self, settings: ZoneFileSettings) -> None:
        self.settings = settings
        # As configured: a relative directory is the project's, wherever it is checked out, and
        # state keeps it relative (Pulumi runs the provider in the project directory).
        self.directory = Path(settings.directory)

    def placement(self, domain: DomainPlan) -> str:
        return str(self.directory / f"{domain.domain}.zone")

    def props(self, domain: DomainPlan) -> dict[str, Any]:
        records = [{"name": r.name, "type": r.type, "ttl": r.ttl, "value": r.value} for r in domain.records]
        return {
            "path": str(self.directory / f"{domain.domain}.zone"),
            "origin": fqdn(domain.domain),
            "records": canonical(records),
            "nameservers": [fqdn(ns) for ns in self.settings.nameservers],
            "hostmaster": fqdn(self.settings.hostmaster or f"hostmaster.{domain.domain}"),
            "ttl": domain.ttl,
            "owner": stack_owner(),
            "adopt": domain.place.adopt,
        }

    def register(self, domain: DomainPlan, group: RecordGroup, opts: pulumi.ResourceOptions) -> None:
        ZoneFile(group.name, self.props(domain), opts)


def make_target(settings: StackSettings, inputs: TargetInputs) -> ZoneFileTarget:
    assert isinstance(settings.target, ZoneFileSettings)
    return ZoneFileTarget(settings.target)
