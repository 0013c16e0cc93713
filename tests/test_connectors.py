"""Exchange Online connectors per topology and their PowerShell script, asserted exactly; every
value's source, the warnings for values config lacks, and each bad input with its config path."""

from __future__ import annotations

import copy
import os
import re
from typing import Any

import pytest
from conftest import ROOT, SEED_DOMAIN, SEED_STACK, config_problems, example_values, plan_domains

from mailflow.connectors import MAX_NAME_LENGTH, connector_name, plan_connectors, render_script
from mailflow.errors import ConfigError
from mailflow.plan import plan_stack
from mailflow.stackfile import read_stack_file

GOLDEN = ROOT / "tests" / "data" / "connectors"
"""The whole script of each case, reviewed by hand; ``MAILFLOW_UPDATE_GOLDEN=1`` rewrites them."""

NO_OUTBOUND_ROUTE = (
    "mailflow:domains[0].thirdParty.outboundSmartHosts: is not set, so outbound mail leaves Exchange "
    "Online directly, not through Example filtering service, which SPF authorises (sendsOutbound): set "
    "the service's outbound relays to route mail through it, or sendsOutbound: false"
)
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


def vendor_outbound(domain: dict[str, Any]) -> dict[str, Any]:
    """Outbound mail routed through the service, which trusts its ARC seals and pilots Enhanced
    Filtering with two users first."""
    domain["thirdParty"].update(
        outboundSmartHosts=["out1.filter.example.net", "out2.filter.example.net"],
        arcSealer="filter.example.net",
        certificateName="*.filter.example.net",
        enhancedFilteringUsers=["pilot1@contoso.com", "pilot2@contoso.com"],
    )
    return domain


def two_tenants() -> dict[str, Any]:
    values = all_topologies()
    for domain in values["domains"][2:]:
        domain.setdefault("exchangeOnline", {})["tenant"] = "adatum"
    return values


def wizard_and_no_sync(domain: dict[str, Any]) -> dict[str, Any]:
    domain["onPremises"]["hybridWizard"] = True
    domain["exchangeOnline"]["directorySync"] = False
    return domain


GOLDEN_CASES: dict[str, Any] = {
    "seed": lambda: {"domains": [with_hosts(copy.deepcopy(SEED_DOMAIN))]},
    "seed-without-smart-host": lambda: {"domains": [copy.deepcopy(SEED_DOMAIN)]},
    "seed-through-the-vendor": lambda: {"domains": [vendor_outbound(with_hosts(copy.deepcopy(SEED_DOMAIN)))]},
    "seed-with-the-wizard": lambda: {"domains": [wizard_and_no_sync(with_hosts(copy.deepcopy(SEED_DOMAIN)))]},
    "exchange-online": lambda: example_values("exchange-online"),
    "third-party-front": lambda: example_values("third-party-front"),
    "hybrid-exo-front": lambda: example_values("hybrid-exo-front"),
    "hybrid-onprem-front": lambda: example_values("hybrid-onprem-front"),
    "third-party-hybrid": lambda: example_values("third-party-hybrid"),
    "all-topologies-one-tenant": lambda: all_topologies(),
    "two-tenants": two_tenants,
}


@pytest.mark.parametrize("case", sorted(GOLDEN_CASES))
def test_script_is_its_reviewed_golden_file(case: str) -> None:
    text = script(GOLDEN_CASES[case]())
    golden = GOLDEN / f"{case}.ps1"
    if os.environ.get("MAILFLOW_UPDATE_GOLDEN") == "1":
        golden.write_text(text, "utf-8")
    assert text == golden.read_text("utf-8")


def test_prune_removes_only_mailflow_connectors_the_plan_no_longer_has(seed_domain: dict[str, Any]) -> None:
    plan = plan_stack({"domains": [with_hosts(seed_domain)]}).connectors
    text = render_script(plan, prune=True)
    assert (
        "Get-InboundConnector | Where-Object { $_.Name -like 'mailflow *' -and $_.Name -notin "
        "@('mailflow from Example filtering service','mailflow from on-premises') } | "
        "ForEach-Object { Remove-InboundConnector -Identity $_.Identity -Confirm:$false }"
    ) in text
    assert "Remove-" not in render_script(plan)


def test_seed_without_smart_host_leaves_out_only_the_outbound_connector(seed_domain: dict[str, Any]) -> None:
    values = {"domains": [seed_domain]}
    assert connector_warnings(values) == [NO_OUTBOUND_ROUTE, NO_SMART_HOST]
    names = [c.name for c in plan_stack(values).connectors.connectors]
    assert names == ["mailflow from Example filtering service", "mailflow from on-premises"]


def test_seed_stack_file_plans_the_seed_connectors_with_its_routes(seed_domain: dict[str, Any]) -> None:
    """The stack adds the two values whose absence the seed domain is used to show."""
    seed_domain["thirdParty"]["outboundSmartHosts"] = ["outbound.filter.example.net"]
    seed_domain["onPremises"]["smartHost"] = "mail.contoso.com"
    stack = read_stack_file(SEED_STACK)
    assert script(stack) == script({"domains": [seed_domain]})
    assert connector_warnings(stack) == []


def test_strict_makes_the_missing_smart_host_an_error(seed_domain: dict[str, Any]) -> None:
    assert connector_problems({"domains": [seed_domain]}, strict=True) == [NO_SMART_HOST, NO_OUTBOUND_ROUTE]


def test_strict_passes_a_complete_config(seed_domain: dict[str, Any]) -> None:
    seed_domain["thirdParty"]["outboundSmartHosts"] = ["out.filter.example.net"]
    values = {"domains": [with_hosts(seed_domain)]}
    assert script(values, strict=True) == script(values)


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
    # Routed through Mimecast, every domain's mail would leave by it (a tenant has one route).
    del domains[1]["thirdParty"]["outboundSmartHosts"]
    domains[1]["thirdParty"]["sendsOutbound"] = False
    domains[4]["name"] = "contoso.net"
    domains[4]["onPremises"]["smartHost"] = "mail.contoso.net"
    return {"domains": domains}


def test_every_new_is_guarded_by_its_get_and_set_takes_the_same_values() -> None:
    lines = script(all_topologies()).splitlines()
    news = [index for index, line in enumerate(lines) if line.lstrip().startswith("New-")]
    assert len(news) == 7
    for index in news:
        new = re.fullmatch(r"( *)New-(\w+) -Name ('[^']*') (.*)", lines[index])
        assert new is not None
        indent, cmdlet, name, arguments = new.groups()
        outer = indent[4:]
        assert (
            lines[index - 1]
            == f"{outer}if (-not (Get-{cmdlet} -Identity {name} -ErrorAction SilentlyContinue)) {{"
        )
        assert lines[index + 1 : index + 4] == [
            f"{outer}}} else {{",
            f"{indent}Set-{cmdlet} -Identity {name} {arguments}",
            f"{outer}}}",
        ]


def test_one_script_holds_each_domains_connectors_in_config_order() -> None:
    plan = plan_stack(all_topologies()).connectors
    assert [(c.domains, c.name) for c in plan.connectors] == [
        (("tailspintoys.com",), "mailflow from Mimecast (Europe)"),
        (("wingtiptoys.com",), "mailflow to on-premises"),
        (("wingtiptoys.com",), "mailflow from on-premises"),
        (("adatum.com",), "mailflow to on-premises (adatum.com)"),
        (("adatum.com",), "mailflow from on-premises (adatum.com)"),
        (("contoso.net",), "mailflow to on-premises (contoso.net)"),
        (("contoso.net",), "mailflow from on-premises (contoso.net)"),
    ]
    assert [w.path for w in plan.warnings] == [
        "mailflow:domains[2].onPremises.ips[1]",
        "mailflow:domains[4].thirdParty.connectorIps",
        "mailflow:domains[4].thirdParty.outboundSmartHosts",
    ]


def test_domains_that_share_settings_share_one_connector(seed_domain: dict[str, Any]) -> None:
    other = with_hosts(copy.deepcopy(seed_domain))
    other["name"] = "fabrikam.com"
    plan = plan_stack({"domains": [with_hosts(seed_domain), other]}).connectors
    assert [(c.name, c.domains) for c in plan.connectors] == [
        ("mailflow from Example filtering service", ("contoso.com", "fabrikam.com")),
        ("mailflow to on-premises", ("contoso.com", "fabrikam.com")),
        ("mailflow from on-premises", ("contoso.com", "fabrikam.com")),
    ]
    outbound = plan.connectors[1]
    assert [p.value for p in outbound.parameters if p.name == "RecipientDomains"] == [
        ("contoso.com", "fabrikam.com")
    ]
    assert [(a.domain, a.domain_type) for a in plan.tenants[0].accepted_domains] == [
        ("contoso.com", "Authoritative"),
        ("fabrikam.com", "Authoritative"),
    ]


def test_a_domain_plan_alone_gives_its_own_connectors(seed_domain: dict[str, Any]) -> None:
    stack = plan_domains(with_hosts(seed_domain))
    assert plan_connectors(stack.domains[:1]) == stack.connectors


def test_centralized_transport_routes_all_mail_on_premises_and_turns_enhanced_filtering_off(
    seed_domain: dict[str, Any],
) -> None:
    seed_domain["exchangeOnline"]["centralizedMailTransport"] = True
    text = script({"domains": [with_hosts(seed_domain)]})
    assert "-SenderIPAddresses @('10.10.10.1') -EFSkipLastIP $false -EFSkipIPs $null -EFUsers $null\n" in text
    assert "#   -EFSkipLastIP: mailflow:domains[0].exchangeOnline.centralizedMailTransport\n" in text
    assert "-RecipientDomains @('contoso.com') -RouteAllMessagesViaOnPremises $true\n" in text
    assert connector_warnings({"domains": [seed_domain]}) == [
        f"mailflow:domains[0].thirdParty.enhancedFiltering: is unset and left off: {CENTRALIZED}; "
        "set it to false to say so"
    ]


def test_enhanced_filtering_turned_off(seed_domain: dict[str, Any]) -> None:
    seed_domain["thirdParty"]["enhancedFiltering"] = False
    text = script({"domains": [with_hosts(seed_domain)]})
    assert "-SenderIPAddresses @('10.10.10.1') -EFSkipLastIP $false -EFSkipIPs $null -EFUsers $null\n" in text
    assert "#   -EFSkipIPs: mailflow:domains[0].thirdParty.enhancedFiltering\n" in text


def test_enhanced_filtering_skips_the_listed_ips(seed_domain: dict[str, Any]) -> None:
    seed_domain["thirdParty"]["enhancedFilteringSkipIps"] = ["198.51.100.0/24", "203.0.113.7"]
    text = script({"domains": [with_hosts(seed_domain)]})
    assert "-EFSkipLastIP $false -EFSkipIPs @('198.51.100.0/24','203.0.113.7') -EFUsers $null\n" in text
    assert "#   -EFSkipIPs: mailflow:domains[0].thirdParty.enhancedFilteringSkipIps\n" in text


def test_configured_connector_ips_replace_the_spf_default(seed_domain: dict[str, Any]) -> None:
    seed_domain["thirdParty"]["connectorIps"] = ["10.10.10.1", "192.0.2.0/24"]
    text = script({"domains": [with_hosts(seed_domain)]})
    assert "-RestrictDomainsToIPAddresses $true -SenderIPAddresses @('10.10.10.1','192.0.2.0/24')" in text
    assert "#   -SenderIPAddresses: mailflow:domains[0].thirdParty.connectorIps\n" in text


def test_connector_ips_that_spf_does_not_publish_are_a_warning(seed_domain: dict[str, Any]) -> None:
    seed_domain["thirdParty"]["spf"] = ["ip4:10.10.10.1", "ip4:10.10.11.0/24"]
    seed_domain["thirdParty"]["connectorIps"] = ["10.10.10.1", "192.0.2.0/24"]
    assert connector_warnings({"domains": [with_hosts(seed_domain)]})[:-1] == [
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
    assert connector_warnings({"domains": [with_hosts(seed_domain)]}) == [NO_OUTBOUND_ROUTE]


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
    assert connector_warnings(values) == [expected, NO_OUTBOUND_ROUTE]
    assert "-SenderIPAddresses @('10.10.10.1') " in script(values)
    assert connector_problems(values, strict=True) == [NO_OUTBOUND_ROUTE, expected]


def test_powershell_strings_double_every_kind_of_single_quote(seed_domain: dict[str, Any]) -> None:
    seed_domain["thirdParty"]["name"] = "O'Neil \u2018Mail\u2019\nRelay"
    text = script({"domains": [with_hosts(seed_domain)]})
    assert (
        "# contoso.com: Partner inbound connector for mail relayed by O'Neil \u2018Mail\u2019 Relay\n" in text
    )
    assert "New-InboundConnector -Name 'mailflow from O''Neil \u2018\u2018Mail\u2019\u2019 Relay' " in text


def test_long_names_are_cut_to_the_limit_and_stay_distinct() -> None:
    domain = "mail-routing." + "a" * 40 + ".example"
    partner = connector_name(f"from Example filtering service ({domain})")
    on_premises = connector_name(f"from on-premises ({domain})")
    assert len(partner) == len(on_premises) == MAX_NAME_LENGTH
    assert partner.startswith("mailflow from Example filtering service (mail-routing.")
    assert re.search(r"~[0-9a-f]{8}$", partner)
    assert partner != on_premises
    assert connector_name(f"from Example filtering service ({domain})") == partner


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
        "outbound relays with the service out of SPF",
        {"thirdParty": {"outboundSmartHosts": ["out.filter.example.net"], "sendsOutbound": False}},
        "mailflow:domains[0].thirdParty.sendsOutbound: is false, but outboundSmartHosts routes outbound "
        "mail through Example filtering service: SPF must authorise the servers mail leaves from; set it to true",
    ),
    (
        "outbound relays with centralized transport",
        {
            "thirdParty": {"outboundSmartHosts": ["out.filter.example.net"], "enhancedFiltering": False},
            "exchangeOnline": {"centralizedMailTransport": True},
        },
        "mailflow:domains[0].thirdParty.outboundSmartHosts: is set with exchangeOnline.centralizedMailTransport, "
        "which sends outbound mail to on-premises; route it to the service from there",
    ),
    (
        "enhanced filtering on the on-premises connector where the MX is not on-premises",
        {"onPremises": {"enhancedFiltering": True}},
        "mailflow:domains[0].onPremises.enhancedFiltering: is for hybrid-onprem-front, where internet mail "
        "reaches Exchange Online through on-premises; in third-party-hybrid it does not",
    ),
    (
        "a pilot group with enhanced filtering off",
        {"thirdParty": {"enhancedFiltering": False, "enhancedFilteringUsers": ["pilot@contoso.com"]}},
        "mailflow:domains[0].thirdParty.enhancedFilteringUsers: is set, but Enhanced Filtering is off on this "
        "connector",
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
        "domains[0].thirdParty.outboundSmartHosts",
        "domains[1].thirdParty.connectorIps[0]",
        "domains[1].thirdParty.outboundSmartHosts",
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
    assert (GOLDEN / "seed.ps1").read_text("utf-8") in scripts


@pytest.mark.parametrize(
    ("name", "accepted"),
    [("*.pphosted.com", True), ("relay.pphosted.com", True), ("mx.*.pphosted.com", False), ("*", False)],
)
def test_certificate_names_may_be_wildcards(seed_domain: dict[str, Any], name: str, accepted: bool) -> None:
    seed_domain["thirdParty"]["certificateName"] = name
    values = {"domains": [with_hosts(seed_domain)]}
    if accepted:
        assert f"-TlsSenderCertificateName '{name}'" in script(values)
    else:
        assert [p.split(":")[1] for p in config_problems(values)] == ["domains[0].thirdParty.certificateName"]


def test_two_services_routing_all_outbound_mail_of_one_tenant_are_refused(
    seed_domain: dict[str, Any],
) -> None:
    first = with_hosts(seed_domain)
    first["thirdParty"]["outboundSmartHosts"] = ["out.filter.example.net"]
    second = copy.deepcopy(first)
    second["name"] = "fabrikam.com"
    second["thirdParty"]["name"] = "Another service"
    problems = connector_problems({"domains": [first, second]})
    assert problems == [
        "mailflow:domains[0].exchangeOnline.tenant: tenant 'default' would send all its outbound mail through "
        "each of mailflow to Example filtering service, mailflow to Another service; route its domains "
        "through one path"
    ]
    second["exchangeOnline"]["tenant"] = "fabrikam"
    assert len(plan_stack({"domains": [first, second]}).connectors.tenants) == 2


def test_a_tenant_is_in_one_cloud(seed_domain: dict[str, Any]) -> None:
    other = with_hosts(copy.deepcopy(seed_domain))
    other["name"] = "fabrikam.us"
    other["exchangeOnline"].update(cloud="gcc-high", initialDomain="fabrikam.onmicrosoft.us")
    assert (
        "mailflow:domains[1].exchangeOnline.tenant: 'default' holds domains of the commercial, gcc-high clouds; a tenant is in one"
        in connector_problems({"domains": [with_hosts(seed_domain), other]})
    )


def test_without_directory_sync_a_hybrid_domain_is_internal_relay(seed_domain: dict[str, Any]) -> None:
    seed_domain["exchangeOnline"]["directorySync"] = False
    (accepted,) = plan_stack({"domains": [with_hosts(seed_domain)]}).connectors.tenants[0].accepted_domains
    assert accepted.domain_type == "InternalRelay"


def test_directory_sync_is_for_hybrid_topologies() -> None:
    values = example_values("exchange-online")
    values["domains"][0]["exchangeOnline"]["directorySync"] = True
    assert connector_problems(values) == [
        "mailflow:domains[0].exchangeOnline.directorySync: is for the hybrid topologies, not exchange-online"
    ]


FABRIKAM_ONLINE = {
    "name": "fabrikam.com",
    "topology": "exchange-online",
    "exchangeOnline": {"mxHost": "fabrikam-com.mail.protection.outlook.com"},
}


def test_the_tenants_route_through_a_service_is_checked_against_every_domains_spf(
    seed_domain: dict[str, Any],
) -> None:
    """A Partner outbound connector takes every domain's internet mail, not just its own."""
    routed = vendor_outbound(with_hosts(seed_domain))
    assert connector_warnings({"domains": [routed, copy.deepcopy(FABRIKAM_ONLINE)]}) == [
        "mailflow:domains[1].spf: fabrikam.com's outbound mail leaves through mailflow to Example filtering "
        "service, the tenant's route for all internet mail, but its SPF does not authorise ip4:10.10.10.1: "
        "receivers that check SPF fail it; add them to spf.extra, or give the domain a tenant of its own "
        "(exchangeOnline.tenant)"
    ]
    covered = {**copy.deepcopy(FABRIKAM_ONLINE), "spf": {"extra": ["ip4:10.10.10.1"]}}
    assert connector_warnings({"domains": [routed, covered]}) == []
    apart = copy.deepcopy(FABRIKAM_ONLINE)
    apart["exchangeOnline"]["tenant"] = "fabrikam"
    assert connector_warnings({"domains": [routed, apart]}) == []


def centralized(domain: dict[str, Any]) -> dict[str, Any]:
    """Outbound mail of the whole tenant through on-premises (centralized mail transport)."""
    hybrid = with_hosts(domain)
    hybrid["exchangeOnline"]["centralizedMailTransport"] = True
    hybrid["thirdParty"].update(sendsOutbound=False, enhancedFiltering=False)
    return hybrid


def test_centralized_transport_routes_every_domain_of_the_tenant_on_premises(
    seed_domain: dict[str, Any],
) -> None:
    hybrid = centralized(seed_domain)
    (warning,) = connector_warnings({"domains": [hybrid, copy.deepcopy(FABRIKAM_ONLINE)]})
    assert warning.startswith(
        "mailflow:domains[1].spf: fabrikam.com's outbound mail leaves through mailflow to on-premises"
    )
    assert "does not authorise ip4:131.107.21.231" in warning


def test_centralized_transport_beside_a_route_through_a_service_is_refused(
    seed_domain: dict[str, Any],
) -> None:
    hybrid = centralized(seed_domain)
    routed = vendor_outbound(with_hosts(copy.deepcopy(SEED_DOMAIN)))
    routed["name"] = "fabrikam.com"
    (problem,) = connector_problems({"domains": [hybrid, routed]})
    assert "would send all its outbound mail through each of mailflow to on-premises" in problem


def test_enhanced_filtering_asked_of_the_wizards_connector_is_a_step_not_dropped() -> None:
    domain = example_values("hybrid-onprem-front")["domains"][0]
    domain["onPremises"].update(
        hybridWizard=True, enhancedFiltering=True, enhancedFilteringUsers=["pilot@contoso.com"]
    )
    warnings = connector_warnings({"domains": [domain]})
    assert [w for w in warnings if "Hybrid Configuration Wizard" in w] == [
        "mailflow:domains[0].onPremises.enhancedFiltering: is not set by the script: with "
        "onPremises.hybridWizard the inbound connector from on-premises is the Hybrid Configuration "
        'Wizard\'s ("Inbound from <id>"); turn Enhanced Filtering on there: Set-InboundConnector -Identity '
        "<its name> -EFSkipLastIP $true -EFUsers <the pilot's addresses>"
    ]


def test_tenant_names_that_differ_only_in_case_are_refused() -> None:
    values = two_tenants()
    values["domains"][3]["exchangeOnline"]["tenant"] = "Adatum"
    assert connector_problems(values) == [
        "mailflow:domains[3].exchangeOnline.tenant: 'Adatum' differs from 'adatum' (mailflow:domains[2]) only "
        "in case, and the script's -Tenant matches both: spell the tenant one way"
    ]


@pytest.mark.parametrize(
    ("key", "values", "says"),
    [
        (
            "outboundSmartHosts",
            ["OUT.filter.example.net.", "out.filter.example.net"],
            "lists 'out.filter.example.net' twice (entries 0 and 1)",
        ),
        (
            "connectorIps",
            ["192.0.2.1", "203.0.113.0/24", "192.0.2.1"],
            "lists '192.0.2.1' twice (entries 0 and 2)",
        ),
        (
            "enhancedFilteringUsers",
            ["pilot@contoso.com", "Pilot@Contoso.com"],
            "lists 'Pilot@contoso.com' twice (entries 0 and 1)",
        ),
    ],
)
def test_a_connector_value_listed_twice_is_refused(
    seed_domain: dict[str, Any], key: str, values: list[str], says: str
) -> None:
    seed_domain["thirdParty"][key] = values
    assert config_problems({"domains": [with_hosts(seed_domain)]}) == [
        f"mailflow:domains[0].thirdParty.{key}: {says}"
    ]
