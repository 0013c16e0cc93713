"""Runs each case in fresh processes (warm-up, then repetitions) and reports medians; runs a case
and its baseline alternately, as pairs, and reports the median of the per-pair ratios."""

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
    state: Path | None = None
    """A file backend's folder: the size of the stack state it holds after each run is recorded."""


@dataclass(frozen=True)
class Run:
    """One fresh process: wall time, self-reported inner time, peak RSS (MiB), bytes printed, and
    the size of the stack's state after it (for a case with ``state``)."""

    wall: float
    inner: float | None
    peak_rss_mib: float
    output_bytes: int
    state_bytes: int | None = None


@dataclass(frozen=True)
class Result:
    case: Case
    runs: list[Run]

    @property
    def wall(self) -> float:
        return statistics.median(r.wall for r in self.runs)

    @property
    def inner(self) -> float | None:
        values = [r.inner for r in self.runs if r.inner is not None]
        return statistics.median(values) if values else None

    @property
    def peak_rss_mib(self) -> float:
        return statistics.median(r.peak_rss_mib for r in self.runs)

    @property
    def output_bytes(self) -> float:
        return statistics.median(r.output_bytes for r in self.runs)


@dataclass(frozen=True)
class Ratio:
    """Per-pair ratios of a measure, case / baseline: their median and range."""

    values: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    def spread(self) -> str:
        return f"{min(self.values):.2f} to {max(self.values):.2f}"


MEASURES: dict[str, Callable[[Run], float]] = {
    "wall": lambda run: run.wall,
    "output": lambda run: run.output_bytes,
    "state": lambda run: run.state_bytes or 0,
}
"""What a pair's ratio can compare: wall time, bytes printed, bytes of state."""


@dataclass(frozen=True)
class Pair:
    """A case and its baseline, run alternately: ``case`` and ``baseline`` hold the runs in order."""

    case: Result
    baseline: Result

    def ratio(self, measure: str = "wall") -> Ratio:
        of = MEASURES[measure]
        return Ratio([of(a) / of(b) for a, b in zip(self.case.runs, self.baseline.runs, strict=True)])


GNU_TIME = "/usr/bin/time"


# Every Python program measured (mailflow and its baselines alike) runs from cached bytecode after
# the warm-up, as on any ordinary install, even where the environment turns caching off.
BYTECODE_CACHE = {"PYTHONDONTWRITEBYTECODE": ""}


def _run_once(case: Case) -> Run:
    """One fresh process of ``case``.

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
    printed = len(result.stdout.encode()) + len(result.stderr.encode())
    return Run(wall, inner, peak_kib / 1024, printed, _state_bytes(case.state))


def _state_bytes(backend: Path | None) -> int | None:
    """The size of the one stack state a file backend folder holds (its checkpoint, not backups)."""
    if backend is None:
        return None
    (state,) = (backend / ".pulumi" / "stacks").glob("*/*.json")
    return state.stat().st_size


def run_case(case: Case, repeat: int, warmup: int = 1) -> Result:
    for _ in range(warmup):
        _run_once(case)
    return Result(case, [_run_once(case) for _ in range(repeat)])


def run_pair(case: Case, baseline: Case, repeat: int, warmup: int = 1) -> Pair:
    """``repeat`` pairs, alternating which of the two runs first (AB BA AB …), so that both meet
    the same load and neither always follows the other: on a shared machine, medians of runs made
    one case after the other mislead, the ratio of neighbouring runs much less."""
    for _ in range(warmup):
        _run_once(baseline)
        _run_once(case)
    ours: list[Run] = []
    theirs: list[Run] = []
    for i in range(repeat):
        if i % 2:
            ours.append(_run_once(case))
            theirs.append(_run_once(baseline))
        else:
            theirs.append(_run_once(baseline))
            ours.append(_run_once(case))
    return Pair(Result(case, ours), Result(baseline, theirs))


def print_progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
