"""Runs each case in fresh processes (one warm-up, then repetitions) and reports medians."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Case:
    """One command to time. A command that prints a JSON line ``{"seconds": …}`` last also
    reports the time it measured inside itself (e.g. excluding interpreter start-up)."""

    group: str
    label: str
    argv: Sequence[str]
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    before: Callable[[], object] | None = None
    """Runs before each run, untimed: e.g. empty the state for an `up` from scratch."""


@dataclass(frozen=True)
class Result:
    case: Case
    wall: float
    inner: float | None
    peak_rss_mib: float


GNU_TIME = "/usr/bin/time"


# Every Python program measured (mailflow and its baselines alike) runs from cached bytecode after
# the warm-up, as on any ordinary install, even where the environment turns caching off.
BYTECODE_CACHE = {"PYTHONDONTWRITEBYTECODE": ""}


def _run_once(case: Case) -> tuple[float, float | None, float]:
    """Wall time, self-reported inner time and peak RSS (MiB) of one fresh process.

    GNU time starts the command: Linux carries a forking parent's peak RSS into the child's
    figure, so the harness (large after building the inputs) must not be that parent."""
    if case.before is not None:
        case.before()
    env = {**os.environ, **case.env, **BYTECODE_CACHE}
    with tempfile.TemporaryDirectory() as scratch:
        rss_file = Path(scratch) / "rss"
        argv = [GNU_TIME, "-f", "%M", "-o", str(rss_file), *case.argv]
        started = time.perf_counter()
        result = subprocess.run(argv, cwd=case.cwd, env=env, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - started
        if result.returncode != 0:
            raise RuntimeError(f"{case.label}: exit {result.returncode}\n{result.stderr[-3000:]}")
        peak_kib = int(rss_file.read_text().strip().splitlines()[-1])
    inner = None
    for line in reversed(result.stdout.strip().splitlines()):
        if line.startswith("{") and '"seconds"' in line:
            inner = float(json.loads(line)["seconds"])
            break
    return wall, inner, peak_kib / 1024


def run_case(case: Case, repeat: int, warmup: int = 1) -> Result:
    for _ in range(warmup):
        _run_once(case)
    runs = [_run_once(case) for _ in range(repeat)]
    inner_values = [r[1] for r in runs if r[1] is not None]
    return Result(
        case,
        statistics.median(r[0] for r in runs),
        statistics.median(inner_values) if inner_values else None,
        statistics.median(r[2] for r in runs),
    )


def print_progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
