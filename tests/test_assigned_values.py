"""The values Microsoft assigns (Exchange Online MX host, DKIM targets, autodiscover): the tenant
file first, then config, then a documented derivation that warns; strict mode refuses derived
values. Plans are asserted record by record."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from conftest import SEED_DOMAIN, config_problems, plan_domains
from tenant_data import NEW_DKIM, NEW_DOMAIN_TENANT, NEW_MX, graph, new_domain, with_tenant

from mailflow.cli import main
from mailflow.errors import ConfigError
from mailflow.plan import StackPlan, plan_stack
from mailflow.render import plan_json, plan_table


def rows(plan: StackPlan) -> list[tuple[str, str, str]]:
    return [(r["name"], r["type"], r["value"]) for r in json.loads(plan_json(plan))]


def warnings(plan: StackPlan) -> list[str]:
    return [str(w) for domain in plan.domains for w in domain.warnings]


def test_tenant_values_are_published_exactly_with_no_derived_value_warning() -> None:
    plan = plan_stack(with_tenant([new_domain()], {"new-domain.example": NEW_DOMAIN_TENANT}))
    assert rows(plan) == [
        ("new-domain.example.", "MX", f"0 {NEW_MX}."),
        ("new-domain.example.", "TXT", '"MS=ms20260701"'),
        ("new-domain.example.", "TXT", '"v=spf1 include:spf.protection.outlook.com -all"'),
        ("_dmarc.new-domain.example.", "TXT", '"v=DMARC1; p=reject; rua=mailto:dmarc@new-domain.example"'),
        ("autodiscover.new-domain.example.", "CNAME", "autodiscover.outlook.com."),
        ("selector1._domainkey.new-domain.example.", "CNAME", f"{NEW_DKIM.format(n=1)}."),
        ("selector2._domainkey.new-domain.example.", "CNAME", f"{NEW_DKIM.format(n=2)}."),
    ]
    assert warnings(plan) == []
    assert plan.domains[0].sources == {
        "exoMxHost": "tenant file: Microsoft Graph, read 2026-11-28",
        "dkim": "tenant file: Exchange Online export, read 2026-11-28",
        "autodiscover": "tenant file: Microsoft Graph, read 2026-11-28",
    }
    assert plan_stack(with_tenant([new_domain()], {"new-domain.example": NEW_DOMAIN_TENANT}), strict=True)


def test_the_same_domain_without_a_tenant_file_cannot_be_derived() -> None:
    """Microsoft assigns the MX token of a hyphenated domain: no derivation, no guess."""
    assert config_problems({"domains": [new_domain()]}) == [
        "mailflow:domains[0].exchangeOnline.mxHost: cannot be derived for 'new-domain.example': Microsoft "
        "assigns the MX host of a domain containing '-' (its token drops the hyphens and may carry a "
        "suffix); read it with `mailflow tenant pull` (mailflow:tenantFile) or set mxHost"
    ]


def fabrikam(**exchange_online: Any) -> dict[str, Any]:
    return {
        "name": "fabrikam.com",
        "topology": "exchange-online",
        "exchangeOnline": {"dkim": {"initialDomain": "fabrikam.onmicrosoft.com"}, **exchange_online},
        "dmarc": {"policy": "reject"},
    }


def test_without_a_tenant_file_each_derived_value_is_a_warning_naming_its_path() -> None:
    plan = plan_domains(fabrikam())
    assert [w.path for w in plan.domains[0].warnings] == [
        "mailflow:domains[0].exchangeOnline.mxHost",
        "mailflow:domains[0].exchangeOnline.dkim.initialDomain",
    ]
    mx, dkim = (w.message for w in plan.domains[0].warnings)
    assert "derived as 'fabrikam-com.mail.protection.outlook.com' from the domain name" in mx
    assert "mx.microsoft" in mx
    assert "old format (selector1-fabrikam-com._domainkey.fabrikam.onmicrosoft.com)" in dkim
    assert "cannot coexist" in dkim


def test_strict_refuses_every_derived_value() -> None:
    with pytest.raises(ConfigError) as caught:
        plan_stack({"domains": [fabrikam()]}, strict=True)
    assert [p.path for p in caught.value.problems] == [
        "mailflow:domains[0].exchangeOnline.dkim.initialDomain",
        "mailflow:domains[0].exchangeOnline.mxHost",
    ]
    assert all("strict mode refuses" in p.message for p in caught.value.problems)


def test_strict_setting_in_the_stack_refuses_them_too() -> None:
    problems = config_problems({"domains": [fabrikam()], "strict": True})
    assert len(problems) == 2


def test_plan_and_check_strict_exit_2_naming_each(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stack = tmp_path / "Pulumi.x.yaml"
    stack.write_text(json.dumps({"config": {"mailflow:domains": [fabrikam()]}}))
    assert main(["plan", str(stack)]) == 0
    assert main(["plan", str(stack), "--strict"]) == 2
    assert main(["check", str(stack), "--strict", "--nameserver", "127.0.0.1:9"]) == 2
    err = capsys.readouterr().err
    assert err.count("mailflow:domains[0].exchangeOnline.mxHost: derived as") == 2
    assert err.count("mailflow:domains[0].exchangeOnline.dkim.initialDomain: targets derived") == 2
    assert err.count("strict mode refuses") == 4


def test_explicit_config_is_not_derived() -> None:
    domain = fabrikam(
        mxHost="fabrikam-com.mail.protection.outlook.com",
        dkim={
            "selector1": "selector1-fabrikam-com._domainkey.fabrikam.onmicrosoft.com",
            "selector2": "selector2-fabrikam-com._domainkey.fabrikam.onmicrosoft.com",
        },
    )
    plan = plan_stack({"domains": [domain]}, strict=True)
    assert warnings(plan) == []
    assert plan.domains[0].sources["exoMxHost"] == "config: mailflow:domains[0].exchangeOnline.mxHost"


def test_dkim_targets_of_no_microsoft_form_are_a_warning() -> None:
    domain = fabrikam(
        mxHost="fabrikam-com.mail.protection.outlook.com",
        dkim={
            "selector1": "selector2-fabrikam-com._domainkey.fabrikam.onmicrosoft.com",
            "selector2": "dkim.example.net",
        },
    )
    assert [w.path for w in plan_domains(domain).domains[0].warnings] == [
        "mailflow:domains[0].exchangeOnline.dkim.selector1",
        "mailflow:domains[0].exchangeOnline.dkim.selector2",
    ]


def test_initial_domain_is_refused_for_hyphenated_domains() -> None:
    domain = new_domain(mxHost=NEW_MX, dkim={"initialDomain": "contoso.onmicrosoft.com"})
    assert config_problems({"domains": [domain]}) == [
        "mailflow:domains[0].exchangeOnline.dkim.initialDomain: cannot be derived for "
        "'new-domain.example': Microsoft assigns the DKIM token of a domain containing '-' (its token "
        "drops the hyphens and may carry a suffix); set selector1 and selector2 from "
        "Get-DkimSigningConfig, or use a tenant file (mailflow tenant pull)"
    ]


def test_config_that_differs_from_the_tenant_warns_and_the_tenant_wins() -> None:
    domain = new_domain(
        mxHost="new-domain-example.mail.protection.outlook.com",
        dkim={
            "selector1": "selector1-x._domainkey.contoso.onmicrosoft.com",
            "selector2": "selector2-x._domainkey.contoso.onmicrosoft.com",
        },
    )
    plan = plan_stack(with_tenant([domain], {"new-domain.example": NEW_DOMAIN_TENANT}))
    assert plan.domains[0].exo_mx_host == NEW_MX
    assert [w.path for w in plan.domains[0].warnings] == [
        "mailflow:domains[0].exchangeOnline.mxHost",
        "mailflow:domains[0].exchangeOnline.dkim",
    ]
    assert "the tenant's is published: remove mxHost" in plan.domains[0].warnings[0].message


def test_the_tenants_priority_is_published_and_a_configured_one_warns() -> None:
    tenant = {"new-domain.example": {**NEW_DOMAIN_TENANT, "graph": graph(NEW_MX, priority=10)}}
    assert rows(plan_stack(with_tenant([new_domain()], tenant)))[0] == (
        "new-domain.example.",
        "MX",
        f"10 {NEW_MX}.",
    )
    plan = plan_stack(with_tenant([new_domain(mxPriority=0)], tenant))
    assert rows(plan)[0] == ("new-domain.example.", "MX", f"10 {NEW_MX}.")
    assert warnings(plan) == [
        "mailflow:domains[0].exchangeOnline.mxPriority: 0 differs from the tenant's preference 10 "
        "(Microsoft Graph, read 2026-11-28); the tenant's is published: remove mxPriority"
    ]


def test_a_tenant_file_of_another_cloud_is_refused() -> None:
    values = with_tenant([new_domain(cloud="gcc-high")], {"new-domain.example": NEW_DOMAIN_TENANT})
    assert config_problems(values) == [
        "mailflow:domains[0].exchangeOnline.cloud: is gcc-high, but tenant.yaml read new-domain.example "
        "from the commercial cloud"
    ]


def test_a_tenant_spf_without_the_clouds_include_is_refused() -> None:
    tenant = {
        **NEW_DOMAIN_TENANT,
        "graph": graph(NEW_MX, spf="v=spf1 include:spf.protection.office365.us -all"),
    }
    problems = config_problems(with_tenant([new_domain()], {"new-domain.example": tenant}))
    assert problems == [
        "mailflow:domains[0].exchangeOnline.cloud: the tenant's SPF record ('v=spf1 "
        "include:spf.protection.office365.us -all') does not hold include:spf.protection.outlook.com: is "
        "the cloud right?"
    ]


def test_an_unverified_domain_and_one_without_email_warn() -> None:
    unverified = {
        **NEW_DOMAIN_TENANT,
        "graph": graph(NEW_MX, verified=False, unavailable=["The domain has not been verified."]),
    }
    plan = plan_stack(with_tenant([new_domain()], {"new-domain.example": unverified}))
    assert [w.message.split(":")[0] for w in plan.domains[0].warnings] == [
        "new-domain.example is not verified in the tenant"
    ]
    no_email = {**NEW_DOMAIN_TENANT, "graph": graph(NEW_MX, supportedServices=["Intune"])}
    plan = plan_stack(with_tenant([new_domain()], {"new-domain.example": no_email}))
    assert "Email is not among new-domain.example's services in the tenant (Intune)" in warnings(plan)[0]


def test_no_fallback_mx_beside_an_mx_microsoft_host() -> None:
    domain = new_domain()
    domain["extraRecords"] = [{"type": "MX", "value": "20 new-domain-example.mail.protection.outlook.com."}]
    assert config_problems(with_tenant([domain], {"new-domain.example": NEW_DOMAIN_TENANT})) == [
        "mailflow:domains[0].extraRecords: MX new-domain-example.mail.protection.outlook.com beside the "
        f"DNSSEC-capable {NEW_MX}: Microsoft's DNSSEC steps remove every other MX record (no fallback MX)"
    ]


def test_the_priority_get_dnssecstatus_expects_is_checked() -> None:
    dnssec = {"status": "Enabled", "expectedMx": {"host": NEW_MX, "priority": 10}}
    tenant = {
        **NEW_DOMAIN_TENANT,
        "exchangeOnline": {**NEW_DOMAIN_TENANT["exchangeOnline"], "dnssec": dnssec},
    }
    plan = plan_stack(with_tenant([new_domain()], {"new-domain.example": tenant}))
    assert warnings(plan) == [
        "mailflow:domains[0].exchangeOnline.mxPriority: MX priority 0, but "
        f"Get-DnssecStatusForVerifiedDomain expects 10 for {NEW_MX}"
    ]


SEED_DKIM = {
    "selector1": "selector1-contoso-com._domainkey.contoso.onmicrosoft.com",
    "selector2": "selector2-contoso-com._domainkey.contoso.onmicrosoft.com",
}


def seed(**exchange_online: Any) -> dict[str, Any]:
    domain = copy.deepcopy(SEED_DOMAIN)
    del domain["exchangeOnline"]["autodiscover"]
    domain["exchangeOnline"]["dkim"] = SEED_DKIM
    domain["exchangeOnline"].update(exchange_online)
    return domain


def autodiscover(plan: StackPlan) -> list[str]:
    return [r.value for r in plan.records if r.name == "autodiscover.contoso.com."]


def test_hybrid_publishes_no_cloud_autodiscover_by_default() -> None:
    plan = plan_domains(seed())
    assert autodiscover(plan) == []
    assert [w.path for w in plan.domains[0].warnings] == ["mailflow:domains[0].exchangeOnline.autodiscover"]
    assert "on-premises Exchange servers" in plan.domains[0].warnings[0].message


def test_hybrid_autodiscover_to_the_on_premises_servers() -> None:
    plan = plan_domains(seed(autodiscover={"target": "on-premises", "host": "Mail.Contoso.com."}))
    assert autodiscover(plan) == ["mail.contoso.com."]
    assert warnings(plan) == []


def test_hybrid_autodiscover_to_exchange_online_warns() -> None:
    for setting in (True, {"target": "exchange-online"}):
        plan = plan_domains(seed(autodiscover=setting))
        assert autodiscover(plan) == ["autodiscover.outlook.com."]
        assert "only once every mailbox has moved" in warnings(plan)[0]


def test_autodiscover_none_publishes_nothing_quietly() -> None:
    for setting in (False, {"target": "none"}):
        plan = plan_domains(seed(autodiscover=setting))
        assert autodiscover(plan) == []
        assert warnings(plan) == []


@pytest.mark.parametrize(
    ("setting", "topology", "problem"),
    [
        ({"target": "on-premises"}, "third-party-hybrid", ".host: is required by target on-premises"),
        (
            {"target": "none", "host": "mail.contoso.com"},
            "third-party-hybrid",
            ".host: is only used by target on-premises",
        ),
        (
            {"target": "on-premises", "host": "mail.contoso.com"},
            "third-party-front",
            ".target: on-premises is for the hybrid topologies",
        ),
        ({"target": "cloud"}, "third-party-hybrid", ".target: 'cloud' is not one of"),
        ("yes please", "third-party-hybrid", ": Input should be a valid boolean"),
    ],
)
def test_bad_autodiscover_settings_name_their_path(setting: Any, topology: str, problem: str) -> None:
    domain = seed(autodiscover=setting)
    domain["topology"] = topology
    if topology == "third-party-front":
        del domain["onPremises"]
    problems = config_problems({"domains": [domain]})
    assert problems[0].startswith(f"mailflow:domains[0].exchangeOnline.autodiscover{problem}")


def test_spf_published_with_a_short_ttl_warns() -> None:
    domain = seed(autodiscover={"target": "none"})
    domain["ttl"] = 300
    assert warnings(plan_domains(domain)) == [
        "mailflow:domains[0].ttl: 300 s is the TTL of the SPF record too; Microsoft recommends at least 3600 s for it"
    ]


def test_gcc_high_mx_needs_the_tenant_name() -> None:
    domain = seed(autodiscover={"target": "none"}, cloud="gcc-high")
    del domain["exchangeOnline"]["mxHost"]
    problems = config_problems({"domains": [domain]})
    assert problems == [
        "mailflow:domains[0].exchangeOnline.mxHost: cannot be derived in gcc-high: Microsoft names the MX "
        "host after the tenant (<tenant>.mail.protection.office365.us); set exchangeOnline.initialDomain "
        "(contoso.onmicrosoft.us), or read it with `mailflow tenant pull` (mailflow:tenantFile) or set mxHost"
    ]


def test_device_management_cnames_follow_the_tenant() -> None:
    tenant = {
        **NEW_DOMAIN_TENANT,
        "graph": graph(
            NEW_MX,
            cnames={
                "autodiscover": "autodiscover.outlook.com",
                "enterpriseenrollment": "enrollment.manage.microsoft.com",
            },
        ),
    }
    plan = plan_stack(
        with_tenant(
            [
                new_domain(),
            ],
            {"new-domain.example": tenant},
        )
        | {"domains": [{**new_domain(), "mdm": True}]}
    )
    assert ("enterpriseenrollment.new-domain.example.", "CNAME", "enrollment.manage.microsoft.com.") in rows(
        plan
    )
    assert (
        "enterpriseregistration.new-domain.example.",
        "CNAME",
        "enterpriseregistration.windows.net.",
    ) in rows(plan)


def test_a_domain_missing_from_the_tenant_file_is_named() -> None:
    domain = new_domain(mxHost=NEW_MX)
    assert warnings(plan_stack(with_tenant([domain], {})))[0] == (
        "mailflow:domains[0]: new-domain.example is not in tenant.yaml: run `mailflow tenant pull` for this stack"
    )


def test_a_tenant_without_an_exchange_online_export_says_dkim_is_missing() -> None:
    tenant = {"cloud": "commercial", "graph": graph(NEW_MX)}
    assert warnings(plan_stack(with_tenant([new_domain()], {"new-domain.example": tenant}))) == [
        "mailflow:domains[0].exchangeOnline.dkim: no DKIM CNAMEs are published: the tenant file holds no "
        "Exchange Online export for new-domain.example, so Exchange Online cannot sign its mail with the "
        "domain's own key; run `mailflow tenant script`, then `mailflow tenant pull --exo-json`, or set "
        "selector1 and selector2 from Get-DkimSigningConfig"
    ]


def test_without_a_tenant_file_or_config_missing_dkim_is_a_warning() -> None:
    domain = fabrikam(mxHost="fabrikam-com.mail.protection.outlook.com")
    del domain["exchangeOnline"]["dkim"]
    plan = plan_domains(domain)
    assert [r.name for r in plan.records if "_domainkey" in r.name] == []
    assert warnings(plan) == [
        "mailflow:domains[0].exchangeOnline.dkim: no DKIM CNAMEs are published: there is no tenant file and "
        "exchangeOnline.dkim is not set, so Exchange Online cannot sign its mail with the domain's own key; "
        "run `mailflow tenant script`, then `mailflow tenant pull --exo-json`, or set selector1 and "
        "selector2 from Get-DkimSigningConfig"
    ]


def test_dkim_not_yet_enabled_in_the_tenant_says_how_to_enable_it() -> None:
    dkim = {
        "selector1": NEW_DKIM.format(n=1),
        "selector2": NEW_DKIM.format(n=2),
        "enabled": False,
        "status": "CnameMissing",
    }
    tenant = {**NEW_DOMAIN_TENANT, "exchangeOnline": {**NEW_DOMAIN_TENANT["exchangeOnline"], "dkim": dkim}}
    assert warnings(plan_stack(with_tenant([new_domain()], {"new-domain.example": tenant}))) == [
        "mailflow:domains[0].exchangeOnline.dkim: DKIM signing of new-domain.example is not on in the tenant "
        "(status CnameMissing): once these CNAMEs resolve, run Set-DkimSigningConfig -Identity "
        "new-domain.example -Enabled $true"
    ]


def test_internationalised_names_are_not_derived() -> None:
    domain = fabrikam()
    domain["name"] = "bücher.de"
    dkim, mx = config_problems({"domains": [domain]})
    assert dkim.startswith(
        "mailflow:domains[0].exchangeOnline.dkim.initialDomain: cannot be derived for 'xn--bcher-kva.de': "
        "Microsoft assigns the DKIM token of a domain spelled with non-ASCII letters"
    )
    assert mx.startswith(
        "mailflow:domains[0].exchangeOnline.mxHost: cannot be derived for 'xn--bcher-kva.de': Microsoft assigns "
        "the MX host of a domain spelled with non-ASCII letters"
    )


def test_every_value_that_cannot_be_derived_is_named_at_once() -> None:
    domain = new_domain(dkim={"initialDomain": "contoso.onmicrosoft.com"})
    assert [p.split(":")[1] for p in config_problems({"domains": [domain]})] == [
        "domains[0].exchangeOnline.dkim.initialDomain",
        "domains[0].exchangeOnline.mxHost",
    ]


@pytest.mark.parametrize(
    ("cloud", "initial", "problem"),
    [
        ("commercial", "contoso.onmicrosoft.us", "is only used in the gcc-high and dod clouds"),
        ("gcc-high", "contoso.onmicrosoft.com", "'contoso.onmicrosoft.com' is not a gcc-high initial domain"),
    ],
)
def test_initial_domain_belongs_to_gcc_high_and_dod(cloud: str, initial: str, problem: str) -> None:
    domain = fabrikam(cloud=cloud, initialDomain=initial)
    assert config_problems({"domains": [domain]})[0].startswith(
        f"mailflow:domains[0].exchangeOnline.initialDomain: {problem}"
    )


def test_a_broken_tenant_file_names_the_file_and_key(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: x\nruntime: python\n")
    (tmp_path / "tenant.yaml").write_text(
        "version: 1\ndomains:\n  contoso.com:\n    cloud: commercial\n    graph: {source: x, readAt: 2026-11-28T09:00:00Z, verified: true, mx: {host: 'bad host', priority: 0}}\n"
    )
    stack = tmp_path / "Pulumi.x.yaml"
    stack.write_text(
        json.dumps({"config": {"mailflow:tenantFile": "tenant.yaml", "mailflow:domains": [seed()]}})
    )
    from mailflow.stackfile import read_stack_file

    with pytest.raises(ConfigError) as caught:
        read_stack_file(stack)
    assert str(caught.value.problems[0]).startswith(
        "tenant.yaml.domains.contoso.com.graph.mx.host: 'bad host' is not a fully qualified name"
    )


def test_tenant_is_not_a_setting_of_its_own() -> None:
    from mailflow.stackfile import with_files

    with pytest.raises(ConfigError, match="did you mean tenantFile"):
        with_files({"tenant": {}}, Path("."))


def awaiting(**extra: Any) -> dict[str, Any]:
    """What Graph gives of a domain added to the tenant and not yet verified: no MX, no records."""
    unverified = graph(NEW_MX, verified=False, unavailable=["The domain has not been verified."], **extra)
    del unverified["mx"], unverified["spf"]
    unverified["cnames"] = {}
    return {"cloud": "commercial", "graph": unverified}


def test_a_domain_awaiting_verification_publishes_its_ms_record_alone() -> None:
    domain = new_domain()
    domain["extraRecords"] = [{"name": "www", "type": "CNAME", "value": "web.example.net."}]
    for strict in (False, True):
        plan = plan_stack(with_tenant([domain], {"new-domain.example": awaiting()}), strict=strict)
        assert rows(plan) == [
            ("new-domain.example.", "TXT", '"MS=ms20260701"'),
            ("www.new-domain.example.", "CNAME", "web.example.net."),
        ]
        assert plan.domains[0].awaits_verification
        assert [w.split(": ", 1)[1].split(":")[0] for w in warnings(plan)] == [
            "new-domain.example is not verified in the tenant",
            "only the MS= record is planned until Microsoft assigns the domain's MX host, which it does on "
            "verification",
        ]
        assert plan.connectors.tenants == ()


def test_a_domain_awaiting_verification_needs_its_ms_value_and_no_cutover() -> None:
    domain = new_domain()
    del domain["exchangeOnline"]["verification"]
    domain["cutover"] = {
        "from": {"exoMxHost": "new-domain-example.mail.protection.outlook.com"},
        "phase": "prepare",
    }
    problems = config_problems(with_tenant([domain], {"new-domain.example": awaiting()}))
    assert [p.split(": ")[0] for p in problems] == [
        "mailflow:domains[0].cutover",
        "mailflow:domains[0].exchangeOnline.verification",
    ]
    assert "copy the value from the domain's page in the Microsoft 365 admin center" in problems[1]


def test_a_domain_awaiting_verification_with_its_mx_host_in_config_is_planned_whole() -> None:
    plan = plan_stack(with_tenant([new_domain(mxHost=NEW_MX)], {"new-domain.example": awaiting()}))
    assert not plan.domains[0].awaits_verification
    assert ("new-domain.example.", "MX", f"0 {NEW_MX}.") in rows(plan)


def test_the_table_says_a_domain_awaits_verification() -> None:
    plan = plan_stack(with_tenant([new_domain()], {"new-domain.example": awaiting()}))
    table = plan_table(plan)
    assert "awaiting verification in the tenant: its MS= record only" in table
    assert "Exchange Online MX host" not in table


def test_a_second_mx_host_graph_lists_is_named_not_published() -> None:
    legacy = "new-domain-example.mail.protection.outlook.com"
    tenant = {**NEW_DOMAIN_TENANT, "graph": graph(NEW_MX, otherMx=[{"host": legacy, "priority": 0}])}
    plan = plan_stack(with_tenant([new_domain()], {"new-domain.example": tenant}))
    assert [r for r in rows(plan) if r[1] == "MX"] == [("new-domain.example.", "MX", f"0 {NEW_MX}.")]
    assert warnings(plan) == [
        "mailflow:domains[0].exchangeOnline.mxHost: Microsoft Graph lists more MX hosts than one for "
        f"new-domain.example: {NEW_MX} (0) is published, not {legacy} (0); Exchange Online receives on one "
        "host, so pull the tenant again once Microsoft's change of the domain's MX has settled"
    ]
