"""What a Pulumi user would hand-write for the benchmark's domains: the same resources with the
same inputs as mailflow registers, straight from the dicts, with no config model, validation,
SPF checking or components. The baseline of the abstraction-cost benchmark."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi

SPF_INCLUDE = "include:spf.protection.outlook.com"
COMMENT = "managed by mailflow"


def _records(domain: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """(owner fqdn, type, value) of the seed topology, written out by hand."""
    name = domain["name"]
    vendor = domain["thirdParty"]
    spf = " ".join(
        ["v=spf1", *vendor["spf"], *(f"ip4:{ip}" for ip in domain["onPremises"]["ips"]), SPF_INCLUDE, "-all"]
    )
    exchange_online = domain["exchangeOnline"]
    dmarc = f"v=DMARC1; p={domain['dmarc']['policy']}; rua={','.join(domain['dmarc']['rua'])}"
    records: list[tuple[str, str, Any]] = [(name, "MX", (mx["priority"], mx["host"])) for mx in vendor["mx"]]
    records += [
        (name, "TXT", exchange_online["verification"]),
        (name, "TXT", spf),
        (f"_dmarc.{name}", "TXT", dmarc),
        (f"autodiscover.{name}", "CNAME", exchange_online["autodiscover"]["host"]),
    ]
    records += [
        (f"{s}._domainkey.{name}", "CNAME", exchange_online["dkim"][s]) for s in ("selector1", "selector2")
    ]
    return records


def _slot(rtype: str, value: Any, text: str) -> str:
    if rtype == "MX":
        return f"/{value[1]}"
    if rtype == "TXT":
        return (
            "/verification" if text.startswith("MS=") else ("/spf" if text.startswith("v=spf1") else "/dmarc")
        )
    return ""


def cloudflare_program(domains: list[dict[str, Any]], zone_id: str) -> None:
    import pulumi_cloudflare as cloudflare

    for domain in domains:
        for owner, rtype, value in _records(domain):
            args: dict[str, Any] = {
                "zone_id": zone_id,
                "name": owner,
                "type": rtype,
                "ttl": 3600,
                "comment": COMMENT,
            }
            text = value if isinstance(value, str) else ""
            if rtype == "MX":
                args.update(priority=value[0], content=value[1])
            elif rtype == "TXT":
                args["content"] = f'"{value}"'
            else:
                args["content"] = value
            cloudflare.DnsRecord(f"{owner}/{rtype}{_slot(rtype, value, text)}", **args)


def azure_program(domains: list[dict[str, Any]], resource_group: str) -> None:
    from pulumi_azure_native import dns

    for domain in domains:
        name = domain["name"]
        sets: dict[tuple[str, str], list[Any]] = {}
        for owner, rtype, value in _records(domain):
            sets.setdefault((owner, rtype), []).append(value)
        for (owner, rtype), values in sets.items():
            relative = "@" if owner == name else owner[: -len(name) - 1]
            typed: dict[str, Any]
            if rtype == "MX":
                typed = {"mx_records": [{"preference": p, "exchange": h} for p, h in values]}
            elif rtype == "TXT":
                typed = {"txt_records": [{"value": [v]} for v in values]}
            else:
                typed = {"cname_record": {"cname": values[0]}}
            dns.RecordSet(
                f"{owner}/{rtype}",
                resource_group_name=resource_group,
                zone_name=name,
                relative_record_set_name=relative,
                record_type=rtype,
                ttl=3600,
                metadata={"managedBy": "mailflow"},
                **typed,
            )


def zonefile_program(domains: list[dict[str, Any]], directory: Path) -> None:
    from mailflow.targets.zonefile import ZoneFile, canonical

    for domain in domains:
        name = domain["name"]
        rows = []
        for owner, rtype, value in _records(domain):
            if rtype == "MX":
                text = f"{value[0]} {value[1]}."
            elif rtype == "TXT":
                text = f'"{value}"'
            else:
                text = f"{value}."
            rows.append({"name": f"{owner}.", "type": rtype, "ttl": 3600, "value": text})
        ZoneFile(
            f"{name}/zone",
            {
                "path": str(directory / f"{name}.zone"),
                "origin": f"{name}.",
                "records": canonical(rows),
                "nameservers": ["localhost."],
                "hostmaster": f"hostmaster.{name}.",
                "ttl": 3600,
                "owner": f"{pulumi.get_organization()}/{pulumi.get_project()}/{pulumi.get_stack()}",
                "adopt": False,
            },
            pulumi.ResourceOptions(),
        )
