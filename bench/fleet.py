"""One stack against a fleet: `pulumi up` of TOTAL domains as one stack, and `mailflow fleet up` of
the same domains split into stacks (docs/FLEETS.md); zone-file target, flat resource tree, the same
checkpoint setting, each run from empty state."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import yaml

from bench.harness import Case
from mailflow.fleet import split_files, stack_name
from tests.pulumi_project import Project, make_project
from tests.stack_fixtures import stack_values


def fleet_cases(
    workdir: Path, total: int, stacks: int, *, checkpoints: str = "default", parallel: int | None = None
) -> list[Case]:
    """Two cases of group ``fleet``: `pulumi up` of ``total`` domains as one stack, then `mailflow
    fleet up` of the same domains as ``stacks`` stacks (shards of ``ceil(total / stacks)``, as
    `fleet split` writes them), ``parallel`` at a time (default: one per CPU). ``checkpoints`` is
    a key of ``bench.__main__.CHECKPOINTS``: ``default`` (a checkpoint per engine step, whose
    cost grows with the square of a stack: the cost a fleet divides) or ``skip``."""
    # Imported here: bench/__main__.py, which runs the benchmarks, imports this module.
    from bench.__main__ import CHECKPOINTS, PYTHON, _engine_project, _reset

    extra_env, suffix = CHECKPOINTS[checkpoints]
    one = _engine_project(workdir / f"fleet-one-{total}", total, "flat")
    fleet, stack_files = _fleet_project(workdir / f"fleet-{stacks}-{total}", total, stacks)
    members = [Project(fleet.directory, str(stack_name(path))) for path in stack_files]

    def fresh_fleet() -> None:
        """Empty state and zone files, every stack of the fleet initialised again (untimed)."""
        _reset(members[0])()
        for member in members[1:]:
            member.pulumi("stack", "init")

    at_once = f"{parallel} at a time" if parallel else "one per CPU at a time"
    fleet_argv = [PYTHON, "-m", "mailflow", "fleet", "up", *map(str, stack_files)]
    fleet_argv += ["--log-dir", str(workdir / f"fleet-logs-{stacks}-{total}")]
    fleet_argv += ["--parallel", str(parallel)] if parallel else []
    return [
        Case(
            "fleet",
            f"one stack, `pulumi up` from empty state{suffix}, {total} domains",
            ["pulumi", "--non-interactive", "--stack", one.stack, "up", "--yes"],
            env={**one.env(), **extra_env},
            cwd=one.directory,
            before=_reset(one),
        ),
        Case(
            "fleet",
            f"`mailflow fleet up` of {len(stack_files)} stacks, {at_once}, from empty state{suffix}, "
            f"{total} domains",
            fleet_argv,
            env={**fleet.env(), **extra_env},
            cwd=fleet.directory,
            before=fresh_fleet,
        ),
    ]


def _fleet_project(directory: Path, total: int, stacks: int) -> tuple[Project, list[Path]]:
    """A copy of the project whose stacks are the shards `fleet split` writes of ``total`` domains."""
    project = make_project(directory)
    domains_file = directory / "domains.json"
    domains_file.write_text(json.dumps(stack_values(total)["domains"]))
    template = directory / "template.yaml"
    config = {
        "mailflow:target": {"kind": "zonefile", "directory": str(project.zones)},
        "mailflow:resourceTree": "flat",
    }
    template.write_text(yaml.safe_dump({"config": config}))
    size = math.ceil(total / stacks)
    files, _ = split_files(domains_file, size, directory / "stacks", "fleet", template)
    for file in files:
        file.path.write_text(file.text, encoding="utf-8")
    stack_files = [file.path for file in files if stack_name(file.path)]
    return project, [Path(os.path.relpath(path, directory)) for path in stack_files]
