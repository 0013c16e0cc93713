"""Zone files: one file per domain, written by a Pulumi dynamic provider (create, update, delete,
and read for drift), complete with SOA and NS so that ``named-checkzone`` and BIND load it."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
import dns.rdtypes.ANY.SOA
import dns.zone
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

from mailflow.names import fqdn
from mailflow.places import same_place
from mailflow.targets import Pending, stack_owner

if TYPE_CHECKING:
    # The provider runs in a process of its own, which needs none of the planning modules.
    from mailflow.groups import RecordGroup
    from mailflow.plan import DomainPlan
    from mailflow.settings import StackSettings, ZoneFileSettings
    from mailflow.targets import TargetInputs

INPUTS = ("path", "origin", "records", "nameservers", "hostmaster", "ttl", "owner")
# SOA timers: refresh, retry, expire, negative-caching TTL (RFC 1912 §2.2 ranges).
SOA_TIMERS = (7200, 3600, 1209600, 300)
SERIAL_BITS = 32
MARKER = "; managed by mailflow, stack "
"""The first line of every file mailflow writes names the stack that owns it."""
DIRECTIVES = ("$ORIGIN", "$TTL")
"""The only directives mailflow reads: an ``$INCLUDE``d file or a ``$GENERATE`` range cannot be
written back as it was, so a file holding one is never rewritten."""
UNREADABLE = (OSError, UnicodeDecodeError, dns.exception.DNSException)


class Refused(Exception):
    """A zone file this stack may not write: another's, or one whose records it cannot all read.
    The message names the file and what to do."""


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


def _key(record: dict[str, Any]) -> tuple[str, str]:
    """A record set's name and type; names compare without case (RFC 4343)."""
    return str(record["name"]).lower(), str(record["type"])


def carried(
    on_disk: list[dict[str, Any]], planned: list[dict[str, Any]], written_before: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The records of an adopted file that mailflow leaves as they are: all but those at a name and
    type it plans now or wrote last. A CNAME is alone at its name (RFC 1034 §3.6.2), so a planned
    CNAME replaces everything at its name and any planned record replaces a CNAME."""
    written = {_key(r) for r in (*planned, *written_before)}
    names = {name for name, _ in written}
    cname_names = {name for name, rtype in written if rtype == "CNAME"}
    return [
        r
        for r in on_disk
        if _key(r) not in written
        and r["name"].lower() not in cname_names
        and not (r["type"] == "CNAME" and r["name"].lower() in names)
    ]


def _header(props: dict[str, Any], kept: list[dict[str, Any]] | None) -> str:
    if kept is None:
        use = "edits are overwritten by the next run"
    else:
        use = "adopted: mailflow writes the names and types it plans, every other record is kept as it is"
    return f"{MARKER}{props['owner']}\n; {props['origin']} zone, {use}\n"


def render(props: dict[str, Any], serial: int, kept: list[dict[str, Any]] | None = None) -> str:
    """The whole zone file, written by dnspython's zone writer: the planned records, and in an
    adopted file (``kept`` not None) the records it keeps. (Numbers arrive from the engine as
    floats, hence the ``int()``s.)"""
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
    for record in (*props["records"], *(kept or ())):
        rdtype = dns.rdatatype.from_text(record["type"])
        node = zone.find_node(dns.name.from_text(record["name"]), create=True)
        node.find_rdataset(rdclass, rdtype, create=True).add(
            dns.rdata.from_text(rdclass, rdtype, record["value"], origin=origin), int(record["ttl"])
        )
    return _header(props, kept) + zone.to_text(relativize=True, want_origin=True)


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


@dataclass(frozen=True)
class ZoneOnDisk:
    """A zone file as it is: its text and what dnspython reads of it (names absolute)."""

    text: str
    zone: dns.zone.Zone

    @property
    def soa(self) -> dns.rdataset.Rdataset:
        return self.zone.find_rdataset("@", dns.rdatatype.SOA)

    @property
    def serial(self) -> int:
        soa: dns.rdtypes.ANY.SOA.SOA = self.soa[0]
        return int(soa.serial)

    @property
    def hostmaster(self) -> str:
        return str(self.soa[0].rname.to_text())

    @property
    def ttl(self) -> int:
        return int(self.soa.ttl)

    @property
    def apex_ns(self) -> list[str]:
        """The targets of the apex NS records, in the file's order."""
        return [ns.target.to_text() for ns in self.zone.find_rdataset("@", dns.rdatatype.NS)]

    @property
    def nameservers(self) -> list[str]:
        """The primary (SOA MNAME) first, then the other apex NS targets: for a file mailflow
        wrote, the configured name servers."""
        return list(dict.fromkeys([self.soa[0].mname.to_text(), *self.apex_ns]))

    @property
    def records(self) -> list[dict[str, Any]]:
        """Every record but the SOA and the apex NS."""
        records = [
            {
                "name": name.to_text(),
                "type": dns.rdatatype.to_text(rdata.rdtype),
                "ttl": ttl,
                "value": rdata.to_text(),
            }
            for name, ttl, rdata in self.zone.iterate_rdatas()
            if name != self.zone.origin or rdata.rdtype not in (dns.rdatatype.SOA, dns.rdatatype.NS)
        ]
        return canonical(records)


def read_zone(path: Path, origin: str) -> ZoneOnDisk:
    """The zone file at ``path``; ``OSError``, ``UnicodeDecodeError`` or a ``DNSException`` saying
    where it cannot be read, as when it holds a directive other than ``DIRECTIVES``."""
    text = path.read_text(encoding="utf-8")
    zone = dns.zone.from_text(
        text,
        origin,
        relativize=False,
        filename=path.name,
        allow_include=False,
        allow_directives=DIRECTIVES,
    )
    return ZoneOnDisk(text, zone)


def _readable(path: Path, origin: str) -> ZoneOnDisk | None:
    """The file on disk; None when there is none or it cannot be read."""
    try:
        return read_zone(path, origin)
    except UNREADABLE:
        return None


def file_owner(path: Path) -> str | None:
    """The stack named by a zone file's mailflow marker; None when it has none (or no file)."""
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            first = handle.readline().rstrip("\n")
    except FileNotFoundError:
        return None
    return first.removeprefix(MARKER) if first.startswith(MARKER) else None


def refusal(olds: dict[str, Any], news: dict[str, Any]) -> str | None:
    """Why this stack may not write ``news["path"]``, or None: it may when there is no file, or
    the file carries this stack's marker (under its owner id now or the one state recorded: a
    changed ``mailflow:ownerId`` takes over only the files this stack wrote), or a new resource
    adopts a file no mailflow stack wrote and mailflow can read all of it. ``olds`` is empty for a
    new resource."""
    path = Path(news["path"])
    if not path.exists():
        return None
    owner = file_owner(path)
    if owner is not None and owner in (news["owner"], olds.get("owner")):
        return None
    if owner is not None:
        return (
            f"{path} is written by mailflow stack {owner}; a zone file has one owner, so this stack "
            f"({news['owner']}) leaves it alone: remove the domain from one of the two stacks"
        )
    if olds:
        return (
            f"{path} no longer carries this stack's mailflow marker (someone replaced it): left as it "
            "is. Move it away and run again to write it anew; or, to take over what it holds now, "
            "remove the domain's zone file resource from state (`pulumi state delete`), set adopt: "
            "true on the domain and run again"
        )
    if not news.get("adopt"):
        return (
            f"{path} exists and mailflow did not write it: writing it would lose its records. Move it "
            "away, or set adopt: true on the domain to take it over (its records are kept)"
        )
    try:
        on_disk = read_zone(path, news["origin"])
    except UNREADABLE as error:
        return (
            f"cannot adopt {path}: {error}. An adopted file keeps every record mailflow does not "
            f"plan, so mailflow must read all of it, with no directive but {' and '.join(DIRECTIVES)}: "
            "write the records in it, or leave adopt unset and move the file away"
        )
    found, configured = _names(on_disk.apex_ns), _names(news["nameservers"])
    if found != configured:
        return (
            f"cannot adopt {path}: its name servers are {', '.join(sorted(found))}, not the target's "
            f"{', '.join(sorted(configured))}, and mailflow writes the apex NS records from those: set "
            "mailflow:target.nameservers to the zone's"
        )
    return None


def _names(names: list[str]) -> set[str]:
    return {name.lower() for name in names}


def _write(
    path: Path,
    props: dict[str, Any],
    previous: int | None,
    adopted: bool,
    written_before: list[dict[str, Any]],
) -> int:
    """Write the file unless it already holds exactly what it would be written with (records, name
    servers, hostmaster, TTL, header); return its serial. The serial follows both state and disk,
    so no two contents ever share one. An adopted file keeps the records mailflow does not plan,
    so it must be read whole."""
    if adopted and path.exists():
        try:
            on_disk: ZoneOnDisk | None = read_zone(path, props["origin"])
        except UNREADABLE as error:
            raise Refused(
                f"{path} was adopted, and mailflow cannot read it now ({error}); it keeps the "
                "records mailflow does not plan, so it is left as it is: make it readable again"
            ) from None
    else:
        on_disk = _readable(path, props["origin"])
    kept = carried(on_disk.records if on_disk else [], props["records"], written_before) if adopted else None
    if on_disk is not None and on_disk.text == render(props, on_disk.serial, kept):
        return on_disk.serial
    serial = next_serial(previous, on_disk.serial if on_disk else None)
    write_atomically(path, render(props, serial, kept))
    return serial


def _release(path: Path, props: dict[str, Any]) -> None:
    """Hand an adopted file back: every record stays, the marker goes (so another stack may adopt
    it), under a new serial."""
    on_disk = _readable(path, props["origin"])
    header = f"; {props['origin']} zone, adopted by mailflow stack {props['owner']} and released\n"
    if on_disk is None:
        # Edited by hand since into something mailflow cannot read: only the marker line goes.
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return
        write_atomically(path, header + text.partition("\n")[2])
        return
    soa = on_disk.soa
    released = soa[0].replace(serial=next_serial(props.get("serial"), on_disk.serial))
    soa.clear()
    soa.add(released)
    write_atomically(path, header + on_disk.zone.to_text(relativize=True, want_origin=True))


class ZoneFileProvider(ResourceProvider):
    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """Refuse, before anything changes (``pulumi preview`` too), a path that is no zone file or
        a file this stack may not write (``refusal``). A refusal names no property: the engine
        prints it as it is, without the value of one."""
        failures = []
        if not str(news.get("path", "")).endswith(".zone"):
            failures.append(CheckFailure("path", "must name a .zone file"))
        else:
            reason = refusal(olds, news)
            if reason is not None:
                failures.append(CheckFailure("", reason))
        return CheckResult(news, failures)

    def create(self, props: dict[str, Any]) -> CreateResult:
        path = Path(props["path"])
        reason = refusal({}, props)
        if reason is not None:
            raise Refused(reason)
        adopting = path.exists() and file_owner(path) is None
        found = read_zone(path, props["origin"]) if adopting else None
        serial = _write(path, props, None, adopting, [])
        outs = {**props, "serial": serial}
        if found is not None:
            outs["adopted"] = {
                "records": found.records,
                "serial": found.serial,
                "hostmaster": found.hostmaster,
            }
        return CreateResult(id_=props["path"], outs=outs)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [key for key in INPUTS if olds.get(key) != news.get(key)]
        # The file of an older state, which spelled it absolute, is the same file: an update, which
        # writes nothing when the file already holds the records, puts the project's spelling in
        # state, where another checkout of the project finds its own file by it.
        respelled = "path" in changed and same_place(str(olds.get("path")), str(news["path"]))
        replaces = ["path"] if "path" in changed and not respelled else []
        return DiffResult(changes=bool(changed), replaces=replaces, delete_before_replace=False)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        path = Path(news["path"])
        reason = refusal(olds, news)
        if reason is not None:
            raise Refused(reason)
        adopted = olds.get("adopted")
        serial = _write(path, news, olds.get("serial"), adopted is not None, olds.get("records") or [])
        return UpdateResult(outs={**news, "serial": serial, "adopted": adopted})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        """Delete a file this stack wrote; hand an adopted one back (``_release``); leave one
        someone else has written since."""
        path = Path(props["path"])
        if file_owner(path) != props["owner"]:
            return
        if props.get("adopted") is None:
            path.unlink(missing_ok=True)
        else:
            _release(path, props)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """What the file holds of the inputs, so that ``pulumi refresh`` shows any drift. Of an
        adopted file, only the names and types mailflow writes: the others are not its own."""
        path = Path(props["path"])
        if not path.exists():
            return ReadResult(None, {})
        on_disk = _readable(path, props["origin"])
        if on_disk is None:
            # Drift like any other: the next update rewrites it (or, adopted, refuses to).
            return ReadResult(id_, {**props, "records": []})
        records = on_disk.records
        if props.get("adopted") is not None:
            written = {_key(r) for r in props["records"]}
            records = [r for r in records if _key(r) in written]
        found = {
            "records": records,
            "serial": on_disk.serial,
            "nameservers": on_disk.nameservers,
            "hostmaster": on_disk.hostmaster,
            "ttl": on_disk.ttl,
        }
        return ReadResult(id_, {**props, **found})


class ZoneFile(Resource):
    """A zone file on disk holding a domain's records."""

    serial: pulumi.Output[int]

    def __init__(self, name: str, props: dict[str, Any], opts: pulumi.ResourceOptions) -> None:
        super().__init__(ZoneFileProvider(), name, {**props, "serial": None, "adopted": None}, opts)


class ZoneFileTarget:
    resource_type = "pulumi-python:dynamic:Resource"

    def __init__(self, settings: ZoneFileSettings, owner_id: str | None = None) -> None:
        self.settings = settings
        self.owner_id = owner_id
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
            "owner": stack_owner(self.owner_id),
            "adopt": domain.place.adopt,
        }

    def pending(self, domain: DomainPlan, group: RecordGroup, opts: pulumi.ResourceOptions) -> Pending:
        return partial(ZoneFile, group.name, self.props(domain), opts)


def make_target(settings: StackSettings, inputs: TargetInputs) -> ZoneFileTarget:
    from mailflow.settings import ZoneFileSettings

    assert isinstance(settings.target, ZoneFileSettings)
    return ZoneFileTarget(settings.target, settings.owner_id)
