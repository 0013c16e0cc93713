"""The destructive-change guard: what it counts as going, and when it refuses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import SEED_DOMAIN
from pulumi_harness import run_program

from mailflow.guard import ALLOW_VARIABLE, GuardProvider, allowed, destructive_changes, refusal
from mailflow.places import same_place

BEFORE = {
    "placements": {f"d{i}.example/TXT": "zone a" for i in range(10)} | {"d0.example/MX": "zone a"},
    "routing": ["d0.example/MX"],
    "maxDeleteShare": 0.3,
}


def after(**changes: Any) -> dict[str, Any]:
    placements = {k: v for k, v in BEFORE["placements"].items() if k not in changes.get("drop", ())}
    placements.update(changes.get("move", {}))
    return {**BEFORE, "placements": placements, "allow": changes.get("allow", False)}


def test_adding_and_keeping_records_passes() -> None:
    grown = after(move={"new.example/MX": "zone a"})
    assert refusal(BEFORE, grown) is None


def test_deleting_an_mx_record_is_refused_naming_it() -> None:
    message = refusal(BEFORE, after(drop=["d0.example/MX"]))
    assert message is not None
    assert "deletes or moves 1 MX/SPF record resource(s): d0.example/MX. Nothing was changed." in message
    assert f"{ALLOW_VARIABLE}=1" in message


def test_moving_an_mx_record_to_another_zone_is_refused() -> None:
    assert destructive_changes(BEFORE, after(move={"d0.example/MX": "zone b"}))[1] == ["d0.example/MX"]
    assert refusal(BEFORE, after(move={"d0.example/MX": "zone b"})) is not None


def test_deleting_up_to_the_share_passes_and_beyond_it_is_refused() -> None:
    assert refusal(BEFORE, after(drop=["d1.example/TXT", "d2.example/TXT", "d3.example/TXT"])) is None
    message = refusal(BEFORE, after(drop=[f"d{i}.example/TXT" for i in range(1, 5)]))
    assert message is not None and "36% of the stack's record resources (limit 30%)" in message


def test_an_allowed_run_passes() -> None:
    assert refusal(BEFORE, after(drop=["d0.example/MX"], allow=True)) is None


def test_the_refusal_names_no_property_so_the_engine_prints_it_without_the_placements() -> None:
    news = after(drop=["d0.example/MX"])
    failures = GuardProvider().check(BEFORE, news).failures
    assert [(f.property, f.reason) for f in failures] == [("", refusal(BEFORE, news))]


@pytest.mark.parametrize(("value", "expected"), [("1", True), ("true", True), ("0", False), ("", False)])
def test_the_run_is_allowed_only_by_the_variable(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: bool
) -> None:
    monkeypatch.setenv(ALLOW_VARIABLE, value)
    assert allowed() is expected


def test_every_record_resource_waits_for_the_guard() -> None:
    run = run_program({"domains": [SEED_DOMAIN], "target": {"kind": "cloudflare", "zoneId": "zone-1"}})
    records = [r for r in run.registrations if r.custom]
    assert records and all(run.guard.urn in r.dependencies for r in records)
    assert set(run.guard.inputs["placements"]) == {r.name for r in records}
    assert run.guard.inputs["routing"] == sorted(
        r.name for r in records if r.inputs["type"] == "MX" or r.name.endswith("/spf")
    )
    assert set(run.guard.inputs["placements"].values()) == {"cloudflare zone zone-1"}


def test_adopt_is_for_the_targets_that_take_over_what_exists() -> None:
    from conftest import config_problems

    values = {"domains": [{**SEED_DOMAIN, "adopt": True}], "target": {"kind": "cloudflare", "zoneId": "z"}}
    assert config_problems(values) == [
        "mailflow:domains[0].adopt: is for the zonefile and rfc2136 targets; cloudflare adopts with importIds"
    ]


def test_the_share_is_a_fraction() -> None:
    from conftest import config_problems

    assert config_problems({"domains": [SEED_DOMAIN], "maxDeleteShare": 1.5}) == [
        "mailflow:maxDeleteShare: Input should be less than or equal to 1 (got 1.5)"
    ]


def test_a_zone_file_spelled_relative_to_the_project_is_where_its_absolute_spelling_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    absolute = str(tmp_path / "out" / "zones" / "contoso.com.zone")
    assert same_place(absolute, "out/zones/contoso.com.zone")
    assert same_place("out/zones/contoso.com.zone", absolute)
    assert not same_place(absolute, "zones/contoso.com.zone")
    assert not same_place("/elsewhere/out/zones/contoso.com.zone", "out/zones/contoso.com.zone")
    assert not same_place("zone a", "zone b")
    # The guard sees no move, so a state of absolute paths needs no change.
    olds = {**BEFORE, "placements": {"contoso.com/zone": absolute}, "routing": ["contoso.com/zone"]}
    news = {**olds, "placements": {"contoso.com/zone": "out/zones/contoso.com.zone"}, "allow": False}
    assert refusal(olds, news) is None
    assert not GuardProvider().diff("guard", olds, news).changes
    moved = {**news, "placements": {"contoso.com/zone": "zones/contoso.com.zone"}}
    assert refusal(olds, moved) is not None
    assert GuardProvider().diff("guard", olds, moved).changes


def test_the_guard_outputs_a_digest_of_what_it_compares_and_diffs_by_it() -> None:
    provider = GuardProvider()
    inputs = {
        **BEFORE,
        "placements": {"contoso.com/MX": "zone a"},
        "routing": ["contoso.com/MX"],
        "allow": False,
    }
    outputs = provider.create(inputs).outs
    assert outputs is not None and list(outputs) == ["digest"]
    assert not provider.diff("guard", outputs, {**inputs, "allow": True}).changes
    for changed in (
        {"placements": {"contoso.com/MX": "zone b"}},
        {"placements": {"contoso.com/MX": "zone a", "contoso.com/TXT": "zone a"}},
        {"routing": []},
        {"maxDeleteShare": 0.5},
    ):
        news = {**inputs, **changed}
        assert provider.diff("guard", outputs, news).changes, changed
        assert provider.update("guard", outputs, news).outs == provider.create(news).outs


def test_the_digest_holds_a_zone_file_inside_the_project_by_its_relative_spelling(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    inputs = {**BEFORE, "placements": {"contoso.com/zone": "out/zones/contoso.com.zone"}, "routing": []}
    outputs = (
        GuardProvider()
        .create({**inputs, "placements": {"contoso.com/zone": str(tmp_path / "out/zones/contoso.com.zone")}})
        .outs
    )
    assert outputs is not None
    assert not GuardProvider().diff("guard", outputs, inputs).changes
    outside = {**inputs, "placements": {"contoso.com/zone": "/srv/zones/contoso.com.zone"}}
    assert GuardProvider().diff("guard", outputs, outside).changes
