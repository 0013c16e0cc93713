"""The record plan: validated config in, every DNS record of every domain out (no Pulumi here)."""

from __future__ import annotations

import gc
from collections import defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from mailflow.assigned import (
    STRICT_REASON,
    assign,
    awaits_verification,
    mx_microsoft_problems,
    verification_findings,
)
from mailflow.config import Domain, Topology, parse_domains, phase_problems, previous_domain
from mailflow.connectors import ConnectorPlan, plan_connectors
from mailflow.cutover import LOWERED_TTL, OLD_SIDE, CutoverState, phase_mx, policy_id, untested_move_problems
from mailflow.errors import ConfigError, Problem, quote
from mailflow.groups import GROUPINGS, RecordGroup
from mailflow.names import fqdn, too_long
from mailflow.phases import CutoverPhase
from mailflow.records import (
    Record,
    exchange_online_records,
    extra_record,
    mta_sts_policy,
    mta_sts_text,
    mx_records,
    optional_records,
    owner,
    sort_records,
    txt,
    verification_records,
)
from mailflow.report_uris import report_host
from mailflow.resolvers import Resolver, bundled_snapshot
from mailflow.settings import (
    MARKER_LABEL,
    AzureSettings,
    CloudflareSettings,
    Rfc2136Settings,
    StackSettings,
    ZoneFileSettings,
    check_target_keys,
    parse_settings,
    secret_problems,
)
from mailflow.spf import (
    MAX_LOOKUPS,
    WARN_RECORD_BYTES,
    LookupCount,
    LookupCounter,
    SpfTerm,
    build_record,
)
from mailflow.tenant import TenantDomain, TenantFile
from mailflow.topology import MxTarget, Routing, route
from mailflow.validation import NAMESPACE, path_order

SPF_MIN_TTL = 3600
"""Microsoft recommends at least one hour for the SPF TXT record."""


@dataclass(frozen=True)
class Placement:
    """Where a domain's records go, from the domain's and the target's settings."""

    kind: str = "zonefile"
    """The stack's ``mailflow:target.kind``, which decides how records are grouped."""
    zone: str = ""
    """The DNS zone holding the domain: the domain itself, or the azure ``zoneName`` or rfc2136
    ``zone`` that contains it."""
    zone_id: str | None = None
    """cloudflare: the zone's ID, the domain's own or the target's (else looked up by name)."""
    adopt: bool = False
    import_ids: Mapping[str, str] = field(default_factory=dict)


def placement(domain: Domain, settings: StackSettings | None) -> Placement:
    target = settings.target if settings is not None else ZoneFileSettings()
    zone = domain.name
    if isinstance(target, AzureSettings) and domain.zone_name:
        zone = domain.zone_name
    elif isinstance(target, Rfc2136Settings) and target.zone:
        zone = target.zone
    zone_id = domain.zone_id or (target.zone_id if isinstance(target, CloudflareSettings) else None)
    return Placement(target.kind, zone, zone_id, domain.adopt, dict(domain.import_ids))


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
    place: Placement = field(default_factory=Placement)
    ttl: int = 3600
    """The domain's TTL (its zone file's default)."""
    routing: Routing | None = None
    """Where the topology sends mail: MX targets and SPF senders."""
    cutover: CutoverState | None = None
    """The domain's staged MX move, when config has one."""
    awaits_verification: bool = False
    """The tenant holds the domain unverified: its plan is the MS= record alone, and it has no
    connectors until Microsoft assigns its MX host."""

    @cached_property
    def groups(self) -> tuple[RecordGroup, ...]:
        """The records in the units the stack's target manages, each with its logical name."""
        return tuple(GROUPINGS[self.place.kind](self.domain, self.records))


@dataclass(frozen=True)
class StackPlan:
    domains: tuple[DomainPlan, ...]
    settings: StackSettings = field(default_factory=StackSettings)
    tenant_file: str | None = None
    """``mailflow:tenantFile`` as the stack names it, when it has one."""
    connectors: ConnectorPlan = field(default_factory=lambda: ConnectorPlan((), ()))
    """The Exchange Online connectors the domains need."""

    @property
    def records(self) -> tuple[Record, ...]:
        return tuple(record for domain in self.domains for record in domain.records)

    @property
    def warnings(self) -> tuple[Problem, ...]:
        """The domains' warnings, then the connectors'."""
        domain_warnings = (warning for domain in self.domains for warning in domain.warnings)
        return (*domain_warnings, *self.connectors.warnings)


def _spf_problems(
    key: str,
    counter: LookupCounter,
    spf: str,
    count: LookupCount,
    terms: tuple[SpfTerm, ...],
    whose: str = "",
) -> tuple[list[Problem], list[Problem]]:
    """Problems and warnings of an SPF record, at config path ``key``; ``whose`` says which record
    it is when it is not the one the domain's settings give."""
    problems: list[Problem] = []
    warnings: list[Problem] = []
    if count.over_limit:
        costs = ", ".join(f"{t.text} ({_lookups(counter.count([t]))})" for t in terms if t.costs_lookup)
        problems.append(
            Problem(
                key,
                f"the SPF record{whose} needs more than {MAX_LOOKUPS} DNS lookups, the limit "
                f"(RFC 7208 §4.6.4): {costs}; use a regional vendor include or list IPs instead",
            )
        )
    problems.extend(Problem(key, p) for p in count.problems)
    if count.unresolved:
        names = ", ".join(count.unresolved)
        warnings.append(
            Problem(
                key,
                f"the records of {names} could not be read, so each counts as its include alone "
                f"(at least {count.total} lookups); verify against live DNS with `mailflow check`",
            )
        )
    size = len(spf.encode("ascii"))
    if size > WARN_RECORD_BYTES:
        warnings.append(
            Problem(
                key,
                f"the SPF record{whose} is {size} bytes, over {WARN_RECORD_BYTES}: its DNS answer may not "
                "fit 512 bytes; prefer includes or wider CIDRs",
            )
        )
    return problems, warnings


def _lookups(count: LookupCount) -> str:
    return f"more than {MAX_LOOKUPS}" if count.over_limit else str(count.total)


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
        name = owner(domain.name, extra.relative_name)
        if extra.name != extra.relative_name and name in names:
            problems.append(
                Problem(
                    f"{path}.extraRecords[{index}].name",
                    f"{quote(extra.name)} is {name} in another case (DNS names are case-insensitive), "
                    f"where mailflow plans {names[name]}",
                )
            )
    return problems


def _extra_records(domain: Domain, path: str) -> tuple[dict[int, Record], list[Problem]]:
    """The records of ``extraRecords`` by their index, and why the others cannot be published."""
    records: dict[int, Record] = {}
    problems: list[Problem] = []
    for index, extra in enumerate(domain.extra_records):
        key = f"{path}.extraRecords[{index}]"
        reason = too_long(owner(domain.name, extra.relative_name))
        if reason is not None:
            problems.append(Problem(f"{key}.name", f"is too long with the domain: {reason}"))
            continue
        if extra.relative_name.split(".")[0] == MARKER_LABEL:
            problems.append(
                Problem(
                    f"{key}.name",
                    f"{quote(extra.name)} is a name under {MARKER_LABEL}, which mailflow keeps for the "
                    f"ownership markers of the rfc2136 target ({MARKER_LABEL}.<name>): choose another",
                )
            )
            continue
        try:
            records[index] = extra_record(domain, extra)
        except ValueError as error:
            problems.append(Problem(f"{key}.value", str(error)))
    return records, problems


def _repeated_extras(path: str, planned: list[Record], extras: Mapping[int, Record]) -> list[Problem]:
    """A value given twice is one record in DNS (RFC 2181 §5): an extra record that repeats
    another, or what mailflow plans, is a slip in the config. Names and values compare in their
    published form (lower-case names, TXT text split the same way)."""
    seen = {(r.name, r.type, r.data): "what mailflow plans" for r in planned}
    problems = []
    for index, record in extras.items():
        key = (record.name, record.type, record.data)
        if key in seen:
            problems.append(
                Problem(
                    f"{path}.extraRecords[{index}]",
                    f"repeats {seen[key]}: {record.type} {record.name} {quote(record.value)}",
                )
            )
        else:
            seen[key] = f"extraRecords[{index}]"
    return problems


def _name_length_problems(
    domain: Domain, path: str, planned: list[Record], target_kind: str
) -> list[Problem]:
    """Every name mailflow plans fits DNS: a domain name near 255 octets leaves no room for
    ``selector1._domainkey`` or ``_smtp._tls`` in front of it, nor, on the rfc2136 target, for the
    ownership marker in front of those."""
    if not planned:
        return []
    longest = max(planned, key=lambda record: len(record.name))
    reason = too_long(longest.name)
    if reason is None and target_kind == "rfc2136":
        marker = too_long(f"{MARKER_LABEL}.{longest.name}")
        reason = None if marker is None else f"its rfc2136 ownership marker {marker}"
    if reason is None:
        return []
    return [Problem(f"{path}.name", f"is too long for the {longest.type} record mailflow plans: {reason}")]


_OWN_TXT_SLOTS = {"dmarc": "DMARC", "mta-sts": "MTA-STS", "tls-rpt": "TLS-RPT"}


def _joined_txt(path: str, planned: list[Record], extras: Mapping[int, Record]) -> list[Problem]:
    """A TXT extra at ``_dmarc``, ``_mta-sts`` or ``_smtp._tls`` joins the policy record mailflow
    plans there: two DMARC records mean no policy at all (RFC 7489 §6.6.3), and the same holds
    for MTA-STS (RFC 8461 §3.1) and TLS-RPT (RFC 8460 §3)."""
    own = {r.name: _OWN_TXT_SLOTS[r.slot] for r in planned if r.type == "TXT" and r.slot in _OWN_TXT_SLOTS}
    return [
        Problem(
            f"{path}.extraRecords[{index}]",
            f"adds a TXT record at {record.name}, beside the {own[record.name]} record mailflow plans: "
            "receivers then apply neither; set it in the domain's own settings instead",
        )
        for index, record in extras.items()
        if record.type == "TXT" and record.name in own
    ]


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
            host = report_host(uri)
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
    place: Placement | None = None,
) -> DomainPlan:
    """The records of one validated domain; raise ``ConfigError`` if they cannot be published, or
    in ``strict`` mode if a value Microsoft assigns had to be derived. A domain in cutover gets
    the records of its phase."""
    place = place or placement(domain, None)
    if tenant is not None and awaits_verification(domain, tenant):
        return _verification_plan(domain, path, tenant, str(tenant_label), place)
    if domain.cutover is None:
        return _plan_side(domain, path, counter, tenant, tenant_label, strict, place)
    problems: list[Problem] = []
    sides: list[DomainPlan] = []
    old_host = domain.cutover.source.exo_mx_host
    for side, host in (
        (previous_domain(domain), old_host),
        (domain.model_copy(update={"cutover": None}), None),
    ):
        try:
            sides.append(_plan_side(side, path, counter, tenant, tenant_label, strict, place, host))
        except ConfigError as error:
            problems.extend(p for p in error.problems if p not in problems)
    if problems:
        raise ConfigError(problems)
    return _cutover_plan(domain, path, counter, sides[0], sides[1])


def _with_extras(
    domain: Domain, path: str, planned: list[Record], place: Placement, problems: list[Problem]
) -> tuple[Record, ...]:
    """The planned records and the config's extra records, in zone order; what keeps them from
    being published together goes to ``problems``."""
    problems.extend(_name_length_problems(domain, path, planned, place.kind))
    extras, extra_problems = _extra_records(domain, path)
    problems.extend(extra_problems)
    ordered = sort_records(domain.name, [*planned, *extras.values()])
    if domain.extra_records:
        problems.extend(_case_variants(domain, path, planned))
        problems.extend(_repeated_extras(path, planned, extras))
        problems.extend(_joined_txt(path, planned, extras))
        problems.extend(_rrset_problems(path, ordered))
    return ordered


def _verification_plan(
    domain: Domain, path: str, tenant: TenantDomain, tenant_label: str, place: Placement
) -> DomainPlan:
    """The plan of a domain the tenant has not verified: the MS= record that verifies it, and
    the extra records config gives, which depend on nothing Microsoft assigns."""
    problems, warnings = verification_findings(domain, path, tenant, tenant_label)
    records = _with_extras(domain, path, verification_records(domain), place, problems)
    if problems:
        raise ConfigError(problems)
    return DomainPlan(
        domain.name,
        domain.topology,
        path,
        records,
        "",
        LookupCount(0),
        "",
        None,
        None,
        tuple(warnings),
        domain,
        {},
        tenant,
        place,
        domain.ttl,
        awaits_verification=True,
    )


def _plan_side(
    domain: Domain,
    path: str,
    counter: LookupCounter,
    tenant: TenantDomain | None,
    tenant_label: str | None,
    strict: bool,
    place: Placement,
    exo_mx_host: str | None = None,
) -> DomainPlan:
    """The records of a domain with no cutover, or of one side of a cutover: the old side's
    ``exo_mx_host`` (``cutover.from.exoMxHost``) is published instead of the one assigned."""
    assigned = assign(domain, path, tenant, tenant_label)
    if exo_mx_host is not None:
        assigned = replace(
            assigned,
            exo_mx=MxTarget(assigned.exo_mx.priority, exo_mx_host),
            sources={**assigned.sources, "exoMxHost": f"config: {path}.cutover.from.exoMxHost"},
            derived=tuple(p for p in assigned.derived if not p.path.endswith(".exchangeOnline.mxHost")),
        )
    routing = route(domain, assigned.exo_mx)
    spf_record = build_record(routing.spf_terms, domain.spf.all)
    spf = spf_record.text
    count = counter.count(spf_record.terms)
    problems, warnings = _spf_problems(f"{path}.spf", counter, spf, count, spf_record.terms)
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
    ordered = _with_extras(domain, path, planned, place, problems)
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
        place,
        domain.ttl,
        routing,
    )


def _cutover_plan(
    domain: Domain, path: str, counter: LookupCounter, before: DomainPlan, after: DomainPlan
) -> DomainPlan:
    """The records of the cutover's phase, from both sides planned on their own: the MX of the
    phase, an SPF record authorising the senders of both paths until ``done``, the TTL of the MX
    and apex TXT record sets lowered while mail may go either way, and an MTA-STS policy in
    ``testing`` mode naming both MX sets until ``done``."""
    cutover = domain.cutover
    assert cutover is not None and before.routing is not None and after.routing is not None
    phase = cutover.phase
    key = f"{path}.cutover"
    old_mx, new_mx = before.routing.mx, after.routing.mx
    if set(old_mx) == set(new_mx):
        shown = ", ".join(f"{m.priority} {m.host}" for m in new_mx)
        raise ConfigError([Problem(f"{key}.from", f"moves no MX: both sides publish MX {shown}")])
    both = build_record((*before.routing.spf_terms, *after.routing.spf_terms), domain.spf.all)
    count = counter.count(both.terms)
    problems, warnings = _spf_problems(key, counter, both.text, count, both.terms, " of both paths")
    problems.extend(untested_move_problems(cutover, old_mx, new_mx, key))
    if problems:
        raise ConfigError(problems)
    base = before if phase in OLD_SIDE else after
    spf, lookups = (after.spf, after.spf_lookups) if phase == "done" else (both.text, count)
    apex = fqdn(domain.name)
    ttl = cutover.ttl if phase in LOWERED_TTL else domain.ttl
    mx = phase_mx(phase, old_mx, new_mx)
    parts = {m.host: before.routing.mx_part for m in old_mx} | {m.host: after.routing.mx_part for m in new_mx}
    policy_text, policy_record = _cutover_policy(domain, phase, (*old_mx, *new_mx), after.routing.mx)
    records = [
        replace(r, ttl=ttl) if r.name == apex and r.type == "TXT" else r
        for r in base.records
        if not (r.name == apex and (r.type == "MX" or r.slot == "spf")) and r.slot != "mta-sts"
    ]
    records.extend(record for m in mx for record in mx_records(domain.name, ttl, [m], parts[m.host]))
    records.append(txt(domain.name, "@", ttl, spf, "spf"))
    if policy_record is not None:
        records.append(policy_record)
    merged = [*after.warnings, *(w for w in before.warnings if w not in after.warnings), *warnings]
    return DomainPlan(
        domain.name,
        base.topology,
        path,
        sort_records(domain.name, records),
        spf,
        lookups,
        base.exo_mx_host,
        base.relay_host,
        policy_text,
        tuple(merged),
        domain,
        base.sources,
        base.tenant,
        base.place,
        domain.ttl,
        base.routing,
        CutoverState(cutover, before, after, both.text),
    )


def at_phase(plan: DomainPlan, phase: CutoverPhase, counter: LookupCounter) -> DomainPlan:
    """A domain in cutover planned at another phase, from the two sides already planned."""
    state = plan.cutover
    assert state is not None
    if phase == state.phase:
        return plan
    config = plan.config.model_copy(update={"cutover": state.cutover.model_copy(update={"phase": phase})})
    return _cutover_plan(config, plan.config_path, counter, state.before, state.after)


def _cutover_policy(
    domain: Domain, phase: str, both: tuple[MxTarget, ...], after: tuple[MxTarget, ...]
) -> tuple[str | None, Record | None]:
    """The MTA-STS policy file and ``_mta-sts`` record of a phase: until ``done`` in ``testing``
    mode (unless ``none``) and naming the MX hosts of both sides, then as configured. The id
    follows the policy (``cutover.policy_id``)."""
    configured = domain.mta_sts
    if configured is None:
        return None, None
    if phase == "done":
        policy = mta_sts_policy(configured, after)
    else:
        mode = "none" if configured.mode == "none" else "testing"
        policy = mta_sts_policy(configured.model_copy(update={"mode": mode}), both)
    published = configured.model_copy(update={"id": policy_id(configured.id, policy)})
    return policy, txt(domain.name, "_mta-sts", domain.ttl, mta_sts_text(published), "mta-sts")


@contextmanager
def without_gc_pauses(freeze: bool = False) -> Iterator[None]:
    """For the entry points (the command line, the Pulumi program), around planning a stack.
    Planning allocates many small objects that live on and form no reference cycles; the
    cyclic collector would re-scan them again and again (a third of the time at 10,000 domains).
    With ``freeze``, for the processes mailflow owns, they are frozen afterwards so that the first
    collection does not scan them all at once either (reference counting still frees them); a
    caller's process gets its collector back as it was."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if freeze:
            gc.freeze()
        if was_enabled:
            gc.enable()


REGISTRATION_GC_THRESHOLDS = (50_000, 20, 100)
"""The collector's thresholds in a process that registers resources for Pulumi and ends: each
registration allocates objects (Outputs, futures, resource options) that live to the end of the
run and seldom form cycles, and with Python's default first threshold (700) the collector runs
every few resources and re-scans them; the figures are in docs/BENCHMARKS.md."""


def tune_gc_for_registration() -> None:
    """For the processes mailflow owns (the stack program, the component package's plugin), never
    for a caller's: ``mailflow.components`` leaves a program of one's own as it is."""
    gc.set_threshold(*REGISTRATION_GC_THRESHOLDS)


def plan_stack(
    values: Mapping[str, Any],
    resolver: Resolver | None = None,
    strict: bool | None = None,
    complete: bool = False,
    phase: CutoverPhase | None = None,
) -> StackPlan:
    """The one gate every entry point goes through: validate the ``mailflow`` namespace (as
    ``mailflow.stackfile`` reads it), plan every domain's records and connectors and check the
    target's settings and secret, or raise one ``ConfigError`` holding every problem found.
    ``strict`` refuses derived values (None: as ``mailflow:strict`` says); ``complete`` refuses
    connectors or connector settings left out for a value config lacks; ``phase`` plans every
    domain in cutover at that phase instead of its configured one."""
    settings, problems = parse_settings(values)
    parsed, domain_problems = parse_domains(values.get("domains"), values.get("domainsFile"))
    problems.extend(domain_problems)
    counter = LookupCounter(resolver or bundled_snapshot())
    if strict is None:
        strict = settings is not None and settings.strict
    tenant: TenantFile | None = values.get("tenant")
    tenant_label = values.get("tenantFile") if tenant else None
    plans: list[DomainPlan] = []
    if settings is not None:
        problems.extend(secret_problems(settings, values))
    if phase is not None and not problems and not any(domain.cutover for _, domain in parsed):
        problems.append(Problem(f"{NAMESPACE}:domains", f"no domain has a cutover to plan at phase {phase}"))
    for path, domain in parsed:
        if phase is not None and domain.cutover is not None:
            problems.extend(phase_problems(domain.cutover, path, phase))
            domain = domain.model_copy(update={"cutover": domain.cutover.model_copy(update={"phase": phase})})
        if settings is not None:
            problems.extend(check_target_keys(domain, path, settings))
        tenant_domain = tenant.domains.get(domain.name) if tenant else None
        try:
            place = placement(domain, settings)
            plan = plan_domain(domain, path, counter, tenant_domain, tenant_label, strict, place)
        except ConfigError as error:
            problems.extend(error.problems)
            continue
        problems.extend(_import_id_problems(plan))
        plans.append(plan)
    try:
        connectors = plan_connectors(plans, complete)
    except ConfigError as error:
        problems.extend(error.problems)
    if problems or settings is None:
        raise ConfigError(sorted(problems, key=path_order))
    return StackPlan(tuple(plans), settings, values.get("tenantFile"), connectors)


def _import_id_problems(plan: DomainPlan) -> list[Problem]:
    """Every ``importIds`` key must name a resource the domain registers."""
    import_ids = plan.place.import_ids
    if not import_ids or plan.place.kind in ("zonefile", "rfc2136"):
        return []  # the target refuses importIds as a whole (check_target_keys)
    names = {group.name for group in plan.groups}
    known = ", ".join(sorted(names))
    return [
        Problem(
            f"{plan.config_path}.importIds.{key}", f"is not a resource of this domain; its resources: {known}"
        )
        for key in import_ids
        if key not in names
    ]
