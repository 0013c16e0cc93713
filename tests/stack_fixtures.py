"""Generated stacks of N seed-topology domains, each with its own names, on-prem IP and reports,
as config values or as stack files (for the tests and the benchmarks)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def seed_domain(index: int) -> dict[str, Any]:
    """The seed scenario for ``contoso<index>.com``; values differ per domain as in real tenants."""
    name = f"contoso{index}.com"
    return {
        "name": name,
        "topology": "third-party-hybrid",
        "thirdParty": {
            "name": "Example filtering service",
            "mx": [
                {"host": "mx1.filter.example.net", "priority": 10},
                {"host": "mx2.filter.example.net", "priority": 20},
            ],
            "spf": ["ip4:10.10.10.1"],
            "outboundSmartHosts": ["outbound.filter.example.net"],
        },
        "exchangeOnline": {
            "verification": f"MS=ms{index:08d}",
            "mxHost": f"contoso{index}-com.mail.protection.outlook.com",
            "autodiscover": {"target": "on-premises", "host": f"mail.{name}"},
            "dkim": {
                s: f"{s}-contoso{index}-com._domainkey.contoso{index}.onmicrosoft.com"
                for s in ("selector1", "selector2")
            },
        },
        "onPremises": {"ips": [f"131.107.{index // 256 % 256}.{index % 256}"], "smartHost": f"mail.{name}"},
        "dmarc": {"policy": "quarantine", "rua": [f"mailto:dmarc@{name}"]},
    }


def stack_values(count: int) -> dict[str, Any]:
    """The ``mailflow`` namespace of a stack with ``count`` domains."""
    return {"domains": [seed_domain(i) for i in range(count)]}


def write_stack_file(path: Path, count: int, extra_config: dict[str, Any] | None = None) -> Path:
    """A stack file at ``path`` with ``count`` domains and ``extra_config`` beside them."""
    config: dict[str, Any] = {"mailflow:domains": stack_values(count)["domains"]}
    config.update(extra_config or {})
    path.write_text(yaml.safe_dump({"config": config}, sort_keys=False))
    return path
