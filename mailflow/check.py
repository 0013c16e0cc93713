"""`mailflow check`: compare live DNS with the plan: missing, unexpected and different records,
duplicate SPF, missing DMARC, and the SPF lookup count with the includes as published today; with
``--tenant``, the tenant file's expectations too. A query that fails is a finding, not the end of
the run."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum

import dns.rdata
import dns.rdtypes.txtbase

from mailflow.config import ON_PREMISES_TOPOLOGIES
from mailflow.errors import printable
from mailflow.plan import DomainPlan, StackPlan
from mailflow.records import Record
from mailflow.resolvers import DnsFailure, LiveResolver, Nameserver, RecordSet
from mailflow.spf import MAX_LOOKUPS, LookupCount, LookupCounter, is_spf_record


class Severity(StrEnum):
    DRIFT = "drift"
    """Live DNS differs from the plan, or publishes what receivers reject (permerror)."""
    DNS_FAILURE = "dns-failure"
    """DNS did not answer usably, so what is published there is unknown."""
    WARNING = "warning"
    """Worth fixing, but not a difference from the plan."""


IN_SYNC = "in-sync"
MAX_LINE = 2000
"""Characters of a report line: a live TXT value can hold 64 KiB."""
"""The status of a report without drift or DNS failure (warnings allowed)."""
_STATUS_TEXT = {IN_SYNC: "in sync", Severity.DRIFT: "drift", Severity.DNS_FAILURE: "DNS failure"}


@dataclass(frozen=True)
class Finding:
    domain: str
    name: str
    type: str
    problem: str
    planned: str = ""
    live: str = ""
    severity: Severity = Severity.DRIFT
    tenant: str = ""
    """The value the tenant file holds, where the finding is the tenant's against the plan."""


def _dns_failure(domain: str, name: str, rtype: str, reason: str) -> Finding:
    return Finding(domain, name, rtype, "DNS failure", live=reason, severity=Severity.DNS_FAILURE)


def _status(findings: Sequence[Finding]) -> str:
    """Drift outranks a DNS failure: what was read already differs from the plan."""
    severities = {finding.severity for finding in findings}
    return next((s for s in (Severity.DRIFT, Severity.DNS_FAILURE) if s in severities), IN_SYNC)


@dataclass(frozen=True)
class DomainReport:
    domain: str
    spf_lookups: LookupCount | None
    """Lookups of the live SPF record, counted through live DNS; None without one live SPF record."""
    findings: tuple[Finding, ...]

    @property
    def status(self) -> str:
        return _status(self.findings)


@dataclass(frozen=True)
class CheckReport:
    domains: tuple[DomainReport, ...]

    @property
    def status(self) -> str:
        return _status([finding for domain in self.domains for finding in domain.findings])

    @property
    def drift(self) -> bool:
        return self.status == Severity.DRIFT


def _comparable(rdata: dns.rdata.Rdata) -> bytes:
    """The form values are compared in. TXT by its joined character-strings: receivers join them
    (RFC 7208 §3.3), so a value split elsewhere is the same value. Other types in DNSSEC canonical
    form, which lowercases the names inside MX, CNAME and SRV (RFC 4034 §6.2): names compare
    without case (RFC 4343), and Microsoft spells some targets with capitals."""
    if isinstance(rdata, dns.rdtypes.txtbase.TXTBase):
        return b"".join(rdata.strings)
    return rdata.to_digestable()


def _values(rdatas: Sequence[dns.rdata.Rdata]) -> dict[bytes, str]:
    """Each value's comparable form, and its presentation text to show."""
    return {_comparable(rdata): rdata.to_text() for rdata in rdatas}


def _record_sets(records: Sequence[Record]) -> dict[tuple[str, str], list[Record]]:
    grouped: dict[tuple[str, str], list[Record]] = {}
    for record in records:
        grouped.setdefault((record.name.lower(), record.type), []).append(record)
    return grouped


def _differences(
    domain: str, name: str, rtype: str, records: Sequence[Record], live: RecordSet
) -> list[Finding]:
    planned = {_comparable(r.rdata): r.value for r in records}
    published = _values(live.rdatas)
    findings = [
        Finding(domain, name, rtype, "missing", planned=value)
        for value in sorted(planned[key] for key in planned.keys() - published.keys())
    ]
    findings.extend(
        Finding(domain, name, rtype, "unexpected", live=value)
        for value in sorted(published[key] for key in published.keys() - planned.keys())
    )
    # TTLs are only comparable in answers from an authoritative server, not from caches.
    ttl = records[0].ttl
    if live.authoritative and live.ttl != ttl and planned.keys() == published.keys():
        findings.append(Finding(domain, name, rtype, "different TTL", str(ttl), str(live.ttl)))
    return findings


def _spf_findings(
    domain: str, apex_txt: Mapping[bytes, str], counter: LookupCounter
) -> tuple[LookupCount | None, list[Finding]]:
    """The live SPF record's faults, and its lookups counted through live DNS."""
    apex = f"{domain}."
    spf = sorted(
        (shown, text)
        for key, shown in apex_txt.items()
        if is_spf_record(text := key.decode("utf-8", "replace"))
    )
    if len(spf) > 1:
        shown = " | ".join(shown for shown, _ in spf)
        return None, [Finding(domain, apex, "TXT", "duplicate SPF (permerror)", live=shown)]
    if not spf:
        return None, []  # a missing SPF record is a missing planned record
    shown, text = spf[0]
    count = counter.count_record(text, domain)
    findings = [Finding(domain, apex, "TXT", problem, live=shown) for problem in count.problems]
    if count.over_limit:
        problem = f"SPF needs more than {MAX_LOOKUPS} lookups (permerror)"
        findings.append(Finding(domain, apex, "TXT", problem, live=shown))
    if count.unresolved:
        unknown = f"SPF lookups not counted inside {', '.join(count.unresolved)}"
        findings.append(_dns_failure(domain, apex, "TXT", unknown))
    return count, findings


def check_domain(plan: DomainPlan, resolver: LiveResolver, counter: LookupCounter) -> DomainReport:
    findings: list[Finding] = []
    answers: dict[tuple[str, str], RecordSet | None] = {}

    def live(name: str, rtype: str) -> RecordSet | None:
        """Each record set is asked once; a failed query is a finding, and None."""
        if (name, rtype) not in answers:
            try:
                answers[name, rtype] = resolver.query(name, rtype)
            except DnsFailure as failure:
                answers[name, rtype] = None
                findings.append(_dns_failure(plan.domain, name, rtype, failure.reason))
        return answers[name, rtype]

    record_sets = _record_sets(plan.records)
    for (name, rtype), records in record_sets.items():
        found = live(name, rtype)
        if found is not None:
            findings.extend(_differences(plan.domain, name, rtype, records, found))
    spf_lookups = None
    apex_txt = live(f"{plan.domain}.", "TXT")
    if apex_txt is not None:
        spf_lookups, spf_findings = _spf_findings(plan.domain, _values(apex_txt.rdatas), counter)
        findings.extend(spf_findings)
    dmarc = f"_dmarc.{plan.domain}."
    dmarc_txt = live(dmarc, "TXT")
    versions = {key[:8].lower() for key in _values(dmarc_txt.rdatas)} if dmarc_txt else set()
    if dmarc_txt is not None and b"v=dmarc1" not in versions:
        # Planned, its absence is drift (and a "missing" record too); not planned, a warning.
        severity = Severity.DRIFT if (dmarc, "TXT") in record_sets else Severity.WARNING
        findings.append(Finding(plan.domain, dmarc, "TXT", "missing DMARC record", severity=severity))
    return DomainReport(plan.domain, spf_lookups, tuple(findings))


def tenant_findings(plan: DomainPlan) -> list[Finding]:
    """What the tenant file expects that the plan does not publish, and the domain's state in the
    tenant. The plan publishes the tenant's MX host and DKIM targets itself; what is left are the
    CNAMEs config left out (autodiscover outside hybrid, device management not asked for) and
    what only the tenant can fix."""
    tenant, domain = plan.tenant, plan.domain
    apex = f"{domain}."
    if tenant is None:
        return [Finding(domain, apex, "-", "not in the tenant file (run mailflow tenant pull)")]
    findings = []
    if not tenant.graph.verified:
        findings.append(Finding(domain, apex, "-", "not verified in the tenant"))
    elif "Email" not in tenant.graph.supported_services:
        findings.append(Finding(domain, apex, "-", "Email is not a service of the domain in the tenant"))
    published = {r.name for r in plan.records if r.type == "CNAME"}
    for label, target in sorted(tenant.graph.cnames.items()):
        if label == "autodiscover" and plan.topology in ON_PREMISES_TOPOLOGIES:
            continue  # in hybrid it points to the on-premises servers, not where the tenant says
        name = f"{label}.{apex}"
        if name not in published:
            findings.append(
                Finding(domain, name, "CNAME", "tenant expects, stack does not publish", tenant=f"{target}.")
            )
    return findings


def check_stack(
    plan: StackPlan,
    nameserver: Nameserver | None,
    timeout: float,
    budget: float,
    tenant: bool = False,
) -> CheckReport:
    """Query each planned record set (the system resolver, or ``nameserver``; ``timeout`` seconds
    per query) and compare, within ``budget`` seconds in all: record sets left then are DNS
    failures. With ``tenant``, also compare the plan with the stack's tenant file."""
    live = LiveResolver(nameserver, timeout)
    counter = LookupCounter(live)
    reports = []
    with live.within(budget):
        for domain in plan.domains:
            report = check_domain(domain, live, counter)
            if tenant:
                report = DomainReport(
                    report.domain, report.spf_lookups, (*tenant_findings(domain), *report.findings)
                )
            reports.append(report)
    return CheckReport(tuple(reports))


def report_json(report: CheckReport) -> str:
    return (
        json.dumps(
            {
                "status": report.status,
                "drift": report.drift,
                "domains": [
                    {
                        "domain": d.domain,
                        "status": d.status,
                        "spfLookups": d.spf_lookups.total if d.spf_lookups else None,
                        "spfUnresolved": list(d.spf_lookups.unresolved) if d.spf_lookups else [],
                        "findings": [asdict(f) for f in d.findings],
                    }
                    for d in report.domains
                ],
            },
            indent=2,
        )
        + "\n"
    )


def _lookups_text(count: LookupCount | None) -> str:
    if count is None:
        return "not counted"
    if count.over_limit:
        return f"more than {MAX_LOOKUPS}/{MAX_LOOKUPS}"
    return f"{'at least ' if count.unresolved else ''}{count.total}/{MAX_LOOKUPS}"


def report_table(report: CheckReport) -> str:
    lines = []
    for domain in report.domains:
        status, lookups = _STATUS_TEXT[domain.status], _lookups_text(domain.spf_lookups)
        lines.append(f"{domain.domain}: {status}; live SPF lookups: {lookups}")
        for f in domain.findings:
            detail = " ".join(
                part
                for part in (
                    f"planned {f.planned}" if f.planned else "",
                    f"tenant {f.tenant}" if f.tenant else "",
                    f"live {f.live}" if f.live else "",
                )
                if part
            )
            line = f"  {f.severity:<11} {f.problem:<22} {f.type:<5} {f.name}  {detail}".rstrip()
            # Live DNS wrote part of it: an escape sequence in a TXT value stays visible as text.
            lines.append(printable(line, MAX_LINE))
    return "\n".join(lines) + "\n"
