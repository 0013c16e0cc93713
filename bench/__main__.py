"""``python -m bench`` (``make bench``): every benchmark of docs/BENCHMARKS.md, measured in one
run as medians of fresh processes after a warm-up, with ratios of mailflow to its baselines."""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bench.fixtures import write_stack_file
from bench.harness import Case, Result, print_progress, run_case
from bench.octodns_peer import write_octodns_inputs
from tests.bind_server import KEY_NAME, BindServer
from tests.pulumi_project import Project, make_project
from tests.stack_fixtures import stack_values

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
GROUPS = ("plan", "mocks", "engine", "bind", "peer")


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
        stack = write_stack_file(workdir / f"Pulumi.plan{n}.yaml", n)
        argv = [PYTHON, "-m", "mailflow", "plan", str(stack), "--format", "zone"]
        cases.append(
            Case("plan", f"`mailflow plan --format zone`, whole process, {n} domains", argv, cwd=ROOT)
        )
    return cases


def programs(trees: list[str]) -> list[tuple[str, str | None]]:
    """(label, mailflow resourceTree) of each program measured: mailflow in each tree shape, then
    the hand-written baseline."""
    return [*((f"mailflow[{tree}]", tree) for tree in trees), ("handwritten", None)]


def mocks_cases(sizes: list[int], trees: list[str]) -> list[Case]:
    """Import + plan + register under Pulumi's mocks, whole process, against the hand-written baseline."""
    return [
        Case(
            f"mocks/{target}",
            f"{label}, {target}, {n} domains",
            [PYTHON, "-m", "bench.mocks_worker", label.partition("[")[0], target, str(n), tree or ""],
            cwd=ROOT,
        )
        for target in ("zonefile", "cloudflare", "azure")
        for n in sizes
        for label, tree in programs(trees)
    ]


def _reset(project: Project) -> Callable[[], None]:
    """Empty state and output, so that the next `up` starts from nothing (untimed)."""

    def reset() -> None:
        shutil.rmtree(project.state, ignore_errors=True)
        shutil.rmtree(project.zones, ignore_errors=True)
        project.state.mkdir()
        project.pulumi("stack", "init")

    return reset


HANDWRITTEN_MAIN = """\
import json
from pathlib import Path

import pulumi

from bench.handwritten import zonefile_program

config = pulumi.Config("mailflow")
domains_file = config.get("domainsFile")
domains = json.loads(Path(domains_file).read_text()) if domains_file else config.require_object("domains")
zonefile_program(domains, Path(config.require_object("target")["directory"]))
"""
"""The hand-written baseline as a Pulumi program, in place of the project's ``__main__.py``."""


def _engine_project(directory: Path, n: int, tree: str | None) -> Project:
    """mailflow in resource tree ``tree``, or the hand-written baseline for None. Domains in a
    domains file: at 1,000 they would not fit the environment variable Pulumi passes config in."""
    project = make_project(directory, program=HANDWRITTEN_MAIN if tree is None else None)
    project.set_domains_file(stack_values(n)["domains"], {"mailflow:resourceTree": tree} if tree else None)
    return project


CHECKPOINTS = {
    "default": ({}, ""),
    "skip": ({"PULUMI_SKIP_CHECKPOINTS": "true"}, " with PULUMI_SKIP_CHECKPOINTS"),
}


def engine_cases(
    sizes: list[int], trees: list[str], checkpoints: list[str], checkpoint_max: int, workdir: Path
) -> list[Case]:
    """`pulumi preview` and `up` from empty state, then a no-change `up`: zone-file target, with
    the engine's per-step checkpoints (``default``, up to ``checkpoint_max`` domains: beyond, their
    cost grows with the square of the stack) or one at the end (``skip``)."""
    cases = []
    for n in sizes:
        modes = [mode for mode in checkpoints if mode != "default" or n <= checkpoint_max]
        for mode in modes:
            extra_env, suffix = CHECKPOINTS[mode]
            for label, tree in programs(trees):
                name = label.replace("[", "-").rstrip("]")
                project = _engine_project(workdir / f"engine-{name}-{mode}-{n}", n, tree)
                pulumi = ["pulumi", "--non-interactive", "--stack", "local"]
                common = {"env": {**project.env(), **extra_env}, "cwd": project.directory}
                if mode == modes[0]:  # a preview writes no checkpoint
                    cases.append(
                        Case(
                            "engine",
                            f"{label}, `pulumi preview` (empty state), {n} domains",
                            [*pulumi, "preview"],
                            before=_reset(project),
                            **common,
                        )
                    )
                cases += [
                    Case(
                        "engine",
                        f"{label}, `pulumi up` from empty state{suffix}, {n} domains",
                        [*pulumi, "up", "--yes"],
                        before=_reset(project),
                        **common,
                    ),
                    Case(
                        "engine",
                        f"{label}, no-change `pulumi up`{suffix}, {n} domains",
                        [*pulumi, "up", "--yes", "--expect-no-changes"],
                        **common,
                    ),
                ]
    return cases


def bind_cases(sizes: list[int], workdir: Path) -> tuple[list[Case], Callable[[], None]]:
    """rfc2136 `up` against a BIND 9 on loopback (fresh zones each run), and `mailflow check`."""
    servers: list[BindServer] = []
    cases = []
    for n in sizes:
        domains = stack_values(n)["domains"]
        server = BindServer(workdir / f"bind-{n}", [d["name"] for d in domains])
        server.start()
        servers.append(server)
        target = {"kind": "rfc2136", "server": server.address, "port": server.port, "keyName": KEY_NAME}
        project = make_project(workdir / f"rfc2136-{n}", target, {"mailflow:tsigSecret": server.secret})
        project.set_domains(domains)

        def fresh(project: Project = project, server: BindServer = server) -> None:
            server.stop()
            for zone_file in server.directory.glob("*.zone*"):
                zone_file.unlink()
            server.start()
            _reset(project)()

        pulumi = ["pulumi", "--non-interactive", "--stack", "local"]
        cases.append(
            Case(
                "bind",
                f"rfc2136 `pulumi up` from empty zones, {n} domains",
                [*pulumi, "up", "--yes"],
                env=project.env(),
                cwd=project.directory,
                before=fresh,
            )
        )
        cases.append(
            Case(
                "bind",
                f"`mailflow check --nameserver` (in sync), {n} domains",
                [
                    PYTHON,
                    "-m",
                    "mailflow",
                    "check",
                    str(project.stack_file),
                    "--nameserver",
                    f"{server.address}:{server.port}",
                ],
                cwd=ROOT,
            )
        )

    def stop() -> None:
        for server in servers:
            server.stop()

    return cases, stop


def peer_cases(sizes: list[int], workdir: Path) -> list[Case]:
    """octoDNS (octodns-bind zone files) against `mailflow plan --format zone` on the same records."""
    cases = []
    octodns_sync = str(Path(PYTHON).parent / "octodns-sync")
    for n in sizes:
        config = write_octodns_inputs(workdir / f"octodns-{n}", n)
        zones = config.parent / "zones"
        stack = write_stack_file(workdir / f"Pulumi.peer{n}.yaml", n)
        out = workdir / f"peer-{n}.zone"
        cases.append(
            Case(
                "peer",
                f"octoDNS `octodns-sync --doit` to zone files, {n} domains",
                [octodns_sync, "--config-file", str(config), "--doit", "--quiet"],
                cwd=config.parent,
                before=lambda zones=zones: shutil.rmtree(zones, ignore_errors=True),
            )
        )
        cases.append(
            Case(
                "peer",
                f"mailflow `plan --format zone` to a file, {n} domains",
                ["sh", "-c", '"$0" -m mailflow plan "$1" --format zone > "$2"', PYTHON, str(stack), str(out)],
                cwd=ROOT,
            )
        )
    return cases


def _size(label: str) -> str:
    return label.rsplit(", ", 1)[-1]


def ratios(results: list[Result]) -> list[str]:
    """mailflow / baseline for each pair measured in this run (same group, size and command)."""
    lines = []
    by_label = {r.case.label: r for r in results}
    for result in results:
        label = result.case.label
        baseline = None
        program, _, rest = label.partition(", ")
        if program.startswith("mailflow["):
            baseline = by_label.get(f"handwritten, {rest}")
        elif label.startswith("mailflow `plan"):
            baseline = next(
                (
                    r
                    for r in results
                    if r.case.group == "peer"
                    and r.case.label.startswith("octoDNS")
                    and _size(r.case.label) == _size(label)
                ),
                None,
            )
        if baseline is not None:
            lines.append(
                f"| {result.case.group} | {label} | {baseline.case.label.split(',')[0]} | "
                f"{result.wall / baseline.wall:.2f} | {result.peak_rss_mib / baseline.peak_rss_mib:.2f} |"
            )
    if not lines:
        return []
    return [
        "| group | mailflow case | baseline | wall ratio | peak RSS ratio |",
        "|---|---|---|---|---|",
        *lines,
    ]


def table(results: list[Result]) -> str:
    lines = [
        "| group | case | wall (median) | in-process (median) | peak RSS (median) |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        inner = f"{r.inner:.3f} s" if r.inner is not None else "—"
        lines.append(
            f"| {r.case.group} | {r.case.label} | {r.wall:.3f} s | {inner} | {r.peak_rss_mib:.0f} MiB |"
        )
    ratio_lines = ratios(results)
    if ratio_lines:
        lines += ["", *ratio_lines]
    return "\n".join(lines)


def _sizes(text: str) -> list[int]:
    return [int(n) for n in text.split(",") if n]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per case")
    parser.add_argument("--warmup", type=int, default=1, help="untimed runs before them")
    parser.add_argument(
        "--groups", default=",".join(GROUPS), help=f"comma-separated, of: {', '.join(GROUPS)}"
    )
    parser.add_argument("--plan-sizes", default="1,100,1000,10000")
    parser.add_argument("--mocks-sizes", default="1,100,1000")
    parser.add_argument("--engine-sizes", default="1,100,1000")
    parser.add_argument("--bind-sizes", default="1,100")
    parser.add_argument(
        "--trees", default="parts,flat", help="mailflow resourceTree shapes measured by mocks and engine"
    )
    parser.add_argument(
        "--engine-checkpoints",
        default="default,skip",
        help="engine runs with per-step checkpoints (default) and/or PULUMI_SKIP_CHECKPOINTS (skip)",
    )
    parser.add_argument(
        "--engine-checkpoint-max",
        type=int,
        default=100,
        help="largest size run with per-step checkpoints, whose cost grows with the square of the stack",
    )
    parser.add_argument("--peer-sizes", default="1,100,1000")
    args = parser.parse_args()
    groups = set(args.groups.split(","))
    trees = args.trees.split(",")
    stop_servers: Callable[[], None] = lambda: None  # noqa: E731
    with tempfile.TemporaryDirectory(prefix="mailflow-bench-") as tmp:
        workdir = Path(tmp)
        cases: list[Case] = []
        if "plan" in groups:
            cases += plan_cases(_sizes(args.plan_sizes), workdir)
        if "mocks" in groups:
            cases += mocks_cases(_sizes(args.mocks_sizes), trees)
        if "engine" in groups:
            checkpoints = args.engine_checkpoints.split(",")
            sizes = _sizes(args.engine_sizes)
            cases += engine_cases(sizes, trees, checkpoints, args.engine_checkpoint_max, workdir)
        if "peer" in groups:
            cases += peer_cases(_sizes(args.peer_sizes), workdir)
        try:
            if "bind" in groups:
                bind, stop_servers = bind_cases(_sizes(args.bind_sizes), workdir)
                cases += bind
            results = []
            for case in cases:
                print_progress(f"bench: {case.group}: {case.label}")
                result = run_case(case, args.repeat, args.warmup)
                print_progress(f"  median {result.wall:.3f} s, peak RSS {result.peak_rss_mib:.0f} MiB")
                results.append(result)
        finally:
            stop_servers()
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(
        f"{stamp}; Python {platform.python_version()}; {platform.machine()}, "
        f"{len(os.sched_getaffinity(0))} cores; "
        f"median of {args.repeat} runs per case after {args.warmup} warm-up run(s)\n"
    )
    print(table(results))


if __name__ == "__main__":
    main()
