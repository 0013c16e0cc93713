"""Runs each case in fresh processes (one warm-up, then repetitions) and reports medians."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
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


@dataclass(frozen=True)
class Result:
    case: Case
    wall: float
    inner: float | None
    peak_rss_mib: float


def _run_once(case: Case) -> tuple[float, float | None, float]:
    """Wall time, self-reported inner time and peak RSS (MiB) of one fresh process."""
    env = {**os.environ, **case.env}
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        process = subprocess.Popen(case.argv, cwd=case.cwd, env=env, stdout=out, stderr=err)
        # wait4 gives this child's own rusage (peak RSS), which wait() would discard.
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if process.returncode != 0:
        raise RuntimeError(f"{case.label}: exit {process.returncode}\n{stderr[-3000:]}")
    inner = None
    for line in reversed(stdout.strip().splitlines()):
        if line.startswith("{") and '"seconds"' in line:
            inner = float(json.loads(line)["seconds"])
            break
    return wall, inner, usage.ru_maxrss / 1024


def run_case(case: Case, repeat: int) -> Result:
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
