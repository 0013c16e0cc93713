"""``MailFlowDomain`` in a Pulumi program of its own, under mocks: its args checked by the gate,
the user's provider, zone and parent, URNs and aliases relative to that parent, secrets."""

from __future__ import annotations

import copy
import re
import runpy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml
from conftest import ROOT, SEED_DOMAIN, SEED_SPF, seed_cloudflare_records
from pulumi.runtime.rpc import is_rpc_secret
from pulumi_harness import Registration, run_mocked

from mailflow.components import ConfigRunError, MailFlowDomain, MailFlowDomainArgs
from mailflow.config import Domain
from mailflow.settings import CloudflareSettings, ZoneFileSettings

EXAMPLE = ROOT / "examples" / "program"
DNS_RECORD = "cloudflare:index/dnsRecord:DnsRecord"
RECORD_SET = "azure-native:dns:RecordSet"
DOMAIN = "mailflow:index:MailFlowDomain"
PARENT = "example:index:Parent"


def seed() -> dict[str, Any]:
    return copy.deepcopy(SEED_DOMAIN)


def of_type(registrations: list[Registration], type_token: str) -> list[Registration]:
    return [r for r in registrations if r.type == type_token]


def inputs(registration: Registration) -> dict[str, Any]:
    return {k: v for k, v in registration.inputs.items() if k != "__provider"}


def test_the_example_program_publishes_in_its_own_zone_through_its_provider_under_its_site() -> None:
    config = {"contoso-site:accountId": "account-1", "contoso-site:cloudflareApiToken": "cf-token"}

    def program() -> dict[str, Any]:
        variables = runpy.run_path(str(EXAMPLE / "__main__.py"), run_name="__main__")
        return {"relayHost": variables["mail"].relay_host}

    registrations, outputs, calls = run_mocked(
        program, config, ["contoso-site:cloudflareApiToken"], project="contoso-site"
    )
    (provider,) = of_type(registrations, "pulumi:providers:cloudflare")
    (site,) = of_type(registrations, "contoso:index:Site")
    (zone,) = of_type(registrations, "cloudflare:index/zone:Zone")
    (domain,) = of_type(registrations, DOMAIN)
    records = [r for r in registrations if r.type == DNS_RECORD and r.parent != site.urn]
    assert {r.name: inputs(r) for r in records} == seed_cloudflare_records("contoso.com-id")
    provider_reference = f"{provider.urn}::cloudflare-id"
    assert {r.provider for r in [zone, *records]} == {provider_reference}
    assert site.parent == "urn:pulumi:test::contoso-site::pulumi:pulumi:Stack::contoso-site-test"
    assert domain.parent == site.urn
    assert zone.parent == site.urn
    sides = {r.urn: r for r in registrations if r.parent == domain.urn and not r.custom}
    assert {side.type for side in sides.values()} == {
        "mailflow:index:ThirdPartyFront",
        "mailflow:index:ExchangeOnline",
    }
    assert all(r.parent == domain.urn or r.parent in sides for r in records)
    assert {r.name for r in records if r.protect} == {
        "contoso.com/MX/mx1.filter.example.net",
        "contoso.com/MX/mx2.filter.example.net",
        "contoso.com/TXT/spf",
    }
    assert calls == []  # the zone is the program's: no lookup by name
    assert outputs == {"relayHost": "contoso-com.mail.protection.outlook.com"}


def under_a_parent(tree: str) -> list[Registration]:
    def program() -> None:
        parent = pulumi.ComponentResource(PARENT, "parent")
        args = MailFlowDomainArgs(
            domain=seed(), target={"kind": "cloudflare", "zoneId": "zone-1"}, resource_tree=tree
        )
        MailFlowDomain("contoso.com", args, pulumi.ResourceOptions(parent=parent))

    registrations, _, _ = run_mocked(program)
    return registrations


def test_a_component_under_a_parent_is_named_and_aliased_relative_to_it() -> None:
    types = f"urn:pulumi:test::mailflow::{PARENT}${DOMAIN}"
    parent_urn = f"urn:pulumi:test::mailflow::{PARENT}::parent"
    domain_urn = f"{types}::contoso.com"
    sides = {
        f"{types}$mailflow:index:ThirdPartyFront::contoso.com/third-party-front",
        f"{types}$mailflow:index:ExchangeOnline::contoso.com/exchange-online",
    }
    runs = {tree: under_a_parent(tree) for tree in ("parts", "domain")}
    assert {r.urn for r in runs["parts"] if not r.custom} == {parent_urn, domain_urn, *sides}
    places: dict[str, frozenset[str]] = {}
    for tree, registrations in runs.items():
        for record in (r for r in registrations if r.custom):
            assert record.urn.startswith(f"{types}$")
            place = frozenset({record.urn, *record.aliases})  # its URN, and its URN in the other shapes
            assert places.setdefault(record.name, place) == place, tree
    # Under the parent (flat), under the component (domain) and, for a side's records, under the
    # side (parts).
    record_type = "cloudflare:index/dnsRecord:DnsRecord"
    sides_used = set()
    for name, place in places.items():
        shapes = {
            f"urn:pulumi:test::mailflow::{PARENT}${record_type}::{name}",
            f"{types}${record_type}::{name}",
        }
        assert shapes <= place
        under_side = {side for side in sides if f"{side.rpartition('::')[0]}${record_type}::{name}" in place}
        assert place == shapes | {f"{side.rpartition('::')[0]}${record_type}::{name}" for side in under_side}
        sides_used |= under_side
    assert sides_used == sides
    assert any(len(place) == 2 for place in places.values())  # the domain's own records: no side


@pytest.mark.parametrize("option", ["provider", "providers"])
def test_a_provider_given_in_opts_reaches_every_record(option: str) -> None:
    def program() -> None:
        provider = pulumi.ProviderResource("cloudflare", "mine", {})
        args = MailFlowDomainArgs(domain=seed(), target={"kind": "cloudflare"}, zone_id="zone-1")
        given = provider if option == "provider" else [provider]
        MailFlowDomain("contoso.com", args, pulumi.ResourceOptions(**{option: given}))

    registrations, _, _ = run_mocked(program)
    (provider,) = [r for r in registrations if r.type == "pulumi:providers:cloudflare"]
    records = [r for r in registrations if r.type == DNS_RECORD]
    assert len(records) == 6
    assert {r.provider for r in records} == {f"{provider.urn}::mine-id"}


@pytest.mark.parametrize(("production", "protect"), [(True, None), (False, True)])
def test_production_protects_mx_and_spf_and_the_protect_option_every_record(
    production: bool, protect: bool | None
) -> None:
    def program() -> None:
        args = MailFlowDomainArgs(
            domain=seed(), target={"kind": "cloudflare"}, zone_id="zone-1", production=production
        )
        MailFlowDomain("contoso.com", args, pulumi.ResourceOptions(protect=protect))

    registrations, _, _ = run_mocked(program)
    protected = {r.name for r in of_type(registrations, DNS_RECORD) if r.protect}
    routing = {
        "contoso.com/MX/mx1.filter.example.net",
        "contoso.com/MX/mx2.filter.example.net",
        "contoso.com/TXT/spf",
    }
    assert protected == (routing if production else {r.name for r in of_type(registrations, DNS_RECORD)})


@pytest.mark.parametrize("given", ["plain", "output"])
def test_a_tsig_secret_given_as_an_arg_is_a_secret_in_the_registered_inputs(given: str) -> None:
    def program() -> None:
        secret = "c2VjcmV0" if given == "plain" else pulumi.Output.from_input("c2VjcmV0")
        target = {"kind": "rfc2136", "server": "192.0.2.53", "keyName": "mailflow"}
        MailFlowDomain("contoso.com", MailFlowDomainArgs(domain=seed(), target=target, tsig_secret=secret))

    registrations, _, _ = run_mocked(program)
    record_sets = [r for r in registrations if r.custom]
    assert record_sets
    for record_set in record_sets:
        secret = record_set.inputs["tsigSecret"]
        assert is_rpc_secret(secret) and secret["value"] == "c2VjcmV0"


def test_an_output_zone_id_and_resource_group_name_reach_the_records() -> None:
    def program() -> None:
        zone_id = pulumi.Output.from_input("zone-from-output")
        cloudflare = MailFlowDomainArgs(domain=seed(), target={"kind": "cloudflare"}, zone_id=zone_id)
        MailFlowDomain("contoso.com", cloudflare)
        fabrikam = {**seed(), "name": "fabrikam.com"}
        group = pulumi.Output.from_input("rg-from-output")
        azure = MailFlowDomainArgs(domain=fabrikam, target={"kind": "azure"}, resource_group_name=group)
        MailFlowDomain("fabrikam.com", azure)

    registrations, _, calls = run_mocked(program)
    assert {r.inputs["zoneId"] for r in registrations if r.type == DNS_RECORD} == {"zone-from-output"}
    assert {r.inputs["resourceGroupName"] for r in registrations if r.type == RECORD_SET} == {
        "rg-from-output"
    }
    assert calls == []


def test_a_domain_model_and_a_settings_model_are_args_as_their_config_is() -> None:
    def program(domain: Any, target: Any) -> None:
        MailFlowDomain("contoso.com", MailFlowDomainArgs(domain=domain, target=target))

    as_config, _, _ = run_mocked(lambda: program(seed(), {"kind": "cloudflare", "zoneId": "zone-1"}))
    as_models, _, _ = run_mocked(
        lambda: program(
            Domain.model_validate(seed()), CloudflareSettings(kind="cloudflare", zone_id="zone-1")
        )
    )
    assert {r.urn: r.inputs for r in as_models} == {r.urn: r.inputs for r in as_config}


def test_the_component_gives_the_records_spf_and_hosts_of_the_domain() -> None:
    components: list[MailFlowDomain] = []

    def program() -> None:
        args = MailFlowDomainArgs(domain=seed(), target={"kind": "cloudflare", "zoneId": "zone-1"})
        components.append(MailFlowDomain("contoso.com", args))

    run_mocked(program)
    (component,) = components
    assert component.spf == SEED_SPF.strip('"')
    assert component.spf_lookups == 1
    assert component.exo_mx_host == component.relay_host == "contoso-com.mail.protection.outlook.com"
    assert component.topology == "third-party-hybrid"
    assert {"name": "contoso.com.", "type": "MX", "ttl": 3600, "value": "10 mx1.filter.example.net."} in (
        component.records
    )
    assert len(component.records) == 6


def mailflow_plan_problems(tmp_path: Path, domain: dict[str, Any], target: dict[str, Any]) -> list[str]:
    """The problem lines `mailflow plan` prints for a stack file holding this domain and target."""
    stack_file = tmp_path / "Pulumi.bad.yaml"
    config = {"mailflow:domains": [domain], "mailflow:target": target}
    stack_file.write_text(yaml.safe_dump({"config": config}))
    result = subprocess.run(
        [sys.executable, "-m", "mailflow", "plan", str(stack_file)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    return [line.strip() for line in result.stderr.splitlines() if line.startswith("  ")]


def test_bad_args_stop_the_program_with_the_problems_mailflow_plan_gives(tmp_path: Path) -> None:
    """The same problems, each named after the arg it is in rather than the config key."""
    domain = seed()
    domain["onPremises"]["ips"] = ["131.107.21.999"]
    domain["ttl"] = 0
    target = {"kind": "cloudflare", "zonId": "zone-1"}

    def program() -> None:
        MailFlowDomain("contoso.com", MailFlowDomainArgs(domain=domain, target=target))

    with pytest.raises(ConfigRunError) as caught:
        run_mocked(program)
    assert isinstance(caught.value, pulumi.RunError)  # Pulumi prints it without a traceback
    problems = [str(problem) for problem in caught.value.problems]
    in_plan = mailflow_plan_problems(tmp_path, domain, target)
    renamed = [
        p.replace("mailflow:domains[0].", "domain.").replace("mailflow:target.", "target.") for p in in_plan
    ]
    assert problems == renamed
    assert problems == [
        "target.zonId: is not a known setting (check its spelling and camelCase)",
        "domain.onPremises.ips[0]: '131.107.21.999' is not an IPv4 or IPv6 address or CIDR network",
        "domain.ttl: Input should be greater than or equal to 60 (got 0)",
    ]


@pytest.mark.parametrize(
    "target",
    [
        ZoneFileSettings(),
        {"kind": "zonefile"},
        ZoneFileSettings(directory="zones", nameservers=("ns1.example.net",)),
        CloudflareSettings(kind="cloudflare", zone_id="zone-1"),
    ],
)
def test_a_target_given_as_a_model_or_as_config_is_checked_by_the_gate(target: Any) -> None:
    domain = MailFlowDomainArgs(domain=seed(), target=target).planned()
    assert domain.plan.domain == "contoso.com"


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (
            {"target": {"kind": "azure", "resourceGroupName": "rg"}, "zone_id": "zone-1"},
            "zone_id: is only used by the cloudflare target, not azure",
        ),
        (
            {"target": {"kind": "cloudflare", "zoneId": "zone-1"}, "zone_id": "zone-2"},
            "zone_id: is given, and so is a zoneId in the config: keep one",
        ),
        (
            {"target": {"kind": "azure", "resourceGroupName": "rg"}, "resource_group_name": "rg-2"},
            "resource_group_name: is given, and so is the target's resourceGroupName: keep one",
        ),
        ({"resource_tree": "flat"}, "resource_tree: 'flat' is not one of: parts or domain"),
        (
            {"target": {"kind": "rfc2136", "server": "192.0.2.53", "keyName": "k"}},
            "tsig_secret: is required by the rfc2136 target",
        ),
        (
            {
                "target": {"kind": "rfc2136", "server": "192.0.2.53", "keyName": "k"},
                "tsig_secret": "not base64!",
            },
            "tsig_secret: is not valid base64",
        ),
    ],
)
def test_args_are_checked_against_the_target_they_serve(args: dict[str, Any], problem: str) -> None:
    with pytest.raises(ConfigRunError, match=problem.replace(".", r"\.").replace("(", r"\(")):
        MailFlowDomainArgs(domain=seed(), **args).planned()


def test_a_target_that_is_no_mapping_is_named_not_a_traceback() -> None:
    with pytest.raises(ConfigRunError) as caught:
        MailFlowDomainArgs(domain=seed(), target="cloudflare").planned()  # type: ignore[arg-type]
    assert [str(p) for p in caught.value.problems] == [
        "target: Input should be a valid dictionary or object to extract fields from (got 'cloudflare')"
    ]


@pytest.mark.parametrize(
    ("target", "providers", "says"),
    [
        (
            None,
            ["cloudflare"],
            "target: is zonefile (the default), but opts passes a cloudflare provider and none of zonefile: "
            "set target={'kind': 'cloudflare', …} for records published through it",
        ),
        (
            {"kind": "azure", "resourceGroupName": "rg"},
            ["cloudflare"],
            "target: is azure, but opts passes a cloudflare",
        ),
        ({"kind": "cloudflare"}, ["cloudflare", "azure-native"], None),
        (None, ["random"], None),
    ],
)
def test_a_provider_of_another_target_than_the_args_name_is_refused(
    target: dict[str, Any] | None, providers: list[str], says: str | None
) -> None:
    def program() -> None:
        given = [pulumi.ProviderResource(package, f"mine-{package}", {}) for package in providers]
        extra = {"target": target} if target else {}
        args = MailFlowDomainArgs(
            domain=seed(), zone_id="zone-1" if target == {"kind": "cloudflare"} else None, **extra
        )
        MailFlowDomain("contoso.com", args, pulumi.ResourceOptions(providers=given))

    if says is None:
        run_mocked(program)
        return
    with pytest.raises(Exception, match=re.escape(says)):
        run_mocked(program)
