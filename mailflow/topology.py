"""Microsoft's five mail-flow topologies: where MX points, whom SPF authorises, where mail is relayed."""

from __future__ import annotations

from dataclasses import dataclass

from mailflow.config import THIRD_PARTY_TOPOLOGIES, Domain, Topology
from mailflow.fields import Cloud
from mailflow.spf import SpfTerm

THIRD_PARTY_PART = "third-party-front"
EXCHANGE_ONLINE_PART = "exchange-online"
ON_PREMISES_PART = "on-premises"
DOMAIN_PART = "domain"
"""Records of the whole domain (SPF, DMARC, …) rather than of one side of the topology."""


@dataclass(frozen=True)
class CloudEndpoints:
    """The Exchange Online host names of one Microsoft cloud."""

    mx_suffix: str
    spf_include: str
    autodiscover: str


CLOUDS: dict[Cloud, CloudEndpoints] = {
    "commercial": CloudEndpoints(
        "mail.protection.outlook.com", "spf.protection.outlook.com", "autodiscover.outlook.com"
    ),
    # Microsoft's "DNS records for Office 365 GCC High" and "… DoD" pages.
    "gcc-high": CloudEndpoints(
        "mail.protection.office365.us", "spf.protection.office365.us", "autodiscover.office365.us"
    ),
    "dod": CloudEndpoints(
        "mail.protection.office365.us", "spf.protection.office365.us", "autodiscover-dod.office365.us"
    ),
    "china": CloudEndpoints(
        "mail.protection.partner.outlook.cn",
        "spf.protection.partner.outlook.cn",
        "autodiscover.partner.outlook.cn",
    ),
}


@dataclass(frozen=True)
class MxTarget:
    priority: int
    host: str


@dataclass(frozen=True)
class Routing:
    """What a topology decides for one domain."""

    mx: tuple[MxTarget, ...]
    mx_part: str
    """The side of the topology the MX points to."""
    spf_terms: tuple[SpfTerm, ...]
    """Authorised senders in config order; the SPF builder orders and deduplicates them."""
    exo_mx_host: str
    """Exchange Online's inbound host: the MX, or the smart host a third party relays to."""
    relay_host: str | None
    """Where the third party must deliver inbound mail (third-party topologies only)."""
    third_party_in_spf: bool


def third_party_sends_outbound(domain: Domain) -> bool:
    third_party = domain.third_party
    if third_party is None:
        return False
    if third_party.sends_outbound is not None:
        return third_party.sends_outbound
    return domain.topology == Topology.THIRD_PARTY_HYBRID


def route(domain: Domain, exo_mx: MxTarget) -> Routing:
    """MX targets, SPF senders and relay host of ``domain`` under its topology, given Exchange
    Online's MX host (read from the tenant, configured or derived)."""
    exo_host = exo_mx.host
    third_party = domain.third_party
    on_premises = domain.on_premises
    topology = domain.topology

    if topology in THIRD_PARTY_TOPOLOGIES and third_party is not None:
        mx = tuple(MxTarget(m.priority, m.host) for m in third_party.mx)
        mx_part = THIRD_PARTY_PART
    elif topology == Topology.HYBRID_ONPREM_FRONT and on_premises and on_premises.mx_host:
        mx = (MxTarget(on_premises.mx_priority, on_premises.mx_host),)
        mx_part = ON_PREMISES_PART
    else:
        mx = (exo_mx,)
        mx_part = EXCHANGE_ONLINE_PART

    senders: list[SpfTerm] = []
    in_spf = third_party_sends_outbound(domain)
    if third_party is not None and in_spf:
        senders.extend(third_party.spf)
    if on_premises is not None:
        # Config has already normalised these addresses, so they make terms as they are.
        senders.extend(SpfTerm("ip6" if ":" in ip else "ip4", ip) for ip in on_premises.ips)
    senders.append(SpfTerm("include", CLOUDS[domain.exchange_online.cloud].spf_include))
    senders.extend(domain.spf.extra)

    relay = exo_host if topology in THIRD_PARTY_TOPOLOGIES else None
    return Routing(
        tuple(sorted(set(mx), key=lambda m: (m.priority, m.host))),
        mx_part,
        tuple(senders),
        exo_host,
        relay,
        in_spf,
    )
