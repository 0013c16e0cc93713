"""The component package other languages use (mailflow/provider.py): its schema, and how bad
inputs reach the engine, without the engine (tests/test_yaml_program.py runs it through one)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pulumi
import pytest
from conftest import SEED_DOMAIN
from pulumi.errors import InputPropertiesError
from pulumi.provider.server import ComponentInitError

import mailflow
from mailflow import components
from mailflow.provider import MailFlowDomain, MailFlowProvider, schema_path

DOMAIN = "mailflow:index:MailFlowDomain"


@pytest.fixture(scope="module")
def provider() -> MailFlowProvider:
    return MailFlowProvider([MailFlowDomain], "mailflow", None, mailflow.__version__)


@pytest.fixture(scope="module")
def schema(provider: MailFlowProvider) -> dict[str, Any]:
    return dict(json.loads(provider.schema))


def test_the_schema_declares_the_component_with_every_arg_and_output(schema: dict[str, Any]) -> None:
    assert (schema["name"], schema["version"]) == ("mailflow", mailflow.__version__)
    resource = schema["resources"][DOMAIN]
    assert resource["isComponent"] is True
    inputs = resource["inputProperties"]
    # What the plan needs when the program starts is plain; what a user takes from another
    # resource (or a secret) is an Input.
    assert {name for name, spec in inputs.items() if spec.get("plain")} == {
        "domain",
        "target",
        "resourceTree",
        "production",
        "strict",
        "tenantFile",
    }
    assert {name for name, spec in inputs.items() if not spec.get("plain")} == {
        "zoneId",
        "resourceGroupName",
        "tsigSecret",
    }
    assert resource["requiredInputs"] == ["domain"]
    assert resource["required"] == sorted(["topology", "spf", "spfLookups", "exoMxHost", "records"])
    assert resource["properties"]["relayHost"] == {
        "type": "string",
        "description": "Where a third-party service in front relays inbound mail (absent without one).",
    }
    for name, spec in (*inputs.items(), *resource["properties"].items()):
        assert spec.get("description"), f"{name} has no description"
        assert "``" not in spec["description"], "schema descriptions are Markdown"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("tsig_secret", "tsigSecret"),
        ("resource_tree", "resourceTree"),
        ("domain.thirdParty.mx[1].host", "domain.thirdParty.mx[1].host"),
        ("target.zonId", "target.zonId"),
        ("tenant_file", "tenantFile"),
    ],
)
def test_problem_paths_are_named_as_other_languages_name_the_args(path: str, expected: str) -> None:
    assert schema_path(path) == expected


def construct_problems(provider: MailFlowProvider, inputs: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(InputPropertiesError) as caught:
        provider.construct("contoso.com", DOMAIN, inputs)
    assert caught.value.message.startswith("mailflow: ")
    return [(error["property_path"], error["reason"]) for error in caught.value.errors or []]


def test_config_problems_reach_the_engine_as_property_errors(provider: MailFlowProvider) -> None:
    domain = copy.deepcopy(SEED_DOMAIN)
    domain["ttl"] = 0
    inputs = {
        "domain": domain,
        "target": {"kind": "rfc2136", "server": "192.0.2.53", "keyName": "mailflow"},
        "zoneId": "zone-1",
    }
    assert construct_problems(provider, inputs) == [
        ("zoneId", "is only used by the cloudflare target, not rfc2136"),
        ("tsigSecret", "is required by the rfc2136 target"),
        ("domain.ttl", "Input should be greater than or equal to 60 (got 0)"),
    ]


def test_a_secret_or_an_output_where_the_plan_needs_the_value_is_refused(provider: MailFlowProvider) -> None:
    domain = copy.deepcopy(SEED_DOMAIN)
    domain["exchangeOnline"]["verification"] = pulumi.Output.secret("MS=ms12345678")
    domain["onPremises"]["ips"].append(pulumi.Output.from_input("10.0.0.1"))
    refused = "must be a plain value, known when the program starts (not a secret nor an output)"
    assert construct_problems(provider, {"domain": domain, "tenantFile": pulumi.Output.secret("t.yaml")}) == [
        ("domain.exchangeOnline.verification", refused),
        ("domain.onPremises.ips[1]", refused),
        ("tenantFile", refused),
    ]


def test_other_exceptions_are_left_to_the_host(
    provider: MailFlowProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: object, *args: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(components.MailFlowDomain, "__init__", broken)
    with pytest.raises(ComponentInitError, match="a bug"):
        provider.construct("contoso.com", DOMAIN, {"domain": copy.deepcopy(SEED_DOMAIN)})
