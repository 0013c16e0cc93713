"""The Pulumi program under mocks: resource types and inputs per target and topology, the
component tree, secrets, protection, adoption, and config errors before any registration."""

from __future__ import annotations

import copy
import gc
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import dns.rdata
import pulumi
import pytest
from conftest import (
    EXAMPLES,
    ROOT,
    SEED_DOMAIN,
    SEED_SPF,
    SEED_STACK,
    example_values,
    seed_cloudflare_records,
)
from pulumi_harness import run_program
from stack_fixtures import stack_values

from mailflow.plan import REGISTRATION_GC_THRESHOLDS
from mailflow.settings import RESOURCE_TREES
from mailflow.stackfile import read_stack_file

CLOUDFLARE = {"kind": "cloudflare", "zoneId": "zone-1"}
AZURE = {"kind": "azure", "resourceGroupName": "rg-dns"}
DNS_RECORD = "cloudflare:index/dnsRecord:DnsRecord"
RECORD_SET = "azure-native:dns:RecordSet"
ZONE_FILE = "pulumi-python:dynamic:Resource"
PART_OF_MX = {
    "exchange-online": "mailflow:index:ExchangeOnline",
    "third-party-front": "mailflow:index:ThirdPartyFront",
    "hybrid-exo-front": "mailflow:index:ExchangeOnline",
    "hybrid-onprem-front": "mailflow:index:OnPremises",
    "third-party-hybrid": "mailflow:index:ThirdPartyFront",
}


def seed(target: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"domains": [copy.deepcopy(SEED_DOMAIN)], **extra}
    if target is not None:
        values["target"] = target
    return values


def inputs(registration: Any) -> dict[str, Any]:
    return {k: v for k, v in registration.inputs.items() if k != "__provider"}


def test_cloudflare_seed_registers_each_record_with_exact_inputs() -> None:
    run = run_program(seed(CLOUDFLARE))
    records = {r.name: inputs(r) for r in run.of_type(DNS_RECORD)}
    assert records == seed_cloudflare_records("zone-1")


def test_cloudflare_long_txt_is_sent_as_quoted_255_byte_strings() -> None:
    values = seed(CLOUDFLARE)
    values["domains"][0]["spf"] = {"extra": [f"ip4:192.0.2.{i}" for i in range(30)]}
    content = run_program(values).named("contoso.com/TXT/spf").inputs["content"]
    strings = dns.rdata.from_text("IN", "TXT", content).strings
    assert len(strings) == 3 and all(len(s) <= 255 for s in strings)
    assert b"".join(strings).decode().endswith("include:spf.protection.outlook.com -all")


def test_cloudflare_zone_is_looked_up_by_name_unless_configured() -> None:
    values = seed({"kind": "cloudflare"})
    second = copy.deepcopy(SEED_DOMAIN)
    second.update(name="fabrikam.com", zoneId="zone-fabrikam")
    values["domains"].append(second)
    run = run_program(values)
    assert [(token, args["filter"]["name"]) for token, args in run.calls] == [
        ("cloudflare:index/getZone:getZone", "contoso.com")
    ]
    assert run.named("contoso.com/TXT/spf").inputs["zoneId"] == "zone-of-contoso.com"
    assert run.named("fabrikam.com/TXT/spf").inputs["zoneId"] == "zone-fabrikam"


def test_azure_groups_values_into_one_record_set_per_name_and_type() -> None:
    run = run_program(seed(AZURE))
    sets = {r.name: inputs(r) for r in run.of_type(RECORD_SET)}
    common = {
        "resourceGroupName": "rg-dns",
        "zoneName": "contoso.com",
        "ttl": 3600,
        "metadata": {"managedBy": "mailflow"},
    }
    assert sets == {
        "contoso.com/MX": {
            **common,
            "relativeRecordSetName": "@",
            "recordType": "MX",
            "mxRecords": [
                {"exchange": "mx1.filter.example.net", "preference": 10},
                {"exchange": "mx2.filter.example.net", "preference": 20},
            ],
        },
        "contoso.com/TXT": {
            **common,
            "relativeRecordSetName": "@",
            "recordType": "TXT",
            "txtRecords": [
                {"value": ["MS=ms12345678"]},
                {
                    "value": [
                        "v=spf1 ip4:10.10.10.1 ip4:131.107.21.231 include:spf.protection.outlook.com -all"
                    ]
                },
            ],
        },
        "_dmarc.contoso.com/TXT": {
            **common,
            "relativeRecordSetName": "_dmarc",
            "recordType": "TXT",
            "txtRecords": [{"value": ["v=DMARC1; p=quarantine; rua=mailto:dmarc@contoso.com"]}],
        },
        "autodiscover.contoso.com/CNAME": {
            **common,
            "relativeRecordSetName": "autodiscover",
            "recordType": "CNAME",
            "cnameRecord": {"cname": "mail.contoso.com"},
        },
    }


def test_azure_zone_name_makes_names_relative_to_the_parent_zone() -> None:
    values = seed(AZURE)
    values["domains"][0].update(name="mail.contoso.com", zoneName="contoso.com")
    sets = {r.name: inputs(r) for r in run_program(values).of_type(RECORD_SET)}
    assert sets["mail.contoso.com/MX"]["relativeRecordSetName"] == "mail"
    assert sets["_dmarc.mail.contoso.com/TXT"]["relativeRecordSetName"] == "_dmarc.mail"
    assert {s["zoneName"] for s in sets.values()} == {"contoso.com"}


def test_zonefile_is_the_default_target_with_one_file_per_domain() -> None:
    run = run_program(seed())
    (zone_file,) = run.of_type(ZONE_FILE)
    props = inputs(zone_file)
    assert zone_file.name == "contoso.com/zone"
    # Relative to the project, so state holds no path of one checkout.
    assert props["path"] == "out/zones/contoso.com.zone"
    assert props["origin"] == "contoso.com."
    assert props["nameservers"] == ["localhost."]
    assert props["hostmaster"] == "hostmaster.contoso.com."
    assert {(r["name"], r["type"], r["value"]) for r in props["records"]} == {
        ("contoso.com.", "MX", "10 mx1.filter.example.net."),
        ("contoso.com.", "MX", "20 mx2.filter.example.net."),
        ("contoso.com.", "TXT", '"MS=ms12345678"'),
        ("contoso.com.", "TXT", SEED_SPF),
        ("_dmarc.contoso.com.", "TXT", '"v=DMARC1; p=quarantine; rua=mailto:dmarc@contoso.com"'),
        ("autodiscover.contoso.com.", "CNAME", "mail.contoso.com."),
    }


@pytest.mark.parametrize("target", [CLOUDFLARE, AZURE, None], ids=["cloudflare", "azure", "zonefile"])
@pytest.mark.parametrize("example", sorted(p.stem for p in EXAMPLES.glob("*.yaml")))
def test_every_topology_on_every_target_builds_the_component_tree(example: str, target: Any) -> None:
    values = {**example_values(example), "resourceTree": "parts", "stackOutputs": "full"}
    if target is not None:
        values["target"] = target
    run = run_program(values)
    (domain,) = run.of_type("mailflow:index:MailFlowDomain")
    parts = [r for r in run.registrations if r.parent == domain.urn and not r.custom]
    assert domain.parent.endswith("pulumi:pulumi:Stack::mailflow-test")
    topology = values["domains"][0]["topology"]
    sides = {"mailflow:index:ExchangeOnline"}
    if "third-party" in topology:
        sides.add("mailflow:index:ThirdPartyFront")
    if "hybrid" in topology:
        sides.add("mailflow:index:OnPremises")
    resources = [r for r in run.registrations if r.custom]
    allowed_parents = {domain.urn, *(p.urn for p in parts)}
    assert resources and all(r.parent in allowed_parents for r in resources)
    # A side is a component only when it holds resources: a zone file serves the whole domain.
    assert {p.type for p in parts} <= sides
    assert all(any(r.parent == p.urn for r in resources) for p in parts)
    if target is None:
        assert parts == []
    if target == CLOUDFLARE:
        mx = [r for r in resources if r.inputs["type"] == "MX"]
        assert {run.by_urn(r.parent).type for r in mx} == {PART_OF_MX[topology]}
        assert len(resources) == len(run.outputs["domains"][values["domains"][0]["name"]]["records"])


@pytest.mark.parametrize("target", [CLOUDFLARE, AZURE, None], ids=["cloudflare", "azure", "zonefile"])
def test_each_resource_tree_registers_the_same_resources_aliased_to_the_other_shapes(target: Any) -> None:
    values = example_values("third-party-hybrid")
    if target is not None:
        values["target"] = target
    runs = {tree: run_program({**values, "resourceTree": tree}) for tree in RESOURCE_TREES}
    stack_urn = runs["parts"].of_type("mailflow:index:MailFlowDomain")[0].parent
    urn_in = {tree: {r.name: r.urn for r in run.registrations if r.custom} for tree, run in runs.items()}
    components = {
        tree: sorted(r.type for r in run.registrations if not r.custom) for tree, run in runs.items()
    }
    assert components["flat"] == []
    assert components["domain"] == ["mailflow:index:MailFlowDomain"]
    assert "mailflow:index:MailFlowDomain" in components["parts"]
    assert {r.parent for r in runs["flat"].registrations} == {stack_urn}
    if target == CLOUDFLARE:
        sides = {r.parent for r in runs["parts"].registrations if r.custom} - {stack_urn}
        assert len(sides) > 1  # some records sit under a side, others under the domain
    for run in runs.values():
        resources = [r for r in run.registrations if r.custom]
        same = {r.name: r.inputs for r in runs["parts"].registrations if r.custom}
        assert {r.name: r.inputs for r in resources} == same
        for resource in resources:
            elsewhere = {urn_in[other][resource.name] for other in RESOURCE_TREES}
            assert set(resource.aliases) == elsewhere - {resource.urn}
            assert all(isinstance(alias, str) for alias in resource.aliases)
        assert run.outputs == runs["parts"].outputs


def test_an_unknown_resource_tree_is_a_config_error() -> None:
    with pytest.raises(
        Exception, match=r"mailflow:resourceTree: 'nested' is not one of: parts, domain or flat"
    ):
        run_program(seed(resourceTree="nested"))


def test_the_stack_is_flat_by_default_with_no_components() -> None:
    run = run_program(seed(CLOUDFLARE))
    assert run.registrations and all(r.custom for r in run.registrations)
    assert {r.parent for r in run.registrations} == {run.guard.parent}


def test_the_stack_exports_a_summary_by_default() -> None:
    values = {**stack_values(2), "target": CLOUDFLARE}
    assert run_program(values).outputs == {"summary": {"domains": 2, "records": 16, "warnings": 0}}
    values["domains"][1]["onPremises"].pop("smartHost")
    assert run_program(values).outputs["summary"]["warnings"] == 1


def test_stack_outputs_domains_add_each_domains_hosts_but_not_its_records() -> None:
    outputs = run_program(seed(CLOUDFLARE, stackOutputs="domains")).outputs
    assert set(outputs) == {"summary", "domains"}
    assert outputs["domains"]["contoso.com"]["relayHost"] == "contoso-com.mail.protection.outlook.com"
    assert "records" not in outputs["domains"]["contoso.com"]


def test_stack_outputs_full_add_the_records_and_the_connector_script_mailflow_connectors_prints(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from mailflow.cli import main

    outputs = run_program({**read_stack_file(SEED_STACK), "stackOutputs": "full"}).outputs
    assert main(["connectors", str(SEED_STACK)]) == 0
    assert outputs["connectorScript"] == capsys.readouterr().out
    assert len(outputs["domains"]["contoso.com"]["records"]) == outputs["summary"]["records"]


def test_an_unknown_stack_outputs_level_is_a_config_error() -> None:
    with pytest.raises(
        Exception, match=r"mailflow:stackOutputs: 'all' is not one of: summary, domains or full"
    ):
        run_program(seed(stackOutputs="all"))


def test_stack_outputs_give_records_spf_lookups_and_relay_host() -> None:
    outputs = run_program(seed(CLOUDFLARE, stackOutputs="full")).outputs["domains"]["contoso.com"]
    assert outputs["spf"] == SEED_SPF.strip('"')
    assert outputs["spfLookups"] == 1
    assert outputs["relayHost"] == "contoso-com.mail.protection.outlook.com"
    assert outputs["exoMxHost"] == "contoso-com.mail.protection.outlook.com"
    assert {
        "name": "contoso.com.",
        "type": "MX",
        "ttl": 3600,
        "value": "10 mx1.filter.example.net.",
    } in outputs["records"]


def test_logical_names_do_not_depend_on_config_order() -> None:
    first = copy.deepcopy(SEED_DOMAIN)
    second = copy.deepcopy(SEED_DOMAIN)
    second["name"] = "fabrikam.com"
    second["thirdParty"]["mx"].reverse()
    forward = run_program({"domains": [first, second], "target": CLOUDFLARE})
    backward = run_program({"domains": [second, first], "target": CLOUDFLARE})
    assert {r.urn for r in forward.registrations} == {r.urn for r in backward.registrations}


def test_production_protects_mx_and_spf_only() -> None:
    run = run_program(seed(CLOUDFLARE, production=True))
    protected = {r.name for r in run.of_type(DNS_RECORD) if r.protect}
    assert protected == {
        "contoso.com/MX/mx1.filter.example.net",
        "contoso.com/MX/mx2.filter.example.net",
        "contoso.com/TXT/spf",
    }
    assert not any(r.protect for r in run_program(seed(CLOUDFLARE)).registrations)


def test_import_ids_adopt_existing_records() -> None:
    values = seed(CLOUDFLARE)
    values["domains"][0]["importIds"] = {"contoso.com/TXT/spf": "zone-1/rec-spf"}
    run = run_program(values)
    assert run.named("contoso.com/TXT/spf").import_id == "zone-1/rec-spf"
    assert run.named("contoso.com/TXT/verification").import_id == ""


def test_unknown_import_id_is_a_config_error_before_any_resource() -> None:
    values = seed(AZURE)
    values["domains"][0]["importIds"] = {"contoso.com/TXT/spf": "/subscriptions/x"}
    with pytest.raises(
        Exception,
        match=r"mailflow:domains\[0\]\.importIds\.contoso\.com/TXT/spf: is not a "
        r"resource of this domain; its resources: .*contoso\.com/TXT",
    ):
        run_program(values)


def test_config_error_stops_the_program_before_any_registration() -> None:
    values = seed(CLOUDFLARE)
    values["domains"][0]["onPremises"]["ips"] = ["131.107.21.999"]
    captured: list[Any] = []
    with pytest.raises(
        Exception,
        match=r"mailflow:domains\[0\]\.onPremises\.ips\[0\]: '131\.107\.21\.999' "
        r"is not an IPv4 or IPv6 address",
    ) as caught:
        captured.append(run_program(values))
    assert isinstance(caught.value, pulumi.RunError)  # Pulumi prints it without a traceback
    assert captured == []


def test_strict_stack_refuses_a_derived_value_before_any_registration() -> None:
    values = seed(CLOUDFLARE, strict="true")
    del values["domains"][0]["exchangeOnline"]["mxHost"]
    with pytest.raises(
        Exception,
        match=r"mailflow:domains\[0\]\.exchangeOnline\.mxHost: derived as "
        r"'contoso-com\.mail\.protection\.outlook\.com'.*strict mode refuses",
    ):
        run_program(values)


def test_the_program_publishes_the_tenant_files_values() -> None:
    """The seed stack names stacks/tenant/contoso.yaml (relative to the project directory)."""
    from mailflow.stackfile import read_stack_file

    values = read_stack_file(ROOT / "stacks" / "Pulumi.local.yaml")
    run = run_program({**values, "target": CLOUDFLARE, "strict": "true", "stackOutputs": "domains"})
    cnames = {
        inputs(r)["name"]: inputs(r)["content"]
        for r in run.of_type(DNS_RECORD)
        if inputs(r)["type"] == "CNAME"
    }
    assert (
        cnames["selector1._domainkey.contoso.com"]
        == "selector1-contoso-com._domainkey.contoso.onmicrosoft.com"
    )
    assert run.outputs["domains"]["contoso.com"]["relayHost"] == "contoso-com.mail.protection.outlook.com"


def test_zone_keys_must_match_the_target() -> None:
    values = seed(AZURE)
    values["domains"][0]["zoneId"] = "zone-1"
    with pytest.raises(
        Exception, match=r"mailflow:domains\[0\]\.zoneId: is only used by the cloudflare target"
    ):
        run_program(values)


def test_credentials_stay_secret_and_out_of_inputs_and_outputs() -> None:
    token = "cf-token-7f3a9c"
    run = run_program(
        seed(CLOUDFLARE), extra_config={"cloudflare:apiToken": token}, secret_keys=["cloudflare:apiToken"]
    )
    registered = json.dumps([r.inputs for r in run.registrations], default=str)
    assert token not in registered
    assert token not in json.dumps(run.outputs, default=str)


@pytest.mark.parametrize(
    ("kind", "loaded", "absent"),
    [
        ("zonefile", [], ["pulumi_cloudflare", "pulumi_azure_native"]),
        ("cloudflare", ["pulumi_cloudflare"], ["pulumi_azure_native"]),
        ("azure", ["pulumi_azure_native"], ["pulumi_cloudflare"]),
    ],
)
def test_a_stack_imports_only_its_own_provider_sdk(kind: str, loaded: list[str], absent: list[str]) -> None:
    target = {"zonefile": {"kind": "zonefile"}, "cloudflare": CLOUDFLARE, "azure": AZURE}[kind]
    script = (
        "import json, sys\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "from pulumi_harness import run_program\n"
        f"run_program({{'domains': [{SEED_DOMAIN!r}], 'target': {target!r}}})\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('pulumi_cloudflare', 'pulumi_azure_native'))))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT
    )
    modules = {m.split(".")[0] for m in json.loads(result.stdout.strip().splitlines()[-1])}
    assert set(loaded) <= modules
    assert not modules & set(absent)


@pytest.fixture
def thresholds() -> Any:
    """The collector's thresholds, put back after the test."""
    before = gc.get_threshold()
    yield before
    gc.set_threshold(*before)


def test_the_program_process_tunes_the_collector_and_run_alone_does_not(
    thresholds: tuple[int, int, int],
) -> None:
    gc.unfreeze()
    run_program(seed())
    # run() is what tests and other programs call: their collector is left as it was.
    assert gc.get_threshold() == thresholds
    assert gc.get_freeze_count() == 0
    try:
        run_program(seed(), as_main=True)
        assert gc.get_threshold() == REGISTRATION_GC_THRESHOLDS
        assert REGISTRATION_GC_THRESHOLDS[0] > thresholds[0]
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


@pytest.mark.parametrize("tree", RESOURCE_TREES)
def test_the_stack_program_registers_from_run_called_by_the_program(
    tree: str, thresholds: tuple[int, int, int]
) -> None:
    """The engine keeps each resource's stack trace in state and rewrites it on every checkpoint:
    every resource of the stack is registered by ``run`` itself, which ``__main__.py`` calls, as
    a hand-written program registers its resources (the records of a component, by the component)."""
    try:
        run = run_program(seed(resourceTree=tree), as_main=True)
    finally:
        gc.unfreeze()
    assert run.registrations
    for registration in run.registrations:
        # Below the first frame outside the resource's own class (the zone file's, here).
        inner, outer = [uri for uri, _ in registration.stack if "/mailflow/targets/" not in uri][:2]
        if registration.parent.endswith(("::contoso.com", "/ExchangeOnline", "/ThirdPartyFront", "/OnPremises")):
            assert inner.endswith("/mailflow/components.py"), registration.name
        else:
            assert inner.endswith("/mailflow/program.py"), registration.name
            assert outer.endswith("/__main__.py"), registration.name
