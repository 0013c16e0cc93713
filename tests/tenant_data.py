"""Tenant-file content for tests: a domain accepted in 2026, with an mx.microsoft MX host and
DKIM targets in the 2025 format, as ``mailflow tenant pull`` would write them."""

from __future__ import annotations

from typing import Any

from mailflow.tenant import parse_tenant

READ_AT = "2026-11-28T09:00:00Z"
NEW_DKIM = "selector{n}-new-domain-example._domainkey.contoso.r-v1.dkim.mail.microsoft"
NEW_MX = "newdomain-example02b.o-v1.mx.microsoft"


def graph(mx: str, priority: int = 0, **extra: Any) -> dict[str, Any]:
    return {
        "source": "https://graph.microsoft.com/v1.0/domains/x",
        "readAt": READ_AT,
        "verified": True,
        "supportedServices": ["Email"],
        "mx": {"host": mx, "priority": priority},
        "spf": "v=spf1 include:spf.protection.outlook.com -all",
        "cnames": {"autodiscover": "autodiscover.outlook.com"},
        **extra,
    }


def exchange(selector1: str, selector2: str, **extra: Any) -> dict[str, Any]:
    return {
        "source": "Exchange Online PowerShell export exo-export.json",
        "readAt": READ_AT,
        "dkim": {"selector1": selector1, "selector2": selector2},
        **extra,
    }


NEW_DOMAIN_TENANT = {
    "cloud": "commercial",
    "graph": graph(NEW_MX),
    "exchangeOnline": exchange(NEW_DKIM.format(n=1), NEW_DKIM.format(n=2)),
}


def new_domain(**exchange_online: Any) -> dict[str, Any]:
    return {
        "name": "new-domain.example",
        "topology": "exchange-online",
        "exchangeOnline": {"verification": "MS=ms20260701", **exchange_online},
        "dmarc": {"policy": "reject", "rua": ["mailto:dmarc@new-domain.example"]},
    }


def with_tenant(domains: list[dict[str, Any]], tenant: dict[str, Any], **settings: Any) -> dict[str, Any]:
    return {
        "domains": domains,
        "tenantFile": "tenant.yaml",
        "tenant": parse_tenant({"version": 1, "domains": tenant}, "tenant.yaml"),
        **settings,
    }
