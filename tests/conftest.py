"""Shared fixtures: the seed scenario's config and helpers to plan from plain dicts."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from graph_replay import GraphReplay

from mailflow.errors import ConfigError
from mailflow.plan import StackPlan, plan_stack
from mailflow.stackfile import read_stack_file

ROOT = Path(__file__).resolve().parent.parent
SEED_STACK = ROOT / "stacks" / "Pulumi.local.yaml"
EXAMPLES = ROOT / "examples"

SEED_DOMAIN: dict[str, Any] = {
    "name": "contoso.com",
    "topology": "third-party-hybrid",
    "thirdParty": {
        "name": "Example filtering service",
        "mx": [
            {"host": "mx1.filter.example.net", "priority": 10},
            {"host": "mx2.filter.example.net", "priority": 20},
        ],
        "spf": ["ip4:10.10.10.1"],
        "sendsOutbound": True,
    },
    "exchangeOnline": {
        "verification": "MS=ms12345678",
        "mxHost": "contoso-com.mail.protection.outlook.com",
        "autodiscover": {"target": "on-premises", "host": "mail.contoso.com"},
    },
    "onPremises": {"ips": ["131.107.21.231"]},
    "dmarc": {"policy": "quarantine", "rua": ["mailto:dmarc@contoso.com"]},
}


@pytest.fixture
def seed_domain() -> dict[str, Any]:
    """A fresh copy of the seed domain, free to modify in a test."""
    return copy.deepcopy(SEED_DOMAIN)


def plan_domains(*domains: dict[str, Any]) -> StackPlan:
    return plan_stack({"domains": list(domains)})


def config_problems(values: dict[str, Any]) -> list[str]:
    """The problems ``plan_stack`` reports, as ``path: message`` lines."""
    with pytest.raises(ConfigError) as caught:
        plan_stack(values)
    return [str(problem) for problem in caught.value.problems]


def example_values(name: str) -> dict[str, Any]:
    return read_stack_file(EXAMPLES / f"{name}.yaml")


@pytest.fixture
def graph() -> Iterator[GraphReplay]:
    """Microsoft Graph on loopback, replaying recorded responses."""
    replay = GraphReplay()
    yield replay
    replay.close()
