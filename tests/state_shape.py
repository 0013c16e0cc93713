"""What a stack's state is keyed by, as the program registers it under mocks: per resource its
type, name, URN, parent, aliases, dependencies, protect and import ID.

``tests/data/state_shape.json`` holds it for every case as the code before the component API
(``test_state_kept.BEFORE``) registered it: that commit's tree (``git archive``) with this module
and ``pulumi_harness.py`` copied in, ``{case: run_case(case) for case in cases()}`` written out.
That code sent aliases as former parents; they are kept as the URNs they name, as aliases are
sent now (the engine matches either form to the same URN)."""

from __future__ import annotations

import copy
from typing import Any

from conftest import EXAMPLES, SEED_STACK, example_values
from pulumi_harness import ProgramRun, Registration, run_program

from mailflow.settings import RESOURCE_TREES
from mailflow.stackfile import read_stack_file

TARGETS: dict[str, dict[str, Any]] = {
    "zonefile": {"kind": "zonefile", "directory": "/srv/zones"},
    "cloudflare": {"kind": "cloudflare", "zoneId": "zone-1"},
    "azure": {"kind": "azure", "resourceGroupName": "rg-dns"},
    "rfc2136": {"kind": "rfc2136", "server": "192.0.2.53", "keyName": "mailflow"},
}
IMPORT_IDS = {"cloudflare": {"contoso.com/TXT/spf": "zone-1/rec-spf"}, "azure": {"contoso.com/MX": "/x/MX"}}
TSIG = {"mailflow:tsigSecret": "c2VjcmV0"}


def cases() -> dict[str, tuple[dict[str, Any], dict[str, str]]]:
    """Config values and extra config of each stack compared: the seed stack, in production, on
    every target and tree shape; every example topology on the targets that split a domain."""
    found: dict[str, tuple[dict[str, Any], dict[str, str]]] = {}
    for kind, target in TARGETS.items():
        for tree in RESOURCE_TREES:
            values = read_stack_file(SEED_STACK)
            values.update(target=target, resourceTree=tree, production="true")
            if kind in IMPORT_IDS:
                values["domains"] = copy.deepcopy(values["domains"])
                values["domains"][0]["importIds"] = IMPORT_IDS[kind]
            found[f"seed/{kind}/{tree}"] = (values, TSIG if kind == "rfc2136" else {})
    for example in sorted(p.stem for p in EXAMPLES.glob("*.yaml")):
        for kind in ("cloudflare", "azure"):
            values = example_values(example)
            values.update(target=TARGETS[kind], resourceTree="parts")
            found[f"{example}/{kind}/parts"] = (values, {})
    return found


def _row(registration: Registration) -> dict[str, Any]:
    return {
        "type": registration.type,
        "name": registration.name,
        "urn": registration.urn,
        "parent": registration.parent,
        "aliases": sorted(registration.aliases),
        "dependencies": sorted(registration.dependencies),
        "protect": registration.protect,
        "importId": registration.import_id,
    }


def shape(run: ProgramRun) -> list[dict[str, Any]]:
    """A row per registration, the guard's too, by URN (the order of registration varies)."""
    return sorted((_row(r) for r in (run.guard, *run.registrations)), key=lambda row: row["urn"])


def run_case(name: str) -> list[dict[str, Any]]:
    values, extra = cases()[name]
    return shape(run_program(values, extra_config=extra, secret_keys=list(extra)))
