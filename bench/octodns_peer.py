"""The same domains' records as octoDNS input (YAML zones) and an octodns-sync config that writes
them with octodns-bind's ZoneFileProvider: the peer of `mailflow plan --format zone`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from mailflow.plan import plan_stack
from tests.stack_fixtures import stack_values


def _value(record: Any) -> Any:
    data = record.data
    if record.type == "MX":
        return {"preference": data[0], "exchange": data[1]}
    if record.type == "TXT":
        # octoDNS escapes ';' in TXT values.
        return "".join(str(s) for s in data).replace(";", "\\;")
    return data[0]


def write_octodns_inputs(directory: Path, count: int) -> Path:
    """Zone YAML files for ``count`` seed domains and the sync config; returns the config path."""
    zones_in = directory / "config"
    zones_in.mkdir(parents=True, exist_ok=True)
    plan = plan_stack(stack_values(count))
    for domain in plan.domains:
        rrsets: dict[str, dict[str, Any]] = {}
        for record in domain.records:
            relative = record.relative_name()
            node = rrsets.setdefault("" if relative == "@" else relative, {})
            entry = node.setdefault(record.type, {"type": record.type, "ttl": record.ttl, "values": []})
            entry["values"].append(_value(record))
        for types in rrsets.values():
            if "CNAME" in types:
                types["CNAME"]["value"] = types["CNAME"].pop("values")[0]
        document = {name: list(types.values()) for name, types in rrsets.items()}
        (zones_in / f"{domain.domain}.yaml").write_text(yaml.safe_dump(document, sort_keys=True))
    config = {
        "providers": {
            "config": {"class": "octodns.provider.yaml.YamlProvider", "directory": str(zones_in)},
            "zonefile": {
                "class": "octodns_bind.ZoneFileProvider",
                "directory": str(directory / "zones"),
                "check_origin": False,
            },
        },
        "zones": {f"{d.domain}.": {"sources": ["config"], "targets": ["zonefile"]} for d in plan.domains},
    }
    path = directory / "octodns.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path
