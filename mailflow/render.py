"""The plan as JSON, a zone-file fragment or a table for people."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from mailflow.cutover import CutoverState, phase_steps
from mailflow.names import fqdn
from mailflow.plan import DomainPlan, StackPlan
from mailflow.records import Record


def plan_json(plan: StackPlan) -> str:
    """One object per record value: ``{"name", "type", "ttl", "value"}``, in plan order. Those of
    a domain in cutover also carry ``"cutover": {"phase", "from", "to", "next"}``, the phase the
    records are of (``next`` null when what is left is to end the cutover)."""
    rows: list[dict[str, Any]] = []
    for domain in plan.domains:
        state = domain.cutover
        cutover = {"cutover": _move(state)} if state else {}
        rows.extend(
            {"name": record.name, "type": record.type, "ttl": record.ttl, "value": record.value, **cutover}
            for record in domain.records
        )
    return json.dumps(rows, indent=2) + "\n"


def _move(state: CutoverState) -> dict[str, str | None]:
    return {"phase": state.phase, "from": state.source, "to": state.destination, "next": state.next_phase}


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


def _cutover_lines(domain: DomainPlan, stackfile: str) -> list[str]:
    """The cutover's phase, and what goes with its ``pulumi up``."""
    state = domain.cutover
    if state is None:
        return []
    following = state.next_phase or "end of the cutover"
    lines = [
        f"  cutover: {state.source} -> {state.destination}, phase {state.phase} (next: {following}; "
        f"`mailflow cutover status {stackfile}` says when)"
    ]
    before, after = phase_steps(state, state.phase, stackfile)
    lines.extend(f"    before pulumi up: {step}" for step in before)
    lines.extend(f"    after pulumi up: {step}" for step in after)
    return lines


def _record_rows(domain: DomainPlan) -> list[str]:
    rows = [("NAME", "TYPE", "TTL", "VALUE")]
    rows.extend((r.relative_name(), r.type, str(r.ttl), r.value) for r in domain.records)
    return _table(rows)


def plan_table(plan: StackPlan, stackfile: Path | str = "STACKFILE") -> str:
    """``stackfile``: the stack file the cutover steps name (a placeholder where the plan was made
    from config values rather than read from one)."""
    lines: list[str] = []
    for domain in plan.domains:
        lookups = f"{domain.spf_lookups.total}/10"
        if domain.spf_lookups.unresolved:
            lookups += " (some includes not counted offline)"
        lines.append(f"{domain.domain}  [{domain.topology}]")
        if domain.awaits_verification:
            lines.append("  awaiting verification in the tenant: its MS= record only")
            lines.extend(f"  {row}" for row in _record_rows(domain))
            lines.append("")
            continue
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
        lines.extend(_cutover_lines(domain, str(stackfile)))
        lines.extend(f"  {row}" for row in _record_rows(domain))
        if domain.mta_sts_policy:
            lines.append(f"  MTA-STS policy for https://mta-sts.{domain.domain}/.well-known/mta-sts.txt:")
            lines.extend(f"    {line}" for line in domain.mta_sts_policy.splitlines())
        lines.append("")
    lines.extend(f"warning: {w}" for w in plan.warnings)
    return "\n".join(lines).rstrip("\n") + "\n"
