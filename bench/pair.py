"""``python -m bench.pair REV RUNS -- COMMAND…``: run COMMAND alternately in a ``git worktree`` of
REV and in this tree (``bench.harness.run_pair``: after one untimed run of each, pairs in
alternating order, so that both meet the same load), and print the median wall time of each and
the median and range of the per-pair ratios after / before. The way docs/BENCHMARKS.md compares a
change with the revision before it on a shared machine."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from bench.harness import Case, run_pair

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    arguments = sys.argv[1:]
    if len(arguments) < 4 or arguments[2] != "--" or not arguments[1].isdigit() or int(arguments[1]) < 1:
        sys.exit(__doc__)
    revision, runs, _, *command = arguments
    if "/" in command[0]:  # a program named by path runs the same in both trees
        command[0] = str(Path(command[0]).absolute())
    with tempfile.TemporaryDirectory() as directory:
        before = Path(directory) / "before"
        subprocess.run(["git", "worktree", "add", "-q", "--detach", before, revision], cwd=ROOT, check=True)
        try:
            pair = run_pair(
                Case("pair", "after", command, cwd=ROOT),
                Case("pair", "before", command, cwd=before),
                int(runs),
            )
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", before], cwd=ROOT, check=True)
    ratio = pair.ratio()
    print(
        f"before {pair.baseline.wall:.3f} s  after {pair.case.wall:.3f} s  "
        f"after/before {ratio.median:.2f} (pairs {ratio.spread()}, {len(ratio.values)} pairs)"
    )


if __name__ == "__main__":
    main()
