"""``python -m bench`` (``make bench``): every benchmark of docs/BENCHMARKS.md in one run. A case
with a baseline (a hand-written Pulumi program, octoDNS, the I/O floor, one stack against a fleet)
runs alternately with it, and the table gives the median and range of the per-pair ratios
against the target each one has; other cases give medians of fresh processes."""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench.fleet import fleet_cases
from bench.floor import prepare as prepare_floor
from bench.harness import Case, Pair, Result, print_progress, run_case, run_pair
from bench.octodns_peer import write_octodns_inputs
from mailflow.settings import RESOURCE_TREES
from tests.bind_server import KEY_NAME, BindServer
from tests.pulumi_project import Project, make_project
from tests.stack_fixtures import stack_values, write_stack_file

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
GROUPS = ("plan", "mocks", "engine", "bind", "peer", "fleet")
ABSTRACTION_COST = 1.05
"""mailflow / a hand-written program registering the same resources, at most (wall time)."""


def sized(n: int) -> str:
    """``n`` domains, as labels say it."""
    return f"{n:,} domain" + ("" if n == 1 else "s")


@dataclass(frozen=True)
class Comparison:
    """A mailflow case and its baseline, measured as pairs; ``limits`` maps a measure of
    ``bench.harness.MEASURES`` to the largest ratio mailflow / baseline that meets its target."""

    case: Case
    baseline: Case
    limits: dict[str, float] = field(default_factory=dict)


def plan_cases(sizes: list[int], workdir: Path) -> tuple[list[Case], list[Comparison]]:
    """In-process validate + plan; `mailflow plan --format zone` to a file against the floor
    (``bench/floor.py``: the same records, precomputed, loaded as a list and written), at most 3x
    at 10,000 domains."""
    cases = [
        Case(
            "plan",
            f"validate + plan, in-process, {sized(n)}",
            [PYTHON, "-m", "bench.plan_worker", str(n)],
            cwd=ROOT,
        )
        for n in sizes
    ]
    comparisons = []
    for n in sizes:
        stack = write_stack_file(workdir / f"Pulumi.plan{n}.yaml", n)
        data = workdir / f"floor-{n}.json"
        prepare_floor(str(stack), str(data))
        comparisons.append(
            Comparison(
                _plan_to_file(stack, workdir / f"plan-{n}.zone", "plan", n),
                Case(
                    "plan",
                    f"floor: the same records loaded as a list and written, {sized(n)}",
                    [
                        "sh",
                        "-c",
                        '"$0" -m bench.floor "$1" > "$2"',
                        PYTHON,
                        str(data),
                        str(workdir / "floor.zone"),
                    ],
                    cwd=ROOT,
                ),
                {"wall": 3.0} if n >= 10_000 else {},
            )
        )
    return cases, comparisons


def _plan_to_file(stack: Path, out: Path, group: str, n: int) -> Case:
    return Case(
        group,
        f"`mailflow plan --format zone` to a file, {sized(n)}",
        ["sh", "-c", '"$0" -m mailflow plan "$1" --format zone > "$2"', PYTHON, str(stack), str(out)],
        cwd=ROOT,
    )


def mocks_cases(sizes: list[int], trees: list[str]) -> list[Comparison]:
    """Import + plan + register under Pulumi's mocks, whole process, against the hand-written program."""

    def worker(program: str, target: str, n: int, tree: str = "") -> list[str]:
        return [PYTHON, "-m", "bench.mocks_worker", program, target, str(n), tree]

    return [
        Comparison(
            Case(
                f"mocks/{target}",
                f"mailflow[{tree}], {target}, {sized(n)}",
                worker("mailflow", target, n, tree),
                cwd=ROOT,
            ),
            Case(
                f"mocks/{target}",
                f"hand-written, {target}, {sized(n)}",
                worker("handwritten", target, n),
                cwd=ROOT,
            ),
            {"wall": ABSTRACTION_COST},
        )
        for target in ("zonefile", "cloudflare", "azure")
        for n in sizes
        for tree in trees
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
    domains file: at 1,000 they would not fit the environment variable Pulumi passes config in.
    No tenant file: the domains carry the values a tenant file would give (the local stack's
    tenant file knows only its own domain, and would have a warning printed for every other)."""
    project = make_project(directory, program=HANDWRITTEN_MAIN if tree is None else None)
    config = {key: value for key, value in project.config().items() if key != "mailflow:tenantFile"}
    project.write_config(config)
    project.set_domains_file(stack_values(n)["domains"], {"mailflow:resourceTree": tree} if tree else None)
    return project


CHECKPOINTS = {
    "default": ({}, ""),
    "skip": ({"PULUMI_SKIP_CHECKPOINTS": "true"}, " with PULUMI_SKIP_CHECKPOINTS"),
}


def _engine_case(
    label: str, project: Project, argv: list[str], extra_env: dict[str, str], from_empty: bool
) -> Case:
    return Case(
        "engine",
        label,
        ["pulumi", "--non-interactive", "--stack", "local", *argv],
        env={**project.env(), **extra_env},
        cwd=project.directory,
        before=_reset(project) if from_empty else None,
        state=project.state if argv[0] == "up" else None,
    )


OUTPUT_LIMIT = (1000, 2.0)
"""From this many domains, preview and `up` print at most this many times the hand-written
program's bytes."""
STATE_LIMIT = (100, 1.10)
"""From this many domains (where the stack's guard no longer counts), state at most this many
times the hand-written program's."""


def engine_cases(
    sizes: list[int], trees: list[str], checkpoints: list[str], checkpoint_max: int, workdir: Path
) -> list[Comparison]:
    """`pulumi preview` and `up` from empty state, then a no-change `up`: zone-file target, with
    the engine's per-step checkpoints (``default``, up to ``checkpoint_max`` domains: beyond, their
    cost grows with the square of the stack) or one at the end (``skip``); mailflow in each tree
    shape against the hand-written program, as pairs, in this order (each `up` from empty leaves
    the state the no-change `up` starts from)."""
    comparisons = []
    for n in sizes:
        modes = [mode for mode in checkpoints if mode != "default" or n <= checkpoint_max]
        for mode in modes:
            extra_env, suffix = CHECKPOINTS[mode]
            handwritten = _engine_project(workdir / f"engine-handwritten-{mode}-{n}", n, None)
            for tree in trees:
                project = _engine_project(workdir / f"engine-{tree}-{mode}-{n}", n, tree)
                commands = [("`pulumi up` from empty state", ["up", "--yes"], True)]
                commands.append(("no-change `pulumi up`", ["up", "--yes", "--expect-no-changes"], False))
                if mode == modes[0]:  # a preview writes no checkpoint
                    commands.insert(0, ("`pulumi preview` (empty state)", ["preview"], True))
                for what, argv, from_empty in commands:
                    limits = {"wall": ABSTRACTION_COST}
                    if n >= OUTPUT_LIMIT[0] and from_empty:
                        limits["output"] = OUTPUT_LIMIT[1]
                    if n >= STATE_LIMIT[0] and argv[0] == "up":
                        limits["state"] = STATE_LIMIT[1]
                    label = f"{what}{suffix}, {sized(n)}"
                    comparisons.append(
                        Comparison(
                            _engine_case(f"mailflow[{tree}], {label}", project, argv, extra_env, from_empty),
                            _engine_case(f"hand-written, {label}", handwritten, argv, extra_env, from_empty),
                            limits,
                        )
                    )
    return comparisons


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
                f"rfc2136 `pulumi up` from empty zones, {sized(n)}",
                [*pulumi, "up", "--yes"],
                env=project.env(),
                cwd=project.directory,
                before=fresh,
            )
        )
        cases.append(
            Case(
                "bind",
                f"`mailflow check --nameserver` (in sync), {sized(n)}",
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


PEER_LIMITS = {1: 1 / 1.2, 1000: 0.1}
"""mailflow / octoDNS at most, by size: 1.2x faster at one domain (start-up), 10x at 1,000."""


def peer_cases(sizes: list[int], workdir: Path) -> list[Comparison]:
    """`mailflow plan --format zone` against octoDNS (octodns-bind zone files) on the same records."""
    comparisons = []
    octodns_sync = str(Path(PYTHON).parent / "octodns-sync")
    for n in sizes:
        config = write_octodns_inputs(workdir / f"octodns-{n}", n)
        zones = config.parent / "zones"
        stack = write_stack_file(workdir / f"Pulumi.peer{n}.yaml", n)
        octodns = Case(
            "peer",
            f"octoDNS `octodns-sync --doit` to zone files, {sized(n)}",
            [octodns_sync, "--config-file", str(config), "--doit", "--quiet"],
            cwd=config.parent,
            before=lambda zones=zones: shutil.rmtree(zones, ignore_errors=True),
        )
        limit = PEER_LIMITS.get(n)
        comparisons.append(
            Comparison(
                _plan_to_file(stack, workdir / f"peer-{n}.zone", "peer", n),
                octodns,
                {"wall": limit} if limit else {},
            )
        )
    return comparisons


def _verdict(ratio: float, limit: float | None) -> str:
    if limit is None:
        return "—"
    return f"≤ {limit:.2f}: " + ("met" if ratio <= limit else "**missed**")


def table(results: list[Result], pairs: list[tuple[Comparison, Pair]]) -> str:
    """The medians of every case, then the per-pair ratios of every comparison with its targets."""
    lines = [
        "| group | case | wall (median) | in-process (median) | peak RSS (median) | runs |",
        "|---|---|---|---|---|---|",
    ]
    for r in [*results, *(p for _, pair in pairs for p in (pair.case, pair.baseline))]:
        inner = f"{r.inner:.3f} s" if r.inner is not None else "—"
        lines.append(
            f"| {r.case.group} | {r.case.label} | {r.wall:.3f} s | {inner} | {r.peak_rss_mib:.0f} MiB |"
            f" {len(r.runs)} |"
        )
    if pairs:
        lines += [
            "",
            "| group | case | baseline | measure | ratio (median of pairs) | range | pairs | target |",
            "|---|---|---|---|---|---|---|---|",
        ]
    for comparison, pair in pairs:
        baseline = pair.baseline.case.label.rsplit(", ", 1)[0]
        measures = ["wall", *(m for m in comparison.limits if m != "wall")]
        for measure in measures:
            ratio = pair.ratio(measure)
            lines.append(
                f"| {pair.case.case.group} | {pair.case.case.label} | {baseline} | {measure} |"
                f" {ratio.median:.2f} | {ratio.spread()} | {len(ratio.values)} |"
                f" {_verdict(ratio.median, comparison.limits.get(measure))} |"
            )
    return "\n".join(lines)


def _count(minimum: int) -> Callable[[str], int]:
    """An argument type: a whole number of at least ``minimum``."""

    def count(text: str) -> int:
        if not text.strip().isdigit() or int(text) < minimum:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least {minimum}")
        return int(text)

    return count


def _sizes(text: str) -> list[int]:
    """An argument type: comma-separated numbers of domains."""
    sizes = [_count(1)(n) for n in text.split(",") if n]
    if not sizes:
        raise argparse.ArgumentTypeError(f"{text!r}: give one or more numbers of domains, comma-separated")
    return sizes


def _among(choices: Sequence[str]) -> Callable[[str], list[str]]:
    """An argument type: comma-separated names, each one of ``choices``."""

    def among(text: str) -> list[str]:
        names = [name for name in text.split(",") if name]
        unknown = [name for name in names if name not in choices]
        if unknown or not names:
            raise argparse.ArgumentTypeError(f"{text!r}: choose among {', '.join(choices)}")
        return names

    return among


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument(
        "--repeat", type=_count(1), default=5, help="timed runs (pairs) per case (comparison)"
    )
    parser.add_argument("--warmup", type=_count(0), default=1, help="untimed runs (pairs) before them")
    parser.add_argument(
        "--groups",
        type=_among(GROUPS),
        default=list(GROUPS),
        help=f"comma-separated, of: {', '.join(GROUPS)}",
    )
    parser.add_argument("--plan-sizes", type=_sizes, default=_sizes("1,100,1000,10000"))
    parser.add_argument("--mocks-sizes", type=_sizes, default=_sizes("1,100,1000"))
    parser.add_argument("--engine-sizes", type=_sizes, default=_sizes("1,100,1000"))
    parser.add_argument("--bind-sizes", type=_sizes, default=_sizes("1,100"))
    parser.add_argument(
        "--trees",
        type=_among(RESOURCE_TREES),
        default=["flat"],
        help="mailflow resourceTree shapes measured by mocks and engine",
    )
    parser.add_argument(
        "--engine-checkpoints",
        type=_among(tuple(CHECKPOINTS)),
        default=["default"],
        help="engine runs with per-step checkpoints (default) and/or PULUMI_SKIP_CHECKPOINTS (skip)",
    )
    parser.add_argument(
        "--engine-checkpoint-max",
        type=_count(1),
        default=1000,
        help="largest size run with per-step checkpoints, whose cost grows with the square of the stack",
    )
    parser.add_argument("--peer-sizes", type=_sizes, default=_sizes("1,100,1000"))
    parser.add_argument("--fleet-total", type=_count(1), default=5000, help="domains of the fleet benchmark")
    parser.add_argument("--fleet-stacks", type=_count(1), default=5, help="stacks they are split into")
    parser.add_argument(
        "--fleet-checkpoints",
        choices=tuple(CHECKPOINTS),
        default="skip",
        help="default or skip (one stack of 5,000 with per-step checkpoints runs for hours)",
    )
    args = parser.parse_args()
    groups = set(args.groups)
    trees = args.trees
    stop_servers: Callable[[], None] = lambda: None  # noqa: E731
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="mailflow-bench-") as tmp:
        workdir = Path(tmp)
        cases: list[Case] = []
        comparisons: list[Comparison] = []
        if "plan" in groups:
            plan, floor = plan_cases(args.plan_sizes, workdir)
            cases += plan
            comparisons += floor
        if "mocks" in groups:
            comparisons += mocks_cases(args.mocks_sizes, trees)
        if "engine" in groups:
            comparisons += engine_cases(
                args.engine_sizes, trees, args.engine_checkpoints, args.engine_checkpoint_max, workdir
            )
        if "peer" in groups:
            comparisons += peer_cases(args.peer_sizes, workdir)
        if "fleet" in groups:
            one, fleet = fleet_cases(
                workdir, args.fleet_total, args.fleet_stacks, checkpoints=args.fleet_checkpoints
            )
            comparisons.append(Comparison(fleet, one))
        try:
            if "bind" in groups:
                bind, stop_servers = bind_cases(args.bind_sizes, workdir)
                cases += bind
            results = []
            for case in cases:
                print_progress(f"bench: {case.group}: {case.label}")
                result = run_case(case, args.repeat, args.warmup)
                print_progress(f"  median {result.wall:.3f} s, peak RSS {result.peak_rss_mib:.0f} MiB")
                results.append(result)
            pairs = []
            for comparison in comparisons:
                print_progress(f"bench: {comparison.case.group}: {comparison.case.label} / baseline")
                pair = run_pair(comparison.case, comparison.baseline, args.repeat, args.warmup)
                wall = pair.ratio()
                print_progress(f"  ratio {wall.median:.2f} ({wall.spread()})")
                pairs.append((comparison, pair))
        finally:
            stop_servers()
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    load_after = os.getloadavg()
    print(
        f"{stamp}; Python {platform.python_version()}; {platform.machine()}, "
        f"{len(os.sched_getaffinity(0))} cores; load average {load_before[0]:.2f} before, "
        f"{load_after[0]:.2f} after; runs (pairs) per case: {args.repeat}, after {args.warmup} warm-up\n"
    )
    print(table(results, pairs))


if __name__ == "__main__":
    main()
