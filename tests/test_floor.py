"""The floor `mailflow plan --format zone` is measured against (``bench/floor.py``): the same
records, computed beforehand as a list, written by a process that imports nothing else."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from stack_fixtures import write_stack_file

ROOT = Path(__file__).resolve().parent.parent


def _python(*args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, check=check)


def test_the_floor_writes_the_bytes_mailflow_plan_writes_from_a_list_of_records(tmp_path: Path) -> None:
    stack = write_stack_file(tmp_path / "Pulumi.floor.yaml", 3)
    data = tmp_path / "floor.json"
    _python("-m", "bench.floor", "prepare", str(stack), str(data))
    planned = _python("-m", "mailflow", "plan", str(stack), "--format", "zone").stdout
    assert _python("-m", "bench.floor", str(data)).stdout == planned
    assert planned.count(b"$ORIGIN ") == 3
    domains = json.loads(data.read_text())
    # A list of records, not the text: the floor formats every line itself.
    assert [len(records) for _, _, records in domains] == [8, 8, 8]
    assert domains[0][2][0] == ["@", "3600", "IN", "MX", "10 mx1.filter.example.net."]


def test_the_floor_loads_no_module_of_mailflow_or_its_dependencies(tmp_path: Path) -> None:
    data = tmp_path / "floor.json"
    data.write_text(json.dumps([["; a domain", "$ORIGIN example.com.", [["@", "60", "IN", "TXT", '"x"']]]]))
    run = _python("-X", "importtime", "-m", "bench.floor", str(data))
    assert run.stdout == b'; a domain\n$ORIGIN example.com.\n@ 60 IN TXT "x"\n'
    names = {line.rsplit("|", 1)[-1].strip() for line in run.stderr.decode().splitlines()}
    assert not {
        name for name in names if name.split(".")[0] in ("mailflow", "pydantic", "dns", "yaml_rs", "typing")
    }


@pytest.mark.parametrize("arguments", [[], ["prepare"], ["a", "b"], ["prepare", "a", "b", "c"]])
def test_the_floor_prints_its_usage_on_wrong_arguments(arguments: list[str]) -> None:
    run = _python("-m", "bench.floor", *arguments, check=False)
    assert run.returncode == 1
    assert b"python -m bench.floor prepare STACKFILE DATA" in run.stderr
    assert b"Traceback" not in run.stderr
