"""`mailflow cutover status` against scripted DNS servers on loopback: the verdict and exit status
(ready 0, drift 1, DNS failure 3, waiting 5, not applied 6, a phase out of order 7, no cutover 8),
the TTL gate with a clock the test controls and the journal that keeps it across runs, servers
that lag, fail, stay silent or serve what no phase publishes, NS discovery, and ``spf_gaps`` on
its own."""

from __future__ import annotations

import copy
import ipaddress
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import dns.flags
import dns.message
import pytest
from conftest import OLD_VENDOR, SEED_DOMAIN, Clock, cutover_domain, from_old_vendor
from dns_server import MALFORMED, NXDOMAIN, REFUSED, SERVFAIL, SILENT, DnsServer, Reply, Zone
from hypothesis import given, settings
from hypothesis import strategies as st
from test_cutover import from_protection_host

from mailflow.cli import main
from mailflow.cutover_status import Journal, default_journal, find_servers, spf_gaps
from mailflow.errors import ConfigError
from mailflow.phases import PHASES
from mailflow.plan import DomainPlan, plan_stack
from mailflow.records import Record
from mailflow.resolvers import LiveResolver, Nameserver
from mailflow.spf import parse_term

APEX = "contoso.com."


def _when(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def plan_of(domain: dict[str, Any], phase: str | None = None) -> DomainPlan:
    (plan,) = plan_stack({"domains": [domain]}, phase=phase).domains  # type: ignore[arg-type]
    return plan


def zone_of(records: tuple[Record, ...]) -> Zone:
    """The records as an authoritative server serves them, each record set at its TTL."""
    zone = Zone()
    sets: dict[tuple[str, str], list[Record]] = {}
    for record in records:
        sets.setdefault((record.name, record.type), []).append(record)
    for (name, rtype), members in sets.items():
        zone.add(name, rtype, *(r.value for r in members), ttl=members[0].ttl)
    return zone


def serving(domain: dict[str, Any], phase: str) -> Zone:
    """A zone serving ``domain`` at ``phase``, or as it was before the cutover (``before``)."""
    if phase == "before":
        state = plan_of(domain).cutover
        assert state is not None
        return zone_of(state.before.records)
    return zone_of(plan_of(domain, phase).records)


@dataclass
class Scene:
    """A stack file holding one domain, and the servers the test starts for it."""

    stack: Path
    journal: Path
    servers: list[DnsServer]
    capsys: pytest.CaptureFixture[str]
    stderr: str = ""

    def serve(self, zone: Zone) -> DnsServer:
        server = DnsServer(zone)
        self.servers.append(server)
        return server

    def configure(self, domain: dict[str, Any]) -> None:
        self.stack.write_text(json.dumps({"config": {"mailflow:domains": [domain]}}), "utf-8")

    def run(self, *options: str, servers: list[DnsServer] | None = None) -> tuple[int, str]:
        asked = self.servers if servers is None else servers
        addresses = [a for server in asked for a in ("--server", f"127.0.0.1:{server.port}")]
        self.capsys.readouterr()
        code = main(["cutover", "status", str(self.stack), *addresses, "--timeout", "0.5", *options])
        output = self.capsys.readouterr()
        self.stderr = output.err
        assert "Traceback" not in output.err
        return code, output.out

    def apply(self, server: DnsServer, phase: str, **cutover: Any) -> None:
        """Configure the seed cutover at ``phase`` and let ``server`` serve it, as `pulumi up` would."""
        self.configure(cutover_domain(phase, **cutover))
        server.zone = serving(cutover_domain(phase, **cutover), phase)

    def status(self, *options: str, servers: list[DnsServer] | None = None) -> tuple[int, dict[str, Any]]:
        """The exit status and the report's one domain."""
        code, output = self.run("--format", "json", "--journal", str(self.journal), *options, servers=servers)
        report = json.loads(output)
        assert report["exitCode"] == code
        (domain,) = report["domains"]
        return code, domain


@pytest.fixture
def scene_of(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> Iterator[Callable[[dict[str, Any]], Scene]]:
    made: list[Scene] = []

    def make(domain: dict[str, Any]) -> Scene:
        scene = Scene(tmp_path / "Pulumi.test.yaml", tmp_path / "journal.json", [], capsys)
        scene.configure(domain)
        made.append(scene)
        return scene

    yield make
    for scene in made:
        for server in scene.servers:
            server.close()


def port(server: DnsServer) -> str:
    return f"127.0.0.1:{server.port}"


# The TTL gate and the journal.


def test_a_phase_live_everywhere_waits_for_the_gate(scene_of: Callable[..., Scene], clock: Clock) -> None:
    scene = scene_of(cutover_domain("prepare"))
    scene.serve(serving(cutover_domain("prepare"), "prepare"))
    scene.serve(serving(cutover_domain("prepare"), "prepare"))
    code, domain = scene.status()
    assert code == 5
    assert {k: domain[k] for k in ("status", "liveSince", "gateOpens", "next")} == {
        "status": "waiting",
        "liveSince": "2026-11-28T09:00:00Z",
        "gateOpens": "2026-11-28T10:00:00Z",
        "next": [],
    }
    assert domain["summary"].startswith("phase prepare is live on all 2 servers; caches may hold the records")
    assert [s["phases"] for s in domain["servers"]] == [["prepare", "rollback"], ["prepare", "rollback"]]


def test_the_gate_opens_once_the_ttl_of_what_was_served_before_has_passed(
    scene_of: Callable[..., Scene], clock: Clock
) -> None:
    scene = scene_of(cutover_domain("prepare"))
    first, second = (scene.serve(serving(cutover_domain("prepare"), "prepare")) for _ in range(2))
    assert scene.status()[0] == 5
    clock.advance(3599)
    assert scene.status()[0] == 5
    clock.advance(1)
    code, domain = scene.status()
    stack = str(scene.stack)
    assert (code, domain) == (
        0,
        {
            "domain": "contoso.com",
            "phase": "prepare",
            "from": "hybrid-onprem-front",
            "to": "third-party-hybrid",
            "status": "ready",
            "summary": "phase prepare is live on all 2 servers and its TTL gate has passed",
            "liveSince": "2026-11-28T09:00:00Z",
            "gateOpens": "2026-11-28T10:00:00Z",
            "servers": [
                {"server": port(first), "phases": ["prepare", "rollback"], "failure": None, "spfMissing": []},
                {
                    "server": port(second),
                    "phases": ["prepare", "rollback"],
                    "failure": None,
                    "spfMissing": [],
                },
            ],
            "next": [
                f"mailflow plan {stack} --phase switch",
                "pulumi config set --path 'mailflow:domains[0].cutover.phase' switch --stack test",
                "pulumi up --stack test",
                f"run the connector script of the phase: mailflow connectors {stack}",
                f"mailflow cutover status {stack}",
            ],
        },
    )


def test_the_wait_names_the_seconds_left(scene_of: Callable[..., Scene], clock: Clock) -> None:
    scene = scene_of(cutover_domain("prepare"))
    scene.serve(serving(cutover_domain("prepare"), "prepare"))
    assert scene.status()[1]["summary"] == (
        "phase prepare is live on its one server; caches may hold the records before it for 3600 s more"
    )
    clock.advance(1)
    assert scene.status()[1]["summary"].endswith("for 3599 s more")


@pytest.mark.parametrize("phase", PHASES)
def test_without_history_every_phase_waits_the_longest_ttl(
    scene_of: Callable[..., Scene], clock: Clock, phase: str
) -> None:
    """Nothing says what the servers served before: caches may hold records at the domain's TTL."""
    scene = scene_of(cutover_domain(phase))
    scene.serve(serving(cutover_domain(phase), phase))
    code, domain = scene.status()
    assert (code, domain["gateOpens"]) == (5, "2026-11-28T10:00:00Z")


def open_gate(scene: Scene, server: DnsServer, clock: Clock, phase: str, **cutover: Any) -> None:
    """Serve ``phase`` and wait until its gate opens."""
    scene.apply(server, phase, **cutover)
    while scene.status()[0] == 5:
        clock.advance(60)
    assert scene.status()[0] == 0


def moved_on(scene_of: Callable[..., Scene], clock: Clock, before: str, phase: str) -> Scene:
    """The seed cutover (through dual) served at ``before`` until its gate opened, then at ``phase``."""
    scene = scene_of(cutover_domain(before, dual=True))
    server = scene.serve(serving(cutover_domain(before, dual=True), before))
    open_gate(scene, server, clock, before, dual=True)
    scene.apply(server, phase, dual=True)
    return scene


@pytest.mark.parametrize(
    ("before", "phase", "wait"),
    [
        ("prepare", "switch", 300),  # prepare's records, at the lowered TTL
        ("prepare", "dual", 300),
        ("dual", "switch", 300),
        ("switch", "settle", 300),
        ("settle", "done", 3600),  # settle's, at the domain's TTL again
        ("switch", "rollback", 300),
        ("settle", "rollback", 3600),
        ("rollback", "switch", 300),
    ],
)
def test_after_a_gate_seen_open_the_next_phase_waits_that_phases_ttl(
    scene_of: Callable[..., Scene], clock: Clock, before: str, phase: str, wait: int
) -> None:
    scene = moved_on(scene_of, clock, before, phase)
    code, domain = scene.status()
    assert (code, domain["gateOpens"]) == (5, _when(clock.moment + timedelta(seconds=wait)))


@pytest.mark.parametrize(
    ("before", "phase", "left_out"),
    [
        ("prepare", "settle", "switch"),
        ("prepare", "done", "switch and settle"),
        ("dual", "settle", "switch"),
        ("switch", "done", "settle"),
        ("rollback", "settle", "switch"),
    ],
)
def test_a_phase_live_straight_after_one_it_may_not_follow_is_refused(
    scene_of: Callable[..., Scene], clock: Clock, before: str, phase: str, left_out: str
) -> None:
    scene = moved_on(scene_of, clock, before, phase)
    code, domain = scene.status()
    assert (code, domain["status"], domain["summary"]) == (
        7,
        "out of order",
        f"phase {phase} went live on its one server straight after {before}, leaving out {left_out}: go "
        f"back to {before}, then advance one phase at a time",
    )
    assert domain["next"] == [
        f"pulumi config set --path 'mailflow:domains[0].cutover.phase' {before} --stack test",
        "pulumi up --stack test",
        f"mailflow cutover status {scene.stack}",
    ]
    clock.advance(3600)
    assert scene.status()[0] == 7  # its gate never opens


def test_a_skip_seen_before_its_gate_is_refused_too(scene_of: Callable[..., Scene], clock: Clock) -> None:
    """prepare seen everywhere, its gate not yet open, then settle: no gate makes that a move."""
    scene = scene_of(cutover_domain("prepare"))
    server = scene.serve(serving(cutover_domain("prepare"), "prepare"))
    assert scene.status()[0] == 5
    scene.apply(server, "settle")
    assert scene.status()[0] == 7


def test_going_back_after_a_skip_waits_the_longest_ttl(scene_of: Callable[..., Scene], clock: Clock) -> None:
    scene = scene_of(cutover_domain("prepare"))
    server = scene.serve(serving(cutover_domain("prepare"), "prepare"))
    open_gate(scene, server, clock, "prepare")
    scene.apply(server, "settle")
    assert scene.status()[0] == 7
    clock.advance(60)
    scene.apply(server, "prepare")
    moment = clock.moment
    code, domain = scene.status()
    assert (code, domain["gateOpens"]) == (5, _when(moment + timedelta(seconds=3600)))
    clock.advance(3600)
    scene.apply(server, "switch")
    assert scene.status()[0] == 5


def test_a_stack_with_one_domain_in_cutover_is_as_that_domain_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], clock: Clock
) -> None:
    """The exit status for no domain in cutover (8) is the command's alone, never a domain's."""
    other = copy.deepcopy(SEED_DOMAIN)
    other["name"] = "fabrikam.com"
    stack = tmp_path / "Pulumi.test.yaml"
    stack.write_text(json.dumps({"config": {"mailflow:domains": [other, cutover_domain("switch")]}}), "utf-8")
    with DnsServer(serving(cutover_domain("switch"), "switch")) as server:
        arguments = ["--server", port(server), "--journal", str(tmp_path / "j.json"), "--format", "json"]
        assert main(["cutover", "status", str(stack), *arguments]) == 5
        clock.advance(3600)
        capsys.readouterr()
        assert main(["cutover", "status", str(stack), *arguments]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["status"], [d["domain"] for d in report["domains"]]) == ("ready", ["contoso.com"])


def test_a_phase_applied_before_the_last_gate_opened_waits_the_longest_ttl(
    scene_of: Callable[..., Scene], clock: Clock
) -> None:
    """prepare seen but its gate not yet open: caches may still hold the records from before it."""
    scene = scene_of(cutover_domain("prepare"))
    server = scene.serve(serving(cutover_domain("prepare"), "prepare"))
    assert scene.status()[0] == 5
    clock.advance(60)
    scene.apply(server, "switch")
    code, domain = scene.status()
    assert (code, domain["gateOpens"]) == (5, "2026-11-28T10:01:00Z")


def test_a_server_falling_behind_restarts_the_clock(scene_of: Callable[..., Scene], clock: Clock) -> None:
    scene = scene_of(cutover_domain("switch"))
    first = scene.serve(serving(cutover_domain("switch"), "switch"))
    second = scene.serve(serving(cutover_domain("switch"), "switch"))
    assert scene.status()[0] == 5
    clock.advance(600)
    second.zone = serving(cutover_domain("switch"), "before")
    assert scene.status()[0] == 5
    clock.advance(60)
    second.zone = first.zone
    code, domain = scene.status()
    assert (code, domain["liveSince"]) == (5, "2026-11-28T09:11:00Z")


def with_serial(zone: Zone, serial: int) -> Zone:
    zone.add(APEX, "SOA", f"ns1.contoso.com. hostmaster.contoso.com. {serial} 7200 3600 1209600 300")
    return zone


def test_a_new_soa_serial_restarts_the_clock(scene_of: Callable[..., Scene], clock: Clock) -> None:
    """The zone changed on the server (a rollback and back, say): what caches hold is unknown."""
    scene = scene_of(cutover_domain("switch"))
    server = scene.serve(with_serial(serving(cutover_domain("switch"), "switch"), 1))
    assert scene.status()[0] == 5
    clock.advance(600)
    assert scene.status()[1]["liveSince"] == "2026-11-28T09:00:00Z"
    server.zone = with_serial(serving(cutover_domain("switch"), "switch"), 3)
    assert scene.status()[1]["liveSince"] == "2026-11-28T09:10:00Z"


def test_a_sighting_dated_in_the_future_is_taken_as_now(scene_of: Callable[..., Scene], clock: Clock) -> None:
    scene = scene_of(cutover_domain("switch"))
    scene.serve(serving(cutover_domain("switch"), "switch"))
    assert scene.status()[0] == 5
    saved = json.loads(scene.journal.read_text("utf-8"))
    saved["domains"]["contoso.com"]["everywhere"] = "2030-01-01T00:00:00+00:00"
    scene.journal.write_text(json.dumps(saved), "utf-8")
    assert scene.status()[1]["liveSince"] == "2026-11-28T09:00:00Z"


def test_the_journal_keeps_the_first_sighting_across_runs(
    scene_of: Callable[..., Scene], clock: Clock
) -> None:
    scene = scene_of(cutover_domain("switch"))
    scene.serve(serving(cutover_domain("switch"), "switch"))
    assert scene.status()[0] == 5
    saved = json.loads(scene.journal.read_text("utf-8"))
    assert saved["version"] == 1
    entry = saved["domains"]["contoso.com"]
    assert (entry["phase"], entry["everywhere"], entry["opened"]) == (
        "switch",
        "2026-11-28T09:00:00+00:00",
        False,
    )
    assert entry["move"] == "hybrid-onprem-front -> third-party-hybrid"
    clock.advance(3600)
    code, domain = scene.status()  # a new Journal, read from the file
    assert (code, domain["liveSince"]) == (0, "2026-11-28T09:00:00Z")
    assert json.loads(scene.journal.read_text("utf-8"))["domains"]["contoso.com"]["opened"] is True


def test_without_the_journal_the_clock_starts_again(
    scene_of: Callable[..., Scene], clock: Clock, tmp_path: Path
) -> None:
    scene = scene_of(cutover_domain("switch"))
    scene.serve(serving(cutover_domain("switch"), "switch"))
    assert scene.status()[0] == 5
    clock.advance(300)
    scene.journal = tmp_path / "elsewhere.json"
    code, domain = scene.status()
    assert (code, domain["liveSince"], domain["gateOpens"]) == (
        5,
        "2026-11-28T09:05:00Z",
        "2026-11-28T10:05:00Z",
    )


def test_another_phase_restarts_the_clock(scene_of: Callable[..., Scene], clock: Clock) -> None:
    scene = scene_of(cutover_domain("switch"))
    server = scene.serve(serving(cutover_domain("switch"), "switch"))
    assert scene.status()[0] == 5
    clock.advance(600)
    scene.apply(server, "settle")
    code, domain = scene.status()
    assert (code, domain["liveSince"], domain["gateOpens"]) == (
        5,
        "2026-11-28T09:10:00Z",
        "2026-11-28T10:10:00Z",
    )


def test_the_default_journal_is_beside_the_stack_file(
    scene_of: Callable[..., Scene], clock: Clock, tmp_path: Path
) -> None:
    scene = scene_of(cutover_domain("switch"))
    scene.serve(serving(cutover_domain("switch"), "switch"))
    assert default_journal(scene.stack) == tmp_path / ".mailflow-cutover.test.json"
    code, _ = scene.run("--format", "json")
    assert code == 5
    assert (
        "contoso.com" in json.loads((tmp_path / ".mailflow-cutover.test.json").read_text("utf-8"))["domains"]
    )


def test_a_corrupt_journal_is_a_config_problem_naming_it(
    scene_of: Callable[..., Scene], clock: Clock
) -> None:
    scene = scene_of(cutover_domain("switch"))
    scene.serve(serving(cutover_domain("switch"), "switch"))
    scene.journal.write_text("{not json", "utf-8")
    code, output = scene.run("--journal", str(scene.journal))
    assert (code, output) == (2, "")
    assert f"{scene.journal}: is not a cutover journal this command wrote (" in scene.stderr
    assert scene.journal.read_text("utf-8") == "{not json"  # left as it was


@pytest.mark.parametrize("document", [[], {"domains": []}, {"domains": {"contoso.com": "x"}}])
def test_a_journal_of_another_shape_is_refused(tmp_path: Path, document: Any) -> None:
    path = tmp_path / "journal.json"
    path.write_text(json.dumps(document), "utf-8")
    with pytest.raises(ConfigError) as caught:
        Journal.load(path)
    assert [str(p) for p in caught.value.problems] == [f"{path}: is not a cutover journal this command wrote"]


def test_an_unwritable_journal_is_a_warning_and_the_verdict_stands(
    scene_of: Callable[..., Scene], clock: Clock, tmp_path: Path
) -> None:
    scene = scene_of(cutover_domain("switch"))
    scene.serve(serving(cutover_domain("switch"), "switch"))
    # Its directory cannot be made: the name is a link to nowhere (root may write anywhere else).
    (tmp_path / "gone").symlink_to(tmp_path / "nowhere")
    scene.journal = tmp_path / "gone" / "journal.json"
    code, domain = scene.status()
    assert (code, domain["status"]) == (5, "waiting")
    warning = scene.stderr.splitlines()[-1]
    assert warning.startswith(f"warning: {scene.journal}: not written (")
    assert warning.endswith("; the TTL gate's clock restarts next run")


# Servers that lag, have not applied the phase, or serve something else.


def test_a_lagging_server_keeps_the_domain_waiting(scene_of: Callable[..., Scene], clock: Clock) -> None:
    scene = scene_of(cutover_domain("prepare"))
    scene.serve(serving(cutover_domain("prepare"), "prepare"))
    lagging = scene.serve(serving(cutover_domain("prepare"), "before"))
    code, domain = scene.status()
    assert (code, domain["status"], domain["summary"]) == (
        5,
        "waiting",
        f"1 of 2 servers serve phase prepare; {port(lagging)} still serves before",
    )
    assert [s["phases"] for s in domain["servers"]] == [["prepare", "rollback"], ["before"]]
    assert (domain["liveSince"], domain["gateOpens"]) == (None, None)


def test_several_lagging_servers_are_named_together(scene_of: Callable[..., Scene], clock: Clock) -> None:
    scene = scene_of(cutover_domain("switch"))
    scene.serve(serving(cutover_domain("switch"), "switch"))
    first = scene.serve(serving(cutover_domain("switch"), "prepare"))
    second = scene.serve(serving(cutover_domain("switch"), "before"))
    code, domain = scene.status()
    assert (code, domain["summary"]) == (
        5,
        f"1 of 3 servers serve phase switch; {port(first)}, {port(second)} still serve before, "
        "prepare or rollback",
    )


def test_a_lagging_server_does_not_start_the_clock(scene_of: Callable[..., Scene], clock: Clock) -> None:
    scene = scene_of(cutover_domain("prepare"))
    scene.serve(serving(cutover_domain("prepare"), "prepare"))
    lagging = scene.serve(serving(cutover_domain("prepare"), "before"))
    assert scene.status()[0] == 5
    clock.advance(3600)
    lagging.zone = serving(cutover_domain("prepare"), "prepare")
    code, domain = scene.status()
    assert (code, domain["liveSince"]) == (5, "2026-11-28T10:00:00Z")


def test_no_server_serving_the_phase_is_not_applied(scene_of: Callable[..., Scene], clock: Clock) -> None:
    scene = scene_of(cutover_domain("switch"))
    scene.serve(serving(cutover_domain("switch"), "prepare"))
    scene.serve(serving(cutover_domain("switch"), "prepare"))
    code, domain = scene.status()
    assert (code, domain["status"], domain["summary"], domain["next"]) == (
        6,
        "not applied",
        "no server serves phase switch yet (they serve prepare or rollback)",
        ["pulumi up --stack test"],
    )


def test_a_server_serving_no_phase_is_drift(scene_of: Callable[..., Scene], clock: Clock) -> None:
    scene = scene_of(cutover_domain("switch"))
    scene.serve(serving(cutover_domain("switch"), "switch"))
    stranger = serving(cutover_domain("switch"), "switch")
    stranger.add(APEX, "MX", "10 mx.elsewhere.example.", ttl=300)
    odd = scene.serve(stranger)
    code, domain = scene.status()
    assert (code, domain["status"], domain["summary"]) == (
        1,
        "drift",
        f"{port(odd)} serves records of no phase of this cutover",
    )
    assert domain["servers"][1]["phases"] == []
    assert domain["next"] == [
        f"mailflow check {scene.stack} says what differs from phase switch (an update cut short, or "
        "records changed by hand)",
        "pulumi up --stack test publishes the phase again",
    ]


def test_the_phase_at_another_ttl_is_drift(scene_of: Callable[..., Scene], clock: Clock) -> None:
    domain_config = cutover_domain("switch")
    scene = scene_of(domain_config)
    scene.serve(serving(cutover_domain("switch", ttl=600), "switch"))
    assert scene.status()[0] == 1


def test_two_spf_records_are_drift(scene_of: Callable[..., Scene], clock: Clock) -> None:
    scene = scene_of(cutover_domain("switch"))
    zone = serving(cutover_domain("switch"), "switch")
    plan = plan_of(cutover_domain("switch"))
    zone.add(APEX, "TXT", '"MS=ms12345678"', f'"{plan.spf}"', '"v=spf1 -all"', ttl=300)
    scene.serve(zone)
    code, domain = scene.status()
    assert (code, domain["servers"][0]["phases"]) == (1, [])
    assert domain["summary"].endswith("(2 SPF records) serves records of no phase of this cutover")


def with_mta_sts(phase: str) -> dict[str, Any]:
    domain = cutover_domain(phase)
    domain["mtaSts"] = {"id": "20261128", "mode": "enforce"}
    return domain


def test_the_mta_sts_id_of_the_phase_is_part_of_it(scene_of: Callable[..., Scene], clock: Clock) -> None:
    scene = scene_of(with_mta_sts("prepare"))
    scene.serve(serving(with_mta_sts("prepare"), "prepare"))
    code, domain = scene.status()
    assert (code, domain["servers"][0]["phases"]) == (5, ["prepare", "rollback"])


def test_a_server_still_publishing_the_policy_id_from_before_is_drift(
    scene_of: Callable[..., Scene], clock: Clock
) -> None:
    """Senders would keep the policy cached under the old id, naming the old MX alone."""
    scene = scene_of(with_mta_sts("prepare"))
    zone = serving(with_mta_sts("prepare"), "prepare")
    zone.add("_mta-sts.contoso.com.", "TXT", '"v=STSv1; id=20261128;"')
    server = scene.serve(zone)
    code, domain = scene.status()
    assert (code, domain["summary"]) == (1, f"{port(server)} serves records of no phase of this cutover")


def test_drift_outranks_a_failed_server(scene_of: Callable[..., Scene], clock: Clock) -> None:
    scene = scene_of(cutover_domain("switch"))
    stranger = serving(cutover_domain("switch"), "switch")
    stranger.add(APEX, "MX", "10 mx.elsewhere.example.", ttl=300)
    scene.serve(stranger)
    scene.serve(Zone(names={APEX: SERVFAIL}))
    assert scene.status()[0] == 1


def test_spf_that_turns_an_old_path_sender_away_is_drift(
    scene_of: Callable[..., Scene], clock: Clock
) -> None:
    # The server serves exactly the phase's records, but config excludes the old vendor's sender
    # ahead of it: the record as planned turns the old path's mail away while it still flows.
    domain = from_old_vendor("prepare")
    domain["spf"] = {"extra": ["-ip4:192.0.2.0/28"]}
    scene = scene_of(domain)
    scene.serve(serving(domain, "prepare"))
    code, status = scene.status()
    assert (code, status["status"]) == (1, "drift")
    assert status["servers"][0]["phases"] == ["prepare", "rollback"]
    assert f"ip4:{OLD_VENDOR}" in status["servers"][0]["spfMissing"]
    assert status["summary"].startswith(
        f"SPF turns senders of the mail paths away: {port(scene.servers[0])} does not pass ip4:{OLD_VENDOR}"
    )


def test_an_spf_exclusion_of_no_sender_is_not_drift(scene_of: Callable[..., Scene], clock: Clock) -> None:
    domain = from_old_vendor("done")
    domain["spf"] = {"extra": [f"-ip4:{OLD_VENDOR}"]}  # the old vendor no longer sends for the domain
    scene = scene_of(domain)
    scene.serve(serving(domain, "done"))
    code, status = scene.status()
    assert (code, status["servers"][0]["spfMissing"]) == (5, [])


# Servers that do not answer usably.


def test_a_silent_server_is_a_dns_failure_within_the_timeout(
    scene_of: Callable[..., Scene], clock: Clock
) -> None:
    scene = scene_of(cutover_domain("switch"))
    silent = scene.serve(Zone(names={APEX: SILENT}))
    started = time.monotonic()
    code, domain = scene.status("--budget", "5")
    assert time.monotonic() - started < 10
    assert (code, domain["status"], domain["summary"]) == (
        3,
        "DNS failure",
        f"not every server answered: {port(silent)}: no answer within 0.5 s",
    )


@pytest.mark.parametrize(("reply", "reason"), [(SERVFAIL, "SERVFAIL"), (REFUSED, "REFUSED")])
def test_a_failing_server_is_a_dns_failure_with_its_rcode(
    scene_of: Callable[..., Scene], clock: Clock, reply: Reply, reason: str
) -> None:
    scene = scene_of(cutover_domain("switch"))
    scene.serve(serving(cutover_domain("switch"), "switch"))
    failing = scene.serve(Zone(names={APEX: reply}))
    code, domain = scene.status()
    assert (code, domain["summary"]) == (3, f"not every server answered: {port(failing)}: {reason}")
    assert domain["servers"][1] == {
        "server": port(failing),
        "phases": [],
        "failure": reason,
        "spfMissing": [],
    }


def test_a_malformed_answer_is_a_dns_failure(scene_of: Callable[..., Scene], clock: Clock) -> None:
    scene = scene_of(cutover_domain("switch"))
    scene.serve(Zone(names={APEX: MALFORMED}))
    code, domain = scene.status()
    assert code == 3
    assert domain["servers"][0]["failure"].startswith("malformed answer (")


class NonAuthoritative(DnsServer):
    """Answers as a recursive resolver does: the same records, without the AA flag."""

    def _answer(self, data: bytes, tcp: bool) -> bytes | None:
        wire = super()._answer(data, tcp)
        if wire is None:
            return None
        response = dns.message.from_wire(wire)
        response.flags &= ~dns.flags.AA
        return response.to_wire()


def test_an_answer_without_the_aa_flag_is_not_authoritative(
    scene_of: Callable[..., Scene], clock: Clock
) -> None:
    scene = scene_of(cutover_domain("switch"))
    server = NonAuthoritative(serving(cutover_domain("switch"), "switch"))
    scene.servers.append(server)
    code, domain = scene.status()
    assert (code, domain["servers"][0]["failure"]) == (3, "not authoritative for the zone (no AA flag)")


def test_an_authoritative_nxdomain_for_the_apex_is_drift_that_says_so(
    scene_of: Callable[..., Scene], clock: Clock
) -> None:
    scene = scene_of(cutover_domain("switch"))
    scene.serve(Zone(names={APEX: NXDOMAIN}))
    code, domain = scene.status()
    assert code == 1
    assert domain["servers"][0]["failure"] is None
    assert "(no MX and no TXT records at the apex)" in domain["summary"]


def test_a_zone_without_ns_records_has_no_server_to_ask(scene_of: Callable[..., Scene], clock: Clock) -> None:
    scene = scene_of(cutover_domain("switch"))
    resolver = scene.serve(with_serial(serving(cutover_domain("switch"), "switch"), 1))  # no NS records
    code, domain = scene.status("--nameserver", port(resolver), servers=[])
    assert (code, domain["summary"], domain["servers"]) == (
        3,
        "no authoritative server found (NS contoso.com.: no NS records)",
        [],
    )


def test_a_failing_ns_lookup_names_its_reason(scene_of: Callable[..., Scene], clock: Clock) -> None:
    scene = scene_of(cutover_domain("switch"))
    resolver = scene.serve(with_serial(Zone(record_sets={(APEX, "NS"): SERVFAIL}), 1))
    code, domain = scene.status("--nameserver", port(resolver), servers=[])
    assert (code, domain["summary"]) == (3, "no authoritative server found (NS contoso.com.: SERVFAIL)")


def test_a_zone_that_cannot_be_found_names_its_reason(scene_of: Callable[..., Scene], clock: Clock) -> None:
    scene = scene_of(cutover_domain("switch"))
    resolver = scene.serve(Zone(generators=[lambda name, rtype: SERVFAIL]))
    code, domain = scene.status("--nameserver", port(resolver), servers=[])
    assert (code, domain["summary"]) == (
        3,
        "no authoritative server found (the zone of contoso.com: SERVFAIL)",
    )


def test_a_subdomain_is_asked_of_the_servers_of_its_zone() -> None:
    zone = with_serial(Zone(), 1)
    zone.add(APEX, "NS", "ns1.contoso.com.")
    zone.add("ns1.contoso.com.", "A", "192.0.2.53")
    with DnsServer(zone) as server:
        found = find_servers("mail.contoso.com", LiveResolver(Nameserver(("127.0.0.1",), server.port), 0.5))
    assert found == ([Nameserver(("192.0.2.53",))], "")


def test_a_zone_naming_more_name_servers_than_are_asked_needs_them_given() -> None:
    zone = with_serial(Zone(), 1)
    zone.add(APEX, "NS", *(f"ns{i}.contoso.com." for i in range(17)))
    with DnsServer(zone) as server:
        found = find_servers("contoso.com", LiveResolver(Nameserver(("127.0.0.1",), server.port), 0.5))
    assert found == ([], "NS contoso.com.: 17 name servers, more than the 16 asked; give them with --server")


def test_ns_discovery_finds_each_servers_addresses() -> None:
    zone = with_serial(Zone(), 1)
    zone.add(APEX, "NS", "ns2.contoso.com.", "ns1.contoso.com.")
    zone.add("ns1.contoso.com.", "A", "192.0.2.53")
    zone.add("ns2.contoso.com.", "A", "192.0.2.54")
    zone.add("ns2.contoso.com.", "AAAA", "2001:db8::54")
    with DnsServer(zone) as server:
        found = find_servers("contoso.com", LiveResolver(Nameserver(("127.0.0.1",), server.port), 0.5))
    assert found == (
        [
            Nameserver(("192.0.2.53",)),
            Nameserver(("192.0.2.54",)),
            Nameserver(("2001:db8::54",)),
        ],
        "",
    )


def test_ns_hosts_without_addresses_give_the_reason() -> None:
    zone = Zone(record_sets={("ns1.contoso.com.", "A"): SERVFAIL, ("ns1.contoso.com.", "AAAA"): REFUSED})
    zone.add(APEX, "NS", "ns1.contoso.com.")
    with_serial(zone, 1)
    with DnsServer(zone) as server:
        found = find_servers("contoso.com", LiveResolver(Nameserver(("127.0.0.1",), server.port), 0.5))
    assert found == ([], "A ns1.contoso.com.: SERVFAIL; AAAA ns1.contoso.com.: REFUSED")


def test_the_budget_bounds_the_run_and_leaves_later_domains_unasked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], clock: Clock
) -> None:
    second = cutover_domain("switch")
    second["name"] = "fabrikam.com"
    stack = tmp_path / "Pulumi.test.yaml"
    stack.write_text(
        json.dumps({"config": {"mailflow:domains": [cutover_domain("switch"), second]}}), "utf-8"
    )
    with DnsServer(Zone(generators=[lambda name, rtype: SILENT])) as silent:
        started = time.monotonic()
        options = [
            "--timeout",
            "0.5",
            "--budget",
            "0.3",
            "--format",
            "json",
            "--journal",
            str(tmp_path / "j.json"),
        ]
        code = main(["cutover", "status", str(stack), "--nameserver", port(silent), *options])
        elapsed = time.monotonic() - started
    report = json.loads(capsys.readouterr().out)
    assert elapsed < 10
    assert code == 3
    assert [(d["domain"], d["summary"]) for d in report["domains"]] == [
        ("contoso.com", "no authoritative server found (the zone of contoso.com: time budget exhausted)"),
        ("fabrikam.com", "not asked: time budget exhausted"),
    ]


# Output: no domain in cutover, the table.


def test_a_stack_without_a_cutover_has_nothing_to_follow(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = tmp_path / "Pulumi.test.yaml"
    stack.write_text(json.dumps({"config": {"mailflow:domains": [SEED_DOMAIN]}}), "utf-8")
    journal = tmp_path / "journal.json"
    assert main(["cutover", "status", str(stack), "--journal", str(journal)]) == 8
    assert capsys.readouterr().out == "no domain is in cutover\n"
    assert not journal.exists()


def test_a_stack_without_a_cutover_reports_an_empty_json_document(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = tmp_path / "Pulumi.test.yaml"
    stack.write_text(json.dumps({"config": {"mailflow:domains": [SEED_DOMAIN]}}), "utf-8")
    assert main(["cutover", "status", str(stack), "--format", "json"]) == 8
    assert json.loads(capsys.readouterr().out) == {"status": "no cutover", "exitCode": 8, "domains": []}


def test_the_table_lists_the_next_steps_when_ready(scene_of: Callable[..., Scene], clock: Clock) -> None:
    scene = scene_of(cutover_domain("switch"))
    server = scene.serve(serving(cutover_domain("switch"), "switch"))
    scene.run("--journal", str(scene.journal))
    clock.advance(3600)
    code, output = scene.run("--journal", str(scene.journal))
    stack = str(scene.stack)
    assert code == 0
    assert output == (
        "contoso.com: hybrid-onprem-front -> third-party-hybrid, phase switch: ready\n"
        "  phase switch is live on its one server and its TTL gate has passed\n"
        f"  {port(server):<24} serves switch\n"
        "  live everywhere since 2026-11-28T09:00:00Z; gate opens 2026-11-28T10:00:00Z\n"
        "  next:\n"
        f"    1. mailflow plan {stack} --phase settle\n"
        "    2. pulumi config set --path 'mailflow:domains[0].cutover.phase' settle --stack test\n"
        "    3. pulumi up --stack test\n"
        f"    4. run the connector script of the phase: mailflow connectors {stack} (the new front's "
        "inbound connector now turns other senders away)\n"
        f"    5. mailflow cutover status {stack}\n"
    )


def test_the_table_shows_no_steps_while_waiting(scene_of: Callable[..., Scene], clock: Clock) -> None:
    scene = scene_of(cutover_domain("switch"))
    scene.serve(serving(cutover_domain("switch"), "switch"))
    code, output = scene.run("--journal", str(scene.journal))
    assert code == 5 and "next:" not in output
    assert (
        output.splitlines()[0]
        == "contoso.com: hybrid-onprem-front -> third-party-hybrid, phase switch: waiting"
    )


def test_done_ready_ends_the_cutover_with_the_published_mta_sts_id(
    scene_of: Callable[..., Scene], clock: Clock
) -> None:
    domain = cutover_domain("done")
    domain["mtaSts"] = {"id": "20261128", "mode": "enforce"}
    scene = scene_of(domain)
    scene.serve(serving(domain, "done"))
    scene.status()
    clock.advance(3600)
    code, status = scene.status()
    (record,) = [r for r in plan_of(domain).records if r.slot == "mta-sts"]
    published = record.value.split("id=", 1)[1].split(";", 1)[0]
    assert code == 0
    assert status["next"] == [
        f"set mailflow:domains[0].mtaSts.id: {published} (the id the servers publish now)",
        "pulumi config rm --path 'mailflow:domains[0].cutover' --stack test",
        f"mailflow plan {scene.stack}",
        "pulumi up --stack test",
    ]


def test_a_rollback_of_a_dane_move_ends_by_disabling_dnssec_for_the_domain(
    scene_of: Callable[..., Scene], clock: Clock
) -> None:
    domain = from_protection_host("rollback")
    scene = scene_of(domain)
    scene.serve(serving(domain, "rollback"))
    scene.status()
    clock.advance(3600)
    code, status = scene.status()
    assert code == 0
    assert status["next"][:2] == [
        "Exchange Online PowerShell: Disable-DnssecForVerifiedDomain -DomainName contoso.com: the legacy "
        "MX takes the mail again",
        "set mailflow:domains[0].topology (and the settings mailflow:domains[0].cutover.from names) back "
        "to the old side, contoso-com.mail.protection.outlook.com",
    ]


def test_rollback_ready_says_to_set_the_old_side_back(scene_of: Callable[..., Scene], clock: Clock) -> None:
    scene = scene_of(cutover_domain("rollback"))
    scene.serve(serving(cutover_domain("rollback"), "rollback"))
    scene.status()
    clock.advance(3600)
    code, status = scene.status()
    assert code == 0
    assert status["next"][0] == (
        "set mailflow:domains[0].topology (and the settings mailflow:domains[0].cutover.from names) back "
        "to the old side, hybrid-onprem-front"
    )


# spf_gaps on its own.


def senders(*texts: str) -> list[Any]:
    return [parse_term(text) for text in texts]


def test_an_ip_inside_a_wider_listed_network_passes() -> None:
    assert spf_gaps("v=spf1 ip4:10.10.10.0/24 -all", senders("ip4:10.10.10.1")) == []


def test_a_network_wider_than_the_listed_one_is_a_gap() -> None:
    assert spf_gaps("v=spf1 ip4:10.10.10.1 -all", senders("ip4:10.10.10.0/24")) == ["ip4:10.10.10.0/24"]


def test_an_exclusion_before_the_network_wins() -> None:
    record = "v=spf1 -ip4:10.10.10.1 ip4:10.10.10.0/24 -all"
    assert spf_gaps(record, senders("ip4:10.10.10.1", "ip4:10.10.10.2")) == ["ip4:10.10.10.1"]


def test_an_exclusion_after_the_network_does_not_matter() -> None:
    assert spf_gaps("v=spf1 ip4:10.10.10.0/24 -ip4:10.10.10.1 -all", senders("ip4:10.10.10.1")) == []


@pytest.mark.parametrize("qualifier", ["+", "?", "~"])
def test_only_a_passing_qualifier_passes(qualifier: str) -> None:
    gaps = spf_gaps(f"v=spf1 {qualifier}ip4:10.10.10.1 -all", senders("ip4:10.10.10.1"))
    assert gaps == ([] if qualifier == "+" else ["ip4:10.10.10.1"])


def test_ip6_senders_are_matched_against_ip6_terms_alone() -> None:
    record = "v=spf1 ip4:10.0.0.0/8 ip6:2001:db8::/32 -all"
    assert spf_gaps(record, senders("ip6:2001:db8::1", "ip6:2001:db9::1")) == ["ip6:2001:db9::1"]


def test_an_include_needs_the_same_term() -> None:
    outlook = "include:spf.protection.outlook.com"
    assert spf_gaps(f"v=spf1 {outlook} -all", senders(outlook)) == []
    assert spf_gaps("v=spf1 INCLUDE:SPF.Protection.Outlook.com -all", senders(outlook)) == []
    assert spf_gaps("v=spf1 include:other.example -all", senders(outlook)) == [outlook]
    assert spf_gaps(f"v=spf1 ~{outlook} -all", senders(outlook)) == [outlook]


def test_terms_after_all_are_ignored() -> None:
    record = "v=spf1 ip4:10.10.10.1 ~all ip4:131.107.21.231 include:spf.protection.outlook.com"
    gaps = spf_gaps(
        record, senders("ip4:10.10.10.1", "ip4:131.107.21.231", "include:spf.protection.outlook.com")
    )
    assert gaps == ["ip4:131.107.21.231", "include:spf.protection.outlook.com"]


def test_an_ip_sender_is_not_found_through_an_include() -> None:
    assert spf_gaps("v=spf1 include:spf.protection.outlook.com -all", senders("ip4:40.92.0.1")) == [
        "ip4:40.92.0.1"
    ]


ipv4_networks = st.builds(
    lambda address, prefix: ipaddress.ip_network(f"{address}/{prefix}", strict=False),
    st.ip_addresses(v=4),
    st.integers(8, 32),
)


def _term(network: ipaddress.IPv4Network) -> str:
    text = str(network.network_address) if network.prefixlen == 32 else str(network)
    return f"ip4:{text}"


@settings(max_examples=200, deadline=None)
@given(st.lists(ipv4_networks, min_size=1, max_size=12), st.data())
def test_any_ip4_sender_listed_verbatim_passes(
    networks: list[ipaddress.IPv4Network], data: st.DataObject
) -> None:
    terms = [_term(network) for network in networks]
    record = "v=spf1 " + " ".join(terms) + " include:spf.protection.outlook.com -all"
    chosen = data.draw(st.lists(st.sampled_from(terms), min_size=1))
    assert spf_gaps(record, senders(*chosen)) == []


@settings(max_examples=200, deadline=None)
@given(ipv4_networks, ipv4_networks)
def test_an_ip4_sender_outside_every_listed_network_is_a_gap(
    listed: ipaddress.IPv4Network, sender: ipaddress.IPv4Network
) -> None:
    record = f"v=spf1 {_term(listed)} -all"
    expected = [] if sender.subnet_of(listed) else [_term(sender)]
    assert spf_gaps(record, senders(_term(sender))) == expected
