"""Generated stacks of N seed-topology domains, each with its own names, on-prem IP and reports."""

from __future__ import annotations

from typing import Any


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
