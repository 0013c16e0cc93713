"""The benchmark harness: a case and its baseline run alternately, and their ratios are per pair."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench.harness import Case, run_pair

ROOT = Path(__file__).resolve().parent.parent


def test_pairs_alternate_which_runs_first_and_ratios_are_taken_pair_by_pair(tmp_path: Path) -> None:
    order: list[str] = []
    state = tmp_path / "state" / ".pulumi" / "stacks" / "project"
    state.mkdir(parents=True)
    (state / "local.json").write_text("x" * 300)

    def case(name: str, seconds: float, printed: int) -> Case:
        code = f"import time; time.sleep({seconds}); print('x' * {printed - 1})"
        return Case(
            "test",
            name,
            [sys.executable, "-c", code],
            before=lambda: order.append(name),
            state=tmp_path / "state",
        )

    pair = run_pair(case("mailflow", 0.2, 300), case("baseline", 0.1, 100), repeat=3, warmup=1)
    assert order == [
        "baseline",
        "mailflow",
        "baseline",
        "mailflow",
        "mailflow",
        "baseline",
        "baseline",
        "mailflow",
    ]
    assert len(pair.ratio().values) == 3
    assert 1.2 < pair.ratio().median < 3
    assert pair.ratio("output").values == [3.0, 3.0, 3.0]
    assert pair.ratio("state").values == [1.0, 1.0, 1.0]
    assert pair.case.output_bytes == 300


@pytest.mark.parametrize(
    ("module", "arguments", "said"),
    [
        ("bench", ["--groups", "plan,nope"], "choose among plan, mocks"),
        ("bench", ["--plan-sizes", "10,x"], "'x' is not a whole number of at least 1"),
        ("bench", ["--repeat", "0"], "'0' is not a whole number of at least 1"),
        ("bench", ["--trees", "nested"], "choose among parts, domain, flat"),
        ("bench", ["--engine-checkpoints", "never"], "choose among default, skip"),
        ("bench.pair", ["HEAD", "x", "--", "true"], "python -m bench.pair REV RUNS -- COMMAND"),
        ("bench.pair", ["HEAD", "2", "true"], "python -m bench.pair REV RUNS -- COMMAND"),
        (
            "bench.mocks_worker",
            ["mailflow", "route53", "1"],
            "python -m bench.mocks_worker mailflow|handwritten",
        ),
        ("bench.plan_worker", ["many"], "python -m bench.plan_worker N"),
    ],
)
def test_bench_commands_refuse_wrong_arguments_with_their_usage(
    module: str, arguments: list[str], said: str
) -> None:
    run = subprocess.run(
        [sys.executable, "-m", module, *arguments], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert run.returncode in (1, 2)
    assert said in run.stderr
    assert "Traceback" not in run.stderr
