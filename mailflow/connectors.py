"""Exchange Online connectors each domain's topology needs, and the idempotent Exchange Online
PowerShell script that creates or updates them (no Pulumi here)."""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import lru_cache
from typing import TYPE_CHECKING

from mailflow.config import ON_PREMISES_TOPOLOGIES, Topology
from mailflow.errors import ConfigError, Problem
from mailflow.powershell import comment, quote
from mailflow.spf import SpfTerm
from mailflow.topology import third_party_sends_outbound

if TYPE_CHECKING:
    from mailflow.plan import DomainPlan

NAME_PREFIX = "mailflow "
"""Every connector mailflow plans is named so: the script and ``connectors diff`` tell its own
connectors from those of the wizard or an admin by it."""
MAX_NAME_LENGTH = 64
"""Exchange Online refuses longer connector names."""
WIZARD_FOUND = "not made, the tenant has its own on-premises connector "
HYBRID_HEADERS = (
    "as the Hybrid Configuration Wizard sets it: keeps the headers that make on-premises and "
    "Exchange Online one organisation"
)
MIN_SENDER_PREFIX = 24
"""``SenderIPAddresses`` takes IPv4 networks from /24 to /32."""
RFC1918_NETWORKS = tuple(
    ipaddress.IPv4Network(network) for network in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
)


class Direction(StrEnum):
    INBOUND = "Inbound"
    OUTBOUND = "Outbound"


class ConnectorType(StrEnum):
    PARTNER = "Partner"
    ON_PREMISES = "OnPremises"


class TlsSettings(StrEnum):
    CERTIFICATE_VALIDATION = "CertificateValidation"
    DOMAIN_VALIDATION = "DomainValidation"


ParameterValue = bool | str | tuple[str, ...] | None
"""A ``StrEnum`` member is written as a bare word (``Partner``), other text single-quoted."""


@dataclass(frozen=True)
class Parameter:
    name: str
    value: ParameterValue
    source: str | None = None
    """Where a value taken from config came from (a config path, or the default used); ``None``
    for values fixed by the connector's purpose."""


class AcceptedDomainType(StrEnum):
    AUTHORITATIVE = "Authoritative"
    INTERNAL_RELAY = "InternalRelay"


@dataclass(frozen=True)
class Connector:
    """One connector of a tenant; its ``New-`` and ``Set-`` cmdlets take the same parameters."""

    name: str
    direction: Direction
    domains: tuple[str, ...]
    """The mail domains it serves (several when they share one tenant and the same settings)."""
    purpose: str
    parameters: tuple[Parameter, ...]

    @property
    def connector_type(self) -> ConnectorType:
        return next(ConnectorType(str(p.value)) for p in self.parameters if p.name == "ConnectorType")


@dataclass(frozen=True)
class AcceptedDomain:
    """The accepted-domain type a domain's topology needs (``Set-AcceptedDomain -DomainType``)."""

    domain: str
    domain_type: AcceptedDomainType
    source: str
    """Why: the topology, and the config path that decides it."""


@dataclass(frozen=True)
class TenantConnectors:
    """What one Exchange Online tenant needs: connectors are the tenant's, not a domain's."""

    tenant: str
    """``exchangeOnline.tenant`` of its domains (``default``: one tenant per stack)."""
    connectors: tuple[Connector, ...]
    arc_trusted_sealers: tuple[str, ...]
    """Domains whose ARC seals the tenant trusts (``Set-ArcConfig -ArcTrustedSealers``): the
    services that modify messages on their way in."""
    accepted_domains: tuple[AcceptedDomain, ...]


@dataclass(frozen=True)
class ConnectorPlan:
    tenants: tuple[TenantConnectors, ...]
    warnings: tuple[Problem, ...]
    """Connectors or settings left out for a value config lacks, and values that may be wrong."""

    @property
    def connectors(self) -> tuple[Connector, ...]:
        return tuple(connector for tenant in self.tenants for connector in tenant.connectors)


@dataclass
class _Findings:
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)


@dataclass(frozen=True)
class _SenderIp:
    """A sender IP as config wrote it (an address, a network or an SPF term) and where."""

    path: str
    written: str
    network: ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=4096)
def _network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """A network parsed once per distinct text: a stack's domains share their senders' IPs."""
    return ipaddress.ip_network(text)


@dataclass(frozen=True)
class _Draft:
    """One domain's share of a connector, before the domains of a tenant are merged."""

    label: str
    """What the connector connects to (``from Mimecast``); its name is ``mailflow <label>``."""
    direction: Direction
    domain: str
    purpose: str
    parameters: tuple[Parameter, ...]

    def settings(self) -> tuple[tuple[str, ParameterValue], ...]:
        """What must be equal for two domains to share the connector: every value but the
        domains it delivers to."""
        return tuple((p.name, p.value) for p in self.parameters if p.name != "RecipientDomains")


def plan_connectors(domains: Iterable[DomainPlan], strict: bool = False) -> ConnectorPlan:
    """The connectors, ARC sealers and accepted-domain types of each tenant the domains belong
    to, or raise ``ConfigError`` with every problem found; with ``strict``, each warning is a
    problem too."""
    by_tenant: dict[str, list[DomainPlan]] = {}
    # A domain awaiting verification has no MX host in Exchange Online to route to yet.
    found = _Findings()
    spellings: dict[str, tuple[str, str]] = {}
    for domain in (domain for domain in domains if not domain.awaits_verification):
        tenant = domain.config.exchange_online.tenant
        first, where = spellings.setdefault(tenant.casefold(), (tenant, domain.config_path))
        if tenant != first:
            # The script's -Tenant parameter compares as PowerShell does, without case.
            found.errors.append(
                Problem(
                    f"{domain.config_path}.exchangeOnline.tenant",
                    f"'{tenant}' differs from '{first}' ({where}) only in case, and the script's -Tenant "
                    "matches both: spell the tenant one way",
                )
            )
        by_tenant.setdefault(first, []).append(domain)
    tenants: list[TenantConnectors] = []
    for tenant, members in by_tenant.items():
        tenants.append(_tenant_connectors(tenant, members, found))
    # Both sides of a cutover can find the same fault.
    errors, warnings = list(dict.fromkeys(found.errors)), tuple(dict.fromkeys(found.warnings))
    problems = [*errors, *(warnings if strict else ())]
    if problems:
        raise ConfigError(problems)
    return ConnectorPlan(tuple(tenants), warnings)


def connector_name(label: str) -> str:
    """``mailflow from Example filtering service``. A name over Exchange Online's limit is cut and
    ends in a digest of the whole name, so that it stays distinct and stable."""
    name = NAME_PREFIX + " ".join(label.split())
    if len(name) <= MAX_NAME_LENGTH:
        return name
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:8]
    return f"{name[: MAX_NAME_LENGTH - len(digest) - 1]}~{digest}"


def _tenant_connectors(tenant: str, domains: list[DomainPlan], found: _Findings) -> TenantConnectors:
    clouds = {domain.config.exchange_online.cloud for domain in domains}
    if len(clouds) > 1:
        found.errors.extend(
            Problem(
                f"{domain.config_path}.exchangeOnline.tenant",
                f"'{tenant}' holds domains of the {', '.join(sorted(clouds))} clouds; a tenant is in one",
            )
            for domain in domains[1:]
            if domain.config.exchange_online.cloud != domains[0].config.exchange_online.cloud
        )
    drafts = [draft for domain in domains for draft in _phase_drafts(domain, found)]
    connectors = _merged(drafts)
    _check_outbound_routes(tenant, connectors, domains, found)
    sealers = sorted(
        {
            side.config.third_party.arc_sealer
            for domain in domains
            for side in _sides(domain)
            if side.config.third_party and side.config.third_party.arc_sealer
        }
    )
    accepted = tuple(_accepted_domain(_sides(domain)[0], found) for domain in domains)
    return TenantConnectors(tenant, tuple(connectors), tuple(sealers), accepted)


def _merged(drafts: list[_Draft]) -> list[Connector]:
    """One connector per label and settings, serving every domain that shares them. Domains whose
    settings differ get a connector of their own, named after the first of them; the connector
    of the first domain in config keeps the plain name, so names stay put as domains are added."""
    groups: dict[tuple[str, tuple[tuple[str, ParameterValue], ...]], list[_Draft]] = {}
    for draft in drafts:
        groups.setdefault((draft.label, draft.settings()), []).append(draft)
    named: set[str] = set()
    connectors = []
    for (label, _), members in groups.items():
        first = members[0]
        name = connector_name(label if label not in named else f"{label} ({first.domain})")
        named.add(label)
        domains = tuple(dict.fromkeys(member.domain for member in members))
        connectors.append(
            Connector(name, first.direction, domains, first.purpose, _joined_parameters(members))
        )
    return connectors


def _joined_parameters(members: list[_Draft]) -> tuple[Parameter, ...]:
    """The shared settings, with ``RecipientDomains`` the union of the members'."""
    if len(members) == 1:
        return members[0].parameters
    recipients: dict[str, None] = {}
    for member in members:
        for parameter in member.parameters:
            if parameter.name == "RecipientDomains" and isinstance(parameter.value, tuple):
                recipients.update(dict.fromkeys(parameter.value))
    return tuple(
        Parameter(p.name, tuple(recipients), "the names of the domains it serves")
        if p.name == "RecipientDomains"
        else p
        for p in members[0].parameters
    )


def _check_outbound_routes(
    tenant: str, connectors: list[Connector], domains: list[DomainPlan], found: _Findings
) -> None:
    """All of a tenant's internet mail leaves through at most one service: two Partner outbound
    connectors for every recipient domain (``*``) would each claim it."""
    catch_all = [c for c in connectors if c.direction == Direction.OUTBOUND and _routes_all(c)]
    # Both from one domain is that domain's own error (outboundSmartHosts with centralized transport).
    if len({c.domains for c in catch_all}) > 1:
        found.errors.append(
            Problem(
                f"{domains[0].config_path}.exchangeOnline.tenant",
                f"tenant '{tenant}' would send all its outbound mail through each of "
                f"{', '.join(c.name for c in catch_all)}; route its domains through one path",
            )
        )
    elif catch_all:
        _check_route_in_spf(catch_all[0], domains, found)


def _routes_all(connector: Connector) -> bool:
    """A Partner outbound connector (``RecipientDomains *``), or one to on-premises with
    centralized mail transport: either takes the internet mail of every domain of the tenant."""
    if connector.connector_type == ConnectorType.PARTNER:
        return True
    return any(p.name == "RouteAllMessagesViaOnPremises" and p.value is True for p in connector.parameters)


def _route_senders(connector: Connector, side: DomainPlan) -> set[SpfTerm]:
    """The senders SPF must authorise for mail that ``connector`` routes, as ``side`` names them."""
    config = side.config
    if connector.connector_type == ConnectorType.PARTNER:
        return set(config.third_party.spf) if config.third_party else set()
    ips = config.on_premises.ips if config.on_premises else ()
    return {SpfTerm("ip6" if ":" in ip else "ip4", ip) for ip in ips}


def _check_route_in_spf(route: Connector, domains: list[DomainPlan], found: _Findings) -> None:
    """The tenant's one route for internet mail carries every domain's mail, not just that of the
    domains that asked for it: their SPF must authorise where it leaves from."""
    routed = set(route.domains)
    owners = [domain for domain in domains if domain.domain in routed]
    needed = {term for owner in owners for side in _sides(owner) for term in _route_senders(route, side)}
    for domain in domains:
        if domain.domain in routed:
            continue
        published = {term for side in _sides(domain) if side.routing for term in side.routing.spf_terms}
        missing = sorted(term.text for term in needed - published)
        if missing:
            found.warnings.append(
                Problem(
                    f"{domain.config_path}.spf",
                    f"{domain.domain}'s outbound mail leaves through {route.name}, the tenant's route for "
                    f"all internet mail, but its SPF does not authorise {', '.join(missing)}: receivers "
                    "that check SPF fail it; add them to spf.extra, or give the domain a tenant of its "
                    "own (exchangeOnline.tenant)",
                )
            )


def _accepted_domain(domain: DomainPlan, found: _Findings) -> AcceptedDomain:
    """Authoritative, unless on-premises recipients are not synchronised to the tenant: then
    InternalRelay, so that Exchange Online passes mail for them on to on-premises."""
    exo = domain.config.exchange_online
    key = f"{domain.config_path}.exchangeOnline.directorySync"
    if domain.topology not in ON_PREMISES_TOPOLOGIES:
        if exo.directory_sync is not None:
            found.errors.append(Problem(key, f"is for the hybrid topologies, not {domain.topology}"))
        return AcceptedDomain(
            domain.domain,
            AcceptedDomainType.AUTHORITATIVE,
            f"{domain.topology}: every mailbox is in Exchange Online",
        )
    if exo.directory_sync is False:
        chosen = AcceptedDomain(
            domain.domain,
            AcceptedDomainType.INTERNAL_RELAY,
            f"{key} is false: mail for recipients Exchange Online does not know goes on to on-premises",
        )
    else:
        source = key if exo.directory_sync else f"{key} (default true)"
        chosen = AcceptedDomain(
            domain.domain,
            AcceptedDomainType.AUTHORITATIVE,
            f"{source}: on-premises recipients are known to Exchange Online",
        )
    live = (
        domain.tenant.exchange_online.accepted_domain_type
        if domain.tenant and domain.tenant.exchange_online
        else None
    )
    if live is not None and live.casefold() != chosen.domain_type.casefold():
        found.warnings.append(
            Problem(
                f"{domain.config_path}.exchangeOnline.directorySync",
                f"the tenant file has {domain.domain} as {live}; the connector script sets it to "
                f"{chosen.domain_type}",
            )
        )
    return chosen


def _sides(domain: DomainPlan) -> tuple[DomainPlan, ...]:
    """The sides a domain's connectors serve in its cutover's phase (old, new), or the domain.
    Until ``settle`` mail may arrive by the old MX, so its side keeps its connectors; from
    ``dual`` on the new side's are in place too (in ``prepare`` and ``rollback`` its inbound
    connectors alone, so that mail the new front already receives is accepted)."""
    state = domain.cutover
    if state is None:
        return (domain,)
    if state.phase in ("settle", "done"):
        return (state.after,)
    return (state.before, state.after)


def _phase_drafts(domain: DomainPlan, found: _Findings) -> list[_Draft]:
    """The connectors of a domain, in its cutover's phase. Until ``settle`` mail may arrive by
    either MX, so the connectors of both sides are in place; two of the same name are joined
    (the sender IPs of both, Enhanced Filtering where either has it). From ``dual`` to
    ``rollback`` no Partner inbound connector turns other senders away (lock-down): mail may come
    by the other front. The new front's connector accepts the service's mail from ``prepare`` on,
    locked down from ``settle``; the old front's, left in the tenant unless pruned, is set to
    turn no mail away. Internet mail leaves by one path: the old side's Partner outbound
    connector in ``prepare`` and ``rollback``, the new side's from ``dual`` on."""
    state = domain.cutover
    if state is None:
        return _domain_drafts(domain, found)
    old, new = _domain_drafts(state.before, found), _domain_drafts(state.after, found)
    if state.phase in ("settle", "done"):
        kept = {draft.label.casefold() for draft in new}
        why = "the old front's connector turns no mail away now (`mailflow connectors --prune` removes it)"
        left = [_unlocked(d, why) for d in old if d.label.casefold() not in kept and _locks_down(d)]
        return [*new, *left]
    new_path_out = state.phase in ("dual", "switch")
    either_mx = state.phase != "prepare"
    drafts: dict[str, _Draft] = {}
    for draft in old:
        if not (new_path_out and _to_the_internet(draft)):
            drafts[draft.label.casefold()] = _unlocked(draft) if either_mx else draft
    for draft in new:
        if _to_the_internet(draft) and not new_path_out:
            continue
        key = draft.label.casefold()
        if key in drafts and draft.direction == Direction.INBOUND:
            drafts[key] = _joined_inbound(drafts[key], draft)
        else:
            drafts.setdefault(key, _unlocked(draft))
    return list(drafts.values())


def _filtering(draft: _Draft) -> bool:
    """Enhanced Filtering is on: it skips the last hop or given IPs."""
    return any(p.name == "EFSkipLastIP" and p.value is True for p in draft.parameters) or any(
        p.name == "EFSkipIPs" and p.value for p in draft.parameters
    )


def _joined_inbound(old: _Draft, new: _Draft) -> _Draft:
    """One inbound connector for both sides of a cutover: the old side's settings, the sender IPs
    of both, the new side's Enhanced Filtering when only it has any, turning no mail away."""
    parameters = {p.name: p for p in old.parameters}
    for parameter in new.parameters:
        if parameter.name == "SenderIPAddresses" and isinstance(parameter.value, tuple):
            before = parameters.get(parameter.name)
            known = before.value if before and isinstance(before.value, tuple) else ()
            joined = tuple(dict.fromkeys((*known, *parameter.value)))
            parameters[parameter.name] = Parameter(parameter.name, joined, "both sides of the cutover")
        elif parameter.name not in parameters or (
            parameter.name.startswith("EF") and _filtering(new) and not _filtering(old)
        ):
            parameters[parameter.name] = parameter
    return _unlocked(replace(old, parameters=tuple(parameters.values())))


def _locks_down(draft: _Draft) -> bool:
    return any(p.name in LOCK_DOWN and p.value is True for p in draft.parameters)


def _to_the_internet(draft: _Draft) -> bool:
    """A Partner outbound connector: it routes internet mail (``RecipientDomains *``)."""
    return draft.direction == Direction.OUTBOUND and any(
        p.name == "ConnectorType" and p.value == ConnectorType.PARTNER for p in draft.parameters
    )


LOCK_DOWN = ("RestrictDomainsToIPAddresses", "RestrictDomainsToCertificate")


EITHER_MX = "during the cutover: mail may come by either MX"


def _unlocked(draft: _Draft, why: str = EITHER_MX) -> _Draft:
    """The connector identifying its sender without rejecting mail from any other."""
    if not any(p.name in LOCK_DOWN for p in draft.parameters):
        return draft
    parameters = tuple(Parameter(p.name, False, why) if p.name in LOCK_DOWN else p for p in draft.parameters)
    return replace(draft, parameters=parameters)


def _domain_drafts(domain: DomainPlan, found: _Findings) -> list[_Draft]:
    config = domain.config
    if config.exchange_online.centralized_mail_transport and domain.topology not in ON_PREMISES_TOPOLOGIES:
        found.errors.append(
            Problem(
                f"{domain.config_path}.exchangeOnline.centralizedMailTransport",
                f"routes outbound mail through on-premises servers, which the {domain.topology} "
                "topology has none of",
            )
        )
    partner = _partner_inbound(domain, found)
    partner_out = _partner_outbound(domain, found)
    outbound = _on_premises_outbound(domain, found)
    inbound = _on_premises_inbound(domain, found)
    if partner and inbound and partner.label.casefold() == inbound.label.casefold():
        found.errors.append(
            Problem(
                f"{domain.config_path}.thirdParty.name",
                "gives the Partner connector the name of the connector from on-premises; choose another",
            )
        )
    return [draft for draft in (partner, partner_out, outbound, inbound) if draft is not None]


def _partner_inbound(domain: DomainPlan, found: _Findings) -> _Draft | None:
    """Mail the third party relays in, accepted only from its IPs or certificate."""
    third_party = domain.config.third_party
    if third_party is None:
        return None
    restriction = _partner_restriction(domain, found)
    enhanced_filtering = _enhanced_filtering(domain, found)
    if restriction is None:
        return None
    return _Draft(
        f"from {third_party.name}",
        Direction.INBOUND,
        domain.domain,
        f"Partner inbound connector for mail relayed by {third_party.name}",
        (
            Parameter("ConnectorType", ConnectorType.PARTNER),
            Parameter("SenderDomains", ("*",)),
            *restriction,
            *enhanced_filtering,
        ),
    )


def _partner_outbound(domain: DomainPlan, found: _Findings) -> _Draft | None:
    """Internet mail routed out through the third party's relays. SPF must name the path mail
    really takes: the service when it relays outbound mail, not when mail leaves Exchange Online
    directly."""
    third_party = domain.config.third_party
    if third_party is None:
        return None
    path = f"{domain.config_path}.thirdParty"
    hosts = third_party.outbound_smart_hosts
    in_spf = third_party_sends_outbound(domain.config)
    if hosts is None:
        # With centralized mail transport, outbound mail leaves through on-premises, whose IPs SPF lists.
        if in_spf and not domain.config.exchange_online.centralized_mail_transport:
            found.warnings.append(
                Problem(
                    f"{path}.outboundSmartHosts",
                    f"is not set, so outbound mail leaves Exchange Online directly, not through "
                    f"{third_party.name}, which SPF authorises (sendsOutbound): set the service's "
                    "outbound relays to route mail through it, or sendsOutbound: false",
                )
            )
        return None
    if not hosts:
        found.errors.append(Problem(f"{path}.outboundSmartHosts", "must list at least one host"))
        return None
    if not in_spf:
        said = (
            "is false"
            if third_party.sends_outbound is not None
            else f"is unset (false for {domain.topology})"
        )
        found.errors.append(
            Problem(
                f"{path}.sendsOutbound",
                f"{said}, but outboundSmartHosts routes outbound mail through {third_party.name}: "
                "SPF must authorise the servers mail leaves from; set it to true",
            )
        )
    if domain.config.exchange_online.centralized_mail_transport:
        found.errors.append(
            Problem(
                f"{path}.outboundSmartHosts",
                "is set with exchangeOnline.centralizedMailTransport, which sends outbound mail to "
                "on-premises; route it to the service from there",
            )
        )
    source = f"{path}.outboundSmartHosts"
    # The service's certificate names its relays too: check the name where config gives it.
    if third_party.certificate_name is not None:
        tls: tuple[Parameter, ...] = (
            Parameter("TlsSettings", TlsSettings.DOMAIN_VALIDATION),
            Parameter("TlsDomain", third_party.certificate_name, f"{path}.certificateName"),
        )
    else:
        tls = (
            Parameter(
                "TlsSettings",
                TlsSettings.CERTIFICATE_VALIDATION,
                f"a trusted certificate, any name ({path}.certificateName is unset)",
            ),
        )
    return _Draft(
        f"to {third_party.name}",
        Direction.OUTBOUND,
        domain.domain,
        f"Partner outbound connector: internet mail leaves through {third_party.name}",
        (
            Parameter("ConnectorType", ConnectorType.PARTNER),
            Parameter("RecipientDomains", ("*",)),
            Parameter("UseMXRecord", False),
            Parameter("SmartHosts", hosts, source),
            *tls,
        ),
    )


def _partner_restriction(domain: DomainPlan, found: _Findings) -> tuple[Parameter, ...] | None:
    """By certificate, by the configured IPs, or by the ``ip4`` terms of the service's SPF; ``None``
    when there is nothing to restrict by."""
    third_party = domain.config.third_party
    assert third_party is not None
    path = f"{domain.config_path}.thirdParty"
    if third_party.certificate_name is not None:
        if third_party.connector_ips is not None:
            found.errors.append(
                Problem(
                    f"{path}.connectorIps",
                    "is set with certificateName; the Partner connector is restricted by one of them",
                )
            )
        return (
            Parameter("RestrictDomainsToCertificate", True),
            Parameter("TlsSenderCertificateName", third_party.certificate_name, f"{path}.certificateName"),
            Parameter("RequireTls", True),
        )
    if third_party.connector_ips is not None:
        source = f"{path}.connectorIps"
        if not third_party.connector_ips:
            found.errors.append(Problem(source, "must list at least one IPv4 address or network"))
        configured = [
            _SenderIp(f"{source}[{index}]", ip, _network(ip))
            for index, ip in enumerate(third_party.connector_ips)
        ]
        ips = _sender_ips(
            configured,
            found,
            listed=True,
            ips_key="thirdParty.connectorIps",
            certificate_key="thirdParty.certificateName",
        )
        if third_party_sends_outbound(domain.config):
            found.warnings.extend(_spf_disagreement(domain, configured))
    else:
        source = f"the ip4 terms of {path}.spf (thirdParty.connectorIps is unset)"
        from_spf = [
            _SenderIp(f"{path}.spf[{index}]", term.text, _network(term.argument))
            for index, term in enumerate(third_party.spf)
            if term.mechanism in ("ip4", "ip6")
        ]
        ips = _sender_ips(
            from_spf,
            found,
            listed=False,
            ips_key="thirdParty.connectorIps",
            certificate_key="thirdParty.certificateName",
        )
        if not ips:
            found.warnings.append(
                Problem(
                    f"{path}.connectorIps",
                    "is not set and thirdParty.spf has no ip4 term to default to, so the Partner "
                    "inbound connector is left out; list the service's IPv4 addresses (/24 to /32) "
                    "or set thirdParty.certificateName",
                )
            )
            return None
    return (
        Parameter("RestrictDomainsToIPAddresses", True),
        Parameter("SenderIPAddresses", ips, source),
    )


def _sender_ips(
    candidates: Iterable[_SenderIp], found: _Findings, *, listed: bool, ips_key: str, certificate_key: str
) -> tuple[str, ...]:
    """The IPv4 networks a connector takes as ``SenderIPAddresses``. An IPv6 one is an error where
    config ``listed`` it for the connector, and a warning where it only served as the default; a
    network wider than /24 is an error either way, since leaving it out would turn away the mail
    of the hosts it holds."""
    ips: list[str] = []
    for candidate in candidates:
        network = candidate.network
        if network.version == 6:
            problem = Problem(
                candidate.path,
                f"'{candidate.written}' is IPv6{'' if listed else ' and left out of the connector'}: "
                f"SenderIPAddresses holds IPv4 addresses only (match an IPv6 sender by {certificate_key})",
            )
            (found.errors if listed else found.warnings).append(problem)
        elif network.prefixlen < MIN_SENDER_PREFIX:
            found.errors.append(
                Problem(
                    candidate.path,
                    f"'{candidate.written}' is wider than /24: SenderIPAddresses takes /24 to /32 "
                    f"networks; list its /24 networks in {ips_key} or set {certificate_key}",
                )
            )
        else:
            ips.append(str(network.network_address) if network.prefixlen == 32 else str(network))
    return tuple(ips)


def _spf_disagreement(domain: DomainPlan, configured: list[_SenderIp]) -> list[Problem]:
    """Where the connector's IPs and the service's ``ip4`` terms in the published SPF record part.
    The service's SPF names its outbound relays, the connector the hosts that deliver inbound mail;
    they are usually the same hosts, so a difference is worth a look, not an error."""
    third_party = domain.config.third_party
    assert third_party is not None
    path = f"{domain.config_path}.thirdParty"
    published = [
        _SenderIp(f"{path}.spf[{index}]", term.text, _network(term.argument))
        for index, term in enumerate(third_party.spf)
        if term.mechanism == "ip4"
    ]
    if not published:
        return []
    connector = [ip for ip in configured if ip.network.version == 4]
    warnings = [
        Problem(
            ip.path,
            f"'{ip.written}' is not among the ip4 terms of thirdParty.spf, which the SPF record "
            "publishes (sendsOutbound); if the service relays outbound mail from it, add it there",
        )
        for ip in connector
        if not _covered(ip, published)
    ]
    warnings.extend(
        Problem(
            ip.path,
            f"'{ip.written}' is not in thirdParty.connectorIps: mail the service delivers from it "
            "is rejected by the Partner connector (RestrictDomainsToIPAddresses)",
        )
        for ip in published
        if not _covered(ip, connector)
    )
    return warnings


def _covered(ip: _SenderIp, others: list[_SenderIp]) -> bool:
    """Whether ``others`` together hold every address of ``ip`` (adjacent networks merged)."""
    merged = ipaddress.collapse_addresses(
        other.network for other in others if isinstance(other.network, ipaddress.IPv4Network)
    )
    network = ip.network
    return isinstance(network, ipaddress.IPv4Network) and any(network.subnet_of(m) for m in merged)


def _enhanced_filtering(domain: DomainPlan, found: _Findings) -> tuple[Parameter, ...]:
    """Skip the service's hop (the default), or the listed IPs; off when asked, and off with
    centralized mail transport, which Enhanced Filtering for Connectors does not support."""
    third_party = domain.config.third_party
    assert third_party is not None
    flag_path = f"{domain.config_path}.thirdParty.enhancedFiltering"
    skip_path = f"{domain.config_path}.thirdParty.enhancedFilteringSkipIps"
    users_path = f"{domain.config_path}.thirdParty.enhancedFilteringUsers"
    requested = third_party.enhanced_filtering
    skip_ips = third_party.enhanced_filtering_skip_ips
    users = third_party.enhanced_filtering_users
    if users is not None and (requested is False or domain.config.exchange_online.centralized_mail_transport):
        found.errors.append(Problem(users_path, "is set, but Enhanced Filtering is off on this connector"))
    if domain.config.exchange_online.centralized_mail_transport:
        transport_path = f"{domain.config_path}.exchangeOnline.centralizedMailTransport"
        unsupported = (
            "Enhanced Filtering for Connectors is not supported with centralized mail transport "
            "(exchangeOnline.centralizedMailTransport)"
        )
        if requested:
            found.errors.append(Problem(flag_path, f"is true, but {unsupported}"))
        if skip_ips is not None:
            found.errors.append(Problem(skip_path, f"is set, but {unsupported}"))
        if requested is None and skip_ips is None:
            found.warnings.append(
                Problem(flag_path, f"is unset and left off: {unsupported}; set it to false to say so")
            )
        return _enhanced_filtering_off(transport_path)
    if requested is False:
        if skip_ips is not None:
            found.errors.append(Problem(skip_path, "is set, but thirdParty.enhancedFiltering is false"))
        return _enhanced_filtering_off(flag_path)
    if skip_ips is None:
        source = (
            flag_path
            if requested
            else f"on by default, skipping the service's own hop ({flag_path} is unset)"
        )
        return (Parameter("EFSkipLastIP", True, source), *_pilot(users, users_path))
    if not skip_ips:
        found.errors.append(
            Problem(skip_path, "must list at least one IP; leave it unset to skip the service's own hop")
        )
    for index, ip in enumerate(skip_ips):
        network = _network(ip)
        if isinstance(network, ipaddress.IPv4Network) and any(network.overlaps(p) for p in RFC1918_NETWORKS):
            found.errors.append(
                Problem(
                    f"{skip_path}[{index}]",
                    f"'{ip}' is a private address (RFC 1918), which Enhanced Filtering cannot "
                    "skip-list; it skips private addresses by itself",
                )
            )
    return (
        Parameter("EFSkipLastIP", False, skip_path),
        Parameter("EFSkipIPs", skip_ips, skip_path),
        *_pilot(users, users_path),
    )


def _enhanced_filtering_off(source: str) -> tuple[Parameter, ...]:
    # EFSkipLastIP $false with no EFSkipIPs is how the cmdlets turn Enhanced Filtering off.
    return (
        Parameter("EFSkipLastIP", False, source),
        Parameter("EFSkipIPs", None, source),
        Parameter("EFUsers", None, source),
    )


def _on_premises_outbound(domain: DomainPlan, found: _Findings) -> _Draft | None:
    """Mail from Exchange Online to mailboxes on the on-premises servers, by their smart host."""
    on_premises = domain.config.on_premises
    if on_premises is None or on_premises.hybrid_wizard:
        return None
    path = f"{domain.config_path}.onPremises"
    if on_premises.smart_host is not None:
        smart_host, source = on_premises.smart_host, f"{path}.smartHost"
    elif on_premises.mx_host is not None:
        smart_host, source = on_premises.mx_host, f"{path}.mxHost (onPremises.smartHost is unset)"
    else:
        found.warnings.append(
            Problem(
                f"{path}.smartHost",
                "is not set, so the outbound connector to on-premises is left out: Exchange Online "
                "needs the host name of the on-premises servers that take mail for their mailboxes, "
                f"e.g. mail.{domain.domain}",
            )
        )
        return None
    exchange_online = domain.config.exchange_online
    transport_source = f"{domain.config_path}.exchangeOnline.centralizedMailTransport"
    if "centralized_mail_transport" not in exchange_online.model_fields_set:
        transport_source += " (default false)"
    return _Draft(
        "to on-premises",
        Direction.OUTBOUND,
        domain.domain,
        "outbound connector for mail to mailboxes on the on-premises servers",
        (
            Parameter("ConnectorType", ConnectorType.ON_PREMISES),
            Parameter("CloudServicesMailEnabled", True, HYBRID_HEADERS),
            Parameter("UseMXRecord", False),
            Parameter("SmartHosts", (smart_host,), source),
            Parameter("TlsSettings", TlsSettings.DOMAIN_VALIDATION),
            Parameter("TlsDomain", smart_host, source),
            Parameter("RecipientDomains", (domain.domain,), f"{domain.config_path}.name"),
            Parameter(
                "RouteAllMessagesViaOnPremises",
                exchange_online.centralized_mail_transport,
                transport_source,
            ),
        ),
    )


def _on_premises_inbound(domain: DomainPlan, found: _Findings) -> _Draft | None:
    """Mail the on-premises servers send through Exchange Online, known by certificate or IPs;
    with the MX on-premises, the internet's mail too, so Enhanced Filtering goes here."""
    on_premises = domain.config.on_premises
    if on_premises is None:
        return None
    path = f"{domain.config_path}.onPremises"
    if on_premises.hybrid_wizard:
        _wizard_filtering(domain, found)
        return None
    restriction: tuple[Parameter, ...]
    if on_premises.certificate_name is not None:
        restriction = (
            Parameter("RequireTls", True),
            Parameter("RestrictDomainsToCertificate", True),
            Parameter("TlsSenderCertificateName", on_premises.certificate_name, f"{path}.certificateName"),
        )
    else:
        candidates = [
            _SenderIp(f"{path}.ips[{index}]", ip, _network(ip)) for index, ip in enumerate(on_premises.ips)
        ]
        ips = _sender_ips(
            candidates,
            found,
            listed=False,
            ips_key="onPremises.ips",
            certificate_key="onPremises.certificateName",
        )
        if not ips:
            found.warnings.append(
                Problem(
                    f"{path}.certificateName",
                    "is not set and onPremises.ips holds no IPv4 address, so the inbound connector "
                    "from on-premises is left out; set the certificate name the servers present",
                )
            )
            return None
        restriction = (
            Parameter("SenderIPAddresses", ips, f"{path}.ips (onPremises.certificateName is unset)"),
        )
    return _Draft(
        "from on-premises",
        Direction.INBOUND,
        domain.domain,
        "inbound connector for mail the on-premises servers send through Exchange Online",
        (
            Parameter("ConnectorType", ConnectorType.ON_PREMISES),
            Parameter("CloudServicesMailEnabled", True, HYBRID_HEADERS),
            Parameter("SenderDomains", ("*",)),
            *restriction,
            *_on_premises_filtering(domain, found),
        ),
    )


def _wizard_filtering(domain: DomainPlan, found: _Findings) -> None:
    """The wizard's inbound connector is the wizard's to set: Enhanced Filtering asked for on it is
    a step for a person, said rather than dropped."""
    on_premises = domain.config.on_premises
    assert on_premises is not None
    path = f"{domain.config_path}.onPremises"
    asked = [
        key
        for key, value in (
            ("enhancedFiltering", on_premises.enhanced_filtering),
            ("enhancedFilteringUsers", on_premises.enhanced_filtering_users),
        )
        if value
    ]
    if asked and domain.topology == Topology.HYBRID_ONPREM_FRONT:
        found.warnings.append(
            Problem(
                f"{path}.{asked[0]}",
                "is not set by the script: with onPremises.hybridWizard the inbound connector from "
                'on-premises is the Hybrid Configuration Wizard\'s ("Inbound from <id>"); turn Enhanced '
                "Filtering on there: Set-InboundConnector -Identity <its name> -EFSkipLastIP $true"
                + (" -EFUsers <the pilot's addresses>" if on_premises.enhanced_filtering_users else ""),
            )
        )


def _on_premises_filtering(domain: DomainPlan, found: _Findings) -> tuple[Parameter, ...]:
    """Enhanced Filtering where the MX points to on-premises: the connector from on-premises then
    receives the internet's mail, and Exchange Online should see the sender before the last hop."""
    on_premises = domain.config.on_premises
    assert on_premises is not None
    path = f"{domain.config_path}.onPremises"
    if domain.topology != Topology.HYBRID_ONPREM_FRONT:
        for key, value in (
            ("enhancedFiltering", on_premises.enhanced_filtering),
            ("enhancedFilteringUsers", on_premises.enhanced_filtering_users),
        ):
            if value is not None:
                found.errors.append(
                    Problem(
                        f"{path}.{key}",
                        f"is for hybrid-onprem-front, where internet mail reaches Exchange Online through "
                        f"on-premises; in {domain.topology} it does not",
                    )
                )
        return ()
    if on_premises.enhanced_filtering is False:
        if on_premises.enhanced_filtering_users is not None:
            found.errors.append(
                Problem(f"{path}.enhancedFilteringUsers", "is set, but onPremises.enhancedFiltering is false")
            )
        return _enhanced_filtering_off(f"{path}.enhancedFiltering")
    source = (
        f"{path}.enhancedFiltering"
        if on_premises.enhanced_filtering
        else (f"on by default where the MX points to on-premises ({path}.enhancedFiltering is unset)")
    )
    return (
        Parameter("EFSkipLastIP", True, source),
        *_pilot(on_premises.enhanced_filtering_users, f"{path}.enhancedFilteringUsers"),
    )


def _pilot(users: tuple[str, ...] | None, path: str) -> tuple[Parameter, ...]:
    """``EFUsers``: Enhanced Filtering for these recipients only; cleared, everyone."""
    if users is None:
        return (Parameter("EFUsers", None, f"everyone ({path} is unset)"),)
    return (Parameter("EFUsers", users, path),)


def render_script(connector_plan: ConnectorPlan, prune: bool = False) -> str:
    """An Exchange Online PowerShell script that creates each missing connector and sets each
    existing one to the planned values, so that running it twice changes nothing. With several
    tenants it takes ``-Tenant`` and runs only that tenant's part. With ``prune`` it also removes
    the connectors named ``mailflow …`` that the plan no longer has."""
    lines = [
        "# Exchange Online connectors of the mail domains planned by mailflow.",
        "# Run in Exchange Online PowerShell after Connect-ExchangeOnline. Each connector is created",
        "# when missing and set to the same values when present, so running this again changes nothing.",
        "# Values without a note are fixed by the connector's purpose.",
    ]
    if connector_plan.warnings:
        lines.append("#")
        lines.append("# Warnings:")
        lines.extend(f"#   {comment(str(warning))}" for warning in connector_plan.warnings)
    several = len(connector_plan.tenants) > 1
    if several:
        names = ", ".join(quote(tenant.tenant) for tenant in connector_plan.tenants)
        lines.extend(
            [
                "",
                f"# The stack's domains are in several tenants ({comment(names)}): run this once in each,",
                "# naming it (-Tenant), after Connect-ExchangeOnline to that tenant.",
                "param(",
                "    [Parameter(Mandatory = $true)]",
                f"    [ValidateSet({names})]",
                "    [string] $Tenant",
                ")",
            ]
        )
    for tenant in connector_plan.tenants:
        body = _tenant_lines(tenant, prune)
        if several:
            lines.extend(
                [
                    "",
                    f"if ($Tenant -eq {quote(tenant.tenant)}) {{",
                    *(f"    {line}" if line else "" for line in body),
                    "}",
                ]
            )
        else:
            lines.extend(body)
    return "\n".join(lines) + "\n"


def _tenant_lines(tenant: TenantConnectors, prune: bool) -> list[str]:
    lines: list[str] = []
    if not tenant.connectors:
        lines.extend(["", "# No connectors to create or update."])
    for connector in tenant.connectors:
        lines.extend(_connector_lines(connector))
    if prune:
        lines.extend(_prune_lines(tenant))
    if tenant.arc_trusted_sealers:
        lines.extend(_arc_lines(tenant.arc_trusted_sealers))
    for accepted in tenant.accepted_domains:
        lines.extend(
            [
                "",
                f"# {accepted.domain}: accepted domain type, {comment(accepted.source)}",
                f"Set-AcceptedDomain -Identity {quote(accepted.domain)} "
                f"-DomainType {accepted.domain_type.value}",
            ]
        )
    return lines


def _connector_lines(connector: Connector) -> list[str]:
    cmdlet = f"{connector.direction}Connector"
    name = quote(connector.name)
    arguments = " ".join(
        f"-{parameter.name} {_powershell(parameter.value)}" for parameter in connector.parameters
    )
    lines = ["", f"# {comment(', '.join(connector.domains))}: {comment(connector.purpose)}"]
    lines.extend(
        f"#   -{parameter.name}: {comment(parameter.source)}"
        for parameter in connector.parameters
        if parameter.source is not None
    )
    upsert = [
        f"if (-not (Get-{cmdlet} -Identity {name} -ErrorAction SilentlyContinue)) {{",
        f"    New-{cmdlet} -Name {name} {arguments}",
        "} else {",
        f"    Set-{cmdlet} -Identity {name} {arguments}",
        "}",
    ]
    if connector.connector_type != ConnectorType.ON_PREMISES:
        return [*lines, *upsert]
    # The Hybrid Configuration Wizard's own connectors ("Inbound from <id>", "Outbound to <id>")
    # do the same job: left alone, and this one not made beside them.
    return [
        *lines,
        f"$wizard = Get-{cmdlet} | Where-Object {{ $_.ConnectorType -eq 'OnPremises' -and "
        f"$_.Name -notlike '{NAME_PREFIX}*' }}",
        "if ($wizard) {",
        f"    Write-Warning ({quote(f'{connector.name}: {WIZARD_FOUND}')} + ($wizard.Name -join ', ')"
        f" + {quote('; set onPremises.hybridWizard: true if the wizard keeps it')})",
        "} else {",
        *(f"    {line}" for line in upsert),
        "}",
    ]


def _prune_lines(tenant: TenantConnectors) -> list[str]:
    lines = ["", "# Connectors named 'mailflow …' that the plan no longer has (asked for with --prune)."]
    for direction in Direction:
        planned = ",".join(quote(c.name) for c in tenant.connectors if c.direction == direction) or "''"
        cmdlet = f"{direction}Connector"
        lines.append(
            f"Get-{cmdlet} | Where-Object {{ $_.Name -like '{NAME_PREFIX}*' -and "
            f"$_.Name -notin @({planned}) }} | "
            f"ForEach-Object {{ Remove-{cmdlet} -Identity $_.Identity -Confirm:$false }}"
        )
    return lines


def _arc_lines(sealers: tuple[str, ...]) -> list[str]:
    """ARC sealers are added to those the tenant trusts already, never put in their place."""
    planned = ",".join(quote(sealer) for sealer in sealers)
    return [
        "",
        "# ARC: trust the seals of the services that modify messages on their way in.",
        "$sealers = @((Get-ArcConfig).ArcTrustedSealers -split ',' | ForEach-Object { $_.Trim() } |",
        "    Where-Object { $_ })",
        f"$sealers = @($sealers + @({planned}) | Sort-Object -Unique)",
        "Set-ArcConfig -Identity Default -ArcTrustedSealers $sealers",
    ]


def _powershell(value: ParameterValue) -> str:
    if value is None:
        return "$null"
    if isinstance(value, bool):
        return "$true" if value else "$false"
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, str):
        return quote(value)
    return "@(" + ",".join(quote(item) for item in value) + ")"
