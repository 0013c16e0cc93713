"""`mailflow check`: compare live DNS with the plan: missing, unexpected and different records,
duplicate SPF, missing DMARC, and the SPF lookup count with the includes as published today; with
``--tenant``, the tenant file's expectations too."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import dns.flags
import dns.resolver

from mailflow.config import ON_PREMISES_TOPOLOGIES
from mailflow.plan import DomainPlan, StackPlan
from mailflow.records import Record
from mailflow.resolvers import LiveResolver
from mailflow.spf import MAX_LOOKUPS, LookupCounter

_NAME_TYPES = frozenset({"MX", "CNAME", "SRV"})
"""Record types whose values are names, so compare without case."""


@dataclass(frozen=True)
class Finding:
    domain: str
    name: str
    type: str
    problem: str
    planned: str = ""
    live: str = ""


@dataclass(frozen=True)
class DomainReport:
    domain: str
    spf_lookups: int | None
    """Lookups of the live SPF record, counted through live DNS; None without a live SPF record."""
    findings: tuple[Finding, ...]


@dataclass(frozen=True)
class CheckReport:
    domains: tuple[DomainReport, ...]

    @property
    def drift(self) -> bool:
        return any(domain.findings for domain in self.domains)


@dataclass(frozen=True)
class LiveSet:
    values: frozenset[str]
    ttl: int
    authoritative: bool


def _live(resolver: dns.resolver.Resolver, name: str, rtype: str) -> LiveSet | None:
    try:
        answer = resolver.resolve(name, rtype, raise_on_no_answer=False)
    except dns.resolver.NXDOMAIN:
        return None
    if answer.rrset is None:
        return None
    authoritative = bool(answer.response.flags & dns.flags.AA)
    # Names compare without case (RFC 4343): a target published as Microsoft spells it
    # (``…JusticeUK.w-v1.dkim.mail.microsoft``) matches the plan's lowercase form.
    fold = str.lower if rtype in _NAME_TYPES else str
    return LiveSet(frozenset(fold(r.to_text()) for r in answer.rrset), answer.rrset.ttl, authoritative)


def _record_sets(records: Sequence[Record]) -> dict[tuple[str, str], list[Record]]:
    grouped: dict[tuple[str, str], list[Record]] = {}
    for record in records:
        grouped.setdefault((record.name, record.type), []).append(record)
    return grouped


def check_domain(plan: DomainPlan, resolver: dns.resolver.Resolver, counter: LookupCounter) -> DomainReport:
    findings: list[Finding] = []
    apex_txt: LiveSet | None = None
    for (name, rtype), records in _record_sets(plan.records).items():
        live = _live(resolver, name, rtype)
        planned = {r.value.lower() if rtype in _NAME_TYPES else r.value for r in records}
        if name == records[0].zone + "." and rtype == "TXT":
            apex_txt = live
        live_values = live.values if live else frozenset()
        findings.extend(
            Finding(plan.domain, name, rtype, "missing", planned=v) for v in sorted(planned - live_values)
        )
        findings.extend(
            Finding(plan.domain, name, rtype, "unexpected", live=v) for v in sorted(live_values - planned)
        )
        # TTLs are only comparable in answers from an authoritative server, not from caches.
        if live and live.authoritative and live.ttl != records[0].ttl and live_values == planned:
            findings.append(
                Finding(plan.domain, name, rtype, "different TTL", str(records[0].ttl), str(live.ttl))
            )
    if apex_txt is None:
        apex_txt = _live(resolver, f"{plan.domain}.", "TXT")
    spf_values = sorted(
        v for v in (apex_txt.values if apex_txt else ()) if v.strip('"').lower().startswith("v=spf1")
    )
    spf_texts = ["".join(part.strip('"') for part in v.split('" "')) for v in spf_values]
    if len(spf_values) > 1:
        findings.append(
            Finding(
                plan.domain,
                f"{plan.domain}.",
                "TXT",
                "duplicate SPF (permerror)",
                live=" | ".join(spf_values),
            )
        )
    lookups = counter.count_record(spf_texts[0], plan.domain).total if len(spf_texts) == 1 else None
    if lookups is not None and lookups > MAX_LOOKUPS:
        findings.append(
            Finding(
                plan.domain,
                f"{plan.domain}.",
                "TXT",
                f"SPF needs {lookups} lookups (limit {MAX_LOOKUPS})",
                live=spf_values[0],
            )
        )
    if _live(resolver, f"_dmarc.{plan.domain}.", "TXT") is None:
        findings.append(Finding(plan.domain, f"_dmarc.{plan.domain}.", "TXT", "missing DMARC record"))
    return DomainReport(plan.domain, lookups, tuple(findings))


def tenant_findings(plan: DomainPlan) -> list[Finding]:
    """What the tenant file expects that the plan does not publish, and the domain's state in the
    tenant. The plan publishes the tenant's MX host and DKIM targets itself; what is left is what
    config switched off (autodiscover outside hybrid) and what only the tenant can fix."""
    tenant, domain = plan.tenant, plan.domain
    apex = f"{domain}."
    if tenant is None:
        return [Finding(domain, apex, "-", "not in the tenant file (run mailflow tenant pull)")]
    findings = []
    if not tenant.graph.verified:
        findings.append(Finding(domain, apex, "-", "not verified in the tenant"))
    elif "Email" not in tenant.graph.supported_services:
        findings.append(Finding(domain, apex, "-", "Email is not a service of the domain in the tenant"))
    published = {(r.name, r.type): r.value for r in plan.records}
    target = tenant.graph.cnames.get("autodiscover")
    name = f"autodiscover.{apex}"
    if target and plan.topology not in ON_PREMISES_TOPOLOGIES and (name, "CNAME") not in published:
        findings.append(
            Finding(domain, name, "CNAME", "tenant expects, stack does not publish", f"{target}.")
        )
    return findings


def check_stack(
    plan: StackPlan, nameserver: tuple[str, int] | None = None, timeout: float = 5.0, tenant: bool = False
) -> CheckReport:
    """Query each planned record set (the system resolver, or ``nameserver``) and compare; with
    ``tenant``, also compare the plan with the stack's tenant file."""
    live = (
        LiveResolver([nameserver[0]], nameserver[1], timeout) if nameserver else LiveResolver(timeout=timeout)
    )
    counter = LookupCounter(live)
    reports = []
    for domain in plan.domains:
        report = check_domain(domain, live.resolver, counter)
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
                "drift": report.drift,
                "domains": [
                    {
                        "domain": d.domain,
                        "spfLookups": d.spf_lookups,
                        "findings": [asdict(f) for f in d.findings],
                    }
                    for d in report.domains
                ],
            },
            indent=2,
        )
        + "\n"
    )


def report_table(report: CheckReport) -> str:
    lines = []
    for domain in report.domains:
        lookups = (
            "no single SPF record" if domain.spf_lookups is None else f"{domain.spf_lookups}/{MAX_LOOKUPS}"
        )
        status = "drift" if domain.findings else "in sync"
        lines.append(f"{domain.domain}: {status}; live SPF lookups: {lookups}")
        for f in domain.findings:
            detail = " ".join(
                part
                for part in (f"planned {f.planned}" if f.planned else "", f"live {f.live}" if f.live else "")
                if part
            )
            lines.append(f"  {f.problem:<22} {f.type:<5} {f.name}  {detail}".rstrip())
    return "\n".join(lines) + "\n"
