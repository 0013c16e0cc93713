"""`mailflow connectors export` and `mailflow connectors diff`: the read-only export script, the
reader of what it writes, and the comparison of a tenant's connectors, ARC trusted sealers and
accepted domains with the plan. In-sync exports are rendered from the plan itself, so that they
follow the planned connectors; one recorded export pins the parser to a fixed document."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES, SEED_STACK
from powershell_syntax import commands, powershell_tree

import mailflow.live_connectors
from mailflow.cli import main
from mailflow.connector_diff import Finding, diff_tenant, planned_tenant, report_table
from mailflow.connectors import ConnectorType, Parameter, TenantConnectors
from mailflow.errors import ConfigError
from mailflow.live_connectors import (
    CONNECTORS,
    EXPORTED,
    GENERATED_BY,
    MULTI_VALUED,
    Kind,
    LiveTenant,
    export_script,
    read_live_export,
)
from mailflow.plan import plan_stack
from mailflow.stackfile import read_stack_file

RECORDED = Path(__file__).resolve().parent / "data" / "exo" / "connectors-export.json"
WIZARD_GUID = "5d1c0c7e-7c2b-4f39-9a53-1b2e6c3f8a10"
ARC_SEALER = "filter.example.net"


def seed_values() -> dict[str, Any]:
    """The seed stack as `mailflow` reads it (stacks/Pulumi.local.yaml)."""
    return read_stack_file(SEED_STACK)


def seed_scenario_values() -> dict[str, Any]:
    """The seed stack with what docs/CONNECTORS.md adds for every connector: the on-premises smart
    host and certificate, and the service's ARC sealer."""
    values = seed_values()
    domain = values["domains"][0]
    domain["onPremises"].update(smartHost="mail.contoso.com", certificateName="mail.contoso.com")
    domain["thirdParty"]["arcSealer"] = ARC_SEALER
    return values


def write_stack(tmp_path: Path, values: dict[str, Any]) -> Path:
    """A stack file of these values, without the seed's tenant file (its MX host is then derived)."""
    config = {
        f"mailflow:{key}": value for key, value in values.items() if key not in ("tenant", "tenantFile")
    }
    stack = tmp_path / "Pulumi.test.yaml"
    stack.write_text(json.dumps({"config": config}))
    return stack


def the_tenant(values: dict[str, Any]) -> TenantConnectors:
    return planned_tenant(plan_stack(values).connectors, None)


def exported_value(parameter: Parameter, kind: Kind) -> Any:
    """A planned value as Exchange Online gives it back: a multi-valued property as a list (a
    cleared one empty), ``SenderDomains`` as address spaces, an enum by its name."""
    value = parameter.value
    if kind in MULTI_VALUED:
        items = [] if value is None else [value] if isinstance(value, str) else list(value)
        return [f"smtp:{item};1" for item in items] if parameter.name == "SenderDomains" else items
    return value


def live_export(tenant: TenantConnectors) -> dict[str, Any]:
    """The export of a tenant that has exactly what the plan asks, as the export script writes it,
    with the tenant's own onmicrosoft.com domain beside the planned ones."""
    document: dict[str, Any] = {
        "generatedBy": GENERATED_BY,
        "generatedAt": "2026-12-01T08:30:00Z",
        **{exported.key: [] for exported in EXPORTED},
    }
    for connector in tenant.connectors:
        exported = CONNECTORS[connector.direction]
        entry = {
            name: [] if kind in MULTI_VALUED else False if kind is Kind.FLAG else None
            for name, kind in exported.properties.items()
        }
        entry.update(Name=connector.name, Enabled=True)
        for parameter in connector.parameters:
            entry[parameter.name] = exported_value(parameter, exported.properties[parameter.name])
        document[exported.key].append(entry)
    # Get-ArcConfig gives the sealers as one comma-separated entry.
    sealers = [",".join(tenant.arc_trusted_sealers)] if tenant.arc_trusted_sealers else []
    document["arcConfig"] = {"ArcTrustedSealers": sealers}
    document["acceptedDomains"] = [
        {"DomainName": domain.domain, "DomainType": domain.domain_type.value}
        for domain in tenant.accepted_domains
    ] + [{"DomainName": "contoso.onmicrosoft.com", "DomainType": "Authoritative"}]
    return document


def write_export(path: Path, document: dict[str, Any]) -> Path:
    # As Windows PowerShell's Out-File -Encoding utf8 writes it: with a byte order mark.
    path.write_text(json.dumps(document, indent=4), encoding="utf-8-sig")
    return path


def read_back(tmp_path: Path, document: dict[str, Any]) -> LiveTenant:
    return read_live_export(write_export(tmp_path / "live.json", document))


def changes(findings: tuple[Finding, ...]) -> list[tuple[str, str, str, str | None]]:
    return [(f.change, f.object, f.name, f.parameter) for f in findings]


def connector_entry(document: dict[str, Any], has: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    entries = [*document["inboundConnectors"], *document["outboundConnectors"]]
    return next(entry for entry in entries if has(entry))


@pytest.fixture
def seed_tenant() -> TenantConnectors:
    return the_tenant(seed_scenario_values())


@pytest.fixture
def in_sync(seed_tenant: TenantConnectors) -> dict[str, Any]:
    return live_export(seed_tenant)


def drift(tmp_path: Path, tenant: TenantConnectors, document: dict[str, Any]) -> list[Any]:
    return changes(diff_tenant(tenant, read_back(tmp_path, document)).findings)


# The export script


def test_export_script_is_valid_powershell_that_only_reads(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["connectors", "export"]) == 0
    script = capsys.readouterr().out
    tree = powershell_tree(script)
    assert not tree.root_node.has_error
    assert list(dict.fromkeys(commands(tree.root_node))) == [
        "Get-InboundConnector",
        "ConvertTo-MailflowValue",
        "Get-OutboundConnector",
        "Get-ArcConfig",
        "Select-Object",
        "Get-AcceptedDomain",
        "Get-Date",
        "ConvertTo-Json",
        "Out-File",
        "Write-Host",
    ]
    assert "Out-File -LiteralPath 'mailflow-connectors.json' -Encoding utf8" in script


def test_export_script_selects_every_property_of_the_table() -> None:
    script = export_script()
    for exported in EXPORTED:
        assert f"${exported.key} = " in script
        assert f"    {exported.key} = ${exported.key}" in script
        for name, kind in exported.properties.items():
            if kind in MULTI_VALUED:
                assert f"{name} = @(foreach ($item in $object.{name}) {{ [string]$item }})" in script
            else:
                assert f"{name} = ConvertTo-MailflowValue $object.{name}" in script


def test_export_script_quotes_the_output_file_it_is_given(capsys: pytest.CaptureFixture[str]) -> None:
    output = "out'$(Stop-Computer).json\nRestart-Computer"
    assert main(["connectors", "export", "--output", output]) == 0
    tree = powershell_tree(capsys.readouterr().out)
    assert not tree.root_node.has_error
    assert "Stop-Computer" not in commands(tree.root_node)
    assert "Restart-Computer" not in commands(tree.root_node)


def test_every_planned_parameter_is_exported() -> None:
    """What the plan can set, the export reads: else the diff could not compare it."""
    stacks = [seed_values(), seed_scenario_values()]
    stacks.extend(read_stack_file(path) for path in sorted(EXAMPLES.glob("*.yaml")))
    planned = {
        (connector.direction, parameter.name)
        for values in stacks
        for connector in plan_stack(values).connectors.connectors
        for parameter in connector.parameters
    }
    assert planned
    assert {(d, name) for d, name in planned if name not in CONNECTORS[d].properties} == set()


REFERENCE_KINDS = {
    Kind.FLAG: "boolean",
    Kind.WORD: "enum",
    Kind.TEXT: "string",
    Kind.NAME: "string",
    Kind.NAMES: "multivalued",
    Kind.NETWORKS: "multivalued",
}


def test_each_exported_property_is_a_parameter_of_its_set_cmdlet() -> None:
    """Checked against Microsoft's cmdlet reference (tests/data/exo_cmdlets.json): the planned
    parameters and the exported properties share their names, and a property's kind is its type."""
    reference_file = Path(__file__).resolve().parent / "data" / "exo_cmdlets.json"
    if not reference_file.is_file():
        pytest.skip("no cmdlet reference")
    cmdlets = json.loads(reference_file.read_text("utf-8"))["cmdlets"]
    for exported in EXPORTED:
        parameters = cmdlets[exported.cmdlet.replace("Get-", "Set-")]["parameters"]
        kinds = {
            name: parameters[name]["kind"] if name in parameters else None
            for name in exported.properties
            if name != exported.identity or name == "Name"
        }
        assert kinds == {name: REFERENCE_KINDS[exported.properties[name]] for name in kinds}


# Reading an export


def test_the_recorded_export_is_read_as_written() -> None:
    live = read_live_export(RECORDED)
    assert live.generated_at.isoformat() == "2026-12-01T08:30:00+00:00"
    assert [c.name for c in live.inbound_connectors] == [
        "mailflow from Example filtering service",
        "mailflow from on-premises",
        "mailflow contoso.com from Example filtering service",
        f"Inbound from {WIZARD_GUID}",
    ]
    partner = live.inbound_connectors[0].properties
    assert partner["SenderDomains"] == ("smtp:*;1",)
    assert partner["SenderIPAddresses"] == ("10.10.10.2",)
    assert partner["EFSkipLastIP"] is True
    assert partner["TlsSenderCertificateName"] is None
    assert live.inbound_connectors[3].properties["Comment"] == (
        "Created by the Hybrid Configuration Wizard; don't edit it by hand"
    )
    assert [c.name for c in live.outbound_connectors] == [f"Outbound to {WIZARD_GUID}"]
    assert live.outbound_connectors[0].properties["TlsSettings"] == "DomainValidation"
    assert live.arc_config is not None
    assert live.arc_config.properties["ArcTrustedSealers"] == ("arc.other-service.example,relay.example.org",)
    assert [(d.name, d.properties["DomainType"]) for d in live.accepted_domains] == [
        ("contoso.com", "InternalRelay"),
        ("contoso.onmicrosoft.com", "Authoritative"),
        ("contoso.mail.onmicrosoft.com", "InternalRelay"),
    ]


def test_the_recorded_export_has_the_shape_the_script_writes() -> None:
    document = json.loads(RECORDED.read_text("utf-8-sig"))
    assert set(document) == {"generatedBy", "generatedAt", *(exported.key for exported in EXPORTED)}
    for exported in EXPORTED:
        entries = [document[exported.key]] if exported.single else document[exported.key]
        for entry in entries:
            assert list(entry) == list(exported.properties)


def test_the_recorded_export_shows_its_deliberate_drift(capsys: pytest.CaptureFixture[str]) -> None:
    """The seed stack against the recorded tenant: the service's IP changed by hand, Enhanced
    Filtering left in test mode, a connector of the per-domain names mailflow used before,
    contoso.com accepted as InternalRelay, and the Hybrid Configuration Wizard's pair of
    connectors beside mailflow's from on-premises."""
    assert main(["connectors", "diff", str(SEED_STACK), str(RECORDED), "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["status"] == "drift"
    findings = [
        (f["severity"], f["change"], f["object"], f["name"], f["parameter"], f["planned"], f["live"])
        for f in report["findings"]
    ]
    assert (
        "drift",
        "different",
        "InboundConnector",
        "mailflow from Example filtering service",
        "SenderIPAddresses",
        ["10.10.10.1"],
        ["10.10.10.2"],
    ) in findings
    assert (
        "drift",
        "set outside",
        "InboundConnector",
        "mailflow from Example filtering service",
        "EFTestMode",
        False,
        True,
    ) in findings
    assert (
        "drift",
        "unexpected",
        "InboundConnector",
        "mailflow contoso.com from Example filtering service",
        None,
        None,
        None,
    ) in findings
    assert (
        "drift",
        "different type",
        "AcceptedDomain",
        "contoso.com",
        "DomainType",
        "Authoritative",
        "InternalRelay",
    ) in findings
    assert (
        "warning",
        "wizard instead",
        "InboundConnector",
        "mailflow from on-premises",
        None,
        None,
        [f"Inbound from {WIZARD_GUID}"],
    ) in findings
    assert findings[-2:] == [
        ("left-alone", "left alone", "InboundConnector", f"Inbound from {WIZARD_GUID}", None, None, None),
        ("left-alone", "left alone", "OutboundConnector", f"Outbound to {WIZARD_GUID}", None, None, None),
    ]
    assert not [f for f in findings if "onmicrosoft.com" in f[3]]


BROKEN_EXPORTS: dict[str, tuple[bytes, str]] = {
    "not-json": (b'{"generatedBy": "mailflow connectors export",', "is not valid JSON (Expecting"),
    "not-utf8": (b'{"generatedBy": "mailflow \xff"}', "is not UTF-8 text (invalid start byte at byte 26)"),
    "utf16": ('{"generatedBy": 1}'.encode("utf-16"), "is UTF-16 text; write it with -Encoding utf8"),
    "not-an-object": (b"[]", "is not the JSON object `mailflow connectors export` writes"),
    "nested-too-deeply": (b"[" * 100_000 + b"]" * 100_000, "is not valid JSON (nested too deeply)"),
    "the-tenant-script-export": (
        json.dumps({"generatedBy": "mailflow tenant script", "domains": []}).encode(),
        ".generatedBy: is 'mailflow tenant script': this is not the file `mailflow connectors export` writes",
    ),
}


@pytest.mark.parametrize("broken", BROKEN_EXPORTS, ids=list(BROKEN_EXPORTS))
def test_a_broken_export_is_a_config_error_naming_it(
    broken: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    content, message = BROKEN_EXPORTS[broken]
    path = tmp_path / "live.json"
    path.write_bytes(content)
    assert main(["connectors", "diff", str(SEED_STACK), str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert f"connectors export ({path})" in err
    assert message in err
    assert "Traceback" not in err


def test_an_export_that_cannot_be_read_is_a_config_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["connectors", "diff", str(SEED_STACK), str(tmp_path / "missing.json")]) == 2
    assert "missing.json): cannot be read (No such file or directory)" in capsys.readouterr().err
    assert main(["connectors", "diff", str(SEED_STACK), str(tmp_path)]) == 2
    assert "cannot be read (Is a directory)" in capsys.readouterr().err


def test_a_huge_export_is_refused_before_it_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(mailflow.live_connectors, "MAX_EXPORT_BYTES", 1024 * 1024)
    path = tmp_path / "huge.json"
    path.write_bytes(b" " * (1024 * 1024 + 1))
    assert main(["connectors", "diff", str(SEED_STACK), str(path)]) == 2
    assert f"connectors export ({path}): is larger than 1 MiB" in capsys.readouterr().err


def test_every_misshapen_value_is_reported_with_its_place(
    tmp_path: Path, in_sync: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    in_sync["generatedAt"] = "yesterday"
    in_sync["inboundConnectors"][0]["SenderIPAddresses"] = "10.10.10.1"
    in_sync["inboundConnectors"][1]["RequireTls"] = 1
    in_sync["inboundConnectors"][1]["Name"] = ""
    in_sync["outboundConnectors"] = {"Name": "mailflow to on-premises"}
    del in_sync["acceptedDomains"]
    path = write_export(tmp_path / "live.json", in_sync)
    assert main(["connectors", "diff", str(SEED_STACK), str(path)]) == 2
    label = f"connectors export ({path})"
    assert capsys.readouterr().err.splitlines()[1:] == [
        f"  {label}.generatedAt: must be a date and time with its time zone",
        f"  {label}.inboundConnectors[0].SenderIPAddresses: must be a list of text or null (got '\"10.10.10.1\"')",
        f"  {label}.inboundConnectors[1].RequireTls: must be true or false or null (got '1')",
        f"  {label}.inboundConnectors[1].Name: is required (non-empty text)",
        f"  {label}.outboundConnectors: must be a list of objects",
        f"  {label}.acceptedDomains: is required (what Get-AcceptedDomain returns)",
    ]


def test_a_connector_named_twice_is_refused(tmp_path: Path, in_sync: dict[str, Any]) -> None:
    twin = copy.deepcopy(in_sync["inboundConnectors"][0])
    twin["Name"] = twin["Name"].upper()
    in_sync["inboundConnectors"].append(twin)
    with pytest.raises(ConfigError, match=r"inboundConnectors\[\d+\]\.Name: repeats 'MAILFLOW "):
        read_back(tmp_path, in_sync)


# The diff: each deliberate change is found, and only it


def test_a_tenant_as_planned_is_in_sync(
    tmp_path: Path, in_sync: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    stack = write_stack(tmp_path, seed_scenario_values())
    path = write_export(tmp_path / "live.json", in_sync)
    assert main(["connectors", "diff", str(stack), str(path)]) == 0
    out = capsys.readouterr().out
    assert out == f"tenant default: in sync (connectors export ({path}), read 2026-12-01T08:30:00Z)\n"


def test_the_seed_stack_as_planned_is_in_sync(tmp_path: Path) -> None:
    tenant = the_tenant(seed_values())
    assert drift(tmp_path, tenant, live_export(tenant)) == []


def test_an_ip_removed_is_a_different_parameter(
    tmp_path: Path, seed_tenant: TenantConnectors, in_sync: dict[str, Any]
) -> None:
    connector = connector_entry(in_sync, lambda entry: bool(entry["SenderIPAddresses"]))
    connector["SenderIPAddresses"] = connector["SenderIPAddresses"][:-1]
    assert drift(tmp_path, seed_tenant, in_sync) == [
        ("different", "InboundConnector", connector["Name"], "SenderIPAddresses")
    ]


def test_enhanced_filtering_flipped_is_a_different_parameter(
    tmp_path: Path, seed_tenant: TenantConnectors, in_sync: dict[str, Any]
) -> None:
    connector = connector_entry(in_sync, lambda entry: entry.get("EFSkipLastIP") is True)
    connector["EFSkipLastIP"] = False
    assert drift(tmp_path, seed_tenant, in_sync) == [
        ("different", "InboundConnector", connector["Name"], "EFSkipLastIP")
    ]


def test_a_smart_host_changed_is_a_different_parameter(
    tmp_path: Path, seed_tenant: TenantConnectors, in_sync: dict[str, Any]
) -> None:
    connector = connector_entry(in_sync, lambda entry: entry.get("SmartHosts") == ["mail.contoso.com"])
    connector["SmartHosts"] = ["mail2.contoso.com"]
    diff = diff_tenant(seed_tenant, read_back(tmp_path, in_sync))
    assert changes(diff.findings) == [("different", "OutboundConnector", connector["Name"], "SmartHosts")]
    assert (diff.findings[0].planned, diff.findings[0].live) == (["mail.contoso.com"], ["mail2.contoso.com"])


def test_a_certificate_name_changed_is_a_different_parameter(
    tmp_path: Path, seed_tenant: TenantConnectors, in_sync: dict[str, Any]
) -> None:
    connector = connector_entry(in_sync, lambda entry: entry.get("TlsSenderCertificateName") is not None)
    connector["TlsSenderCertificateName"] = "old.contoso.com"
    assert drift(tmp_path, seed_tenant, in_sync) == [
        ("different", "InboundConnector", connector["Name"], "TlsSenderCertificateName")
    ]


def test_a_connector_missing_is_found(
    tmp_path: Path, seed_tenant: TenantConnectors, in_sync: dict[str, Any]
) -> None:
    removed = in_sync["outboundConnectors"].pop()
    assert drift(tmp_path, seed_tenant, in_sync) == [("missing", "OutboundConnector", removed["Name"], None)]


def test_a_mailflow_connector_the_plan_no_longer_has_is_unexpected(
    tmp_path: Path, seed_tenant: TenantConnectors, in_sync: dict[str, Any]
) -> None:
    retired = copy.deepcopy(in_sync["inboundConnectors"][0])
    retired["Name"] = "mailflow from Retired filtering service"
    in_sync["inboundConnectors"].append(retired)
    assert drift(tmp_path, seed_tenant, in_sync) == [
        ("unexpected", "InboundConnector", "mailflow from Retired filtering service", None)
    ]


def test_an_arc_sealer_missing_is_found(
    tmp_path: Path, seed_tenant: TenantConnectors, in_sync: dict[str, Any]
) -> None:
    assert seed_tenant.arc_trusted_sealers == (ARC_SEALER,)
    in_sync["arcConfig"]["ArcTrustedSealers"] = ["relay.example.org"]
    assert drift(tmp_path, seed_tenant, in_sync) == [
        ("sealer missing", "ArcConfig", ARC_SEALER, "ArcTrustedSealers")
    ]


def test_no_arc_config_at_all_misses_every_sealer(
    tmp_path: Path, seed_tenant: TenantConnectors, in_sync: dict[str, Any]
) -> None:
    in_sync["arcConfig"] = None
    assert drift(tmp_path, seed_tenant, in_sync) == [
        ("sealer missing", "ArcConfig", ARC_SEALER, "ArcTrustedSealers")
    ]


def test_an_accepted_domain_of_the_wrong_type_is_found(
    tmp_path: Path, seed_tenant: TenantConnectors, in_sync: dict[str, Any]
) -> None:
    domain = next(d for d in in_sync["acceptedDomains"] if d["DomainName"] == "contoso.com")
    planned_type = domain["DomainType"]
    domain["DomainType"] = "ExternalRelay"
    diff = diff_tenant(seed_tenant, read_back(tmp_path, in_sync))
    assert changes(diff.findings) == [("different type", "AcceptedDomain", "contoso.com", "DomainType")]
    assert (diff.findings[0].planned, diff.findings[0].live) == (planned_type, "ExternalRelay")


def test_a_domain_not_accepted_is_found(
    tmp_path: Path, seed_tenant: TenantConnectors, in_sync: dict[str, Any]
) -> None:
    in_sync["acceptedDomains"] = [d for d in in_sync["acceptedDomains"] if d["DomainName"] != "contoso.com"]
    assert drift(tmp_path, seed_tenant, in_sync) == [
        ("not accepted", "AcceptedDomain", "contoso.com", "DomainType")
    ]


def test_a_connector_mailflow_did_not_name_is_left_alone(
    tmp_path: Path, seed_tenant: TenantConnectors, in_sync: dict[str, Any]
) -> None:
    partner = connector_entry(in_sync, lambda entry: entry["ConnectorType"] == ConnectorType.PARTNER)
    by_hand = {**copy.deepcopy(partner), "Name": "From the old filtering service"}
    in_sync["inboundConnectors"].append(by_hand)
    diff = diff_tenant(seed_tenant, read_back(tmp_path, in_sync))
    assert changes(diff.findings) == [
        ("left alone", "InboundConnector", "From the old filtering service", None)
    ]
    assert not diff.drift


def test_a_wizard_connector_is_left_alone_in_place_of_the_planned_one(
    tmp_path: Path, seed_tenant: TenantConnectors, in_sync: dict[str, Any]
) -> None:
    """As the connector script does: with the Hybrid Configuration Wizard's on-premises connector
    in the tenant, mailflow's of that direction is neither made nor set (a warning, no drift)."""
    planned = next(entry for entry in in_sync["inboundConnectors"] if entry["ConnectorType"] == "OnPremises")
    in_sync["inboundConnectors"].remove(planned)
    wizard = {**copy.deepcopy(planned), "Name": f"Inbound from {WIZARD_GUID}"}
    in_sync["inboundConnectors"].append(wizard)
    diff = diff_tenant(seed_tenant, read_back(tmp_path, in_sync))
    assert changes(diff.findings) == [
        ("wizard instead", "InboundConnector", planned["Name"], None),
        ("left alone", "InboundConnector", f"Inbound from {WIZARD_GUID}", None),
    ]
    assert diff.findings[0].live == [f"Inbound from {WIZARD_GUID}"]
    assert not diff.drift


def test_a_disabled_connector_is_a_warning(
    tmp_path: Path, seed_tenant: TenantConnectors, in_sync: dict[str, Any]
) -> None:
    in_sync["inboundConnectors"][0]["Enabled"] = False
    diff = diff_tenant(seed_tenant, read_back(tmp_path, in_sync))
    assert changes(diff.findings) == [
        ("disabled", "InboundConnector", in_sync["inboundConnectors"][0]["Name"], "Enabled")
    ]
    assert not diff.drift


def test_a_property_missing_from_the_export_is_not_compared(
    tmp_path: Path, seed_tenant: TenantConnectors, in_sync: dict[str, Any]
) -> None:
    """An export written by an older script: a warning, not a guess."""
    connector = connector_entry(in_sync, lambda entry: "EFSkipLastIP" in entry and entry["EFSkipLastIP"])
    del connector["EFSkipLastIP"]
    diff = diff_tenant(seed_tenant, read_back(tmp_path, in_sync))
    assert changes(diff.findings) == [("not exported", "InboundConnector", connector["Name"], "EFSkipLastIP")]
    assert not diff.drift


# Comparison: what Exchange Online writes differently is still the same value


def test_values_compare_as_exchange_online_means_them(
    tmp_path: Path, seed_tenant: TenantConnectors, in_sync: dict[str, Any]
) -> None:
    for entry in [*in_sync["inboundConnectors"], *in_sync["outboundConnectors"]]:
        entry["ConnectorType"] = entry["ConnectorType"].lower()
        entry["SenderIPAddresses"] = [f"{ip}/32" for ip in reversed(entry.get("SenderIPAddresses", []))]
        if entry.get("SmartHosts"):
            entry["SmartHosts"] = [f"{host.upper()}." for host in entry["SmartHosts"]]
            entry["TlsSettings"] = entry["TlsSettings"].lower()
            entry["RecipientDomains"] = [domain.upper() for domain in entry["RecipientDomains"]]
        if entry.get("TlsDomain"):
            entry["TlsDomain"] = entry["TlsDomain"].upper()
        if entry.get("TlsSenderCertificateName"):
            entry["TlsSenderCertificateName"] = entry["TlsSenderCertificateName"].upper()
        for name in ("RequireTls", "EFSkipLastIP", "CloudServicesMailEnabled"):
            if isinstance(entry.get(name), bool):
                entry[name] = str(entry[name])  # True, False: as text
        entry["EFUsers"] = None  # $null for a cleared list
    in_sync["acceptedDomains"][0]["DomainType"] = in_sync["acceptedDomains"][0]["DomainType"].upper()
    in_sync["arcConfig"]["ArcTrustedSealers"] = [f"relay.example.org, {ARC_SEALER.upper()}"]
    assert drift(tmp_path, seed_tenant, in_sync) == []


def test_sets_of_ips_compare_without_order(tmp_path: Path) -> None:
    values = seed_values()
    values["domains"][0]["thirdParty"]["connectorIps"] = ["10.10.10.1", "10.10.20.0/24"]
    values["domains"][0]["thirdParty"]["spf"] = ["ip4:10.10.10.1", "ip4:10.10.20.0/24"]
    tenant = the_tenant(values)
    document = live_export(tenant)
    partner = connector_entry(document, lambda entry: entry["ConnectorType"] == ConnectorType.PARTNER)
    partner["SenderIPAddresses"] = ["10.10.20.0/24", "10.10.10.1"]
    assert drift(tmp_path, tenant, document) == []
    partner["SenderIPAddresses"] = ["10.10.20.0/25", "10.10.10.1"]
    assert drift(tmp_path, tenant, document) == [
        ("different", "InboundConnector", partner["Name"], "SenderIPAddresses")
    ]


# The command line: tenants, formats, exit codes


def two_tenant_stack(tmp_path: Path) -> Path:
    values = seed_scenario_values()
    second = copy.deepcopy(values["domains"][0])
    second["name"] = "fabrikam.com"
    second["exchangeOnline"]["tenant"] = "emea"
    values["domains"].append(second)
    return write_stack(tmp_path, values)


def test_several_tenants_need_tenant_to_choose_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = two_tenant_stack(tmp_path)
    plan = plan_stack(read_stack_file(stack)).connectors
    assert [tenant.tenant for tenant in plan.tenants] == ["default", "emea"]
    path = write_export(tmp_path / "emea.json", live_export(planned_tenant(plan, "emea")))
    assert main(["connectors", "diff", str(stack), str(path)]) == 4
    assert "name the one the export is of with --tenant" in capsys.readouterr().err
    assert main(["connectors", "diff", str(stack), str(path), "--tenant", "apac"]) == 4
    assert "--tenant apac: the stack plans no such tenant (its tenants: default, emea)" in (
        capsys.readouterr().err
    )
    assert main(["connectors", "diff", str(stack), str(path), "--tenant", "emea"]) == 0
    assert capsys.readouterr().out.startswith("tenant emea: in sync")
    assert main(["connectors", "diff", str(stack), str(path), "--tenant", "default"]) == 1
    assert "not accepted    AcceptedDomain    contoso.com" in capsys.readouterr().out


def test_drift_is_a_table_line_per_finding_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = live_export(the_tenant(seed_values()))
    partner = connector_entry(document, lambda entry: entry["ConnectorType"] == ConnectorType.PARTNER)
    partner["SenderIPAddresses"] = ["10.10.10.2"]
    path = write_export(tmp_path / "live.json", document)
    assert main(["connectors", "diff", str(SEED_STACK), str(path)]) == 1
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        f"tenant default: drift (connectors export ({path}), read 2026-12-01T08:30:00Z)",
        f"  drift      different       InboundConnector  {partner['Name']}  "
        "SenderIPAddresses: planned [10.10.10.1], live [10.10.10.2]",
    ]
    assert err == ""  # the seed stack lacks no value


def test_json_output_is_printed_in_sync_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_export(tmp_path / "live.json", live_export(the_tenant(seed_values())))
    assert main(["connectors", "diff", str(SEED_STACK), str(path), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "tenant": "default",
        "export": f"connectors export ({path})",
        "generatedAt": "2026-12-01T08:30:00Z",
        "status": "in-sync",
        "drift": False,
        "findings": [],
    }


def test_a_stack_with_config_problems_exits_2_before_the_export_is_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = tmp_path / "Pulumi.bad.yaml"
    stack.write_text(json.dumps({"config": {"mailflow:domains": [{"name": "contoso.com"}]}}))
    assert main(["connectors", "diff", str(stack), str(tmp_path / "missing.json")]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "mailflow:domains[0].topology: is required" in err


def test_the_connector_script_is_still_connectors_stackfile(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["connectors", str(SEED_STACK)]) == 0
    assert capsys.readouterr().out.startswith("# Exchange Online connectors")


def test_diff_without_its_export_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["connectors", "diff", str(SEED_STACK)])
    assert exited.value.code == 4
    assert "LIVE.json" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("direction", "pick", "flag"),
    [
        ("outboundConnectors", lambda entry: True, "IsTransportRuleScoped"),
        ("outboundConnectors", lambda entry: True, "TestMode"),
        ("outboundConnectors", lambda entry: True, "AllAcceptedDomains"),
        ("inboundConnectors", lambda entry: True, "TreatMessagesAsInternal"),
        ("inboundConnectors", lambda entry: entry.get("EFSkipLastIP") is True, "EFTestMode"),
        (
            "inboundConnectors",
            lambda entry: entry.get("RestrictDomainsToCertificate") is True,
            "RestrictDomainsToIPAddresses",
        ),
    ],
)
def test_a_flag_the_plan_leaves_false_set_in_the_tenant_is_found(
    tmp_path: Path,
    seed_tenant: TenantConnectors,
    in_sync: dict[str, Any],
    direction: str,
    pick: Any,
    flag: str,
) -> None:
    """Settings the plan does not write, but which change where mail goes or how it is checked."""
    connector = next(entry for entry in in_sync[direction] if pick(entry))
    connector[flag] = True
    noun = "InboundConnector" if direction == "inboundConnectors" else "OutboundConnector"
    diff = diff_tenant(seed_tenant, read_back(tmp_path, in_sync))
    assert changes(diff.findings) == [("set outside", noun, connector["Name"], flag)]
    assert (
        f"{flag}: live true, which the plan leaves false: Set-{noun} -Identity '{connector['Name']}' -{flag} $false"
        in (report_table(diff))
    )
