"""`mailflow check --tenant`: what the tenant file expects that the plan does not publish is drift;
what the topology routes elsewhere on purpose is not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tenant_data import NEW_DOMAIN_TENANT, graph, new_domain, with_tenant

from mailflow.check import CheckReport, DomainReport, Finding, report_table, tenant_findings
from mailflow.cli import main
from mailflow.plan import plan_stack


def findings(domain: dict, tenant: dict | None) -> list[Finding]:
    values = with_tenant([domain], {"new-domain.example": tenant} if tenant else {})
    return tenant_findings(plan_stack(values).domains[0])


def test_a_plan_built_from_the_tenant_file_has_no_tenant_drift() -> None:
    assert findings(new_domain(), NEW_DOMAIN_TENANT) == []


def test_an_expected_record_the_stack_does_not_publish_is_drift() -> None:
    found = findings(new_domain(autodiscover=False), NEW_DOMAIN_TENANT)
    assert found == [
        Finding(
            "new-domain.example",
            "autodiscover.new-domain.example.",
            "CNAME",
            "tenant expects, stack does not publish",
            tenant="autodiscover.outlook.com.",
        )
    ]


def test_device_management_cnames_the_tenant_lists_are_drift_when_not_published() -> None:
    intune = {
        **NEW_DOMAIN_TENANT,
        "graph": graph(
            "newdomain-example02b.o-v1.mx.microsoft",
            supportedServices=["Email", "Intune"],
            cnames={
                "autodiscover": "autodiscover.outlook.com",
                "enterpriseenrollment": "enterpriseenrollment-s.manage.microsoft.com",
                "enterpriseregistration": "enterpriseregistration.windows.net",
            },
        ),
    }
    found = findings(new_domain(), intune)
    assert [(f.name, f.tenant) for f in found] == [
        ("enterpriseenrollment.new-domain.example.", "enterpriseenrollment-s.manage.microsoft.com."),
        ("enterpriseregistration.new-domain.example.", "enterpriseregistration.windows.net."),
    ]
    domain = new_domain()
    domain["mdm"] = True
    assert findings(domain, intune) == []


def test_the_table_labels_the_tenants_value_as_the_tenants(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = CheckReport(
        (
            DomainReport(
                "new-domain.example",
                None,
                tuple(findings(new_domain(autodiscover=False), NEW_DOMAIN_TENANT)),
            ),
        )
    )
    assert "tenant autodiscover.outlook.com." in report_table(report)
    assert "planned autodiscover" not in report_table(report)


def test_hybrid_autodiscover_on_premises_is_not_drift() -> None:
    domain = new_domain(autodiscover={"target": "on-premises", "host": "mail.new-domain.example"})
    domain["topology"] = "hybrid-exo-front"
    domain["onPremises"] = {"ips": ["203.0.113.25"]}
    assert findings(domain, NEW_DOMAIN_TENANT) == []


def test_the_domains_state_in_the_tenant_is_reported() -> None:
    unverified = {
        **NEW_DOMAIN_TENANT,
        "graph": graph("newdomain-example02b.o-v1.mx.microsoft", verified=False),
    }
    assert [f.problem for f in findings(new_domain(), unverified)] == ["not verified in the tenant"]


def test_a_domain_missing_from_the_tenant_file_is_reported() -> None:
    domain = new_domain(mxHost="newdomain-example02b.o-v1.mx.microsoft")
    assert [f.problem for f in findings(domain, None)] == [
        "not in the tenant file (run mailflow tenant pull)"
    ]


def test_check_tenant_needs_a_tenant_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stack = tmp_path / "Pulumi.x.yaml"
    stack.write_text(json.dumps({"config": {"mailflow:domains": [new_domain(mxHost="x.o-v1.mx.microsoft")]}}))
    assert main(["check", str(stack), "--tenant", "--nameserver", "127.0.0.1:9"]) == 2
    assert "mailflow:tenantFile: is required by check --tenant" in capsys.readouterr().err
