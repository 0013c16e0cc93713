"""Exchange Online connectors per topology and their PowerShell script, asserted exactly; every
value's source, the warnings for values config lacks, and each bad input with its config path."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from conftest import ROOT, SEED_DOMAIN, SEED_STACK, config_problems, example_values, plan_domains

from mailflow.connectors import MAX_NAME_LENGTH, connector_name, plan_connectors, render_script
from mailflow.errors import ConfigError
from mailflow.plan import plan_stack
from mailflow.stackfile import read_stack_file

HEADER = """\
# Exchange Online connectors of the mail domains planned by mailflow.
# Run in Exchange Online PowerShell after Connect-ExchangeOnline. Each connector is created
# when missing and set to the same values when present, so running this again changes nothing.
# Values without a note are fixed by the connector's purpose.
"""

SEED_PARTNER = """
# contoso.com: Partner inbound connector for mail relayed by Example filtering service
#   -SenderIPAddresses: the ip4 terms of mailflow:domains[0].thirdParty.spf (thirdParty.connectorIps is unset)
#   -EFSkipLastIP: on by default, skipping the service's own hop (mailflow:domains[0].thirdParty.enhancedFiltering is unset)
if (-not (Get-InboundConnector -Identity 'mailflow contoso.com from Example filtering service' -ErrorAction SilentlyContinue)) {
    New-InboundConnector -Name 'mailflow contoso.com from Example filtering service' -ConnectorType Partner -SenderDomains @('*') -RestrictDomainsToIPAddresses $true -SenderIPAddresses @('10.10.10.1') -EFSkipLastIP $true
} else {
    Set-InboundConnector -Identity 'mailflow contoso.com from Example filtering service' -ConnectorType Partner -SenderDomains @('*') -RestrictDomainsToIPAddresses $true -SenderIPAddresses @('10.10.10.1') -EFSkipLastIP $true
}
"""

SEED_OUTBOUND = """
# contoso.com: outbound connector for mail to mailboxes on the on-premises servers
#   -SmartHosts: mailflow:domains[0].onPremises.smartHost
#   -TlsDomain: mailflow:domains[0].onPremises.smartHost
#   -RecipientDomains: mailflow:domains[0].name
#   -RouteAllMessagesViaOnPremises: mailflow:domains[0].exchangeOnline.centralizedMailTransport (default false)
if (-not (Get-OutboundConnector -Identity 'mailflow contoso.com to on-premises' -ErrorAction SilentlyContinue)) {
    New-OutboundConnector -Name 'mailflow contoso.com to on-premises' -ConnectorType OnPremises -UseMXRecord $false -SmartHosts @('mail.contoso.com') -TlsSettings DomainValidation -TlsDomain 'mail.contoso.com' -RecipientDomains @('contoso.com') -RouteAllMessagesViaOnPremises $false
} else {
    Set-OutboundConnector -Identity 'mailflow contoso.com to on-premises' -ConnectorType OnPremises -UseMXRecord $false -SmartHosts @('mail.contoso.com') -TlsSettings DomainValidation -TlsDomain 'mail.contoso.com' -RecipientDomains @('contoso.com') -RouteAllMessagesViaOnPremises $false
}
"""

SEED_ON_PREMISES_BY_CERTIFICATE = """
# contoso.com: inbound connector for mail the on-premises servers send through Exchange Online
#   -TlsSenderCertificateName: mailflow:domains[0].onPremises.certificateName
if (-not (Get-InboundConnector -Identity 'mailflow contoso.com from on-premises' -ErrorAction SilentlyContinue)) {
    New-InboundConnector -Name 'mailflow contoso.com from on-premises' -ConnectorType OnPremises -SenderDomains @('*') -RequireTls $true -RestrictDomainsToCertificate $true -TlsSenderCertificateName 'mail.contoso.com'
} else {
    Set-InboundConnector -Identity 'mailflow contoso.com from on-premises' -ConnectorType OnPremises -SenderDomains @('*') -RequireTls $true -RestrictDomainsToCertificate $true -TlsSenderCertificateName 'mail.contoso.com'
}
"""

SEED_ON_PREMISES_BY_IP = """
# contoso.com: inbound connector for mail the on-premises servers send through Exchange Online
#   -SenderIPAddresses: mailflow:domains[0].onPremises.ips (onPremises.certificateName is unset)
if (-not (Get-InboundConnector -Identity 'mailflow contoso.com from on-premises' -ErrorAction SilentlyContinue)) {
    New-InboundConnector -Name 'mailflow contoso.com from on-premises' -ConnectorType OnPremises -SenderDomains @('*') -SenderIPAddresses @('131.107.21.231')
} else {
    Set-InboundConnector -Identity 'mailflow contoso.com from on-premises' -ConnectorType OnPremises -SenderDomains @('*') -SenderIPAddresses @('131.107.21.231')
}
"""

NO_SMART_HOST = (
    "mailflow:domains[0].onPremises.smartHost: is not set, so the outbound connector to on-premises "
    "is left out: Exchange Online needs the host name of the on-premises servers that take mail for "
    "their mailboxes, e.g. mail.contoso.com"
)
NO_THIRD_PARTY_IPS = (
    "mailflow:domains[0].thirdParty.connectorIps: is not set and thirdParty.spf has no ip4 term to "
    "default to, so the Partner inbound connector is left out; list the service's IPv4 addresses "
    "(/24 to /32) or set thirdParty.certificateName"
)
CENTRALIZED = (
    "Enhanced Filtering for Connectors is not supported with centralized mail transport "
    "(exchangeOnline.centralizedMailTransport)"
)


def script(values: dict[str, Any], strict: bool = False) -> str:
    return render_script(plan_stack(values, strict=strict, complete=strict).connectors)


def connector_warnings(values: dict[str, Any]) -> list[str]:
    return [str(warning) for warning in plan_stack(values).connectors.warnings]


def connector_problems(values: dict[str, Any], strict: bool = False) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        plan_stack(values, strict=strict, complete=strict)
    return [str(problem) for problem in caught.value.problems]


def with_hosts(domain: dict[str, Any]) -> dict[str, Any]:
    """The seed domain with what its hybrid connectors need beyond the DNS records."""
    domain["onPremises"].update(smartHost="mail.contoso.com", certificateName="mail.contoso.com")
    return domain


def warning_lines(*problems: str) -> str:
    return "#\n# Warnings:\n" + "".join(f"#   {problem}\n" for problem in problems)


def test_seed_scenario_script(seed_domain: dict[str, Any]) -> None:
    values = {"domains": [with_hosts(seed_domain)]}
    assert script(values) == HEADER + SEED_PARTNER + SEED_OUTBOUND + SEED_ON_PREMISES_BY_CERTIFICATE
    assert connector_warnings(values) == []


def test_seed_without_smart_host_leaves_out_only_the_outbound_connector(seed_domain: dict[str, Any]) -> None:
    values = {"domains": [seed_domain]}
    assert connector_warnings(values) == [NO_SMART_HOST]
    assert script(values) == HEADER + warning_lines(NO_SMART_HOST) + SEED_PARTNER + SEED_ON_PREMISES_BY_IP


def test_seed_stack_file_plans_the_same_connectors(seed_domain: dict[str, Any]) -> None:
    assert script(read_stack_file(SEED_STACK)) == script({"domains": [seed_domain]})


def test_strict_makes_the_missing_smart_host_an_error(seed_domain: dict[str, Any]) -> None:
    assert connector_problems({"domains": [seed_domain]}, strict=True) == [NO_SMART_HOST]


def test_strict_passes_a_complete_config(seed_domain: dict[str, Any]) -> None:
    values = {"domains": [with_hosts(seed_domain)]}
    assert script(values, strict=True) == script(values)


def test_exchange_online_needs_no_connector() -> None:
    assert script(example_values("exchange-online")) == HEADER + "#\n# No connectors to create or update.\n"


def test_third_party_front_by_certificate() -> None:
    values = example_values("third-party-front")
    values["domains"][0]["thirdParty"]["certificateName"] = "relay.mimecast.com"
    assert (
        script(values)
        == HEADER
        + """
# tailspintoys.com: Partner inbound connector for mail relayed by Mimecast (Europe)
#   -TlsSenderCertificateName: mailflow:domains[0].thirdParty.certificateName
#   -EFSkipLastIP: on by default, skipping the service's own hop (mailflow:domains[0].thirdParty.enhancedFiltering is unset)
if (-not (Get-InboundConnector -Identity 'mailflow tailspintoys.com from Mimecast (Europe)' -ErrorAction SilentlyContinue)) {
    New-InboundConnector -Name 'mailflow tailspintoys.com from Mimecast (Europe)' -ConnectorType Partner -SenderDomains @('*') -RestrictDomainsToCertificate $true -TlsSenderCertificateName 'relay.mimecast.com' -RequireTls $true -EFSkipLastIP $true
} else {
    Set-InboundConnector -Identity 'mailflow tailspintoys.com from Mimecast (Europe)' -ConnectorType Partner -SenderDomains @('*') -RestrictDomainsToCertificate $true -TlsSenderCertificateName 'relay.mimecast.com' -RequireTls $true -EFSkipLastIP $true
}
"""
    )


def test_vendor_include_without_ips_or_certificate_leaves_out_the_partner_connector() -> None:
    values = example_values("third-party-front")
    assert connector_warnings(values) == [NO_THIRD_PARTY_IPS]
    assert script(values) == (
        HEADER + warning_lines(NO_THIRD_PARTY_IPS) + "#\n# No connectors to create or update.\n"
    )


def test_third_party_hybrid_with_vendor_include_keeps_the_on_premises_connector() -> None:
    values = example_values("third-party-hybrid")
    assert script(values) == (
        HEADER + warning_lines(NO_THIRD_PARTY_IPS, NO_SMART_HOST) + SEED_ON_PREMISES_BY_IP
    )


def test_hybrid_exo_front_leaves_ipv6_out_of_the_connector() -> None:
    ipv6 = (
        "mailflow:domains[0].onPremises.ips[1]: '2001:db8:25::/64' is IPv6 and left out of the "
        "connector: SenderIPAddresses holds IPv4 addresses only (match an IPv6 sender by "
        "onPremises.certificateName)"
    )
    assert (
        script(example_values("hybrid-exo-front"))
        == HEADER
        + warning_lines(NO_SMART_HOST.replace("contoso", "wingtiptoys"), ipv6)
        + """
# wingtiptoys.com: inbound connector for mail the on-premises servers send through Exchange Online
#   -SenderIPAddresses: mailflow:domains[0].onPremises.ips (onPremises.certificateName is unset)
if (-not (Get-InboundConnector -Identity 'mailflow wingtiptoys.com from on-premises' -ErrorAction SilentlyContinue)) {
    New-InboundConnector -Name 'mailflow wingtiptoys.com from on-premises' -ConnectorType OnPremises -SenderDomains @('*') -SenderIPAddresses @('203.0.113.25')
} else {
    Set-InboundConnector -Identity 'mailflow wingtiptoys.com from on-premises' -ConnectorType OnPremises -SenderDomains @('*') -SenderIPAddresses @('203.0.113.25')
}
"""
    )


def test_hybrid_onprem_front_sends_to_the_mx_host_when_no_smart_host_is_set() -> None:
    assert (
        script(example_values("hybrid-onprem-front"))
        == HEADER
        + """
# adatum.com: outbound connector for mail to mailboxes on the on-premises servers
#   -SmartHosts: mailflow:domains[0].onPremises.mxHost (onPremises.smartHost is unset)
#   -TlsDomain: mailflow:domains[0].onPremises.mxHost (onPremises.smartHost is unset)
#   -RecipientDomains: mailflow:domains[0].name
#   -RouteAllMessagesViaOnPremises: mailflow:domains[0].exchangeOnline.centralizedMailTransport (default false)
if (-not (Get-OutboundConnector -Identity 'mailflow adatum.com to on-premises' -ErrorAction SilentlyContinue)) {
    New-OutboundConnector -Name 'mailflow adatum.com to on-premises' -ConnectorType OnPremises -UseMXRecord $false -SmartHosts @('mail.adatum.com') -TlsSettings DomainValidation -TlsDomain 'mail.adatum.com' -RecipientDomains @('adatum.com') -RouteAllMessagesViaOnPremises $false
} else {
    Set-OutboundConnector -Identity 'mailflow adatum.com to on-premises' -ConnectorType OnPremises -UseMXRecord $false -SmartHosts @('mail.adatum.com') -TlsSettings DomainValidation -TlsDomain 'mail.adatum.com' -RecipientDomains @('adatum.com') -RouteAllMessagesViaOnPremises $false
}

# adatum.com: inbound connector for mail the on-premises servers send through Exchange Online
#   -SenderIPAddresses: mailflow:domains[0].onPremises.ips (onPremises.certificateName is unset)
if (-not (Get-InboundConnector -Identity 'mailflow adatum.com from on-premises' -ErrorAction SilentlyContinue)) {
    New-InboundConnector -Name 'mailflow adatum.com from on-premises' -ConnectorType OnPremises -SenderDomains @('*') -SenderIPAddresses @('198.51.100.10','198.51.100.11')
} else {
    Set-InboundConnector -Identity 'mailflow adatum.com from on-premises' -ConnectorType OnPremises -SenderDomains @('*') -SenderIPAddresses @('198.51.100.10','198.51.100.11')
}
"""
    )


def all_topologies() -> dict[str, Any]:
    domains = [
        domain
        for name in (
            "exchange-online",
            "third-party-front",
            "hybrid-exo-front",
            "hybrid-onprem-front",
            "third-party-hybrid",
        )
        for domain in example_values(name)["domains"]
    ]
    domains[1]["thirdParty"]["connectorIps"] = ["192.0.2.0/24"]
    domains[4]["name"] = "contoso.net"
    domains[4]["onPremises"]["smartHost"] = "mail.contoso.net"
    return {"domains": domains}


def test_every_new_is_guarded_by_its_get_and_set_takes_the_same_values() -> None:
    lines = script(all_topologies()).splitlines()
    news = [index for index, line in enumerate(lines) if line.lstrip().startswith("New-")]
    assert len(news) == 6
    for index in news:
        new = re.fullmatch(r"    New-(\w+) -Name ('[^']*') (.*)", lines[index])
        assert new is not None
        cmdlet, name, arguments = new.groups()
        assert (
            lines[index - 1] == f"if (-not (Get-{cmdlet} -Identity {name} -ErrorAction SilentlyContinue)) {{"
        )
        assert lines[index + 1 : index + 4] == [
            "} else {",
            f"    Set-{cmdlet} -Identity {name} {arguments}",
            "}",
        ]


def test_one_script_holds_each_domains_connectors_in_config_order() -> None:
    plan = plan_stack(all_topologies()).connectors
    assert [(c.domain, c.name) for c in plan.connectors] == [
        ("tailspintoys.com", "mailflow tailspintoys.com from Mimecast (Europe)"),
        ("wingtiptoys.com", "mailflow wingtiptoys.com from on-premises"),
        ("adatum.com", "mailflow adatum.com to on-premises"),
        ("adatum.com", "mailflow adatum.com from on-premises"),
        ("contoso.net", "mailflow contoso.net to on-premises"),
        ("contoso.net", "mailflow contoso.net from on-premises"),
    ]
    assert [w.path for w in plan.warnings] == [
        "mailflow:domains[2].onPremises.smartHost",
        "mailflow:domains[2].onPremises.ips[1]",
        "mailflow:domains[4].thirdParty.connectorIps",
    ]


def test_a_domain_plan_alone_gives_its_own_connectors(seed_domain: dict[str, Any]) -> None:
    stack = plan_domains(with_hosts(seed_domain))
    assert plan_connectors(stack.domains[:1]) == stack.connectors


def test_centralized_transport_routes_all_mail_on_premises_and_turns_enhanced_filtering_off(
    seed_domain: dict[str, Any],
) -> None:
    seed_domain["exchangeOnline"]["centralizedMailTransport"] = True
    text = script({"domains": [with_hosts(seed_domain)]})
    assert "-SenderIPAddresses @('10.10.10.1') -EFSkipLastIP $false -EFSkipIPs $null\n" in text
    assert "#   -EFSkipLastIP: mailflow:domains[0].exchangeOnline.centralizedMailTransport\n" in text
    assert "-RecipientDomains @('contoso.com') -RouteAllMessagesViaOnPremises $true\n" in text
    assert connector_warnings({"domains": [seed_domain]}) == [
        f"mailflow:domains[0].thirdParty.enhancedFiltering: is unset and left off: {CENTRALIZED}; "
        "set it to false to say so"
    ]


def test_enhanced_filtering_turned_off(seed_domain: dict[str, Any]) -> None:
    seed_domain["thirdParty"]["enhancedFiltering"] = False
    text = script({"domains": [with_hosts(seed_domain)]})
    assert "-SenderIPAddresses @('10.10.10.1') -EFSkipLastIP $false -EFSkipIPs $null\n" in text
    assert "#   -EFSkipIPs: mailflow:domains[0].thirdParty.enhancedFiltering\n" in text


def test_enhanced_filtering_skips_the_listed_ips(seed_domain: dict[str, Any]) -> None:
    seed_domain["thirdParty"]["enhancedFilteringSkipIps"] = ["198.51.100.0/24", "203.0.113.7"]
    text = script({"domains": [with_hosts(seed_domain)]})
    assert "-EFSkipLastIP $false -EFSkipIPs @('198.51.100.0/24','203.0.113.7')\n" in text
    assert "#   -EFSkipIPs: mailflow:domains[0].thirdParty.enhancedFilteringSkipIps\n" in text


def test_configured_connector_ips_replace_the_spf_default(seed_domain: dict[str, Any]) -> None:
    seed_domain["thirdParty"]["connectorIps"] = ["10.10.10.1", "192.0.2.0/24"]
    text = script({"domains": [with_hosts(seed_domain)]})
    assert "-RestrictDomainsToIPAddresses $true -SenderIPAddresses @('10.10.10.1','192.0.2.0/24')" in text
    assert "#   -SenderIPAddresses: mailflow:domains[0].thirdParty.connectorIps\n" in text


def test_connector_ips_that_spf_does_not_publish_are_a_warning(seed_domain: dict[str, Any]) -> None:
    seed_domain["thirdParty"]["spf"] = ["ip4:10.10.10.1", "ip4:10.10.11.0/24"]
    seed_domain["thirdParty"]["connectorIps"] = ["10.10.10.1", "192.0.2.0/24"]
    assert connector_warnings({"domains": [with_hosts(seed_domain)]}) == [
        "mailflow:domains[0].thirdParty.connectorIps[1]: '192.0.2.0/24' is not among the ip4 terms "
        "of thirdParty.spf, which the SPF record publishes (sendsOutbound); if the service relays "
        "outbound mail from it, add it there",
        "mailflow:domains[0].thirdParty.spf[1]: 'ip4:10.10.11.0/24' is not in thirdParty.connectorIps: "
        "mail the service delivers from it is rejected by the Partner connector "
        "(RestrictDomainsToIPAddresses)",
    ]


def test_connector_ips_covering_spf_together_agree(seed_domain: dict[str, Any]) -> None:
    seed_domain["thirdParty"]["spf"] = ["ip4:192.0.2.0/23"]
    seed_domain["thirdParty"]["connectorIps"] = ["192.0.2.0/24", "192.0.3.0/24"]
    assert connector_warnings({"domains": [with_hosts(seed_domain)]}) == []


def test_spf_disagreement_is_not_checked_when_spf_does_not_publish_the_service(
    seed_domain: dict[str, Any],
) -> None:
    seed_domain["thirdParty"]["sendsOutbound"] = False
    seed_domain["thirdParty"]["connectorIps"] = ["192.0.2.0/24"]
    assert connector_warnings({"domains": [with_hosts(seed_domain)]}) == []


def test_spf_disagreement_is_not_checked_against_vendor_includes() -> None:
    values = example_values("third-party-front")
    values["domains"][0]["thirdParty"]["connectorIps"] = ["192.0.2.0/24"]
    assert connector_warnings(values) == []


def test_ipv6_spf_terms_are_left_out_of_the_partner_connector(seed_domain: dict[str, Any]) -> None:
    seed_domain["thirdParty"]["spf"] = ["ip4:10.10.10.1", "ip6:2001:db8::/48"]
    values = {"domains": [with_hosts(seed_domain)]}
    expected = (
        "mailflow:domains[0].thirdParty.spf[1]: 'ip6:2001:db8::/48' is IPv6 and left out of the "
        "connector: SenderIPAddresses holds IPv4 addresses only (match an IPv6 sender by "
        "thirdParty.certificateName)"
    )
    assert connector_warnings(values) == [expected]
    assert "-SenderIPAddresses @('10.10.10.1') " in script(values)
    assert connector_problems(values, strict=True) == [expected]


def test_powershell_strings_double_every_kind_of_single_quote(seed_domain: dict[str, Any]) -> None:
    seed_domain["thirdParty"]["name"] = "O'Neil \u2018Mail\u2019\nRelay"
    text = script({"domains": [with_hosts(seed_domain)]})
    assert (
        "# contoso.com: Partner inbound connector for mail relayed by O'Neil \u2018Mail\u2019 Relay\n" in text
    )
    assert (
        "New-InboundConnector -Name 'mailflow contoso.com from O''Neil \u2018\u2018Mail\u2019\u2019 Relay' "
        in text
    )


def test_long_names_are_cut_to_the_limit_and_stay_distinct() -> None:
    domain = "mail-routing." + "a" * 40 + ".example"
    partner = connector_name(domain, "from Example filtering service")
    on_premises = connector_name(domain, "from on-premises")
    assert len(partner) == len(on_premises) == MAX_NAME_LENGTH
    assert partner.startswith(f"mailflow {domain}"[:50])
    assert re.search(r"~[0-9a-f]{8}$", partner)
    assert partner != on_premises
    assert connector_name(domain, "from Example filtering service") == partner


def edited(change: dict[str, Any], domain: dict[str, Any]) -> dict[str, Any]:
    for section, values in change.items():
        if isinstance(values, dict):
            domain.setdefault(section, {}).update(values)
        else:
            domain[section] = values
    return domain


BAD_INPUTS: list[tuple[str, dict[str, Any], str]] = [
    (
        "ipv6 connector ip",
        {"thirdParty": {"connectorIps": ["2001:db8::1"]}},
        "mailflow:domains[0].thirdParty.connectorIps[0]: '2001:db8::1' is IPv6: SenderIPAddresses holds "
        "IPv4 addresses only (match an IPv6 sender by thirdParty.certificateName)",
    ),
    (
        "connector network wider than /24",
        {"thirdParty": {"connectorIps": ["10.10.10.1", "10.20.0.0/16"]}},
        "mailflow:domains[0].thirdParty.connectorIps[1]: '10.20.0.0/16' is wider than /24: "
        "SenderIPAddresses takes /24 to /32 networks; list its /24 networks in thirdParty.connectorIps "
        "or set thirdParty.certificateName",
    ),
    (
        "empty connector ips",
        {"thirdParty": {"connectorIps": []}},
        "mailflow:domains[0].thirdParty.connectorIps: must list at least one IPv4 address or network",
    ),
    (
        "spf network too wide to default the connector",
        {"thirdParty": {"spf": ["ip4:10.10.0.0/16"]}},
        "mailflow:domains[0].thirdParty.spf[0]: 'ip4:10.10.0.0/16' is wider than /24: SenderIPAddresses "
        "takes /24 to /32 networks; list its /24 networks in thirdParty.connectorIps or set "
        "thirdParty.certificateName",
    ),
    (
        "on-premises network too wide to default the connector",
        {"onPremises": {"ips": ["131.107.20.0/23"], "certificateName": None}},
        "mailflow:domains[0].onPremises.ips[0]: '131.107.20.0/23' is wider than /24: SenderIPAddresses "
        "takes /24 to /32 networks; list its /24 networks in onPremises.ips or set "
        "onPremises.certificateName",
    ),
    (
        "certificate and ips both restrict the partner connector",
        {"thirdParty": {"certificateName": "relay.filter.example.net", "connectorIps": ["10.10.10.1"]}},
        "mailflow:domains[0].thirdParty.connectorIps: is set with certificateName; the Partner "
        "connector is restricted by one of them",
    ),
    (
        "enhanced filtering asked for with centralized transport",
        {"thirdParty": {"enhancedFiltering": True}, "exchangeOnline": {"centralizedMailTransport": True}},
        f"mailflow:domains[0].thirdParty.enhancedFiltering: is true, but {CENTRALIZED}",
    ),
    (
        "skip list with centralized transport",
        {
            "thirdParty": {"enhancedFilteringSkipIps": ["198.51.100.1"]},
            "exchangeOnline": {"centralizedMailTransport": True},
        },
        f"mailflow:domains[0].thirdParty.enhancedFilteringSkipIps: is set, but {CENTRALIZED}",
    ),
    (
        "private address in the skip list",
        {"thirdParty": {"enhancedFilteringSkipIps": ["198.51.100.1", "10.10.10.1"]}},
        "mailflow:domains[0].thirdParty.enhancedFilteringSkipIps[1]: '10.10.10.1' is a private address "
        "(RFC 1918), which Enhanced Filtering cannot skip-list; it skips private addresses by itself",
    ),
    (
        "skip-list network overlapping a private range",
        {"thirdParty": {"enhancedFilteringSkipIps": ["172.0.0.0/8"]}},
        "mailflow:domains[0].thirdParty.enhancedFilteringSkipIps[0]: '172.0.0.0/8' is a private address "
        "(RFC 1918), which Enhanced Filtering cannot skip-list; it skips private addresses by itself",
    ),
    (
        "skip list with enhanced filtering off",
        {"thirdParty": {"enhancedFiltering": False, "enhancedFilteringSkipIps": ["198.51.100.1"]}},
        "mailflow:domains[0].thirdParty.enhancedFilteringSkipIps: is set, but "
        "thirdParty.enhancedFiltering is false",
    ),
    (
        "empty skip list",
        {"thirdParty": {"enhancedFilteringSkipIps": []}},
        "mailflow:domains[0].thirdParty.enhancedFilteringSkipIps: must list at least one IP; leave it "
        "unset to skip the service's own hop",
    ),
    (
        "third party named like the on-premises connector",
        {"thirdParty": {"name": "On-Premises"}},
        "mailflow:domains[0].thirdParty.name: gives the Partner connector the name of the connector "
        "from on-premises; choose another",
    ),
]


@pytest.mark.parametrize(
    ("change", "expected"), [case[1:] for case in BAD_INPUTS], ids=[case[0] for case in BAD_INPUTS]
)
def test_bad_connector_input_is_reported_with_its_path(
    seed_domain: dict[str, Any], change: dict[str, Any], expected: str
) -> None:
    assert connector_problems({"domains": [edited(change, with_hosts(seed_domain))]}) == [expected]


@pytest.mark.parametrize("example", ["exchange-online", "third-party-front"])
def test_centralized_transport_needs_on_premises_servers(example: str) -> None:
    values = example_values(example)
    values["domains"][0].setdefault("exchangeOnline", {})["centralizedMailTransport"] = True
    topology = values["domains"][0]["topology"]
    assert (
        f"mailflow:domains[0].exchangeOnline.centralizedMailTransport: routes outbound mail through "
        f"on-premises servers, which the {topology} topology has none of"
    ) in connector_problems(values)


def test_every_problem_of_every_domain_is_reported_at_once() -> None:
    first = edited({"thirdParty": {"enhancedFilteringSkipIps": ["192.168.1.1"]}}, copy.deepcopy(SEED_DOMAIN))
    other = edited(
        {"name": "contoso.net", "thirdParty": {"connectorIps": ["2001:db8::1"]}},
        with_hosts(copy.deepcopy(SEED_DOMAIN)),
    )
    problems = connector_problems({"domains": [first, other]}, strict=True)
    assert [problem.split(":", 2)[1] for problem in problems] == [
        "domains[0].onPremises.smartHost",
        "domains[0].thirdParty.enhancedFilteringSkipIps[0]",
        "domains[1].thirdParty.connectorIps[0]",
        "domains[1].thirdParty.spf[0]",
    ]


def test_skip_list_entries_are_checked_as_ip_networks(seed_domain: dict[str, Any]) -> None:
    seed_domain["thirdParty"]["enhancedFilteringSkipIps"] = ["198.51.100.300"]
    assert config_problems({"domains": [seed_domain]}) == [
        "mailflow:domains[0].thirdParty.enhancedFilteringSkipIps[0]: '198.51.100.300' is not an IPv4 "
        "or IPv6 address or CIDR network"
    ]


def test_docs_show_the_seed_scenario_script(seed_domain: dict[str, Any]) -> None:
    docs = (ROOT / "docs" / "CONNECTORS.md").read_text("utf-8")
    scripts = re.findall(r"```powershell\n(.*?)```", docs, re.S)
    assert script({"domains": [with_hosts(seed_domain)]}) in scripts
