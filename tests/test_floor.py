"""The floor `mailflow plan --format zone` is measured against (``bench/floor.py``): the same bytes,
prepared beforehand, written by a process that imports nothing else."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from stack_fixtures import write_stack_file

ROOT = Path(__file__).resolve().parent.parent


def _python(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, check=True)


def test_the_floor_writes_the_bytes_mailflow_plan_writes(tmp_path: Path) -> None:
    stack = write_stack_file(tmp_path / "Pulumi.floor.yaml", 3)
    data = tmp_path / "floor.data"
    _python("-m", "bench.floor", "prepare", str(stack), str(data))
    planned = _python("-m", "mailflow", "plan", str(stack), "--format", "zone").stdout
    assert _python("-m", "bench.floor", str(data)).stdout == planned
    assert planned.count(b"$ORIGIN ") == 3


def test_the_floor_loads_no_module_of_mailflow_or_its_dependencies(tmp_path: Path) -> None:
    data = tmp_path / "floor.data"
    data.write_bytes(b"; nothing\n")
    imported = _python("-X", "importtime", "-m", "bench.floor", str(data)).stderr.decode()
    names = {line.rsplit("|", 1)[-1].strip() for line in imported.splitlines()}
    assert not {name for name in names if name.split(".")[0] in ("mailflow", "pydantic", "dns", "yaml_rs")}
