"""The record plan: validated config in, every DNS record of every domain out (no Pulumi here)."""

from __future__ import annotations

import gc
from collections import defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from mailflow.assigned import STRICT_REASON, assign, mx_microsoft_problems
from mailflow.config import Domain, Topology, parse_domains
from mailflow.errors import ConfigError, Problem
from mailflow.names import fqdn
from mailflow.records import (
    Record,
    exchange_online_records,
    extra_record,
    mta_sts_policy,
    mx_records,
    optional_records,
    owner,
    sort_records,
    txt,
)
from mailflow.resolvers import Resolver, bundled_snapshot
from mailflow.settings import StackSettings, check_target_keys, parse_settings
from mailflow.spf import (
    MAX_LOOKUPS,
    WARN_RECORD_BYTES,
    LookupCount,
    LookupCounter,
    SpfTerm,
    build_record,
)
from mailflow.tenant import TenantDomain, TenantFile
from mailflow.topology import route
from mailflow.validation import path_order

SPF_MIN_TTL = 3600
"""Microsoft recommends at least one hour for the SPF TXT record."""


@dataclass(frozen=True)
class DomainPlan:
    """Everything mailflow publishes and reports for one domain."""

    domain: str
    topology: Topology
    config_path: str
    records: tuple[Record, ...]
    spf: str
    spf_lookups: LookupCount
    exo_mx_host: str
    relay_host: str | None
    mta_sts_policy: str | None
    warnings: tuple[Problem, ...]
    config: Domain
    sources: Mapping[str, str] = field(default_factory=dict)
    """Where each value Microsoft assigns came from (``exoMxHost``, ``dkim``, ``autodiscover``)."""
    tenant: TenantDomain | None = None


@dataclass(frozen=True)
class StackPlan:
    domains: tuple[DomainPlan, ...]
    settings: StackSettings = field(default_factory=StackSettings)
    tenant_file: str | None = None
    """``mailflow:tenantFile`` as the stack names it, when it has one."""

    @property
    def records(self) -> tuple[Record, ...]:
        return tuple(record for domain in self.domains for record in domain.records)

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(warning for domain in self.domains for warning in domain.warnings)


def _spf_problems(
    path: str, counter: LookupCounter, spf: str, count: LookupCount, terms: tuple[SpfTerm, ...]
) -> tuple[list[Problem], list[Problem]]:
    problems: list[Problem] = []
    warnings: list[Problem] = []
    if count.total > MAX_LOOKUPS:
        costs = ", ".join(f"{t.text} ({counter.count([t]).total})" for t in terms if t.costs_lookup)
        problems.append(
            Problem(
                f"{path}.spf",
                f"the SPF record needs {count.total} DNS lookups, over the limit of {MAX_LOOKUPS} "
                f"(RFC 7208 §4.6.4): {costs}; use a regional vendor include or list IPs instead",
            )
        )
    problems.extend(Problem(f"{path}.spf", p) for p in count.problems)
    if count.unresolved:
        names = ", ".join(count.unresolved)
        warnings.append(
            Problem(
                f"{path}.spf",
                f"lookups inside {names} are unknown offline and counted as the include alone "
                f"({count.total} counted); verify against live DNS with `mailflow check`",
            )
        )
    size = len(spf.encode("ascii"))
    if size > WARN_RECORD_BYTES:
        warnings.append(
            Problem(
                f"{path}.spf",
                f"the SPF record is {size} bytes, over {WARN_RECORD_BYTES}: its DNS answer may not "
                "fit 512 bytes; prefer includes or wider CIDRs",
            )
        )
    return problems, warnings


def _rrset_problems(path: str, records: tuple[Record, ...]) -> list[Problem]:
    """One TTL per record set; a CNAME alone at its name (RFC 1034 §3.6.2)."""
    problems: list[Problem] = []
    ttls: dict[tuple[str, str], set[int]] = defaultdict(set)
    types: dict[str, set[str]] = defaultdict(set)
    for record in records:
        ttls[(record.name, record.type)].add(record.ttl)
        types[record.name].add(record.type)
    for (name, rtype), values in ttls.items():
        if len(values) > 1:
            problems.append(
                Problem(
                    f"{path}.extraRecords",
                    f"{rtype} {name} mixes TTLs {sorted(values)}; a record set has one TTL",
                )
            )
    for name, present in types.items():
        cnames = sum(1 for r in records if r.name == name and r.type == "CNAME")
        if "CNAME" in present and (len(present) > 1 or cnames > 1):
            problems.append(
                Problem(
                    f"{path}.extraRecords",
                    f"{name} has a CNAME beside other records; a CNAME must be alone at its name",
                )
            )
    return problems


def _case_variants(domain: Domain, path: str, planned: list[Record]) -> list[Problem]:
    """DNS names are case-insensitive (RFC 4343): an extra record written ``Autodiscover`` or
    ``_DMARC`` names what mailflow plans itself, and would join or clash with its records."""
    names = {r.name: f"{r.type} {r.name}" for r in planned}
    problems = []
    for index, extra in enumerate(domain.extra_records):
        name = owner(domain.name, extra.name.lower())
        if extra.name != extra.name.lower() and name in names:
            problems.append(
                Problem(
                    f"{path}.extraRecords[{index}].name",
                    f"'{extra.name}' is {name} in another case (DNS names are case-insensitive), "
                    f"where mailflow plans {names[name]}",
                )
            )
    return problems


def _dmarc_warnings(domain: Domain, path: str) -> list[Problem]:
    dmarc = domain.dmarc
    if dmarc is None:
        return [
            Problem(
                f"{path}.dmarc",
                "is not set: receivers get no DMARC policy for "
                f"{domain.name}; start with policy: none and reports (rua)",
            )
        ]
    warnings = []
    for key, uris in (("rua", dmarc.rua), ("ruf", dmarc.ruf)):
        for index, uri in enumerate(uris):
            host = uri.split("!", 1)[0].rpartition("@")[2].lower()
            # A parent or child of the domain shares its organizational domain (RFC 7489 §7.1).
            related = (
                host == domain.name or host.endswith(f".{domain.name}") or domain.name.endswith(f".{host}")
            )
            if not related:
                warnings.append(
                    Problem(
                        f"{path}.dmarc.{key}[{index}]",
                        f"reports go outside {domain.name}: {host} must publish TXT "
                        f'{domain.name}._report._dmarc.{host} "v=DMARC1" (RFC 7489 §7.1)',
                    )
                )
    return warnings


def plan_domain(
    domain: Domain,
    path: str,
    counter: LookupCounter,
    tenant: TenantDomain | None = None,
    tenant_label: str | None = None,
    strict: bool = False,
) -> DomainPlan:
    """The records of one validated domain; raise ``ConfigError`` if they cannot be published, or
    in ``strict`` mode if a value Microsoft assigns had to be derived."""
    assigned = assign(domain, path, tenant, tenant_label)
    routing = route(domain, assigned.exo_mx)
    spf_record = build_record(routing.spf_terms, domain.spf.all)
    spf = spf_record.text
    count = counter.count(spf_record.terms)
    problems, warnings = _spf_problems(path, counter, spf, count, spf_record.terms)
    if strict:
        problems.extend(Problem(p.path, f"{p.message} ({STRICT_REASON})") for p in assigned.derived)
    else:
        warnings.extend(assigned.derived)
    warnings.extend(assigned.warnings)
    if domain.ttl < SPF_MIN_TTL:
        warnings.append(
            Problem(
                f"{path}.ttl",
                f"{domain.ttl} s is the TTL of the SPF record too; Microsoft recommends at least "
                f"{SPF_MIN_TTL} s for it",
            )
        )

    planned = [
        *mx_records(domain.name, domain.ttl, routing.mx, routing.mx_part),
        txt(domain.name, "@", domain.ttl, spf, "spf"),
        *exchange_online_records(domain, assigned),
        *optional_records(domain, assigned.cnames),
    ]
    extras = [extra_record(domain, extra) for extra in domain.extra_records]
    ordered = sort_records(domain.name, [*planned, *extras])
    if domain.extra_records:
        problems.extend(_case_variants(domain, path, planned))
        problems.extend(_rrset_problems(path, ordered))
    apex_mx = [str(r.data[1]).rstrip(".") for r in ordered if r.type == "MX" and r.name == fqdn(domain.name)]
    mx_problems, mx_warnings = mx_microsoft_problems(path, assigned.exo_mx, apex_mx, tenant)
    problems.extend(mx_problems)
    warnings.extend(mx_warnings)
    if problems:
        raise ConfigError(problems)
    warnings.extend(_dmarc_warnings(domain, path))
    policy = mta_sts_policy(domain.mta_sts, routing.mx) if domain.mta_sts else None
    return DomainPlan(
        domain.name,
        domain.topology,
        path,
        ordered,
        spf,
        count,
        routing.exo_mx_host,
        routing.relay_host,
        policy,
        tuple(warnings),
        domain,
        assigned.sources,
        tenant,
    )


@contextmanager
def _without_gc_pauses() -> Iterator[None]:
    """Planning allocates many small objects that live on and form no reference cycles; the
    cyclic collector would re-scan them again and again (a third of the time at 10,000 domains).
    They are frozen afterwards so that the first collection does not scan them all at once either;
    reference counting still frees them."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()


def plan_stack(
    values: Mapping[str, Any], resolver: Resolver | None = None, strict: bool = False
) -> StackPlan:
    """Validate the ``mailflow`` namespace and plan every domain, or raise one ``ConfigError``
    holding every problem found. ``strict`` (or ``mailflow:strict``) refuses derived values."""
    with _without_gc_pauses():
        return _plan_stack(values, resolver, strict)


def _plan_stack(values: Mapping[str, Any], resolver: Resolver | None, strict: bool) -> StackPlan:
    settings, problems = parse_settings(values)
    parsed, domain_problems = parse_domains(values.get("domains"), values.get("domainsFile"))
    problems.extend(domain_problems)
    counter = LookupCounter(resolver or bundled_snapshot())
    strict = strict or (settings is not None and settings.strict)
    tenant: TenantFile | None = values.get("tenant")
    tenant_label = values.get("tenantFile") if tenant else None
    plans: list[DomainPlan] = []
    for path, domain in parsed:
        if settings is not None:
            problems.extend(check_target_keys(domain, path, settings))
        tenant_domain = tenant.domains.get(domain.name) if tenant else None
        try:
            plans.append(plan_domain(domain, path, counter, tenant_domain, tenant_label, strict))
        except ConfigError as error:
            problems.extend(error.problems)
    if problems or settings is None:
        raise ConfigError(sorted(problems, key=path_order))
    return StackPlan(tuple(plans), settings, values.get("tenantFile"))

