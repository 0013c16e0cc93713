"""Shared fixtures: the seed scenario's config and helpers to plan from plain dicts."""

from __future__ import annotations

import copy
import ipaddress
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from graph_replay import GraphReplay

from mailflow import cutover_status
from mailflow.errors import ConfigError
from mailflow.plan import StackPlan, plan_stack
from mailflow.stackfile import read_stack_file

ROOT = Path(__file__).resolve().parent.parent


def _loopback_only(address: Any) -> None:
    """Refuse traffic to any address but loopback from the test process (servers the tests start
    listen there; every other address, the example IPs in SPF data included, is out of bounds)."""
    if isinstance(address, tuple) and address and isinstance(address[0], str):
        try:
            ip = ipaddress.ip_address(address[0].split("%")[0])
        except ValueError:
            return  # a host name: it is resolved, and checked, when connected to by address
        if not ip.is_loopback and not (ip.version == 6 and ip.ipv4_mapped and ip.ipv4_mapped.is_loopback):
            raise PermissionError(f"the tests send nothing beyond loopback, not to {address[0]}")


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    for method in ("connect", "connect_ex"):
        original = getattr(socket.socket, method)

        def guarded(self: socket.socket, address: Any, _original: Any = original) -> Any:
            _loopback_only(address)
            return _original(self, address)

        monkeypatch.setattr(socket.socket, method, guarded)
    original_sendto = socket.socket.sendto

    def guarded_sendto(self: socket.socket, data: Any, *args: Any) -> Any:
        _loopback_only(args[-1])
        return original_sendto(self, data, *args)

    monkeypatch.setattr(socket.socket, "sendto", guarded_sendto)


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


def cutover_domain(phase: str, **cutover: Any) -> dict[str, Any]:
    """The seed domain in cutover at ``phase`` from hybrid-onprem-front, its MX then on-premises at
    ``mail.contoso.com`` (through the ``dual`` phase when it is the one asked for)."""
    domain = copy.deepcopy(SEED_DOMAIN)
    domain["onPremises"]["mxHost"] = "mail.contoso.com"
    if phase == "dual":
        cutover.setdefault("dual", True)
    domain["cutover"] = {"from": {"topology": "hybrid-onprem-front"}, "phase": phase, **cutover}
    return domain


OLD_VENDOR = "192.0.2.10"
"""Where the filtering service a domain leaves sends its mail from."""


def from_old_vendor(phase: str) -> dict[str, Any]:
    """The seed domain in cutover at ``phase`` from another filtering service (third-party-front)
    that sends from ``OLD_VENDOR``, an address the new path does not use."""
    domain = cutover_domain(phase)
    domain["cutover"]["from"] = {
        "topology": "third-party-front",
        "thirdParty": {
            "name": "Old vendor",
            "mx": [{"host": "mx.oldvendor.example", "priority": 5}],
            "spf": [f"ip4:{OLD_VENDOR}"],
            "sendsOutbound": True,
        },
    }
    return domain


CLOCK_START = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


class Clock:
    """The time `mailflow cutover status` judges its gates at, as a test sets it."""

    def __init__(self) -> None:
        self.moment = CLOCK_START

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, seconds: int) -> None:
        self.moment += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(cutover_status, "now", fake)
    return fake


@pytest.fixture
def seed_domain() -> dict[str, Any]:
    """A fresh copy of the seed domain, free to modify in a test."""
    return copy.deepcopy(SEED_DOMAIN)


SEED_SPF = '"v=spf1 ip4:10.10.10.1 ip4:131.107.21.231 include:spf.protection.outlook.com -all"'


def seed_cloudflare_records(zone_id: str) -> dict[str, dict[str, Any]]:
    """The inputs of each Cloudflare record the seed domain registers, by resource name."""
    common = {"zoneId": zone_id, "ttl": 3600, "comment": "managed by mailflow"}
    apex = {**common, "name": "contoso.com"}
    return {
        "contoso.com/MX/mx1.filter.example.net": {
            **apex,
            "type": "MX",
            "content": "mx1.filter.example.net",
            "priority": 10,
        },
        "contoso.com/MX/mx2.filter.example.net": {
            **apex,
            "type": "MX",
            "content": "mx2.filter.example.net",
            "priority": 20,
        },
        "contoso.com/TXT/spf": {**apex, "type": "TXT", "content": SEED_SPF},
        "contoso.com/TXT/verification": {**apex, "type": "TXT", "content": '"MS=ms12345678"'},
        "_dmarc.contoso.com/TXT/dmarc": {
            **common,
            "name": "_dmarc.contoso.com",
            "type": "TXT",
            "content": '"v=DMARC1; p=quarantine; rua=mailto:dmarc@contoso.com"',
        },
        "autodiscover.contoso.com/CNAME": {
            **common,
            "name": "autodiscover.contoso.com",
            "type": "CNAME",
            "content": "mail.contoso.com",
        },
    }


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
