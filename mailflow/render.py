"""The plan as JSON, a zone-file fragment or a table for people."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from mailflow.cutover import phase_steps
from mailflow.names import fqdn
from mailflow.plan import DomainPlan, StackPlan
from mailflow.records import Record


def plan_json(plan: StackPlan) -> str:
    """One object per record value: ``{"name", "type", "ttl", "value"}``, in plan order."""
    rows = [
        {"name": record.name, "type": record.type, "ttl": record.ttl, "value": record.value}
        for record in plan.records
    ]
    return json.dumps(rows, indent=2) + "\n"


def zone_text(origin: str, records: Iterable[Record]) -> str:
    """``$ORIGIN`` and one ``owner TTL IN TYPE value`` line per record. Names and values are
    in presentation format as dnspython writes them (quoting, escaping, absolute names), so no
    text of the config reaches the file unescaped."""
    # The origin is a domain name, validated as letters, digits and hyphens: nothing to escape.
    lines = [f"$ORIGIN {fqdn(origin)}"]
    lines.extend(f"{r.relative_name()} {r.ttl} IN {r.type} {r.value}" for r in records)
    return "\n".join(lines) + "\n"


def domain_zone_text(domain: DomainPlan) -> str:
    """A fragment ready to ``$INCLUDE`` in the domain's zone."""
    return f"; mailflow: {domain.domain} ({domain.topology})\n{zone_text(domain.domain, domain.records)}"


def plan_zone(plan: StackPlan) -> str:
    return "\n".join(domain_zone_text(domain) for domain in plan.domains)


def _table(rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    ]


def _cutover_lines(domain: DomainPlan) -> list[str]:
    """The cutover's phase, and what goes with its ``pulumi up``."""
    state = domain.cutover
    if state is None:
        return []
    following = state.next_phase or "end of the cutover"
    lines = [
        f"  cutover: {state.source} -> {state.destination}, phase {state.phase} (next: {following}; "
        "`mailflow cutover status STACKFILE` says when)"
    ]
    before, after = phase_steps(state, state.phase, "STACKFILE")
    lines.extend(f"    before pulumi up: {step}" for step in before)
    lines.extend(f"    after pulumi up: {step}" for step in after)
    return lines


def plan_table(plan: StackPlan) -> str:
    lines: list[str] = []
    for domain in plan.domains:
        lookups = f"{domain.spf_lookups.total}/10"
        if domain.spf_lookups.unresolved:
            lookups += " (some includes not counted offline)"
        lines.append(f"{domain.domain}  [{domain.topology}]")
        source = domain.sources.get("exoMxHost")
        lines.append(f"  Exchange Online MX host: {domain.exo_mx_host}" + (f" ({source})" if source else ""))
        lines.extend(
            f"  {label} from: {domain.sources[key]}"
            for key, label in (("dkim", "DKIM targets"), ("autodiscover", "autodiscover target"))
            if key in domain.sources
        )
        if domain.relay_host:
            lines.append(f"  third party relays inbound mail to: {domain.relay_host}")
        lines.append(f"  SPF DNS lookups: {lookups}")
        lines.extend(_cutover_lines(domain))
        rows = [("NAME", "TYPE", "TTL", "VALUE")]
        rows.extend((r.relative_name(), r.type, str(r.ttl), r.value) for r in domain.records)
        lines.extend(f"  {row}" for row in _table(rows))
        if domain.mta_sts_policy:
            lines.append(f"  MTA-STS policy for https://mta-sts.{domain.domain}/.well-known/mta-sts.txt:")
            lines.extend(f"    {line}" for line in domain.mta_sts_policy.splitlines())
        lines.append("")
    lines.extend(f"warning: {w}" for w in plan.warnings)
    return "\n".join(lines).rstrip("\n") + "\n"
