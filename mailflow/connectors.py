"""Exchange Online connectors each domain's topology needs, and the idempotent Exchange Online
PowerShell script that creates or updates them (no Pulumi here)."""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from typing import TYPE_CHECKING

from mailflow.config import ON_PREMISES_TOPOLOGIES
from mailflow.errors import ConfigError, Problem
from mailflow.powershell import comment, quote
from mailflow.topology import third_party_sends_outbound

if TYPE_CHECKING:
    from mailflow.plan import DomainPlan

MAX_NAME_LENGTH = 64
"""Exchange Online refuses longer connector names."""
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


@dataclass(frozen=True)
class Connector:
    """One connector; its ``New-`` and ``Set-`` cmdlets take the same parameters."""

    name: str
    direction: Direction
    domain: str
    purpose: str
    parameters: tuple[Parameter, ...]


@dataclass(frozen=True)
class ConnectorPlan:
    connectors: tuple[Connector, ...]
    warnings: tuple[Problem, ...]
    """Connectors or settings left out for a value config lacks, and values that may be wrong."""


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


def plan_connectors(domains: Iterable[DomainPlan], strict: bool = False) -> ConnectorPlan:
    """The connectors of the domains, or raise ``ConfigError`` with every problem found; with
    ``strict``, each warning is a problem too."""
    connectors: list[Connector] = []
    warnings: list[Problem] = []
    problems: list[Problem] = []
    for domain in domains:
        found = _Findings()
        connectors.extend(_domain_connectors(domain, found))
        problems.extend(found.errors)
        if strict:
            problems.extend(found.warnings)
        warnings.extend(found.warnings)
    if problems:
        raise ConfigError(problems)
    return ConnectorPlan(tuple(connectors), tuple(warnings))


def connector_name(domain: str, counterpart: str) -> str:
    """``mailflow contoso.com from Example filtering service``. A name over Exchange Online's limit
    is cut and ends in a digest of the whole name, so that it stays distinct and stable."""
    name = f"mailflow {domain} {' '.join(counterpart.split())}"
    if len(name) <= MAX_NAME_LENGTH:
        return name
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:8]
    return f"{name[: MAX_NAME_LENGTH - len(digest) - 1]}~{digest}"


def _domain_connectors(domain: DomainPlan, found: _Findings) -> list[Connector]:
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
    outbound = _on_premises_outbound(domain, found)
    inbound = _on_premises_inbound(domain, found)
    if partner and inbound and partner.name.casefold() == inbound.name.casefold():
        found.errors.append(
            Problem(
                f"{domain.config_path}.thirdParty.name",
                "gives the Partner connector the name of the connector from on-premises; choose another",
            )
        )
    return [connector for connector in (partner, outbound, inbound) if connector is not None]


def _partner_inbound(domain: DomainPlan, found: _Findings) -> Connector | None:
    """Mail the third party relays in, accepted only from its IPs or certificate."""
    third_party = domain.config.third_party
    if third_party is None:
        return None
    restriction = _partner_restriction(domain, found)
    enhanced_filtering = _enhanced_filtering(domain, found)
    if restriction is None:
        return None
    return Connector(
        connector_name(domain.domain, f"from {third_party.name}"),
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
    requested = third_party.enhanced_filtering
    skip_ips = third_party.enhanced_filtering_skip_ips
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
        return (Parameter("EFSkipLastIP", True, source),)
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
    return (Parameter("EFSkipLastIP", False, skip_path), Parameter("EFSkipIPs", skip_ips, skip_path))


def _enhanced_filtering_off(source: str) -> tuple[Parameter, ...]:
    # EFSkipLastIP $false with no EFSkipIPs is how the cmdlets turn Enhanced Filtering off.
    return (Parameter("EFSkipLastIP", False, source), Parameter("EFSkipIPs", None, source))


def _on_premises_outbound(domain: DomainPlan, found: _Findings) -> Connector | None:
    """Mail from Exchange Online to mailboxes on the on-premises servers, by their smart host."""
    on_premises = domain.config.on_premises
    if on_premises is None:
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
    return Connector(
        connector_name(domain.domain, "to on-premises"),
        Direction.OUTBOUND,
        domain.domain,
        "outbound connector for mail to mailboxes on the on-premises servers",
        (
            Parameter("ConnectorType", ConnectorType.ON_PREMISES),
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


def _on_premises_inbound(domain: DomainPlan, found: _Findings) -> Connector | None:
    """Mail the on-premises servers send through Exchange Online, known by certificate or IPs."""
    on_premises = domain.config.on_premises
    if on_premises is None:
        return None
    path = f"{domain.config_path}.onPremises"
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
    return Connector(
        connector_name(domain.domain, "from on-premises"),
        Direction.INBOUND,
        domain.domain,
        "inbound connector for mail the on-premises servers send through Exchange Online",
        (
            Parameter("ConnectorType", ConnectorType.ON_PREMISES),
            Parameter("SenderDomains", ("*",)),
            *restriction,
        ),
    )


def render_script(connector_plan: ConnectorPlan) -> str:
    """An Exchange Online PowerShell script that creates each missing connector and sets each
    existing one to the planned values, so that running it twice changes nothing."""
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
    if not connector_plan.connectors:
        lines.append("#")
        lines.append("# No connectors to create or update.")
    for connector in connector_plan.connectors:
        lines.extend(_connector_lines(connector))
    return "\n".join(lines) + "\n"


def _connector_lines(connector: Connector) -> list[str]:
    cmdlet = f"{connector.direction}Connector"
    name = quote(connector.name)
    arguments = " ".join(
        f"-{parameter.name} {_powershell(parameter.value)}" for parameter in connector.parameters
    )
    lines = ["", f"# {connector.domain}: {comment(connector.purpose)}"]
    lines.extend(
        f"#   -{parameter.name}: {comment(parameter.source)}"
        for parameter in connector.parameters
        if parameter.source is not None
    )
    lines.extend(
        [
            f"if (-not (Get-{cmdlet} -Identity {name} -ErrorAction SilentlyContinue)) {{",
            f"    New-{cmdlet} -Name {name} {arguments}",
            "} else {",
            f"    Set-{cmdlet} -Identity {name} {arguments}",
            "}",
        ]
    )
    return lines


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
