"""`mailflow fleet`: split a domains file into stacks, check the stacks against each other, run
them in parallel. Splitting and checking need no engine; running is tested against a stand-in for
the Pulumi CLI (fast) and once against the real engine with zone files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from pulumi_project import Project, make_project
from stack_fixtures import seed_domain, stack_values
from test_engine import zone_records

from mailflow.cli import main
from mailflow.plan import plan_stack
from mailflow.stackfile import read_stack_file

ROOT = Path(__file__).resolve().parent.parent
PROJECT_FILE = "name: mailflow\nruntime: python\nstackConfigDir: stacks\n"


def project(directory: Path) -> Path:
    """A project directory whose stack files live in ``stacks/``, as in this repository."""
    (directory / "stacks").mkdir(parents=True)
    (directory / "Pulumi.yaml").write_text(PROJECT_FILE)
    return directory


def stack_file(directory: Path, name: str, config: dict[str, Any]) -> Path:
    path = directory / "stacks" / f"Pulumi.{name}.yaml"
    path.write_text(yaml.safe_dump({"config": config}, sort_keys=False))
    return path


def domains(*indexes: int) -> list[dict[str, Any]]:
    return [seed_domain(index) for index in indexes]


def run(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    code = main(["fleet", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def files(directory: Path) -> dict[str, bytes]:
    """Every file under ``directory`` with its bytes: what a refused run must leave as it is."""
    return {
        str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()
    }


# `fleet split` ---------------------------------------------------------------------------------


@pytest.fixture
def split_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project with seven domains in ``domains.yaml``, listed out of order, one with extra
    records, and a template stack file; the working directory is the project."""
    directory = project(tmp_path / "project")
    listed = domains(4, 0, 6, 2, 5, 1, 3)
    listed[0]["extraRecords"] = [
        {"name": "@", "type": "TXT", "value": "google-site-verification=abc"},
        {"name": "mail", "type": "A", "value": "131.107.21.231", "ttl": 300},
    ]
    (directory / "domains.yaml").write_text(yaml.safe_dump(listed, sort_keys=False))
    template = {
        "mailflow:target": {"kind": "zonefile", "directory": "zones"},
        "mailflow:resourceTree": "flat",
        "mailflow:domains": domains(9),
        "mailflow:maxDeleteShare": 0.5,
        "other:setting": "left alone",
        "mailflow:tsigSecret": {"secure": "v1:AAAA"},
    }
    (directory / "template.yaml").write_text(yaml.safe_dump({"config": template}, sort_keys=False))
    monkeypatch.chdir(directory)
    return directory


def test_split_writes_shards_sorted_by_name_and_a_stack_file_each(
    split_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        capsys, "split", "domains.yaml", "--size", "3", "--out", "stacks", "--template", "template.yaml"
    )
    assert code == 0, err
    written = [f"stacks/Pulumi.fleet-{k}.yaml" for k in (1, 2, 3)]
    assert out.split() == written
    assert "mailflow:tsigSecret is a secret of the template's stack and was not copied" in err
    config = yaml.safe_load((split_project / written[1]).read_text())["config"]
    assert config == {
        "mailflow:domainsFile": "stacks/fleet-2.domains.yaml",
        "mailflow:target": {"kind": "zonefile", "directory": "zones"},
        "mailflow:resourceTree": "flat",
        "mailflow:maxDeleteShare": 0.5,
    }
    planned = [[d.domain for d in plan_stack(read_stack_file(Path(path))).domains] for path in written]
    assert planned == [
        ["contoso0.com", "contoso1.com", "contoso2.com"],
        ["contoso3.com", "contoso4.com", "contoso5.com"],
        ["contoso6.com"],
    ]
    # The shards hold the domains exactly as the domains file did, extra records and all.
    original = yaml.safe_load((split_project / "domains.yaml").read_text())
    shards = [read_stack_file(Path(path))["domains"] for path in written]
    assert [d for shard in shards for d in shard] == sorted(original, key=lambda d: d["name"])

    code, out, err = run(capsys, "check", *written)
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "stacks/Pulumi.fleet-1.yaml: stack fleet-1, 3 domains, 24 records, zonefile target (zones)",
        "stacks/Pulumi.fleet-2.yaml: stack fleet-2, 3 domains, 26 records, zonefile target (zones)",
        "stacks/Pulumi.fleet-3.yaml: stack fleet-3, 1 domain, 8 records, zonefile target (zones)",
    ]


def test_split_overwrites_nothing_unless_forced(
    split_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "split", "domains.yaml", "--size", "3", "--out", "stacks")[0] == 0
    before = files(split_project)
    code, _, err = run(capsys, "split", "domains.yaml", "--size", "2", "--out", "stacks")
    assert code == 4
    assert "stacks/fleet-1.domains.yaml, stacks/Pulumi.fleet-1.yaml" in err
    assert "nothing was written (--force overwrites them)" in err
    assert files(split_project) == before

    code, out, err = run(capsys, "split", "domains.yaml", "--size", "4", "--out", "stacks", "--force")
    assert code == 0
    assert out.split() == ["stacks/Pulumi.fleet-1.yaml", "stacks/Pulumi.fleet-2.yaml"]
    assert "stacks/Pulumi.fleet-3.yaml is from an earlier split and was left as it is" in err
    assert (split_project / "stacks" / "Pulumi.fleet-3.yaml").read_bytes() == before[
        "stacks/Pulumi.fleet-3.yaml"
    ]


def test_split_of_a_json_file_writes_json_shards(
    split_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (split_project / "domains.json").write_text(json.dumps(domains(1, 0)))
    assert run(capsys, "split", "domains.json", "--size", "1", "--out", "shards", "--prefix", "t")[0] == 0
    assert json.loads((split_project / "shards" / "t-1.domains.json").read_text()) == domains(0)
    config = yaml.safe_load((split_project / "shards" / "Pulumi.t-2.yaml").read_text())["config"]
    assert config == {"mailflow:domainsFile": "shards/t-2.domains.json"}


def test_split_refuses_a_domain_given_twice_and_writes_nothing(
    split_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    twice = domains(0, 1)
    twice[1]["name"] = "CONTOSO0.com"
    (split_project / "twice.yaml").write_text(yaml.safe_dump(twice))
    code, _, err = run(capsys, "split", "twice.yaml", "--size", "1", "--out", "out")
    assert code == 2
    assert "twice.yaml[1].name: 'CONTOSO0.com' (contoso0.com) is already configured at twice.yaml[0]" in err
    assert not (split_project / "out").exists()


def test_split_copies_template_values_as_written(
    split_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Values keep their YAML types through the split (a date-like text stays text)."""
    template = yaml.safe_load((split_project / "template.yaml").read_text())
    template["config"]["mailflow:target"] = {"kind": "zonefile", "directory": "2026-01-01"}
    (split_project / "template.yaml").write_text(yaml.safe_dump(template))
    assert (
        run(capsys, "split", "domains.yaml", "--size", "7", "--out", "s", "--template", "template.yaml")[0]
        == 0
    )
    assert read_stack_file(split_project / "s" / "Pulumi.fleet-1.yaml")["target"] == {
        "kind": "zonefile",
        "directory": "2026-01-01",
    }


# `fleet check` ---------------------------------------------------------------------------------


def test_check_refuses_a_domain_planned_by_two_stacks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = project(tmp_path)
    a = stack_file(directory, "fleet-a", {"mailflow:domains": domains(0, 1)})
    b = stack_file(directory, "fleet-b", {"mailflow:domains": domains(2, 3, 4, 1)})
    code, out, err = run(capsys, "check", a, b)
    assert (code, out) == (2, "")
    zone = (directory / "out" / "zones" / "contoso1.com.zone").resolve()
    assert err.splitlines() == [
        "mailflow: 1 config problem:",
        f"  {b}: mailflow:domains[3].name: 'contoso1.com' is also planned by {a} at "
        f"mailflow:domains[1].name: a domain belongs to one stack; both would write the zone file {zone}",
    ]


def test_check_refuses_record_sets_two_stacks_write_in_one_zone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = project(tmp_path)
    target = {"kind": "cloudflare", "zoneId": "023e105f4ecef8ad9ca31a8372d0c353"}
    parent = seed_domain(0)
    parent["extraRecords"] = [{"name": "eu", "type": "TXT", "value": "v=spf1 -all"}]
    child = seed_domain(1)
    child["name"] = "eu.contoso0.com"
    a = stack_file(directory, "a", {"mailflow:target": target, "mailflow:domains": [parent]})
    b = stack_file(directory, "b", {"mailflow:target": target, "mailflow:domains": [child]})
    code, _, err = run(capsys, "check", a, b)
    assert code == 2
    assert (
        f"  {b}: mailflow:domains[0]: writes TXT eu.contoso0.com. in cloudflare zone "
        f"023e105f4ecef8ad9ca31a8372d0c353, as {a} does for 'contoso0.com' at mailflow:domains[0]: "
        "a zone file or record set belongs to one stack"
    ) in err.splitlines()
    # In zones of their own, the same names are no clash.
    stack_file(directory, "b", {"mailflow:target": {"kind": "cloudflare"}, "mailflow:domains": [child]})
    assert run(capsys, "check", a, b)[0] == 0


def test_check_names_the_stack_file_of_each_config_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = project(tmp_path)
    broken = seed_domain(1)
    broken["ttl"] = 0
    good = stack_file(directory, "good", {"mailflow:domains": domains(0)})
    bad = stack_file(directory, "bad", {"mailflow:domains": [broken], "mailflow:typo": True})
    code, _, err = run(capsys, "check", good, bad)
    assert code == 2
    assert f"  {bad}: mailflow:typo: is not a known setting (check its spelling and camelCase)" in err
    assert f"  {bad}: mailflow:domains[0].ttl: Input should be greater than or equal to 60 (got 0)" in err
    assert str(good) not in err


def test_check_warns_when_a_tenant_is_split_across_stacks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = project(tmp_path)
    tenant = {"mailflow:tenantFile": str(ROOT / "stacks" / "tenant" / "contoso.yaml")}
    a = stack_file(directory, "a", {**tenant, "mailflow:domains": domains(0)})
    b = stack_file(directory, "b", {**tenant, "mailflow:domains": domains(1)})
    code, _, err = run(capsys, "check", a, b)
    assert code == 0
    assert f"warning: {b}: tenant 'default' has domains in {a} too" in err


def test_a_stack_file_given_twice_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = stack_file(project(tmp_path), "a", {"mailflow:domains": domains(0)})
    code, _, err = run(capsys, "check", a, tmp_path / "stacks" / ".." / "stacks" / a.name)
    assert code == 4
    assert f"is given twice (as {a})" in err


# `fleet up` against a stand-in for the Pulumi CLI ------------------------------------------------

FAKE_PULUMI = """\
import json, os, signal, sys, time
from pathlib import Path

args = [a for a in sys.argv[1:] if a != "--non-interactive"]
stack = args[args.index("--stack") + 1] if "--stack" in args else ""
record = Path(os.environ["FAKE_RECORD"])
if args[:1] == ["version"]:
    print("v3.274.1")
elif args[:2] == ["stack", "select"]:
    if stack in os.environ.get("FAKE_MISSING", "").split(","):
        sys.exit(f"error: no stack named '{stack}' found")
elif args[:1] == ["up"]:
    (record / f"{stack}.args").write_text(json.dumps(args))

    def cancelled(number, frame):
        with (record / f"{stack}.interrupts").open("a") as handle:
            handle.write("SIGINT\\n")
        print("cancelled")
        sys.exit(255)

    signal.signal(signal.SIGINT, cancelled)
    print(f"Updating ({stack})", flush=True)
    (record / f"{stack}.started").write_text(str(time.time()))
    time.sleep(float(os.environ.get("FAKE_SECONDS", "0")))
    (record / f"{stack}.ended").write_text(str(time.time()))
    if stack in os.environ.get("FAKE_FAIL", "").split(","):
        print("error: the zone file cannot be written", file=sys.stderr)
        sys.exit(255)
elif args[:2] == ["stack", "output"]:
    print("{}")
elif args[:2] == ["stack", "history"]:
    print(json.dumps([{
        "kind": "update", "startTime": "2026-01-01T00:00:00.000Z", "endTime": "2026-01-01T00:00:01.000Z",
        "message": "", "environment": {}, "config": {}, "result": "succeeded", "version": 1,
        "resourceChanges": {"same": 1, "create": 8},
    }]))
"""


@pytest.fixture
def fake_fleet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Three stacks of one project, run by a stand-in `pulumi` that records each `up`."""
    fake = tmp_path / "bin" / "pulumi"
    fake.parent.mkdir()
    fake.write_text(f"#!{sys.executable}\n{FAKE_PULUMI}")
    fake.chmod(0o755)
    (tmp_path / "record").mkdir()
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_RECORD", str(tmp_path / "record"))
    directory = project(tmp_path / "project")
    return [stack_file(directory, f"fleet-{k}", {"mailflow:domains": domains(k)}) for k in (1, 2, 3)]


def test_up_runs_every_stack_k_at_a_time_with_the_extra_arguments(
    fake_fleet: list[Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FAKE_SECONDS", "0.5")
    logs = tmp_path / "logs"
    code, out, err = run(capsys, "up", *fake_fleet, "--parallel", "2", "--log-dir", logs, "--", "--diff")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == f"mailflow fleet up: 3 stacks, 2 at a time; logs in {logs}"
    assert sorted(line.split(" in ")[0] for line in lines[1:]) == [f"fleet-{k}: succeeded" for k in (1, 2, 3)]
    assert all(line.endswith(" s (create 8, same 1)") for line in lines[1:])
    record = tmp_path / "record"
    for k in (1, 2, 3):
        args = json.loads((record / f"fleet-{k}.args").read_text())
        assert args[:2] == ["up", "--diff"] and args[-2:] == ["--stack", f"fleet-{k}"]
        assert f"Updating (fleet-{k})" in (logs / f"fleet-{k}.log").read_text()
    spans = [
        (float((record / f"fleet-{k}.started").read_text()), float((record / f"fleet-{k}.ended").read_text()))
        for k in (1, 2, 3)
    ]
    overlapping = max(sum(start <= t < end for start, end in spans) for t, _ in spans)
    assert overlapping == 2


def test_a_failed_stack_stops_no_other_and_is_named_with_its_log(
    fake_fleet: list[Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FAKE_FAIL", "fleet-1")
    monkeypatch.setenv("FAKE_MISSING", "fleet-3")
    logs = tmp_path / "logs"
    code, out, err = run(capsys, "up", *fake_fleet, "--parallel", "1", "--log-dir", logs)
    assert code == 1
    by_stack = {line.split(":")[0]: line for line in out.splitlines()[1:]}
    assert by_stack["fleet-1"].startswith("fleet-1: failed in ")
    assert by_stack["fleet-1"].endswith(f" s; log: {logs / 'fleet-1.log'}")
    assert by_stack["fleet-2"].endswith("(create 8, same 1)")
    assert "no stack fleet-3: create it with `pulumi stack init fleet-3`" in by_stack["fleet-3"]
    assert (
        f"mailflow fleet up: 2 of 3 stacks failed: fleet-1 (log: {logs / 'fleet-1.log'}), "
        f"fleet-3 (log: {logs / 'fleet-3.log'})"
    ) in err
    assert "error: the zone file cannot be written" in (logs / "fleet-1.log").read_text()


def test_sigterm_cancels_each_running_update_once_and_starts_no_other(
    fake_fleet: list[Path], tmp_path: Path
) -> None:
    record = tmp_path / "record"
    env = {**os.environ, "FAKE_SECONDS": "60", "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "mailflow", "fleet", "up", *map(str, fake_fleet), "--parallel", "2"]
    command += ["--log-dir", str(tmp_path / "logs")]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while len(list(record.glob("*.started"))) < 2:
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.1)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGTERM, err
    assert "Traceback" not in err
    assert "fleet-3: not started" in out.splitlines()
    assert sum(": cancelled in " in line for line in out.splitlines()) == 2
    assert sorted(p.name for p in record.glob("*.interrupts")) == ["fleet-1.interrupts", "fleet-2.interrupts"]
    assert all(p.read_text() == "SIGINT\n" for p in record.glob("*.interrupts"))
    assert not (record / "fleet-3.args").exists()


def test_up_refuses_shared_domains_before_running_anything(
    fake_fleet: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rogue = stack_file(tmp_path / "project", "rogue", {"mailflow:domains": domains(2)})
    logs = tmp_path / "logs"
    code, out, err = run(capsys, "up", *fake_fleet, rogue, "--log-dir", logs)
    assert (code, out) == (2, "")
    assert f"{rogue}: mailflow:domains[0].name: 'contoso2.com' is also planned by {fake_fleet[1]}" in err
    assert not logs.exists()
    assert list((tmp_path / "record").iterdir()) == []


def test_up_refuses_a_stack_file_pulumi_would_not_read_and_stack_arguments(
    fake_fleet: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    elsewhere = tmp_path / "project" / "Pulumi.fleet-9.yaml"
    elsewhere.write_text(yaml.safe_dump({"config": {"mailflow:domains": domains(9)}}))
    code, _, err = run(capsys, "preview", elsewhere)
    assert code == 2
    expected = tmp_path / "project" / "stacks" / "Pulumi.fleet-9.yaml"
    assert f"{elsewhere}: is not the file Pulumi reads for stack fleet-9" in err and str(expected) in err
    assert run(capsys, "up", *fake_fleet, "--", "--stack", "prod")[0] == 4
    assert run(capsys, "check", *fake_fleet, "--", "--diff")[0] == 4
    assert list((tmp_path / "record").iterdir()) == []


# `fleet up` through the real engine ------------------------------------------------------------


@pytest.mark.engine
def test_fleet_up_of_three_split_stacks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fleet = make_project(tmp_path / "fleet")
    directory = fleet.directory
    (directory / "domains.json").write_text(json.dumps(stack_values(6)["domains"]))
    template = {
        "mailflow:target": {"kind": "zonefile", "directory": str(fleet.zones)},
        "mailflow:resourceTree": "flat",
    }
    (directory / "template.yaml").write_text(yaml.safe_dump({"config": template}))
    monkeypatch.chdir(directory)
    code, out, err = run(
        capsys, "split", "domains.json", "--size", "2", "--out", "stacks", "--template", "template.yaml"
    )
    assert code == 0, err
    stacks = out.split()
    for k in (1, 2, 3):
        Project(directory, f"fleet-{k}").pulumi("stack", "init")

    def fleet_up(*argv: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "mailflow", "fleet", "up", *argv]
        return subprocess.run(
            command, cwd=directory, env=fleet.env(), capture_output=True, text=True, check=False
        )

    first = fleet_up(*stacks, "--parallel", "2", "--log-dir", str(tmp_path / "logs"))
    assert first.returncode == 0, first.stdout + first.stderr
    for path in stacks:
        plan = plan_stack(read_stack_file(directory / path))
        assert len(plan.domains) == 2
        for domain in plan.domains:
            planned = {(r.name, r.type, r.ttl, r.value) for r in domain.records}
            assert zone_records(fleet.zones / f"{domain.domain}.zone", f"{domain.domain}.") == planned
    zones = files(fleet.zones)
    assert len(zones) == 6

    again = fleet_up(
        *stacks, "--parallel", "2", "--log-dir", str(tmp_path / "again"), "--", "--expect-no-changes"
    )
    assert again.returncode == 0, again.stdout + again.stderr
    results = again.stdout.splitlines()[1:]
    assert sorted(line.split(":")[0] for line in results) == ["fleet-1", "fleet-2", "fleet-3"]
    assert all(
        ": succeeded in " in line and "create" not in line and "update" not in line for line in results
    )
    assert files(fleet.zones) == zones

    # A stack claiming another's domains is refused before Pulumi is asked anything.
    rogue = directory / "stacks" / "Pulumi.rogue.yaml"
    rogue.write_text(
        yaml.safe_dump({"config": {**template, "mailflow:domainsFile": "stacks/fleet-1.domains.json"}})
    )
    state = files(fleet.state)
    refused = fleet_up(*stacks, "stacks/Pulumi.rogue.yaml", "--log-dir", str(tmp_path / "refused"))
    assert refused.returncode == 2
    assert (
        "stacks/Pulumi.rogue.yaml: stacks/fleet-1.domains.json[0].name: 'contoso0.com' is also planned by "
        "stacks/Pulumi.fleet-1.yaml at stacks/fleet-1.domains.json[0].name"
    ) in refused.stderr
    assert files(fleet.state) == state
    assert files(fleet.zones) == zones
    assert not (tmp_path / "refused").exists()
