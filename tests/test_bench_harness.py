"""The benchmark harness: a case and its baseline run alternately, and their ratios are per pair."""

from __future__ import annotations

import sys
from pathlib import Path

from bench.harness import Case, run_pair


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
