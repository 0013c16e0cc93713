"""`mailflow tenant pull` and `mailflow tenant script` end to end: Graph replayed on loopback, the
recorded Exchange Online export merged, the tenant file written, checked and used by the plan."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from azure.core.credentials import AccessToken
from conftest import SEED_DOMAIN
from graph_replay import GraphReplay, Reply
from powershell_syntax import commands, powershell_tree

import mailflow.graph
from mailflow.cli import main
from mailflow.exo import ExoExport, exchange_values, export_script
from mailflow.graph import GRAPH_CLOUDS, GraphCloud
from mailflow.plan import plan_stack
from mailflow.stackfile import read_stack_file
from mailflow.tenant import ExpectedMx

EXPORT = Path(__file__).resolve().parent / "data" / "exo" / "export.json"
NEW_MX = "newdomain-example02b.o-v1.mx.microsoft"


class StaticToken:
    def get_token(self, *scopes: str, **_: Any) -> AccessToken:
        return AccessToken("token-for-tests", int(time.time()) + 3600)


@pytest.fixture
def tenant_graph(graph: GraphReplay, monkeypatch: pytest.MonkeyPatch) -> GraphReplay:
    """Graph on loopback for the commercial cloud, with two recorded domains."""
    commercial = GRAPH_CLOUDS["commercial"]
    monkeypatch.setitem(
        GRAPH_CLOUDS, "commercial", GraphCloud(graph.base, commercial.authority, commercial.scope)
    )
    monkeypatch.setattr(mailflow.graph, "credential", lambda auth, cloud: StaticToken())
    graph.domain("contoso.com")
    graph.domain("new-domain.example")
    return graph


def new_domain() -> dict[str, Any]:
    return {
        "name": "new-domain.example",
        "topology": "exchange-online",
        "exchangeOnline": {"verification": "MS=ms20260701"},
        "dmarc": {"policy": "reject"},
    }


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "Pulumi.yaml").write_text("name: mailflow\nruntime: python\nstackConfigDir: stacks\n")
    (tmp_path / "stacks").mkdir()
    stack = tmp_path / "stacks" / "Pulumi.test.yaml"
    stack.write_text(
        yaml.safe_dump(
            {
                "config": {
                    "mailflow:tenantFile": "tenant/test.yaml",
                    "mailflow:domains": [SEED_DOMAIN, new_domain()],
                }
            }
        )
    )
    return stack


def tenant_file(stack: Path) -> Path:
    return stack.parent.parent / "tenant" / "test.yaml"


def test_pull_writes_every_value_with_its_source_and_time(
    tenant_graph: GraphReplay, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["tenant", "pull", str(project), "--exo-json", str(EXPORT)]) == 0
    written = yaml.safe_load(tenant_file(project).read_text())
    domain = written["domains"]["new-domain.example"]
    assert domain["cloud"] == "commercial"
    assert domain["graph"]["source"].endswith(
        "/v1.0/domains/new-domain.example (+ /serviceConfigurationRecords)"
    )
    assert domain["graph"]["readAt"].endswith("Z")
    assert domain["graph"]["mx"] == {"host": NEW_MX, "priority": 0}
    assert domain["exchangeOnline"]["readAt"] == "2026-11-28T09:05:00Z"
    assert domain["exchangeOnline"]["source"].startswith("Exchange Online PowerShell export export.json")
    assert domain["exchangeOnline"]["dkim"]["selector1"] == (
        "selector1-newdomain-example02b._domainkey.contoso.r-v1.dkim.mail.microsoft"
    )
    assert domain["exchangeOnline"]["dnssec"] == {
        "status": "Enabled",
        "expectedMx": {"host": NEW_MX, "priority": 0},
    }
    assert "updated (2 domains)" in capsys.readouterr().out


def test_the_pulled_file_drives_a_strict_plan(tenant_graph: GraphReplay, project: Path) -> None:
    assert main(["tenant", "pull", str(project), "--exo-json", str(EXPORT)]) == 0
    plan = plan_stack(read_stack_file(project), strict=True)
    new = plan.domains[1]
    assert new.exo_mx_host == NEW_MX
    assert [(r.name, r.value) for r in new.records if r.type in ("MX", "CNAME")] == [
        ("new-domain.example.", f"0 {NEW_MX}."),
        ("autodiscover.new-domain.example.", "autodiscover.outlook.com."),
        (
            "selector1._domainkey.new-domain.example.",
            "selector1-newdomain-example02b._domainkey.contoso.r-v1.dkim.mail.microsoft.",
        ),
        (
            "selector2._domainkey.new-domain.example.",
            "selector2-newdomain-example02b._domainkey.contoso.r-v1.dkim.mail.microsoft.",
        ),
    ]
    assert [w.message.split(":")[0] for w in new.warnings] == [
        "DKIM signing of new-domain.example is not on in the tenant (status CnameMissing)"
    ]


def test_check_exits_1_when_the_tenant_changed_and_writes_nothing(
    tenant_graph: GraphReplay, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["tenant", "pull", str(project), "--exo-json", str(EXPORT)]) == 0
    before = tenant_file(project).read_text()
    assert main(["tenant", "pull", str(project), "--check"]) == 0
    assert "matches the tenant" in capsys.readouterr().out
    records = json.loads((Path(__file__).parent / "data" / "graph" / "contoso.com.json").read_text())
    records["serviceConfigurationRecords"]["value"][0]["mailExchange"] = "contoso-com.p-v1.mx.microsoft"
    tenant_graph.reply(
        "/v1.0/domains/contoso.com/serviceConfigurationRecords",
        Reply(200, records["serviceConfigurationRecords"]),
    )
    assert main(["tenant", "pull", str(project), "--check"]) == 1
    out = capsys.readouterr().out
    assert (
        "contoso.com: graph.mx.host: file 'contoso-com.mail.protection.outlook.com', tenant 'contoso-com.p-v1.mx.microsoft'"
        in out
    )
    assert tenant_file(project).read_text() == before


def test_a_graph_only_pull_keeps_the_exchange_online_values(tenant_graph: GraphReplay, project: Path) -> None:
    assert main(["tenant", "pull", str(project), "--exo-json", str(EXPORT)]) == 0
    assert main(["tenant", "pull", str(project)]) == 0
    written = yaml.safe_load(tenant_file(project).read_text())
    assert written["domains"]["contoso.com"]["exchangeOnline"]["dkim"]["status"] == "Valid"


def test_domains_of_other_stacks_in_the_file_are_kept(tenant_graph: GraphReplay, project: Path) -> None:
    assert main(["tenant", "pull", str(project)]) == 0
    path = tenant_file(project)
    written = yaml.safe_load(path.read_text())
    written["domains"]["other.example"] = written["domains"]["contoso.com"]
    path.write_text(yaml.safe_dump(written))
    assert main(["tenant", "pull", str(project)]) == 0
    assert "other.example" in yaml.safe_load(path.read_text())["domains"]


def test_export_notes_what_it_lacks(
    tenant_graph: GraphReplay, project: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    export = json.loads(EXPORT.read_text("utf-8-sig"))
    export["domains"] = [d for d in export["domains"] if d["name"] != "contoso.com"]
    export["domains"][0]["dkim"]["selector1CNAME"] = ""
    partial = tmp_path / "partial.json"
    partial.write_text(json.dumps(export))
    assert main(["tenant", "pull", str(project), "--exo-json", str(partial)]) == 0
    err = capsys.readouterr().err
    assert "note: contoso.com: not in partial.json" in err
    assert "note: new-domain.example: no DKIM selector targets (Get-DkimSigningConfig)" in err


def test_a_broken_export_is_a_config_error_naming_it(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text(
        json.dumps(
            {
                "domains": [
                    {
                        "name": "contoso.com",
                        "dnssec": {"status": "Enabled", "expectedMxRecord": "@ 60 IN TXT x"},
                    }
                ]
            }
        )
    )
    assert main(["tenant", "pull", str(project), "--exo-json", str(broken)]) == 2
    assert f"--exo-json ({broken}).generatedAt: is required" in capsys.readouterr().err


def test_an_unreadable_tenant_exits_3_and_leaves_the_file(
    tenant_graph: GraphReplay, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["tenant", "pull", str(project)]) == 0
    before = tenant_file(project).read_text()
    tenant_graph.error("/v1.0/domains/new-domain.example", 403)
    assert main(["tenant", "pull", str(project)]) == 3
    err = capsys.readouterr().err
    assert "new-domain.example: Microsoft Graph denied access (403 Authorization_RequestDenied" in err
    assert "Domain.Read.All" in err
    assert tenant_file(project).read_text() == before


def test_pull_needs_a_tenant_file_to_write(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    document = yaml.safe_load(project.read_text())
    del document["config"]["mailflow:tenantFile"]
    project.write_text(yaml.safe_dump(document))
    assert main(["tenant", "pull", str(project)]) == 2
    assert (
        "mailflow:tenantFile: is not set: name the file the tenant's values go to, e.g. `mailflow:tenantFile: tenant/test.yaml`"
        in capsys.readouterr().err
    )


def test_a_write_cut_short_leaves_the_old_file(
    tenant_graph: GraphReplay, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["tenant", "pull", str(project)]) == 0
    before = tenant_file(project).read_text()

    def killed(*args: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", killed)
    tenant_graph.reply("/v1.0/domains/contoso.com", Reply(200, {"id": "contoso.com", "isVerified": False}))
    with pytest.raises(KeyboardInterrupt):
        main(["tenant", "pull", str(project)])
    assert tenant_file(project).read_text() == before
    assert sorted(p.name for p in tenant_file(project).parent.iterdir()) == ["test.yaml"]


def test_script_is_valid_powershell_that_only_reads(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["tenant", "script", str(project)]) == 0
    script = capsys.readouterr().out
    tree = powershell_tree(script)
    assert not tree.root_node.has_error
    assert commands(tree.root_node) == [
        "Get-AcceptedDomain",
        "Get-DkimSigningConfig",
        "Get-DnssecStatusForVerifiedDomain",
        "Get-Date",
        "ConvertTo-Json",
        "Set-Content",
        "Write-Host",
    ]
    assert "$domains = @('contoso.com', 'new-domain.example')" in script


def test_script_quotes_what_it_is_given() -> None:
    script = export_script(
        ["x'; Remove-Item -Recurse C:/ ; '"], "out'$(Stop-Computer).json\nRestart-Computer"
    )
    tree = powershell_tree(script)
    assert not tree.root_node.has_error
    assert "Remove-Item" not in commands(tree.root_node)
    assert "Stop-Computer" not in commands(tree.root_node)
    assert "Restart-Computer" not in commands(tree.root_node)


def test_a_partial_export_keeps_the_earlier_dkim_values(
    tenant_graph: GraphReplay, project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["tenant", "pull", str(project), "--exo-json", str(EXPORT)]) == 0
    export = json.loads(EXPORT.read_text("utf-8-sig"))
    export["domains"] = [d for d in export["domains"] if d["name"] != "contoso.com"]
    partial = tmp_path / "partial.json"
    partial.write_text(json.dumps(export))
    assert main(["tenant", "pull", str(project), "--exo-json", str(partial)]) == 0
    assert "note: contoso.com: not in partial.json; its earlier values are kept" in capsys.readouterr().err
    written = yaml.safe_load(tenant_file(project).read_text())
    assert written["domains"]["contoso.com"]["exchangeOnline"]["dkim"]["status"] == "Valid"


def test_an_unchanged_tenant_leaves_the_file_as_it_is(tenant_graph: GraphReplay, project: Path) -> None:
    assert main(["tenant", "pull", str(project)]) == 0
    path = tenant_file(project)
    path.chmod(0o640)
    before = (path.read_text(), path.stat().st_mtime_ns)
    assert main(["tenant", "pull", str(project)]) == 0
    assert (path.read_text(), path.stat().st_mtime_ns) == before
    tenant_graph.reply("/v1.0/domains/contoso.com", Reply(200, {"id": "contoso.com", "isVerified": False}))
    assert main(["tenant", "pull", str(project)]) == 0
    assert path.read_text() != before[0]
    assert path.stat().st_mode & 0o777 == 0o640


def test_two_entries_for_one_domain_are_refused(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = json.loads(EXPORT.read_text("utf-8-sig"))
    export["domains"].append({**export["domains"][0], "name": "CONTOSO.COM."})
    doubled = tmp_path / "doubled.json"
    doubled.write_text(json.dumps(export))
    assert main(["tenant", "pull", str(project), "--exo-json", str(doubled)]) == 2
    assert "domains[3]: 'CONTOSO.COM.' is also domains[0]" in capsys.readouterr().err
    tenant = tenant_file(project)
    tenant.parent.mkdir()
    tenant.write_text("version: 1\ndomains:\n  contoso.com: {}\n  Contoso.com.: {}\n")
    assert main(["plan", str(project)]) == 2
    assert "'Contoso.com.' and 'contoso.com' name the same domain" in capsys.readouterr().err


def test_selector_targets_swapped_in_an_export_are_refused(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = json.loads(EXPORT.read_text("utf-8-sig"))
    dkim = export["domains"][0]["dkim"]
    dkim["selector1CNAME"], dkim["selector2CNAME"] = dkim["selector2CNAME"], dkim["selector1CNAME"]
    swapped = tmp_path / "swapped.json"
    swapped.write_text(json.dumps(export))
    assert main(["tenant", "pull", str(project), "--exo-json", str(swapped)]) == 2
    assert "domains[0]: Selector1CNAME 'selector2-contoso-com" in capsys.readouterr().err


def test_a_tenant_file_that_is_not_utf8_is_a_config_error(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant = tenant_file(project)
    tenant.parent.mkdir()
    tenant.write_bytes("version: 1\ndomains: {}\n".encode("utf-16"))
    assert main(["plan", str(project)]) == 2
    assert "is not UTF-8 text" in capsys.readouterr().err


def test_a_credential_that_cannot_be_set_up_exits_3(
    tenant_graph: GraphReplay,
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def unconfigured(auth: str, cloud: str) -> Any:
        raise ValueError("WorkloadIdentityCredential authentication unavailable. Missing AZURE_TENANT_ID.")

    monkeypatch.setattr(mailflow.graph, "credential", unconfigured)
    assert main(["tenant", "pull", str(project), "--auth", "workload-identity"]) == 3
    assert (
        "contoso.com: cannot sign in to the commercial cloud: WorkloadIdentityCredential"
        in capsys.readouterr().err
    )


def dnssec_export(record: str) -> ExoExport:
    return ExoExport.model_validate(
        {
            "generatedAt": "2026-11-28T09:00:00Z",
            "domains": [{"name": "contoso.com", "dnssec": {"status": "Enabled", "expectedMxRecord": record}}],
        }
    )


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (
            "@ 60 IN MX 10 contoso-com.o-v1.mx.microsoft",
            ExpectedMx(host="contoso-com.o-v1.mx.microsoft", priority=10),
        ),
        ("10 contoso-com.o-v1.mx.microsoft.", ExpectedMx(host="contoso-com.o-v1.mx.microsoft", priority=10)),
        ("contoso-com.o-v1.mx.microsoft", ExpectedMx(host="contoso-com.o-v1.mx.microsoft")),
    ],
)
def test_the_expected_mx_record_is_read_in_each_form_exchange_may_print(
    record: str, expected: ExpectedMx
) -> None:
    export = dnssec_export(record)
    values, _ = exchange_values(export.domains[0], export, "export.json")
    assert values.dnssec is not None and values.dnssec.expected_mx == expected


@pytest.mark.parametrize("record", ["@ 60 IN TXT x", "10 not_a host", "a b c d"])
def test_an_expected_mx_record_that_is_none_says_so(record: str) -> None:
    export = dnssec_export(record)
    with pytest.raises(ValueError, match=f"ExpectedMxRecord '{record}' is not an MX record"):
        exchange_values(export.domains[0], export, "export.json")


def test_a_missing_tenant_file_says_how_to_write_it(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plan", str(project)]) == 2
    assert (
        "mailflow:tenantFile: tenant/test.yaml does not exist: write it with `mailflow tenant pull STACKFILE`"
        in capsys.readouterr().err
    )


def pulled_plan(graph: GraphReplay, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, domain: dict[str, Any]):
    """``tenant pull`` of one domain from Graph on loopback (its cloud's endpoint pointed there),
    then the plan of the stack: what a stack publishes from a freshly pulled tenant file."""
    cloud = domain.get("exchangeOnline", {}).get("cloud", "commercial")
    endpoints = GRAPH_CLOUDS[cloud]
    monkeypatch.setitem(GRAPH_CLOUDS, cloud, GraphCloud(graph.base, endpoints.authority, endpoints.scope))
    monkeypatch.setattr(mailflow.graph, "credential", lambda auth, cloud: StaticToken())
    graph.domain(domain["name"])
    (tmp_path / "Pulumi.yaml").write_text("name: mailflow\nruntime: python\n")
    stack = tmp_path / "Pulumi.test.yaml"
    stack.write_text(
        yaml.safe_dump({"config": {"mailflow:tenantFile": "tenant.yaml", "mailflow:domains": [domain]}})
    )
    assert main(["tenant", "pull", str(stack)]) == 0
    return plan_stack(read_stack_file(stack))


@pytest.mark.parametrize(
    ("domain", "records"),
    [
        (
            {
                "name": "contoso.com",
                "topology": "exchange-online",
                "exchangeOnline": {"verification": "MS=ms12345678"},
            },
            [
                ("contoso.com.", "MX", "0 contoso-com.mail.protection.outlook.com."),
                ("contoso.com.", "TXT", '"MS=ms12345678"'),
                ("contoso.com.", "TXT", '"v=spf1 include:spf.protection.outlook.com -all"'),
                ("autodiscover.contoso.com.", "CNAME", "autodiscover.outlook.com."),
            ],
        ),
        (
            {
                "name": "gcc.contoso.us",
                "topology": "exchange-online",
                "exchangeOnline": {"cloud": "gcc-high", "verification": "MS=ms87654321"},
            },
            [
                ("gcc.contoso.us.", "MX", "0 contoso.mail.protection.office365.us."),
                ("gcc.contoso.us.", "TXT", '"MS=ms87654321"'),
                ("gcc.contoso.us.", "TXT", '"v=spf1 include:spf.protection.office365.us -all"'),
                ("autodiscover.gcc.contoso.us.", "CNAME", "autodiscover.office365.us."),
            ],
        ),
    ],
    ids=["commercial", "gcc-high"],
)
def test_a_pulled_domain_publishes_its_clouds_values_record_by_record(
    graph: GraphReplay,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    domain: dict[str, Any],
    records: list[tuple[str, str, str]],
) -> None:
    plan = pulled_plan(graph, tmp_path, monkeypatch, domain)
    assert [(r.name, r.type, r.value) for r in plan.records] == records
    assert plan.domains[0].sources["exoMxHost"].startswith("tenant file: Microsoft Graph, read ")


def test_an_unverified_domain_publishes_its_ms_record_alone_after_a_pull(
    graph: GraphReplay, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    domain = {
        "name": "unverified.example",
        "topology": "third-party-front",
        "thirdParty": {"name": "Filter", "mx": [{"host": "mx1.filter.example.net", "priority": 10}]},
        "exchangeOnline": {"verification": "MS=ms11112222"},
    }
    plan = pulled_plan(graph, tmp_path, monkeypatch, domain)
    assert [(r.name, r.type, r.value) for r in plan.records] == [
        ("unverified.example.", "TXT", '"MS=ms11112222"'),
    ]
    assert plan.domains[0].awaits_verification
    assert plan.connectors.tenants == ()
