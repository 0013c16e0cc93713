"""The domain model of the ``mailflow:domains`` list: topology, third party, Exchange Online,
on-premises, SPF, DMARC and the rest, validated one domain at a time.

Every problem is collected with its config path (``mailflow:domains[0].onPremises.ips[1]``) and
raised together as one ``ConfigError``; nothing is planned from a config that has any.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, ValidationError

from mailflow import names
from mailflow.errors import Problem, quote
from mailflow.fields import (
    CertificateName,
    Cloud,
    Distinct,
    DmarcUri,
    DnsName,
    HostName,
    IpNetwork,
    MailAddress,
    Model,
    RelativeName,
    SpfTermText,
    TenantLabel,
    TlsRptUri,
    Ttl,
)
from mailflow.phases import CutoverPhase
from mailflow.validation import NAMESPACE, problems_from


class Topology(StrEnum):
    EXCHANGE_ONLINE = "exchange-online"
    THIRD_PARTY_FRONT = "third-party-front"
    HYBRID_EXO_FRONT = "hybrid-exo-front"
    HYBRID_ONPREM_FRONT = "hybrid-onprem-front"
    THIRD_PARTY_HYBRID = "third-party-hybrid"


THIRD_PARTY_TOPOLOGIES = frozenset({Topology.THIRD_PARTY_FRONT, Topology.THIRD_PARTY_HYBRID})
ON_PREMISES_TOPOLOGIES = frozenset(
    {Topology.HYBRID_EXO_FRONT, Topology.HYBRID_ONPREM_FRONT, Topology.THIRD_PARTY_HYBRID}
)


class MxHost(Model):
    host: HostName
    priority: Annotated[int, Field(ge=0, le=65535)] = 10


class ThirdParty(Model):
    name: Annotated[str, Field(min_length=1)]
    mx: Annotated[list[MxHost], Field(min_length=1)]
    spf: tuple[SpfTermText, ...] = ()
    sends_outbound: bool | None = None
    """Relays outbound mail, so joins SPF. Unset: true for third-party-hybrid (the seed article),
    false for third-party-front (Microsoft's third-party article)."""
    connector_ips: Annotated[tuple[IpNetwork, ...], Distinct] | None = None
    """Sender IPs of the Partner inbound connector; default: the ``ip4`` terms of ``spf``."""
    certificate_name: CertificateName | None = None
    """Restrict the Partner inbound connector by this TLS certificate name (a wildcard such as
    ``*.pphosted.com`` too) instead of IPs."""
    enhanced_filtering: bool | None = None
    """Enhanced Filtering for Connectors on the Partner inbound connector (default: on, unless
    centralized mail transport is on)."""
    enhanced_filtering_skip_ips: Annotated[tuple[IpNetwork, ...], Distinct] | None = None
    """Enhanced Filtering skips these public IPs (``EFSkipIPs``) instead of only the last hop, for
    mail that passes several of the service's hosts."""
    enhanced_filtering_users: Annotated[tuple[MailAddress, ...], Distinct] | None = None
    """Enhanced Filtering for these recipients only (``EFUsers``): the pilot Microsoft recommends
    before turning it on for everyone."""
    outbound_smart_hosts: Annotated[tuple[HostName, ...], Distinct] | None = None
    """The service's outbound relays: a Partner outbound connector routes internet mail through
    them. Unset: outbound mail leaves Exchange Online directly."""
    arc_sealer: DnsName | None = None
    """The domain the service seals ARC headers with (``Set-ArcConfig -ArcTrustedSealers``), for
    services that modify messages on their way in."""


class DkimSelectors(Model):
    selector1: DnsName | None = None
    selector2: DnsName | None = None
    initial_domain: HostName | None = None


class Autodiscover(Model):
    """Where ``autodiscover.<domain>`` points: Exchange Online (all mailboxes in the cloud), the
    on-premises Exchange servers (hybrid, until the migration ends), or no record at all."""

    target: Literal["exchange-online", "on-premises", "none"]
    host: HostName | None = None
    """The on-premises Autodiscover host (CNAME target), e.g. ``mail.contoso.com``."""


def _autodiscover_form(value: Any) -> str:
    return "setting" if isinstance(value, dict | Autodiscover) else "switch"


AutodiscoverSetting = Annotated[
    Annotated[bool, Tag("switch")] | Annotated[Autodiscover, Tag("setting")],
    Discriminator(_autodiscover_form),
]
"""Names pydantic gives the members of a tagged union in error locations; no config path has them."""


class ExchangeOnline(Model):
    mx_host: HostName | None = None
    mx_priority: Annotated[int, Field(ge=0, le=65535)] | None = None
    """Default: the tenant's preference, else 0."""
    verification: Annotated[str, Field(pattern=r"^MS=ms\d{8}$")] | None = None
    autodiscover: AutodiscoverSetting | None = None
    """Unset: Exchange Online for the exchange-online and third-party-front topologies; no record,
    with a warning, for the hybrid ones. ``true`` / ``false``: Exchange Online / no record."""
    dkim: DkimSelectors | None = None
    cloud: Cloud = "commercial"
    initial_domain: HostName | None = None
    """The tenant's initial domain (``contoso.onmicrosoft.us``): GCC High and DoD MX hosts are
    derived from its first label when no tenant file gives the host."""
    centralized_mail_transport: bool = False
    """Route all outbound mail through on-premises (``RouteAllMessagesViaOnPremises``)."""
    tenant: TenantLabel = "default"
    """Which Exchange Online tenant holds the domain: connectors belong to a tenant, and its
    domains share them. Default: one tenant for the stack."""
    directory_sync: bool | None = None
    """Hybrid topologies: whether on-premises recipients are synchronised to the tenant (Entra
    Connect). Without it the accepted domain must be InternalRelay, so that mail for recipients
    the tenant does not know goes on to on-premises. Default: true."""


class OnPremises(Model):
    ips: Annotated[list[IpNetwork], Field(min_length=1), Distinct]
    mx_host: HostName | None = None
    mx_priority: Annotated[int, Field(ge=0, le=65535)] = 10
    smart_host: HostName | None = None
    """Where Exchange Online delivers mail for on-premises mailboxes (the outbound connector)."""
    certificate_name: CertificateName | None = None
    """Certificate name the on-premises servers present to Exchange Online (inbound connector);
    without it the connector is restricted to ``ips``."""
    enhanced_filtering: bool | None = None
    """hybrid-onprem-front: Enhanced Filtering for Connectors on the inbound connector from
    on-premises, which receives the internet's mail there (default: on, skipping the last hop)."""
    enhanced_filtering_users: Annotated[tuple[MailAddress, ...], Distinct] | None = None
    """hybrid-onprem-front: Enhanced Filtering for these recipients only (``EFUsers``)."""
    hybrid_wizard: bool = False
    """The Hybrid Configuration Wizard made (and keeps) the connectors between Exchange Online and
    on-premises: mailflow plans none of its own."""


class Spf(Model):
    all: Literal["fail", "softfail"] = "fail"
    extra: tuple[SpfTermText, ...] = ()


DmarcPolicy = Literal["none", "quarantine", "reject"]


class Dmarc(Model):
    policy: DmarcPolicy
    sp: DmarcPolicy | None = None
    pct: Annotated[int, Field(ge=0, le=100)] | None = None
    rua: tuple[DmarcUri, ...] = ()
    ruf: tuple[DmarcUri, ...] = ()
    adkim: Literal["r", "s"] | None = None
    aspf: Literal["r", "s"] | None = None
    fo: tuple[Literal["0", "1", "d", "s"], ...] = ()
    ri: Annotated[int, Field(ge=1)] | None = None


class MtaSts(Model):
    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9]{1,32}$")]
    mode: Literal["enforce", "testing", "none"] = "testing"
    max_age: Annotated[int, Field(ge=86400, le=31557600)] = 604800
    policy_host: HostName | None = None
    """CNAME target of ``mta-sts.<domain>``, the web host serving the policy file."""


class TlsRpt(Model):
    rua: Annotated[list[TlsRptUri], Field(min_length=1)]


class ExtraRecord(Model):
    name: Annotated[RelativeName, Field(min_length=1)] = "@"
    """Relative to the domain, as written in config (``@`` is the domain itself)."""
    type: Literal["A", "AAAA", "CNAME", "MX", "TXT", "SRV", "CAA"]
    value: Annotated[str, Field(min_length=1)]
    """RFC 1035 presentation format of the type, relative names completed with the domain; for
    TXT the text itself, or quoted character-strings as a zone file writes them."""
    ttl: Ttl | None = None

    @property
    def relative_name(self) -> str:
        """The name as published: lowercase, internationalised labels as A-labels."""
        return names.relative_name(self.name)


class ExchangeOnlineBefore(Model):
    """The Exchange Online settings of the side mail flows through today, where they differ."""

    autodiscover: AutodiscoverSetting | None = None
    """Where ``autodiscover`` points today: ``{target: on-premises, host: …}`` while a hybrid
    domain's mailboxes are still on-premises."""
    directory_sync: bool | None = None


class CutoverSource(Model):
    """Where inbound mail goes today, as far as it differs from the domain's (new) settings."""

    topology: Topology | None = None
    """The topology today (default: the domain's, when only the Exchange Online host moves)."""
    third_party: ThirdParty | None = None
    """The service in front today, when it is not the domain's ``thirdParty`` (a change of vendor,
    or a move away from one)."""
    on_premises: OnPremises | None = None
    """The on-premises servers today, when the domain's settings no longer list them (a move away
    from a hybrid topology)."""
    exchange_online: ExchangeOnlineBefore | None = None
    exo_mx_host: HostName | None = None
    """The Exchange Online MX host mail goes to today, e.g. the ``mail.protection.outlook.com``
    host a domain leaves for its ``mx.microsoft`` host."""


class Cutover(Model):
    """A staged move of the domain's MX from ``from`` to the domain's own settings."""

    source: Annotated[CutoverSource, Field(alias="from")]
    phase: CutoverPhase
    ttl: Ttl = 300
    """The TTL of the MX and apex TXT record sets while mail may go either way."""
    dual: bool = False
    """Go through the ``dual`` phase (both MX sets published: the new one preferred, or, for a
    move onto an ``mx.microsoft`` host, below the old one to be tested) on the way from
    ``prepare`` to ``switch``."""


class Domain(Model):
    name: HostName
    topology: Topology
    ttl: Ttl = 3600
    third_party: ThirdParty | None = None
    # Defaults made without validation (they hold nothing to check): validating them here would
    # build the validators at import, which ``defer_build`` leaves to the first use.
    exchange_online: ExchangeOnline = ExchangeOnline.model_construct()
    on_premises: OnPremises | None = None
    spf: Spf = Spf.model_construct()
    dmarc: Dmarc | None = None
    mta_sts: MtaSts | None = None
    tls_rpt: TlsRpt | None = None
    mdm: bool = False
    skype_for_business: bool = False
    extra_records: tuple[ExtraRecord, ...] = ()
    zone_id: Annotated[str, Field(min_length=1)] | None = None
    """Cloudflare target: the zone's ID (else the target's zoneId, else looked up by name)."""
    zone_name: HostName | None = None
    """Azure target: the DNS zone holding the domain, when it is not the domain itself."""
    adopt: bool = False
    """zonefile and rfc2136 targets: take over a zone file or record sets that exist but that no
    mailflow stack wrote (their previous content is kept in state)."""
    import_ids: dict[str, Annotated[str, Field(min_length=1)]] = Field(default_factory=dict)
    """Adopt existing records: Pulumi logical name -> the provider's ID of the live record."""
    cutover: Cutover | None = None
    """A staged MX move in progress (README, "Moving the MX")."""


def _check_topology(domain: Domain, path: str) -> list[Problem]:
    problems: list[Problem] = []
    topology = domain.topology
    if topology in THIRD_PARTY_TOPOLOGIES and domain.third_party is None:
        problems.append(
            Problem(f"{path}.thirdParty", f"is required by the {topology} topology (its MX hosts)")
        )
    if topology not in THIRD_PARTY_TOPOLOGIES and domain.third_party is not None:
        problems.append(
            Problem(
                f"{path}.thirdParty",
                f"is only used by the third-party-front and third-party-hybrid topologies, not {topology}",
            )
        )
    if topology in ON_PREMISES_TOPOLOGIES and domain.on_premises is None:
        problems.append(
            Problem(
                f"{path}.onPremises", f"is required by the {topology} topology (the on-premises servers' IPs)"
            )
        )
    if topology not in ON_PREMISES_TOPOLOGIES and domain.on_premises is not None:
        problems.append(Problem(f"{path}.onPremises", f"is only used by hybrid topologies, not {topology}"))
    on_premises = domain.on_premises
    if topology == Topology.HYBRID_ONPREM_FRONT and on_premises and on_premises.mx_host is None:
        problems.append(
            Problem(f"{path}.onPremises.mxHost", "is required by hybrid-onprem-front: the MX points to it")
        )
    exo = domain.exchange_online
    problems.extend(_check_autodiscover(domain, path))
    initial = exo.initial_domain
    if initial is not None and exo.cloud not in ("gcc-high", "dod"):
        problems.append(
            Problem(
                f"{path}.exchangeOnline.initialDomain",
                f"is only used in the gcc-high and dod clouds (their MX host is named after the tenant), "
                f"not {exo.cloud}",
            )
        )
    elif initial is not None and not initial.endswith(".onmicrosoft.us"):
        problems.append(
            Problem(
                f"{path}.exchangeOnline.initialDomain",
                f"'{initial}' is not a {exo.cloud} initial domain (<tenant>.onmicrosoft.us)",
            )
        )
    dkim = exo.dkim
    if dkim is not None:
        explicit = dkim.selector1 is not None or dkim.selector2 is not None
        if explicit and dkim.initial_domain is not None:
            problems.append(
                Problem(
                    f"{path}.exchangeOnline.dkim",
                    "set either selector1 and selector2, or initialDomain, not both",
                )
            )
        elif explicit and (dkim.selector1 is None or dkim.selector2 is None):
            missing = "selector2" if dkim.selector2 is None else "selector1"
            problems.append(
                Problem(
                    f"{path}.exchangeOnline.dkim.{missing}",
                    "is required with the other selector (Microsoft rotates both)",
                )
            )
        elif not explicit and dkim.initial_domain is None:
            problems.append(
                Problem(
                    f"{path}.exchangeOnline.dkim", "needs selector1 and selector2 targets, or initialDomain"
                )
            )
    if (domain.mdm or domain.skype_for_business) and exo.cloud != "commercial":
        key = "mdm" if domain.mdm else "skypeForBusiness"
        problems.append(
            Problem(f"{path}.{key}", f"records are only known for the commercial cloud, not {exo.cloud}")
        )
    return problems


def previous_domain(domain: Domain) -> Domain:
    """The domain as it is before its cutover: the settings ``cutover.from`` names, the rest
    shared (``from.exoMxHost`` is the planner's to apply: it outranks the tenant's MX host, which
    is the new one). The caller has checked ``_check_cutover``."""
    cutover = domain.cutover
    assert cutover is not None
    source = cutover.source
    topology = source.topology or domain.topology
    third_party = source.third_party or domain.third_party
    on_premises = source.on_premises or domain.on_premises
    exo = domain.exchange_online
    before = source.exchange_online or ExchangeOnlineBefore()
    settings = _exchange_online_of(topology, exo.autodiscover)
    settings.update({name: getattr(before, name) for name in before.model_fields_set})
    return domain.model_copy(
        update={
            "topology": topology,
            "third_party": third_party if topology in THIRD_PARTY_TOPOLOGIES else None,
            "on_premises": on_premises if topology in ON_PREMISES_TOPOLOGIES else None,
            "exchange_online": exo.model_copy(update=settings),
            "cutover": None,
        }
    )


def _exchange_online_of(topology: Topology, autodiscover: AutodiscoverSetting | None) -> dict[str, Any]:
    """The Exchange Online settings that change with the old side's topology: those for the
    on-premises servers are the hybrid topologies' alone."""
    if topology in ON_PREMISES_TOPOLOGIES:
        return {"autodiscover": autodiscover}
    if isinstance(autodiscover, Autodiscover):
        autodiscover = None  # the on-premises Autodiscover host
    return {"autodiscover": autodiscover, "directory_sync": None, "centralized_mail_transport": False}


def phase_problems(cutover: Cutover, path: str, asked: CutoverPhase | None = None) -> list[Problem]:
    """The phase config sets, or ``asked`` instead (``mailflow plan --phase``), is one the cutover
    goes through: ``dual`` only with ``dual: true``."""
    if (asked or cutover.phase) != "dual" or cutover.dual:
        return []
    if asked is None:
        return [
            Problem(
                f"{path}.cutover.phase", "dual is a phase of a cutover with dual: true; set it, or use switch"
            )
        ]
    return [
        Problem(
            f"{path}.cutover.dual",
            "is false, so the cutover has no dual phase to plan (--phase dual); set it to true, or plan "
            "--phase switch",
        )
    ]


def _check_cutover(domain: Domain, path: str) -> list[Problem]:
    """What the side mail flows through today needs, from ``cutover.from`` or the domain."""
    cutover = domain.cutover
    if cutover is None:
        return []
    source, key = cutover.source, f"{path}.cutover.from"
    if source.topology is None and source.third_party is None and source.exo_mx_host is None:
        # Autodiscover or directory synchronisation alone moves no mail.
        return [
            Problem(
                key,
                "names no change: set the topology, thirdParty or exoMxHost that inbound mail goes "
                "through today",
            )
        ]
    topology = source.topology or domain.topology
    problems = []
    if cutover.ttl > domain.ttl:
        problems.append(
            Problem(
                f"{path}.cutover.ttl",
                f"{cutover.ttl} s is above the domain's ttl ({domain.ttl} s); a cutover lowers the TTL",
            )
        )
    problems.extend(phase_problems(cutover, path))
    if topology in THIRD_PARTY_TOPOLOGIES and (source.third_party or domain.third_party) is None:
        problems.append(
            Problem(f"{key}.thirdParty", f"is required by {topology}, the topology mail flows through today")
        )
    if topology not in THIRD_PARTY_TOPOLOGIES and source.third_party is not None:
        problems.append(
            Problem(
                f"{key}.thirdParty",
                f"is only used when mail flows through a third party today, not {topology}",
            )
        )
    on_premises = source.on_premises or domain.on_premises
    if topology in ON_PREMISES_TOPOLOGIES and on_premises is None:
        problems.append(
            Problem(f"{key}.onPremises", f"is required by {topology}, the topology mail flows through today")
        )
    if topology not in ON_PREMISES_TOPOLOGIES and source.on_premises is not None:
        problems.append(
            Problem(
                f"{key}.onPremises", f"is only used when mail flows through on-premises today, not {topology}"
            )
        )
    before = source.exchange_online
    if before is not None and before.autodiscover is not None:
        problems.extend(_check_autodiscover(previous_domain(domain), key))
    if before is not None and before.directory_sync is not None and topology not in ON_PREMISES_TOPOLOGIES:
        problems.append(
            Problem(f"{key}.exchangeOnline.directorySync", f"is for the hybrid topologies, not {topology}")
        )
    if topology == Topology.HYBRID_ONPREM_FRONT and on_premises and on_premises.mx_host is None:
        where = f"{key}.onPremises" if source.on_premises else f"{path}.onPremises"
        problems.append(
            Problem(
                f"{where}.mxHost", "is required by hybrid-onprem-front, the topology mail flows through today"
            )
        )
    return problems


def _check_autodiscover(domain: Domain, path: str) -> list[Problem]:
    setting = domain.exchange_online.autodiscover
    if not isinstance(setting, Autodiscover):
        return []
    key = f"{path}.exchangeOnline.autodiscover"
    if setting.target == "on-premises" and setting.host is None:
        return [Problem(f"{key}.host", "is required by target on-premises: the Exchange server's host name")]
    if setting.target != "on-premises" and setting.host is not None:
        return [Problem(f"{key}.host", f"is only used by target on-premises, not {setting.target}")]
    if setting.target == "on-premises" and domain.topology not in ON_PREMISES_TOPOLOGIES:
        return [
            Problem(
                f"{key}.target",
                f"on-premises is for the hybrid topologies; {domain.topology} has no on-premises servers",
            )
        ]
    return []


def parse_domains(
    raw: Any, domains_file: str | None = None
) -> tuple[list[tuple[str, Domain]], list[Problem]]:
    """Validate each domain on its own, so that one bad domain does not hide the others' problems.
    Problems name the list by its config key, or by the domains file it was read from."""
    prefix = domains_file or f"{NAMESPACE}:domains"
    if raw is None:
        return [], [Problem(prefix, "is required: the list of mail domains to manage")]
    if not isinstance(raw, list) or not raw:
        return [], [Problem(prefix, "must be a non-empty list of domains")]
    parsed: list[tuple[str, Domain]] = []
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for index, item in enumerate(raw):
        path = f"{prefix}[{index}]"
        try:
            domain = Domain.model_validate(item)
        except ValidationError as error:
            problems.extend(problems_from(error, path))
            continue
        if domain.name in seen:
            written = item.get("name") if isinstance(item, dict) else None
            shown = quote(domain.name) if written == domain.name else f"{quote(str(written))} ({domain.name})"
            problems.append(Problem(f"{path}.name", f"{shown} is already configured at {seen[domain.name]}"))
            continue
        seen[domain.name] = path
        topology_problems = [*_check_topology(domain, path), *_check_cutover(domain, path)]
        problems.extend(topology_problems)
        if not topology_problems:
            parsed.append((path, domain))
    return parsed, problems
