"""`pulumi up` through the real engine on a copy of the local stack (zone-file target)."""

from __future__ import annotations

import contextlib
import copy
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import dns.zone
import pytest
from pulumi_project import Project, diagnostics, make_project
from stack_fixtures import stack_values

from mailflow.plan import plan_stack
from mailflow.stackfile import read_stack_file
from mailflow.targets.zonefile import MARKER, file_owner, read_zone, render

pytestmark = pytest.mark.engine
NAMED_CHECKZONE = shutil.which("named-checkzone") or "/usr/bin/named-checkzone"


def zone_records(path: Path, origin: str) -> set[tuple[str, str, int, str]]:
    """(name, type, ttl, value) in a zone file, besides SOA and NS."""
    zone = dns.zone.from_file(str(path), origin, relativize=False)
    return {
        (name.to_text(), rdata.rdtype.name, ttl, rdata.to_text())
        for name, ttl, rdata in zone.iterate_rdatas()
        if rdata.rdtype.name not in ("SOA", "NS")
    }


def planned_records(project: Project, domain: str) -> set[tuple[str, str, int, str]]:
    plan = plan_stack(read_stack_file(project.stack_file))
    (domain_plan,) = [d for d in plan.domains if d.domain == domain]
    return {(r.name, r.type, r.ttl, r.value) for r in domain_plan.records}


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Project:
    project = make_project(tmp_path_factory.mktemp("deployed"))
    project.pulumi("up", "--yes")
    return project


@pytest.fixture
def project(tmp_path: Path) -> Project:
    created = make_project(tmp_path / "project")
    created.pulumi("up", "--yes")
    return created


def test_up_writes_zone_files_equal_to_the_plan(deployed: Project) -> None:
    zone_file = deployed.zones / "contoso.com.zone"
    assert zone_records(zone_file, "contoso.com.") == planned_records(deployed, "contoso.com")


def test_written_zone_file_is_accepted_by_named_checkzone(deployed: Project) -> None:
    result = subprocess.run(
        [NAMED_CHECKZONE, "contoso.com", str(deployed.zones / "contoso.com.zone")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_second_up_reports_no_changes(deployed: Project) -> None:
    before = (deployed.zones / "contoso.com.zone").read_bytes()
    deployed.pulumi("up", "--yes", "--expect-no-changes")
    assert (deployed.zones / "contoso.com.zone").read_bytes() == before


def test_the_stack_exports_its_summary_only(deployed: Project) -> None:
    outputs = json.loads(deployed.pulumi("stack", "output", "--json").stdout)
    assert outputs == {"summary": {"domains": 1, "records": 8, "warnings": 0}}


def test_changing_an_on_prem_ip_updates_only_the_spf_record(project: Project) -> None:
    zone_file = project.zones / "contoso.com.zone"
    before = zone_file.read_text().splitlines()
    domains = project.domains()
    domains[0]["onPremises"]["ips"] = ["131.107.21.232"]
    project.set_domains(domains)
    assert project.changed_steps() == [("update", "contoso.com/zone")]
    project.pulumi("up", "--yes")
    after = zone_file.read_text().splitlines()
    changed = {(b, a) for b, a in zip(before, after, strict=True) if b != a}
    assert len(changed) == 2
    assert any("SOA" in b for b, _ in changed)
    ((old_spf, new_spf),) = [(b, a) for b, a in changed if "v=spf1" in b]
    assert "ip4:131.107.21.231" in old_spf and "ip4:131.107.21.232" in new_spf


HAND_MADE = """$ORIGIN fabrikam.com.
$TTL 3600
@ IN SOA ns1.fabrikam.com. hostmaster.fabrikam.com. 2099010101 7200 3600 1209600 300
@ IN NS ns1.fabrikam.com.
ns1 IN A 192.0.2.53
www IN A 192.0.2.80
vpn IN A 192.0.2.81
"""


def fabrikam(project: Project, **extra: object) -> list[dict]:
    domains = project.domains()
    second = copy.deepcopy(domains[0])
    second.update(name="fabrikam.com", **extra)
    return [domains[0], second]


def test_removing_a_domain_deletes_its_zone_file(project: Project) -> None:
    domains = fabrikam(project)
    project.set_domains(domains)
    project.pulumi("up", "--yes")
    assert (project.zones / "fabrikam.com.zone").exists()
    project.set_domains(domains[:1])
    project.pulumi("up", "--yes", allow_destructive=True)
    assert not (project.zones / "fabrikam.com.zone").exists()
    assert (project.zones / "contoso.com.zone").exists()


def test_the_guard_refuses_a_run_that_deletes_mx_and_spf_until_allowed(project: Project) -> None:
    domains = fabrikam(project)
    project.set_domains(domains)
    project.pulumi("up", "--yes")
    zone_file = project.zones / "fabrikam.com.zone"
    state_before = project.resources()
    project.set_domains(domains[:1])
    for command in (("preview",), ("up", "--yes")):
        result = project.pulumi(*command, check=False)
        assert result.returncode != 0
        assert (
            "mailflow refuses this run: it deletes or moves 1 MX/SPF record resource(s) and it deletes or moves 50% of the stack's record resources (limit 30%): fabrikam.com/zone. Nothing was changed."
            in result.stdout
        )
        assert "MAILFLOW_ALLOW_DESTRUCTIVE=1" in result.stdout
    assert zone_file.exists()
    assert project.resources() == state_before
    project.pulumi("up", "--yes", allow_destructive=True)
    assert not zone_file.exists()


def test_the_guard_counts_a_move_to_another_place_as_a_deletion(project: Project, tmp_path: Path) -> None:
    config = project.config()
    moved = {**config["mailflow:target"], "directory": str(tmp_path / "elsewhere")}
    project.write_config({**config, "mailflow:target": moved})
    result = project.pulumi("preview", check=False)
    assert result.returncode != 0
    assert "deletes or moves 1 MX/SPF record resource(s)" in result.stdout
    project.pulumi("up", "--yes", allow_destructive=True)
    assert (tmp_path / "elsewhere" / "contoso.com.zone").exists()


def test_a_hand_made_zone_file_is_refused_by_preview_and_never_overwritten(project: Project) -> None:
    hand_made = project.zones / "fabrikam.com.zone"
    hand_made.write_text(HAND_MADE)
    project.set_domains(fabrikam(project))
    for command in (("preview",), ("up", "--yes")):
        result = project.pulumi(*command, check=False)
        assert result.returncode != 0
        (refused,) = [e for e in diagnostics(result.stdout)[0] if "fabrikam.com/zone" in e]
        assert (
            f"resource 'fabrikam.com/zone' has a problem: {hand_made} exists and mailflow did not write it"
            in refused
        )
        assert "Traceback" not in result.stdout + result.stderr
    assert hand_made.read_text() == HAND_MADE
    assert [r for r in project.resources() if r["urn"].endswith("::fabrikam.com/zone")] == []


def test_adopting_a_zone_file_mailflow_cannot_read_whole_is_refused_by_preview(project: Project) -> None:
    hand_made = project.zones / "fabrikam.com.zone"
    hand_made.write_text(HAND_MADE + "$INCLUDE common.zone\n")
    project.set_domains(fabrikam(project, adopt=True))
    result = project.pulumi("preview", check=False)
    assert result.returncode != 0
    assert (
        f"cannot adopt {hand_made}: fabrikam.com.zone:8: zone file directive '$INCLUDE' is not allowed"
        in result.stdout
    )
    assert "Traceback" not in result.stdout + result.stderr
    assert hand_made.read_text() == HAND_MADE + "$INCLUDE common.zone\n"


def adopting(project: Project) -> list[dict]:
    """The seed domain and fabrikam.com, adopted; the zone files name fabrikam's name server."""
    config = project.config()
    target = {**config["mailflow:target"], "nameservers": ["ns1.fabrikam.com"]}
    project.write_config({**config, "mailflow:target": target})
    domains = fabrikam(project, adopt=True)
    project.set_domains(domains)
    return domains


def test_an_adopted_zone_file_keeps_its_records_and_serial_and_is_handed_back_when_removed(
    project: Project, tmp_path: Path
) -> None:
    hand_made = project.zones / "fabrikam.com.zone"
    hand_made.write_text(HAND_MADE)
    domains = adopting(project)
    project.pulumi("up", "--yes")
    kept = {
        ("ns1.fabrikam.com.", "A", 3600, "192.0.2.53"),
        ("www.fabrikam.com.", "A", 3600, "192.0.2.80"),
        ("vpn.fabrikam.com.", "A", 3600, "192.0.2.81"),
    }
    assert zone_records(hand_made, "fabrikam.com.") == kept | planned_records(project, "fabrikam.com")
    assert read_zone(hand_made, "fabrikam.com.").serial == 2099010102
    (adopted,) = [r for r in project.resources() if r["urn"].endswith("::fabrikam.com/zone")]
    assert {"name": "www.fabrikam.com.", "type": "A", "ttl": 3600, "value": "192.0.2.80"} in adopted[
        "outputs"
    ]["adopted"]["records"]
    project.pulumi("refresh", "--yes", "--expect-no-changes")
    domains[1]["onPremises"]["ips"] = ["131.107.21.232"]
    project.set_domains(domains)
    assert project.changed_steps() == [("update", "fabrikam.com/zone")]
    project.pulumi("up", "--yes")
    assert zone_records(hand_made, "fabrikam.com.") == kept | planned_records(project, "fabrikam.com")
    assert read_zone(hand_made, "fabrikam.com.").serial == 2099010103
    held = zone_records(hand_made, "fabrikam.com.")
    project.set_domains(domains[:1])
    project.pulumi("up", "--yes", allow_destructive=True)
    assert zone_records(hand_made, "fabrikam.com.") == held
    assert read_zone(hand_made, "fabrikam.com.").serial == 2099010104
    assert file_owner(hand_made) is None and MARKER not in hand_made.read_text()
    # Handed back: another stack may adopt it (contoso.com's file stays the first stack's).
    second = make_project(tmp_path / "second", project.config()["mailflow:target"], stack="other")
    second.set_domains(adopting(second)[1:])
    second.pulumi("up", "--yes")
    assert file_owner(hand_made) == "organization/mailflow/other"
    assert zone_records(hand_made, "fabrikam.com.") >= kept


def test_a_second_stack_cannot_take_or_delete_the_first_stacks_zone_file(
    project: Project, tmp_path: Path
) -> None:
    zone_file = project.zones / "contoso.com.zone"
    before = zone_file.read_text()
    second = make_project(
        tmp_path / "second", {"kind": "zonefile", "directory": str(project.zones)}, stack="other"
    )
    result = second.pulumi("up", "--yes", check=False)
    assert result.returncode != 0
    assert "is written by mailflow stack organization/mailflow/local" in result.stdout
    second.pulumi("destroy", "--yes")
    assert zone_file.read_text() == before


def test_a_run_cut_off_after_writing_never_leaves_two_contents_under_one_serial(project: Project) -> None:
    """State still holds the serial before the cut-off run; the file holds that run's content under
    the next serial. The next run with other content must go past both."""
    zone_file = project.zones / "contoso.com.zone"
    first = read_zone(zone_file, "contoso.com.").serial
    (resource,) = [r for r in project.resources() if r["urn"].endswith("::contoso.com/zone")]
    cut_off = {
        **resource["outputs"],
        "records": [
            *resource["outputs"]["records"],
            {"name": "cut.contoso.com.", "type": "A", "ttl": 3600, "value": "192.0.2.1"},
        ],
    }
    zone_file.write_text(render(cut_off, first + 1))
    domains = project.domains()
    domains[0]["onPremises"]["ips"] = ["131.107.21.232"]
    project.set_domains(domains)
    project.pulumi("up", "--yes")
    written = read_zone(zone_file, "contoso.com.")
    assert written.serial == first + 2
    assert ("cut.contoso.com.", "A") not in {(r["name"], r["type"]) for r in written.records}
    project.pulumi("up", "--yes")
    assert read_zone(zone_file, "contoso.com.").serial == first + 2


def test_changing_the_name_servers_and_hostmaster_rewrites_the_zone_file_then_changes_nothing(
    project: Project,
) -> None:
    zone_file = project.zones / "contoso.com.zone"
    first = read_zone(zone_file, "contoso.com.").serial
    config = project.config()
    target = {
        **config["mailflow:target"],
        "nameservers": ["ns2.contoso.com"],
        "hostmaster": "dns.contoso.com",
    }
    project.write_config({**config, "mailflow:target": target})
    assert project.changed_steps() == [("update", "contoso.com/zone")]
    project.pulumi("up", "--yes")
    written = read_zone(zone_file, "contoso.com.")
    assert (written.nameservers, written.hostmaster) == (["ns2.contoso.com."], "dns.contoso.com.")
    assert written.serial == first + 1
    project.pulumi("up", "--yes", "--expect-no-changes")
    project.pulumi("refresh", "--yes", "--expect-no-changes")


def test_a_hand_edit_of_the_name_servers_is_seen_by_refresh_and_undone_by_up(project: Project) -> None:
    zone_file = project.zones / "contoso.com.zone"
    written = zone_file.read_text()
    zone_file.write_text(written.replace("IN NS localhost.", "IN NS ns9.example.net."))
    project.pulumi("refresh", "--yes")
    assert project.changed_steps() == [("update", "contoso.com/zone")]
    project.pulumi("up", "--yes")
    assert read_zone(zone_file, "contoso.com.").nameservers == ["localhost."]


def test_the_guard_refusal_lists_what_would_go_and_not_every_placement(tmp_path: Path) -> None:
    """The engine prints a failing property's whole value beside the failure: the guard's names
    none, so its message stays one line of what would go, whatever the size of the stack."""
    project = make_project(tmp_path / "large")
    domains = stack_values(25)["domains"]
    project.set_domains(domains)
    project.pulumi("up", "--yes")
    project.set_domains(domains[:1])
    result = project.pulumi("preview", check=False)
    assert result.returncode != 0
    (refused,) = [e for e in diagnostics(result.stdout)[0] if "mailflow-change-guard" in e]
    going = sorted(f"{d['name']}/zone" for d in domains[1:])
    assert refused.splitlines()[1].strip() == (
        "error: pulumi-python:dynamic:Resource resource 'mailflow-change-guard' has a problem: "
        "mailflow refuses this run: it deletes or moves 24 MX/SPF record resource(s) and it deletes or "
        f"moves 96% of the stack's record resources (limit 30%): {', '.join(going[:20])} and 4 more. "
        "Nothing was changed. If this is intended, run it again with MAILFLOW_ALLOW_DESTRUCTIVE=1 "
        "(for this run only)"
    )
    assert "placements" not in result.stdout and domains[0]["name"] not in refused
    assert len(refused) < 2000


def test_two_installs_with_one_stack_name_are_told_apart_by_their_owner_ids(
    project: Project, tmp_path: Path
) -> None:
    """On a self-managed backend the default owner id of stack ``local`` of project ``mailflow`` is
    the same for every install; ``mailflow:ownerId`` makes each its own."""
    zone_file = project.zones / "contoso.com.zone"
    before = zone_file.read_text()
    elsewhere = make_project(tmp_path / "elsewhere", {"kind": "zonefile", "directory": str(project.zones)})
    elsewhere.write_config({**elsewhere.config(), "mailflow:ownerId": "site-b/mailflow/local"})
    result = elsewhere.pulumi("preview", check=False)
    assert result.returncode != 0
    assert (
        f"{zone_file} is written by mailflow stack organization/mailflow/local; a zone file has one owner, "
        "so this stack (site-b/mailflow/local) leaves it alone" in result.stdout
    )
    assert zone_file.read_text() == before


def test_an_owner_id_set_on_a_running_stack_takes_over_only_its_own_files(project: Project) -> None:
    zone_file = project.zones / "contoso.com.zone"
    records = zone_records(zone_file, "contoso.com.")
    project.write_config({**project.config(), "mailflow:ownerId": "site-a/mailflow/local"})
    assert project.changed_steps() == [("update", "contoso.com/zone")]
    project.pulumi("up", "--yes")
    assert file_owner(zone_file) == "site-a/mailflow/local"
    assert zone_records(zone_file, "contoso.com.") == records
    project.pulumi("up", "--yes", "--expect-no-changes")
    # Without the state that proves the file this stack's under the old id: refused.
    project.write_config({**project.config(), "mailflow:ownerId": "site-c/mailflow/local"})
    (urn,) = [r["urn"] for r in project.resources() if r["urn"].endswith("::contoso.com/zone")]
    project.pulumi("state", "delete", "--yes", urn)
    result = project.pulumi("preview", check=False)
    assert "is written by mailflow stack site-a/mailflow/local" in result.stdout
    assert zone_records(zone_file, "contoso.com.") == records


def test_destroy_leaves_nothing(project: Project) -> None:
    project.pulumi("destroy", "--yes")
    assert list(project.zones.glob("*")) == []
    assert project.resources() == []


def test_a_hand_edit_is_seen_by_refresh_and_undone_by_up(project: Project) -> None:
    zone_file = project.zones / "contoso.com.zone"
    written = zone_records(zone_file, "contoso.com.")
    zone_file.write_text(zone_file.read_text().replace("ip4:131.107.21.231", "ip4:198.51.100.66"))
    project.pulumi("refresh", "--yes")
    assert project.changed_steps() == [("update", "contoso.com/zone")]
    project.pulumi("up", "--yes")
    assert zone_records(zone_file, "contoso.com.") == written


def test_bad_config_fails_preview_and_up_and_changes_nothing(project: Project) -> None:
    zone_file = project.zones / "contoso.com.zone"
    zone_before = zone_file.read_bytes()
    state_before = {p: p.read_bytes() for p in project.state.rglob("*.json")}
    domains = project.domains()
    domains[0]["onPremises"]["ips"] = ["131.107.21.231", "131.107.21.999"]
    project.set_domains(domains)
    for command in (("preview",), ("up", "--yes")):
        result = project.pulumi(*command, check=False)
        assert result.returncode != 0
        output = result.stdout + result.stderr
        assert (
            "mailflow:domains[0].onPremises.ips[1]: '131.107.21.999' is not an IPv4 or IPv6 address" in output
        )
        assert "Traceback" not in output
    assert zone_file.read_bytes() == zone_before
    state_after = {p: p.read_bytes() for p in project.state.rglob("*.json")}
    assert {p: b for p, b in state_after.items() if not p.name.endswith(".bak")} == {
        p: b for p, b in state_before.items() if not p.name.endswith(".bak")
    }


def test_a_strict_stack_refuses_a_derived_value_and_changes_nothing(project: Project) -> None:
    """With the tenant file gone, the seed stack's DKIM targets could only be guessed: a strict stack
    stops before any change, naming the value; a stack that is not strict says it derived it."""
    zone_file = project.zones / "contoso.com.zone"
    zone_before = zone_file.read_bytes()
    config = {k: v for k, v in project.config().items() if k != "mailflow:tenantFile"}
    domains = config["mailflow:domains"]
    domains[0]["exchangeOnline"]["dkim"] = {"initialDomain": "contoso.onmicrosoft.com"}
    project.write_config({**config, "mailflow:strict": True})
    result = project.pulumi("up", "--yes", check=False)
    assert result.returncode != 0
    assert zone_file.read_bytes() == zone_before
    assert (
        "mailflow:domains[0].exchangeOnline.dkim.initialDomain: targets derived in the old format"
        in result.stdout
    )
    assert "strict mode refuses" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    project.write_config({**config, "mailflow:strict": False})
    result = project.pulumi("up", "--yes")
    assert (
        "mailflow:domains[0].exchangeOnline.mxHost: derived as 'contoso-com.mail.protection.outlook.com'"
        in result.stdout
    )


def test_a_stack_too_large_for_inline_config_runs_from_a_domains_file(tmp_path: Path) -> None:
    """Pulumi hands the program its config in one environment variable, which Linux caps at
    128 KiB, which 300 domains inline exceed; from a domains file they plan."""
    project = make_project(tmp_path / "large")
    domains = stack_values(300)["domains"]
    assert len(json.dumps(domains)) > 128 * 1024
    project.set_domains_file(domains, {"mailflow:resourceTree": "flat"})
    created = [s for s in project.preview_steps() if s["op"] == "create" and s["urn"].endswith("/zone")]
    assert len(created) == 300


def kill_session(session: int) -> None:
    """SIGKILL every process of ``session`` (the field after the command in /proc/PID/stat)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue  # the process ended meanwhile
        if int(fields[3]) == session:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(stat.parent.name), signal.SIGKILL)


def test_serials_keep_rising_after_a_run_killed_with_sigkill(tmp_path: Path) -> None:
    """A run with PULUMI_SKIP_CHECKPOINTS killed after it wrote some zone files saved no state:
    state holds the old serials, the files the killed run's. The next run goes past the files."""
    project = make_project(tmp_path / "killed")
    project.set_domains(stack_values(40)["domains"])
    project.pulumi("up", "--yes")
    domains = project.domains()
    for domain in domains:
        domain["onPremises"]["ips"] = ["198.51.100.7"]
    project.set_domains(domains)
    before = {path.name: read_zone(path, f"{path.stem}.").serial for path in project.zones.glob("*.zone")}
    run = subprocess.Popen(
        ["pulumi", "up", "--yes", "--parallel", "1", "--stack", project.stack, "--non-interactive"],
        cwd=project.directory,
        env={**project.env(), "PULUMI_SKIP_CHECKPOINTS": "true"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    killed_at: dict[str, int] = {}
    while time.monotonic() < deadline and run.poll() is None:
        now = {p.name: read_zone(p, f"{p.stem}.").serial for p in project.zones.glob("*.zone")}
        killed_at = {name: serial for name, serial in now.items() if serial != before[name]}
        if killed_at:
            os.killpg(run.pid, signal.SIGKILL)
            break
        time.sleep(0.01)
    run.wait(timeout=30)
    # The engine starts its plugins in process groups of their own: end what is left of its session.
    kill_session(run.pid)
    assert run.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    assert killed_at and len(killed_at) < len(before)
    for domain in domains:
        domain["onPremises"]["ips"] = ["198.51.100.8"]
    project.set_domains(domains)
    project.pulumi("cancel", "--yes", check=False)
    project.pulumi("up", "--yes")
    after = {path.name: read_zone(path, f"{path.stem}.").serial for path in project.zones.glob("*.zone")}
    assert all(after[name] > serial for name, serial in killed_at.items())
    assert all(after[name] > serial for name, serial in before.items())
