"""``python -m bench.pair REV RUNS -- COMMAND…``: run COMMAND alternately in a ``git worktree`` of
REV and in this tree (A B A B …, so that both meet the same load), and print the median wall time
of each and their ratio. The way docs/BENCHMARKS.md compares a change with the revision before it
on a shared machine."""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _seconds(command: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    revision, runs, separator, *command = sys.argv[1:]
    if separator != "--" or not command:
        sys.exit(__doc__)
    if "/" in command[0]:  # a program named by path runs the same in both trees
        command[0] = str(Path(command[0]).absolute())
    with tempfile.TemporaryDirectory() as directory:
        before = Path(directory) / "before"
        subprocess.run(["git", "worktree", "add", "-q", "--detach", before, revision], cwd=ROOT, check=True)
        try:
            times: dict[str, list[float]] = {"before": [], "after": []}
            for _ in range(int(runs)):
                times["before"].append(_seconds(command, before))
                times["after"].append(_seconds(command, ROOT))
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", before], cwd=ROOT, check=True)
    first, second = statistics.median(times["before"]), statistics.median(times["after"])
    print(f"before {first:.3f} s  after {second:.3f} s  after/before {second / first:.2f}")


if __name__ == "__main__":
    main()
