"""A staged MX cutover of the seed domain, from hybrid-onprem-front to third-party-hybrid, through
the real engine against two BIND 9 servers: the primary the rfc2136 target updates and a
secondary that transfers the zone only when the test tells it to, so it lags as real secondaries
do. `mailflow cutover status` is run at every step with a clock the test controls."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import spf as pyspf
from bind_server import BindServer
from conftest import Clock, cutover_domain
from pulumi_project import Project, make_project
from test_bind import nsupdate, rfc2136_target

from mailflow.cli import main
from mailflow.resolvers import bundled_snapshot

pytestmark = [pytest.mark.engine, pytest.mark.bind]

ZONE = "contoso.com"
OLD_MX = {"10 mail.contoso.com."}
NEW_MX = {"10 mx1.filter.example.net.", "20 mx2.filter.example.net."}
ON_PREMISES, SERVICE = "131.107.21.231", "10.10.10.1"
EXCHANGE_ONLINE = "40.92.0.1"
"""Inside the ip4 networks of spf.protection.outlook.com as the bundled snapshot has them."""


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[tuple[BindServer, BindServer]]:
    primary = BindServer(tmp_path / "primary", [ZONE])
    primary.start()
    secondary = BindServer(tmp_path / "secondary", [ZONE], primary=primary)
    try:
        secondary.start()
        yield primary, secondary
    finally:
        secondary.stop()
        primary.stop()


def hybrid_domain(**cutover: Any) -> dict[str, Any]:
    """The seed domain in cutover from hybrid-onprem-front when ``cutover`` (its phase, …) is
    given, else as it was before: hybrid-onprem-front, its MX on-premises."""
    if cutover:
        return cutover_domain(**cutover)
    domain = cutover_domain("prepare")
    del domain["cutover"], domain["thirdParty"]
    domain["topology"] = "hybrid-onprem-front"
    return domain


def status(
    project: Project, servers: tuple[BindServer, ...], capsys: pytest.CaptureFixture[str]
) -> tuple[int, dict[str, Any]]:
    capsys.readouterr()
    asked = [argument for server in servers for argument in ("--server", f"{server.address}:{server.port}")]
    code = main(["cutover", "status", str(project.stack_file), *asked, "--format", "json", "--timeout", "3"])
    return code, json.loads(capsys.readouterr().out)


def spf_verdicts(server: BindServer, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """pyspf's verdict for a sender of each path, every lookup answered by ``server`` alone."""
    monkeypatch.setattr(pyspf, "DNSLookup", server.spf_lookup())
    return {
        sender: pyspf.check2(i=sender, s=f"postmaster@{ZONE}", h=f"mail.{ZONE}")[0]
        for sender in (ON_PREMISES, SERVICE, EXCHANGE_ONLINE, "192.0.2.1")
    }


def test_the_snapshot_authorises_the_exchange_online_sender() -> None:
    (record,) = bundled_snapshot().txt("spf.protection.outlook.com")
    assert "ip4:40.92.0.0/15" in record


def test_a_full_cutover_with_a_lagging_secondary_and_a_rollback_from_switch(
    tmp_path: Path,
    servers: tuple[BindServer, BindServer],
    clock: Clock,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    primary, secondary = servers
    both = (primary, secondary)
    project = make_project(
        tmp_path / "project", rfc2136_target(primary), {"mailflow:tsigSecret": primary.secret}
    )
    # The on-premises server's address, published by hand long before: BIND refuses an MX to a
    # name of the zone that has none.
    nsupdate(primary, ZONE, lambda update: update.add(f"mail.{ZONE}.", 3600, "A", ON_PREMISES))
    project.set_domains([hybrid_domain()])
    project.pulumi("up", "--yes")
    secondary.notify(ZONE)
    assert secondary.query(f"{ZONE}.", "MX") == OLD_MX
    passing = {ON_PREMISES: "pass", SERVICE: "pass", EXCHANGE_ONLINE: "pass", "192.0.2.1": "fail"}

    def go(phase: str, **more: Any) -> None:
        project.set_domains([hybrid_domain(phase=phase, **more)])
        project.pulumi("up", "--yes")

    def logged() -> dict[str, str]:
        outputs = json.loads(project.pulumi("stack", "output", "--json").stdout)
        return dict(outputs["cutover"][ZONE])

    # prepare: the TTLs fall on the primary; the secondary still serves the records before it.
    go("prepare")
    prepared = logged()
    assert {k: v for k, v in prepared.items() if k != "appliedAt"} == {
        "phase": "prepare",
        "from": "hybrid-onprem-front",
        "to": "third-party-hybrid",
    }
    assert datetime.fromisoformat(prepared["appliedAt"]).tzinfo is not None
    project.pulumi("up", "--yes")
    assert logged() == prepared  # the same phase again keeps the time it was first applied
    code, report = status(project, both, capsys)
    (domain,) = report["domains"]
    assert (code, domain["status"]) == (5, "waiting"), domain
    assert domain["summary"].startswith("1 of 2 servers serve phase prepare"), domain
    assert [s["phases"] for s in domain["servers"]] == [["prepare", "rollback"], ["before"]]
    secondary.notify(ZONE)
    assert primary.query(f"{ZONE}.", "MX") == secondary.query(f"{ZONE}.", "MX") == OLD_MX
    assert spf_verdicts(primary, monkeypatch) == spf_verdicts(secondary, monkeypatch) == passing
    # Live everywhere now: the gate waits out the TTL of what the servers served before (3600 s).
    code, report = status(project, both, capsys)
    assert code == 5 and report["domains"][0]["gateOpens"] == "2026-11-28T10:00:00Z", report
    clock.advance(3599)
    assert status(project, both, capsys)[0] == 5
    clock.advance(1)
    code, report = status(project, both, capsys)
    assert code == 0, report
    steps = report["domains"][0]["next"]
    assert steps[0] == f"mailflow plan {project.stack_file} --phase switch"
    assert "pulumi config set --path 'mailflow:domains[0].cutover.phase' switch --stack local" in steps

    # switch: not applied until `pulumi up`; then the secondary lags again.
    project.set_domains([hybrid_domain(phase="switch")])
    code, report = status(project, both, capsys)
    assert (code, report["domains"][0]["status"]) == (6, "not applied"), report
    project.pulumi("up", "--yes")
    assert primary.query(f"{ZONE}.", "MX") == NEW_MX
    assert logged()["phase"] == "switch" and logged()["appliedAt"] >= prepared["appliedAt"]
    # The guard keeps this run's phases, against which the next run tells a phase change.
    (guard,) = [r for r in project.resources() if r["urn"].endswith("::mailflow-change-guard")]
    assert guard["inputs"]["cutoverMx"] == {"contoso.com/MX": "switch"}
    assert status(project, both, capsys)[0] == 5
    secondary.notify(ZONE)
    assert secondary.query(f"{ZONE}.", "MX") == NEW_MX
    assert spf_verdicts(secondary, monkeypatch) == passing
    code, report = status(project, both, capsys)
    assert code == 5 and report["domains"][0]["gateOpens"] == "2026-11-28T10:05:00Z", report
    clock.advance(300)
    assert status(project, both, capsys)[0] == 0

    # rollback from switch: the old MX back, on both servers, senders of both paths still pass.
    go("rollback")
    secondary.notify(ZONE)
    assert primary.query(f"{ZONE}.", "MX") == secondary.query(f"{ZONE}.", "MX") == OLD_MX
    assert spf_verdicts(secondary, monkeypatch) == passing
    # switch's gate was seen open: caches hold its records for its lowered TTL at most, 300 s.
    code, report = status(project, both, capsys)
    assert code == 5 and report["domains"][0]["phase"] == "rollback"
    assert report["domains"][0]["gateOpens"] == "2026-11-28T10:10:00Z", report
    clock.advance(299)
    assert status(project, both, capsys)[0] == 5
    clock.advance(1)
    code, report = status(project, both, capsys)
    assert code == 0, report
    assert any("back to the old side, hybrid-onprem-front" in step for step in report["domains"][0]["next"])

    # Forward again, to the end: switch, settle (TTL restored), done.
    for phase, wait, ttl in (("switch", 300, 300), ("settle", 300, 3600), ("done", 3600, 3600)):
        go(phase)
        secondary.notify(ZONE)
        answer = secondary.resolver().resolve(f"{ZONE}.", "MX")
        assert ({r.to_text() for r in answer}, answer.rrset.ttl) == (NEW_MX, ttl)
        assert spf_verdicts(secondary, monkeypatch) == passing
        assert status(project, both, capsys)[0] == 5
        clock.advance(wait)
        code, report = status(project, both, capsys)
        assert code == 0, (phase, report)
    assert (
        "pulumi config rm --path 'mailflow:domains[0].cutover' --stack local" in report["domains"][0]["next"]
    )

    # Servers that serve what no phase of the configured cutover publishes are drift.
    changed = hybrid_domain(phase="done")
    changed["ttl"] = 600
    project.set_domains([changed])
    code, report = status(project, both, capsys)
    assert code == 1 and "serve records of no phase of this cutover" in report["domains"][0]["summary"], (
        report
    )
