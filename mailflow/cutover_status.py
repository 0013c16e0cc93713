"""`mailflow cutover status`: for each domain in cutover, the phase every authoritative server of
its zone serves, whether the gate to the next phase is open, and the command that takes it there.

The gate opens when every server serves the configured phase, SPF on every server authorises the
senders of both paths (of the new path alone once ``done``), and the TTL of what the servers
served before has passed since the phase was first seen on all of them. Those first sightings
are kept in a journal file, so the clock runs across runs of the command; a phase never seen
everywhere starts it now. A phase that went live straight after one it may not follow (``switch``
left out on the way to ``settle``, say) is refused, whatever its gate."""

from __future__ import annotations

import ipaddress
import json
import math
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from pathlib import Path
from typing import Any

import dns.rdtypes.txtbase

from mailflow.cutover import (
    LOWERED_TTL,
    CutoverState,
    closing_steps,
    next_phase,
    phase_steps,
)
from mailflow.errors import ConfigError, Problem
from mailflow.names import fqdn
from mailflow.phases import PHASES, CutoverPhase, skipped_phases
from mailflow.plan import DomainPlan, StackPlan, at_phase
from mailflow.resolvers import DnsFailure, LiveResolver, Nameserver, RecordSet, bundled_snapshot
from mailflow.spf import LookupCounter, SpfTerm, is_spf_record, record_terms
from mailflow.stackfile import stack_name

MAX_SERVERS = 16
"""Name servers of a zone found through its NS records, at most: a zone naming more needs
``--server``."""
MAX_ADDRESSES = 64
"""Their addresses, at most, all asked."""
MAX_JOURNAL_BYTES = 1_000_000
"""A journal holds a line or two per domain in cutover; a larger file is not one this command wrote."""
BEFORE = "before"
"""What the servers publish before the cutover: the old side, at the domain's TTL."""


class Verdict(IntEnum):
    """A domain's state, and the exit status it gives (the worst domain's is the command's)."""

    READY = 0
    """The gate is open: advance to the next phase (or end the cutover)."""
    DRIFT = 1
    """A server serves what no phase of the cutover publishes, or SPF turns a path's senders away."""
    UNREADABLE = 3
    """A server did not answer usably, so the gate cannot be judged."""
    WAITING = 5
    """The phase is live on some servers only, or its TTL gate has not passed: ask again later."""
    APPLY = 6
    """No server serves the configured phase yet: run ``pulumi up``."""
    OUT_OF_ORDER = 7
    """The phase went live straight after one it may not follow: go back to that one."""
    NO_CUTOVER = 8
    """No domain of the stack is in cutover: nothing to advance (the command's status alone)."""


_RANK = (
    Verdict.READY,
    Verdict.WAITING,
    Verdict.APPLY,
    Verdict.UNREADABLE,
    Verdict.DRIFT,
    Verdict.OUT_OF_ORDER,
)


@dataclass(frozen=True)
class Apex:
    """What tells the phases apart: the apex MX set and SPF text and their TTLs, and the
    MTA-STS policy id (its ``_mta-sts`` record) where the domain publishes one."""

    mx: frozenset[tuple[int, str]]
    mx_ttl: int
    spf: str
    txt_ttl: int
    mta_sts: str = ""


@dataclass(frozen=True)
class ServerView:
    server: str
    phases: tuple[str, ...] = ()
    """The phases (or ``before``) whose apex records the server serves."""
    failure: str = ""
    spf_missing: tuple[str, ...] = ()
    """Sender terms of a path the server's SPF record does not authorise."""
    note: str = ""
    """Why the server's records are no phase's, where that is plain (two SPF records)."""
    serial: int | None = None
    """The SOA serial it serves the zone under: a change restarts the phase's clock."""


@dataclass(frozen=True)
class DomainStatus:
    domain: str
    phase: CutoverPhase
    source: str
    destination: str
    verdict: Verdict
    summary: str
    servers: tuple[ServerView, ...]
    live_since: str | None = None
    gate_opens: str | None = None
    advance: tuple[str, ...] = ()
    """What to do next, in order: commands and the steps of the runbook."""


@dataclass(frozen=True)
class Sighting:
    since: datetime
    """When the phase was first seen on every server."""
    previous: str | None
    """The phase seen on every server before it, when the journal knows one."""
    previous_opened: bool
    """Whether the gate of that phase was seen open: caches then held nothing older than it."""


def _moment(text: Any) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo is not None else None


@dataclass
class Journal:
    """When each domain's phase was first seen on every server, by the expectation it met."""

    path: Path
    seen: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> Journal:
        try:
            if path.stat().st_size > MAX_JOURNAL_BYTES:
                raise ValueError(f"over {MAX_JOURNAL_BYTES} bytes")
            document = json.loads(path.read_text("utf-8"))
        except FileNotFoundError:
            return cls(path)
        except (OSError, ValueError, RecursionError) as error:
            raise ConfigError(
                [Problem(str(path), f"is not a cutover journal this command wrote ({error})")]
            ) from None
        seen = document.get("domains") if isinstance(document, dict) else None
        if not isinstance(seen, dict) or not all(isinstance(v, dict) for v in seen.values()):
            raise ConfigError([Problem(str(path), "is not a cutover journal this command wrote")])
        return cls(path, seen)

    def sighted(self, domain: str, move: str, phase: str, key: str, now: datetime) -> Sighting:
        """The domain's phase is live on every server now, as ``key`` says (what they serve and
        the SOA serials they serve it under): when it was first seen so, and the phase seen
        everywhere before it. Another move starts the domain's history again; another key (a
        new phase, or the zone changed on a server) starts the phase's clock again."""
        entry = self.seen.get(domain)
        if entry is None or entry.get("move") != move:
            entry = self.seen[domain] = {"move": move}
        if entry.get("key") != key or entry.get("phase") != phase or not entry.get("everywhere"):
            if entry.get("phase") != phase and entry.get("everywhere"):
                entry["previous"] = entry.get("phase")
                entry["previousOpened"] = bool(entry.get("opened"))
            entry.update(phase=phase, key=key, everywhere=now.isoformat(), opened=False)
        since = _moment(entry.get("everywhere"))
        if since is None or since > now:  # not this command's writing, or a clock set back
            since = now
            entry["everywhere"] = now.isoformat()
        previous = entry.get("previous")
        opened = bool(entry.get("previousOpened"))
        return Sighting(since, previous if isinstance(previous, str) else None, opened)

    def lost(self, domain: str, move: str, phase: str) -> None:
        """The phase is not live on every server (any more): its clock starts again when it is."""
        entry = self.seen.get(domain)
        if entry is not None and entry.get("move") == move and entry.get("phase") == phase:
            entry["everywhere"] = None

    def opened(self, domain: str) -> None:
        """The gate of the domain's phase was seen open."""
        self.seen[domain]["opened"] = True

    def save(self) -> None:
        """Written whole to a file beside it, then renamed over it: a run killed halfway leaves
        the last journal as it was."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps({"version": 1, "domains": self.seen}, indent=2, sort_keys=True) + "\n"
        handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(text)
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def default_journal(stackfile: Path) -> Path:
    """``.mailflow-cutover.<stack>.json`` beside ``Pulumi.<stack>.yaml``."""
    return stackfile.parent / f".mailflow-cutover.{_stack(stackfile)}.json"


def apex_of(plan: DomainPlan) -> Apex:
    apex = fqdn(plan.domain)
    mx = [r for r in plan.records if r.name == apex and r.type == "MX"]
    txt = [r for r in plan.records if r.name == apex and r.type == "TXT"]
    mta_sts = next(("".join(map(str, r.data)) for r in plan.records if r.slot == "mta-sts"), "")
    return Apex(
        frozenset((int(r.data[0]), str(r.data[1]).lower()) for r in mx),
        mx[0].ttl if mx else 0,
        plan.spf,
        txt[0].ttl if txt else 0,
        mta_sts,
    )


def phase_views(plan: DomainPlan) -> dict[str, Apex]:
    """The apex records of every phase of the domain's cutover, and of the time before it."""
    state = plan.cutover
    assert state is not None
    counter = LookupCounter(bundled_snapshot())
    views = {BEFORE: apex_of(state.before)}
    views.update((phase, apex_of(at_phase(plan, phase, counter))) for phase in PHASES)
    return views


def _texts(records: RecordSet) -> list[str]:
    return [
        b"".join(rdata.strings).decode("utf-8", "replace")
        for rdata in records.rdatas
        if isinstance(rdata, dns.rdtypes.txtbase.TXTBase)
    ]


def _live_apex(mx: RecordSet, txt: RecordSet, mta_sts: RecordSet | None) -> tuple[Apex, list[str]]:
    spf = [text for text in _texts(txt) if is_spf_record(text)]
    policies = _texts(mta_sts) if mta_sts is not None else []
    live_mx = frozenset(
        (int(getattr(rdata, "preference", -1)), str(getattr(rdata, "exchange", "")).lower())
        for rdata in mx.rdatas
    )
    policy = policies[0] if len(policies) == 1 else ""
    return Apex(live_mx, mx.ttl, spf[0] if len(spf) == 1 else "", txt.ttl, policy), spf


def spf_gaps(live_spf: str, senders: Sequence[SpfTerm]) -> list[str]:
    """The sender terms the live SPF record does not pass. An ``ip4``/``ip6`` sender passes when
    the first address term of the record that covers its network passes (``ip4:…``, ``+ip4:…``);
    any other sender when the record has the same term, passing, before its ``all``."""
    listed = []
    for term in record_terms(live_spf):
        if term.mechanism == "all":
            break
        listed.append(term)
    gaps = []
    for sender in senders:
        if sender.mechanism in ("ip4", "ip6"):
            network = ipaddress.ip_network(sender.argument)
            covering = next(
                (
                    term
                    for term in listed
                    if term.mechanism == sender.mechanism
                    and network.subnet_of(ipaddress.ip_network(term.argument))  # type: ignore[arg-type]
                ),
                None,
            )
            passes = covering is not None and covering.qualifier in ("", "+")
        else:
            passes = any(
                term.qualifier in ("", "+") and term.text.lower() == sender.text.lower() for term in listed
            )
        if not passes:
            gaps.append(sender.text)
    return gaps


def find_servers(name: str, resolver: LiveResolver) -> tuple[list[Nameserver], str]:
    """Every authoritative server of the zone holding ``name`` (found by its SOA), from the
    zone's NS records and each host's addresses, read through ``resolver``; none, with the
    reason, when not every one of them can be asked: a gate judged without a server is no gate."""
    try:
        zone = resolver.zone_of(fqdn(name))
    except DnsFailure as failure:
        return [], f"the zone of {name}: {failure.reason}"
    try:
        hosts = sorted({str(getattr(rdata, "target", "")) for rdata in resolver.query(zone, "NS").rdatas})
    except DnsFailure as failure:
        return [], f"NS {zone}: {failure.reason}"
    if not hosts:
        return [], f"NS {zone}: no NS records"
    if len(hosts) > MAX_SERVERS:
        return (
            [],
            f"NS {zone}: {len(hosts)} name servers, more than the {MAX_SERVERS} asked; give them "
            "with --server",
        )
    servers: list[Nameserver] = []
    failures = []
    for host in hosts:
        addresses: list[str] = []
        for rtype in ("A", "AAAA"):
            try:
                addresses.extend(rdata.to_text() for rdata in resolver.query(host, rtype).rdatas)
            except DnsFailure as failure:
                failures.append(f"{rtype} {host}: {failure.reason}")
        if not addresses and not failures:
            failures.append(f"{host}: no address")
        servers.extend(Nameserver((address,)) for address in sorted(addresses))
    if failures:
        return [], "; ".join(failures)
    if len(servers) > MAX_ADDRESSES:
        return [], f"NS {zone}: {len(servers)} server addresses, more than the {MAX_ADDRESSES} asked"
    return servers, ""


def server_text(server: Nameserver) -> str:
    address = server.addresses[0]
    shown = f"[{address}]" if ":" in address else address
    return shown if server.port == 53 else f"{shown}:{server.port}"


def _view(
    plan: DomainPlan,
    server: Nameserver,
    timeout: float,
    deadline: float,
    views: dict[str, Apex],
    senders: Sequence[SpfTerm],
) -> ServerView:
    resolver = LiveResolver(server, timeout)
    apex = fqdn(plan.domain)
    shown = server_text(server)
    try:
        with resolver.within(max(0.0, deadline - time.monotonic())):
            records = (resolver.query(apex, "MX"), resolver.query(apex, "TXT"))
            soa = resolver.query(fqdn(plan.place.zone), "SOA")
            policy = resolver.query(f"_mta-sts.{apex}", "TXT") if plan.config.mta_sts else None
    except DnsFailure as failure:
        return ServerView(shown, failure=failure.reason)
    serial = next((int(getattr(rdata, "serial", 0)) for rdata in soa.rdatas), None)
    if not all(record.authoritative for record in records):
        return ServerView(shown, failure="not authoritative for the zone (no AA flag)")
    if not any(record.rdatas for record in records):
        return ServerView(shown, note="no MX and no TXT records at the apex", serial=serial)
    live, spf = _live_apex(*records, policy)
    if len(spf) != 1:
        # No phase publishes that: receivers find no SPF policy, or a permerror (RFC 7208 §4.5).
        return ServerView(shown, note=f"{len(spf)} SPF records", serial=serial)
    phases = tuple(name for name, expected in views.items() if live == expected)
    if plan.cutover is None or plan.cutover.phase not in phases:
        return ServerView(shown, phases, serial=serial)  # lagging, or not applied: another phase's SPF
    return ServerView(shown, phases, spf_missing=tuple(spf_gaps(spf[0], senders)), serial=serial)


def _gate_wait(state: CutoverState, sighting: Sighting) -> int:
    """Seconds caches may still hold what the servers served before the phase: the TTL of the
    phase seen everywhere before it, when its gate was seen open (caches then held nothing
    older); else the longest TTL any phase or the time before the cutover had."""
    if sighting.previous is None or not sighting.previous_opened:
        return max(state.after.ttl, state.cutover.ttl)
    return state.cutover.ttl if sighting.previous in LOWERED_TTL else state.after.ttl


def now() -> datetime:
    """The time the gates are judged at."""
    return datetime.now(UTC)


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def domain_status(
    plan: DomainPlan,
    servers: Sequence[Nameserver],
    timeout: float,
    deadline: float,
    journal: Journal,
    now: datetime,
    stackfile: Path,
) -> DomainStatus:
    """``deadline``: the ``time.monotonic()`` after which no server is asked any more."""
    state = plan.cutover
    assert state is not None
    views = phase_views(plan)
    senders = _senders(state)
    seen = tuple(_view(plan, server, timeout, deadline, views, senders) for server in servers)
    expected = views[state.phase]

    def status(verdict: Verdict, summary: str, **more: Any) -> DomainStatus:
        return DomainStatus(
            plan.domain, state.phase, state.source, state.destination, verdict, summary, seen, **more
        )

    if not servers:
        return status(Verdict.UNREADABLE, "no authoritative server to ask")
    strangers = [
        f"{v.server} ({v.note})" if v.note else v.server for v in seen if not v.failure and not v.phases
    ]
    spf_faults = [f"{v.server} does not pass {', '.join(v.spf_missing)}" for v in seen if v.spf_missing]
    if strangers:
        verb = "serves" if len(strangers) == 1 else "serve"
        stack = _stack(stackfile)
        return status(
            Verdict.DRIFT,
            f"{', '.join(strangers)} {verb} records of no phase of this cutover",
            advance=(
                f"mailflow check {stackfile} says what differs from phase {state.phase} (an update cut "
                "short, or records changed by hand)",
                f"pulumi up --stack {stack} publishes the phase again",
            ),
        )
    if spf_faults:
        return status(Verdict.DRIFT, f"SPF turns senders of the mail paths away: {'; '.join(spf_faults)}")
    failed = [f"{v.server}: {v.failure}" for v in seen if v.failure]
    if failed:
        return status(Verdict.UNREADABLE, f"not every server answered: {'; '.join(failed)}")
    move = f"{state.source} -> {state.destination}"
    serving = [v for v in seen if state.phase in v.phases]
    if len(serving) < len(seen):
        journal.lost(plan.domain, move, state.phase)
    if not serving:
        return status(
            Verdict.APPLY,
            f"no server serves phase {state.phase} yet (they serve {_phases_text(seen)})",
            advance=(f"pulumi up --stack {_stack(stackfile)}",),
        )
    if len(serving) < len(seen):
        behind = [v for v in seen if state.phase not in v.phases]
        verb = "serves" if len(behind) == 1 else "serve"
        return status(
            Verdict.WAITING,
            f"{len(serving)} of {len(seen)} servers serve phase {state.phase}; "
            f"{', '.join(v.server for v in behind)} still {verb} {_phases_text(behind)}",
        )
    serials = [v.serial for v in seen]
    key = json.dumps([asdict(expected), serials], sort_keys=True, default=sorted)
    sighting = journal.sighted(plan.domain, move, state.phase, key, now)
    previous = sighting.previous
    if previous in PHASES and (skipped := skipped_phases(previous, state.phase)):
        stack = _stack(stackfile)
        return status(
            Verdict.OUT_OF_ORDER,
            f"phase {state.phase} went live on {_every(seen)} straight after {previous}, leaving out "
            f"{' and '.join(skipped)}: go back to {previous}, then advance one phase at a time",
            advance=(
                _phase_setting(plan, previous, stack),
                f"pulumi up --stack {stack}",
                f"mailflow cutover status {stackfile}",
            ),
        )
    since = sighting.since
    opens = since + timedelta(seconds=_gate_wait(state, sighting))
    timing = {"live_since": _when(since), "gate_opens": _when(opens)}
    if now < opens:
        left = math.ceil((opens - now).total_seconds())
        return status(
            Verdict.WAITING,
            f"phase {state.phase} is live on {_every(seen)}; caches may hold the records before it "
            f"for {left} s more",
            **timing,
        )
    journal.opened(plan.domain)
    return status(
        Verdict.READY,
        f"phase {state.phase} is live on {_every(seen)} and its TTL gate has passed",
        advance=advance_steps(plan, stackfile),
        **timing,
    )


def _every(seen: Sequence[ServerView]) -> str:
    return "its one server" if len(seen) == 1 else f"all {len(seen)} servers"


def _senders(state: CutoverState) -> tuple[SpfTerm, ...]:
    """The senders SPF must pass in the phase: both paths' until ``done``, then the new path's."""
    sides = (state.after,) if state.phase == "done" else (state.before, state.after)
    terms = (term for side in sides if side.routing for term in side.routing.spf_terms)
    # Terms with a qualifier (``-ip4:…`` in spf.extra) exclude; they are nobody's senders.
    return tuple(dict.fromkeys(term for term in terms if term.qualifier in ("", "+")))


def _phases_text(seen: Sequence[ServerView]) -> str:
    found = sorted({" or ".join(v.phases) for v in seen if v.phases})
    return ", ".join(found) or "nothing known"


def _stack(stackfile: Path) -> str:
    return stack_name(stackfile) or stackfile.stem


def _phase_setting(plan: DomainPlan, phase: str, stack: str) -> str:
    """The command (or edit) that sets the domain's cutover phase."""
    key = f"{plan.config_path}.cutover.phase"
    if key.startswith("mailflow:"):
        return f"pulumi config set --path '{key}' {phase} --stack {stack}"
    return f"set {key}: {phase}"


def advance_steps(plan: DomainPlan, stackfile: Path) -> tuple[str, ...]:
    """The steps from the configured phase to the next, or to the end of the cutover."""
    state = plan.cutover
    assert state is not None
    stack, shown = _stack(stackfile), str(stackfile)
    following = next_phase(state.cutover)
    if following is None:
        key = f"{plan.config_path}.cutover"
        removal = (
            f"pulumi config rm --path '{key}' --stack {stack}"
            if key.startswith("mailflow:")
            else f"remove {key}"
        )
        steps = closing_steps(state)
        if state.phase == "rollback":
            steps.append(
                f"set {plan.config_path}.topology (and the settings {key}.from names) back to the old side, "
                f"{state.source}"
            )
        mta_sts = next((r for r in plan.records if r.slot == "mta-sts"), None)
        if mta_sts is not None and state.phase == "done":
            published = str(mta_sts.value).split("id=", 1)[1].split(";", 1)[0]
            steps.append(f"set {plan.config_path}.mtaSts.id: {published} (the id the servers publish now)")
        return (*steps, removal, f"mailflow plan {shown}", f"pulumi up --stack {stack}")
    before, after = phase_steps(state, following, shown)
    return (
        f"mailflow plan {shown} --phase {following}",
        *before,
        _phase_setting(plan, following, stack),
        f"pulumi up --stack {stack}",
        *after,
        f"mailflow cutover status {shown}",
    )


@dataclass(frozen=True)
class StatusReport:
    domains: tuple[DomainStatus, ...]

    @property
    def verdict(self) -> Verdict:
        """The worst domain's; ``NO_CUTOVER`` without one, so that no pipeline takes it for ready."""
        return max((d.verdict for d in self.domains), key=_RANK.index, default=Verdict.NO_CUTOVER)


def _unread(plan: DomainPlan, summary: str) -> DomainStatus:
    """A domain whose servers were not asked: why, as a DNS failure."""
    state = plan.cutover
    assert state is not None
    return DomainStatus(
        plan.domain, state.phase, state.source, state.destination, Verdict.UNREADABLE, summary, ()
    )


def cutover_status(
    plan: StackPlan,
    stackfile: Path,
    servers: Sequence[Nameserver],
    nameserver: Nameserver | None,
    timeout: float,
    budget: float,
    journal: Journal,
) -> StatusReport:
    """Each domain in cutover as its zone's authoritative servers (``servers``, else those its NS
    records name, found through ``nameserver`` or the system resolver) serve it."""
    reports = []
    finder = LiveResolver(nameserver, timeout)
    deadline = time.monotonic() + budget
    for domain in plan.domains:
        if domain.cutover is None:
            continue
        if time.monotonic() >= deadline:
            reports.append(_unread(domain, "not asked: time budget exhausted"))
            continue
        asked: Sequence[Nameserver] = servers
        if not asked:
            with finder.within(max(0.0, deadline - time.monotonic())):
                asked, reason = find_servers(domain.place.zone, finder)
            if not asked:
                reports.append(_unread(domain, f"no authoritative server found ({reason})"))
                continue
        reports.append(domain_status(domain, asked, timeout, deadline, journal, now(), stackfile))
    return StatusReport(tuple(reports))


VERDICT_TEXT = {
    Verdict.READY: "ready",
    Verdict.DRIFT: "drift",
    Verdict.UNREADABLE: "DNS failure",
    Verdict.WAITING: "waiting",
    Verdict.APPLY: "not applied",
    Verdict.OUT_OF_ORDER: "out of order",
    Verdict.NO_CUTOVER: "no cutover",
}


def report_table(report: StatusReport) -> str:
    if not report.domains:
        return "no domain is in cutover\n"
    lines = []
    for d in report.domains:
        lines.append(f"{d.domain}: {d.source} -> {d.destination}, phase {d.phase}: {VERDICT_TEXT[d.verdict]}")
        lines.append(f"  {d.summary}")
        for view in d.servers:
            served = view.failure or f"serves {' or '.join(view.phases) or 'no phase of this cutover'}"
            spf = f"; SPF does not pass {', '.join(view.spf_missing)}" if view.spf_missing else ""
            lines.append(f"  {view.server:<24} {served}{spf}")
        if d.live_since:
            lines.append(f"  live everywhere since {d.live_since}; gate opens {d.gate_opens}")
        if d.advance:
            lines.append("  next:")
            lines.extend(f"    {number}. {step}" for number, step in enumerate(d.advance, 1))
    return "\n".join(lines) + "\n"


def report_json(report: StatusReport) -> str:
    document = {
        "status": VERDICT_TEXT[report.verdict],
        "exitCode": int(report.verdict),
        "domains": [
            {
                "domain": d.domain,
                "phase": d.phase,
                "from": d.source,
                "to": d.destination,
                "status": VERDICT_TEXT[d.verdict],
                "summary": d.summary,
                "liveSince": d.live_since,
                "gateOpens": d.gate_opens,
                "servers": [
                    {
                        "server": v.server,
                        "phases": list(v.phases),
                        "failure": v.failure or None,
                        "spfMissing": list(v.spf_missing),
                    }
                    for v in d.servers
                ],
                "next": list(d.advance),
            }
            for d in report.domains
        ],
    }
    return json.dumps(document, indent=2) + "\n"
