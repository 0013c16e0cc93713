"""``python -m bench``: every benchmark of docs/BENCHMARKS.md, as one table of medians."""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from bench.fixtures import write_stack_file
from bench.harness import Case, Result, print_progress, run_case

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def plan_cases(sizes: list[int], workdir: Path) -> list[Case]:
    cases = [
        Case(
            "plan",
            f"validate + plan, in-process, {n} domains",
            [PYTHON, "-m", "bench.plan_worker", str(n)],
            cwd=ROOT,
        )
        for n in sizes
    ]
    for n in sizes:
        stack = write_stack_file(workdir / f"Pulumi.bench{n}.yaml", n)
        cases.append(
            Case(
                "plan",
                f"`mailflow plan --format zone`, whole process, {n} domains",
                [PYTHON, "-m", "mailflow", "plan", str(stack), "--format", "zone"],
                cwd=ROOT,
            )
        )
    return cases


def mocks_cases(sizes: list[int], programs: tuple[str, ...] = ("mailflow", "handwritten")) -> list[Case]:
    """Import + plan + register under Pulumi's mocks, whole process, per target."""
    return [
        Case(
            f"mocks/{target}",
            f"{program}, {target}, {n} domains",
            [PYTHON, "-m", "bench.mocks_worker", program, target, str(n)],
            cwd=ROOT,
        )
        for target in ("zonefile", "cloudflare", "azure")
        for n in sizes
        for program in programs
    ]


def table(results: list[Result]) -> str:
    lines = ["| group | case | wall (median) | in-process (median) | peak RSS |", "|---|---|---|---|---|"]
    for r in results:
        inner = f"{r.inner:.3f} s" if r.inner is not None else "—"
        lines.append(
            f"| {r.case.group} | {r.case.label} | {r.wall:.3f} s | {inner} | {r.peak_rss_mib:.0f} MiB |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per case (after a warm-up)")
    parser.add_argument("--groups", default="plan,mocks", help="comma-separated: plan, mocks")
    parser.add_argument("--plan-sizes", default="1,100,1000,10000", help="domain counts for the plan group")
    parser.add_argument("--mocks-sizes", default="1,100", help="domain counts for the mocks group")
    args = parser.parse_args()
    groups = set(args.groups.split(","))
    with tempfile.TemporaryDirectory(prefix="mailflow-bench-") as tmp:
        cases = []
        if "plan" in groups:
            cases += plan_cases([int(n) for n in args.plan_sizes.split(",")], Path(tmp))
        if "mocks" in groups:
            cases += mocks_cases([int(n) for n in args.mocks_sizes.split(",")])
        results = []
        for case in cases:
            print_progress(f"bench: {case.label}")
            results.append(run_case(case, args.repeat))
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(
        f"{stamp}; Python {platform.python_version()}; {platform.machine()}, "
        f"{len(__import__('os').sched_getaffinity(0))} cores; {args.repeat} runs per case\n"
    )
    print(table(results))


if __name__ == "__main__":
    main()
