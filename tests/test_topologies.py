"""Each topology's planned records, asserted exactly (the examples/ stacks and the seed stack)."""

from __future__ import annotations

import json

import pytest
from conftest import EXAMPLES, SEED_STACK, example_values, plan_domains

from mailflow.plan import plan_stack
from mailflow.render import plan_json
from mailflow.stackfile import read_stack_file

SEED_SPF = "v=spf1 ip4:10.10.10.1 ip4:131.107.21.231 include:spf.protection.outlook.com -all"


def rows(values: dict) -> list[tuple[str, str, int, str]]:
    return [(r["name"], r["type"], r["ttl"], r["value"]) for r in json.loads(plan_json(plan_stack(values)))]


def test_seed_stack_plans_mx_to_third_party_and_the_article_spf() -> None:
    assert rows(read_stack_file(SEED_STACK)) == [
        ("contoso.com.", "MX", 3600, "10 mx1.filter.example.net."),
        ("contoso.com.", "MX", 3600, "20 mx2.filter.example.net."),
        ("contoso.com.", "TXT", 3600, '"MS=ms12345678"'),
        ("contoso.com.", "TXT", 3600, f'"{SEED_SPF}"'),
        (
            "_dmarc.contoso.com.",
            "TXT",
            3600,
            '"v=DMARC1; p=quarantine; rua=mailto:dmarc@contoso.com"',
        ),
        ("autodiscover.contoso.com.", "CNAME", 3600, "mail.contoso.com."),
        (
            "selector1._domainkey.contoso.com.",
            "CNAME",
            3600,
            "selector1-contoso-com._domainkey.contoso.onmicrosoft.com.",
        ),
        (
            "selector2._domainkey.contoso.com.",
            "CNAME",
            3600,
            "selector2-contoso-com._domainkey.contoso.onmicrosoft.com.",
        ),
    ]


def test_seed_reports_the_exchange_online_host_the_third_party_relays_to() -> None:
    domain = plan_stack(read_stack_file(SEED_STACK)).domains[0]
    assert domain.spf == SEED_SPF
    assert domain.relay_host == "contoso-com.mail.protection.outlook.com"
    assert domain.exo_mx_host == "contoso-com.mail.protection.outlook.com"
    assert domain.spf_lookups.total == 1


def test_vendor_include_gives_the_articles_second_spf_form() -> None:
    plan = plan_stack(example_values("third-party-hybrid"))
    assert plan.domains[0].spf == (
        "v=spf1 ip4:131.107.21.231 include:spf.protection.outlook.com "
        "include:third_party_cloud_service.com -all"
    )


def test_unknown_include_is_counted_alone_with_a_warning() -> None:
    domain = plan_stack(example_values("third-party-hybrid")).domains[0]
    assert domain.spf_lookups.total == 2
    assert domain.spf_lookups.unresolved == ("third_party_cloud_service.com",)
    assert any(
        "third_party_cloud_service.com" in w.message and w.path.endswith(".spf") for w in domain.warnings
    )


def test_exchange_online_topology() -> None:
    assert rows(example_values("exchange-online")) == [
        ("fabrikam.com.", "MX", 3600, "0 fabrikam-com.mail.protection.outlook.com."),
        ("fabrikam.com.", "TXT", 3600, '"MS=ms87654321"'),
        ("fabrikam.com.", "TXT", 3600, '"v=spf1 include:spf.protection.outlook.com -all"'),
        (
            "_dmarc.fabrikam.com.",
            "TXT",
            3600,
            '"v=DMARC1; p=reject; rua=mailto:dmarc-reports@fabrikam.com"',
        ),
        ("autodiscover.fabrikam.com.", "CNAME", 3600, "autodiscover.outlook.com."),
        (
            "enterpriseenrollment.fabrikam.com.",
            "CNAME",
            3600,
            "enterpriseenrollment-s.manage.microsoft.com.",
        ),
        (
            "enterpriseregistration.fabrikam.com.",
            "CNAME",
            3600,
            "enterpriseregistration.windows.net.",
        ),
        (
            "selector1._domainkey.fabrikam.com.",
            "CNAME",
            3600,
            "selector1-fabrikam-com._domainkey.fabrikam.onmicrosoft.com.",
        ),
        (
            "selector2._domainkey.fabrikam.com.",
            "CNAME",
            3600,
            "selector2-fabrikam-com._domainkey.fabrikam.onmicrosoft.com.",
        ),
    ]


def test_third_party_front_topology() -> None:
    assert rows(example_values("third-party-front")) == [
        ("tailspintoys.com.", "MX", 3600, "10 eu-smtp-inbound-1.mimecast.com."),
        ("tailspintoys.com.", "MX", 3600, "10 eu-smtp-inbound-2.mimecast.com."),
        (
            "tailspintoys.com.",
            "TXT",
            3600,
            '"v=spf1 include:eu._netblocks.mimecast.com include:spf.protection.outlook.com ~all"',
        ),
        (
            "_dmarc.tailspintoys.com.",
            "TXT",
            3600,
            '"v=DMARC1; p=none; rua=mailto:dmarc@tailspintoys.com"',
        ),
        ("autodiscover.tailspintoys.com.", "CNAME", 3600, "autodiscover.outlook.com."),
        (
            "selector1._domainkey.tailspintoys.com.",
            "CNAME",
            3600,
            "selector1-tailspintoys-com._domainkey.tailspintoys.n-v1.dkim.mail.microsoft.",
        ),
        (
            "selector2._domainkey.tailspintoys.com.",
            "CNAME",
            3600,
            "selector2-tailspintoys-com._domainkey.tailspintoys.n-v1.dkim.mail.microsoft.",
        ),
    ]


def test_hybrid_exo_front_topology() -> None:
    assert rows(example_values("hybrid-exo-front")) == [
        ("wingtiptoys.com.", "MX", 3600, "0 wingtiptoys-com.o-v1.mx.microsoft."),
        ("wingtiptoys.com.", "TXT", 3600, '"MS=ms11223344"'),
        (
            "wingtiptoys.com.",
            "TXT",
            3600,
            '"v=spf1 ip4:203.0.113.25 ip6:2001:db8:25::/64 include:spf.protection.outlook.com -all"',
        ),
        (
            "_dmarc.wingtiptoys.com.",
            "TXT",
            3600,
            '"v=DMARC1; p=quarantine; sp=reject; rua=mailto:dmarc@wingtiptoys.com; adkim=s; aspf=s"',
        ),
        (
            "_smtp._tls.wingtiptoys.com.",
            "TXT",
            3600,
            '"v=TLSRPTv1; rua=mailto:tlsrpt@wingtiptoys.com"',
        ),
        ("autodiscover.wingtiptoys.com.", "CNAME", 3600, "mail.wingtiptoys.com."),
        (
            "selector1._domainkey.wingtiptoys.com.",
            "CNAME",
            3600,
            "selector1-wingtiptoys-com._domainkey.wingtiptoys.o-v1.dkim.mail.microsoft.",
        ),
        (
            "selector2._domainkey.wingtiptoys.com.",
            "CNAME",
            3600,
            "selector2-wingtiptoys-com._domainkey.wingtiptoys.o-v1.dkim.mail.microsoft.",
        ),
    ]


def test_hybrid_onprem_front_topology() -> None:
    values = example_values("hybrid-onprem-front")
    assert rows(values) == [
        ("adatum.com.", "MX", 3600, "10 mail.adatum.com."),
        (
            "adatum.com.",
            "TXT",
            3600,
            '"v=spf1 ip4:198.51.100.10 ip4:198.51.100.11 include:spf.protection.outlook.com -all"',
        ),
        (
            "_dmarc.adatum.com.",
            "TXT",
            3600,
            '"v=DMARC1; p=quarantine; rua=mailto:dmarc@adatum.com"',
        ),
        ("_mta-sts.adatum.com.", "TXT", 3600, '"v=STSv1; id=20261127;"'),
        ("_smtp._tls.adatum.com.", "TXT", 3600, '"v=TLSRPTv1; rua=mailto:tlsrpt@adatum.com"'),
        ("autodiscover.adatum.com.", "CNAME", 3600, "mail.adatum.com."),
        ("mail.adatum.com.", "A", 3600, "198.51.100.10"),
        ("mta-sts.adatum.com.", "CNAME", 3600, "mta-sts.web.adatum.net."),
        (
            "selector1._domainkey.adatum.com.",
            "CNAME",
            3600,
            "selector1-adatum-com._domainkey.adatum.onmicrosoft.com.",
        ),
        (
            "selector2._domainkey.adatum.com.",
            "CNAME",
            3600,
            "selector2-adatum-com._domainkey.adatum.onmicrosoft.com.",
        ),
    ]
    policy = plan_stack(values).domains[0].mta_sts_policy
    assert policy == "version: STSv1\r\nmode: enforce\r\nmx: mail.adatum.com\r\nmax_age: 604800\r\n"
    assert plan_stack(values).domains[0].relay_host is None


def test_third_party_front_leaves_the_vendor_out_of_spf_unless_it_sends(seed_domain) -> None:
    seed_domain["topology"] = "third-party-front"
    del seed_domain["onPremises"]
    del seed_domain["exchangeOnline"]["autodiscover"]
    del seed_domain["thirdParty"]["sendsOutbound"]
    assert plan_domains(seed_domain).domains[0].spf == ("v=spf1 include:spf.protection.outlook.com -all")


def test_seed_without_outbound_relay_drops_the_vendor_from_spf(seed_domain) -> None:
    seed_domain["thirdParty"]["sendsOutbound"] = False
    assert plan_domains(seed_domain).domains[0].spf == (
        "v=spf1 ip4:131.107.21.231 include:spf.protection.outlook.com -all"
    )


@pytest.mark.parametrize(
    ("cloud", "mx", "include", "autodiscover"),
    [
        (
            "gcc-high",
            "contoso.mail.protection.office365.us",
            "spf.protection.office365.us",
            "autodiscover.office365.us",
        ),
        (
            "dod",
            "contoso.mail.protection.office365.us",
            "spf.protection.office365.us",
            "autodiscover-dod.office365.us",
        ),
        (
            "china",
            "contoso-com.mail.protection.partner.outlook.cn",
            "spf.protection.partner.outlook.cn",
            "autodiscover.partner.outlook.cn",
        ),
    ],
)
def test_sovereign_clouds_pick_their_hosts(seed_domain, cloud, mx, include, autodiscover) -> None:
    """GCC High and DoD name the MX host after the tenant (Microsoft's GCC High and DoD DNS pages),
    the other clouds after the domain; each cloud has its own SPF include and autodiscover host."""
    seed_domain["topology"] = "third-party-front"
    del seed_domain["onPremises"]
    seed_domain["exchangeOnline"] = {"cloud": cloud}
    if cloud in ("gcc-high", "dod"):
        seed_domain["exchangeOnline"]["initialDomain"] = "contoso.onmicrosoft.us"
    domain = plan_domains(seed_domain).domains[0]
    assert domain.relay_host == mx
    assert f"include:{include}" in domain.spf
    assert ("autodiscover.contoso.com.", "CNAME", f"{autodiscover}.") in {
        (r.name, r.type, r.value) for r in domain.records
    }
    assert any(w.path.endswith("exchangeOnline.mxHost") and "derived" in w.message for w in domain.warnings)


def test_records_are_in_the_same_order_whatever_the_config_order(seed_domain) -> None:
    seed_domain["onPremises"]["ips"] = ["131.107.21.231", "131.107.21.0/28", "2001:db8::1"]
    reordered = {
        **seed_domain,
        "onPremises": {"ips": list(reversed(seed_domain["onPremises"]["ips"]))},
    }
    reordered["thirdParty"] = {
        **seed_domain["thirdParty"],
        "mx": list(reversed(seed_domain["thirdParty"]["mx"])),
    }
    first = plan_json(plan_domains(seed_domain))
    assert plan_json(plan_domains(reordered)) == first


def test_mta_sts_policy_names_the_third_party_hosts_when_it_is_in_front(seed_domain) -> None:
    seed_domain["mtaSts"] = {"id": "2026a", "mode": "enforce"}
    policy = plan_domains(seed_domain).domains[0].mta_sts_policy
    assert policy is not None
    assert "mx: mx1.filter.example.net\r\nmx: mx2.filter.example.net\r\n" in policy


def test_skype_for_business_records(seed_domain) -> None:
    seed_domain["skypeForBusiness"] = True
    records = {(r.name, r.type, r.value) for r in plan_domains(seed_domain).domains[0].records}
    assert (
        "_sipfederationtls._tcp.contoso.com.",
        "SRV",
        "100 1 5061 sipfed.online.lync.com.",
    ) in records
    assert ("lyncdiscover.contoso.com.", "CNAME", "webdir.online.lync.com.") in records


def test_dmarc_reports_outside_the_organization_need_authorization(seed_domain) -> None:
    seed_domain["name"] = "mail.contoso.com"
    seed_domain["exchangeOnline"]["mxHost"] = "mail-contoso-com.mail.protection.outlook.com"
    seed_domain["exchangeOnline"]["dkim"] = {
        s: f"{s}-mail-contoso-com._domainkey.contoso.onmicrosoft.com" for s in ("selector1", "selector2")
    }
    seed_domain["dmarc"]["rua"] = ["mailto:d@contoso.com", "mailto:d@reports.example.net"]
    warnings = [str(w) for w in plan_domains(seed_domain).domains[0].warnings]
    assert warnings == [
        "mailflow:domains[0].dmarc.rua[1]: reports go outside mail.contoso.com: reports.example.net must "
        'publish TXT mail.contoso.com._report._dmarc.reports.example.net "v=DMARC1" (RFC 7489 §7.1)'
    ]


@pytest.mark.parametrize(
    "stack_file",
    sorted([*EXAMPLES.glob("*.yaml"), *SEED_STACK.parent.glob("Pulumi.*.yaml")]),
    ids=lambda path: path.name,
)
def test_no_example_or_stack_publishes_a_derived_value(stack_file) -> None:
    """Every value Microsoft assigns comes from a tenant file or explicit config: strict mode plans."""
    assert plan_stack(read_stack_file(stack_file), strict=True).domains
