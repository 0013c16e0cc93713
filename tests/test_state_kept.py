"""Stacks created before the component API keep their state. Under mocks: the program registers
the same resources under the same URNs, parents, aliases, dependencies and options as the code of
``BEFORE`` did, for every target and tree shape (``tests/data/state_shape.json``, captured from that
code). Through the real engine: a stack that ``BEFORE``'s program deployed previews with no change."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bind_server import KEY_NAME, BindServer
from conftest import ROOT
from pulumi_project import Project, make_project
from stack_fixtures import stack_values
from state_shape import cases, run_case

from mailflow.settings import RESOURCE_TREES

BEFORE = "303834d1168128381f1ef54dc317f5f43e607a84"
"""The last commit before the component API: its program made the stacks that must keep their state."""
EXPECTED = Path(__file__).parent / "data" / "state_shape.json"


def expected() -> dict[str, list[dict[str, Any]]]:
    data: dict[str, list[dict[str, Any]]] = json.loads(EXPECTED.read_text())
    return data


def test_the_expected_data_covers_every_case() -> None:
    assert sorted(expected()) == sorted(cases())


@pytest.mark.parametrize("case", sorted(cases()))
def test_the_program_registers_what_the_code_before_the_component_api_did(case: str) -> None:
    assert run_case(case) == expected()[case]


def deploy_with_the_code_before(project: Project) -> None:
    """`pulumi up` with ``BEFORE``'s program and package, then put the current program back. The
    old package sits beside the program, which Python finds before the current one."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", BEFORE, "__main__.py", "mailflow"],
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(project.directory, filter="data")
    project.pulumi("up", "--yes")
    shutil.rmtree(project.directory / "mailflow")
    shutil.copy(ROOT / "__main__.py", project.directory / "__main__.py")


def assert_no_change(project: Project) -> None:
    started = time.monotonic()
    result = project.pulumi("preview", "--expect-no-changes", "--json")
    steps = json.loads(result.stdout)["steps"]
    assert steps and {step["op"] for step in steps} == {"same"}
    print(f"preview with the current code: {time.monotonic() - started:.1f} s")


@pytest.mark.engine
@pytest.mark.parametrize("tree", RESOURCE_TREES)
@pytest.mark.parametrize("domains", [1, 100], ids=["seed", "100-domains"])
def test_a_zone_file_stack_deployed_before_the_component_api_previews_with_no_change(
    tmp_path: Path, domains: int, tree: str
) -> None:
    project = make_project(tmp_path / "project")
    if domains > 1:
        project.set_domains_file(stack_values(domains)["domains"])
    project.write_config({**project.config(), "mailflow:resourceTree": tree})
    deploy_with_the_code_before(project)
    assert len(list(project.zones.glob("*.zone"))) == domains
    assert_no_change(project)


@pytest.fixture
def bind(tmp_path: Path) -> Iterator[BindServer]:
    server = BindServer(tmp_path / "bind", ["contoso.com"])
    server.start()
    yield server
    server.stop()


@pytest.mark.engine
@pytest.mark.bind
@pytest.mark.parametrize("tree", RESOURCE_TREES)
def test_an_rfc2136_stack_deployed_before_the_component_api_previews_with_no_change(
    tmp_path: Path, bind: BindServer, tree: str
) -> None:
    """Its record sets sit under the topology's sides, and its TSIG secret, read from config by the
    code before, now comes to the target as an arg."""
    target = {"kind": "rfc2136", "server": bind.address, "port": bind.port, "keyName": KEY_NAME}
    project = make_project(tmp_path / "project", target, {"mailflow:tsigSecret": bind.secret})
    project.write_config({**project.config(), "mailflow:resourceTree": tree})
    deploy_with_the_code_before(project)
    sides = {r["type"] for r in project.resources() if r["type"].startswith("mailflow:index:")}
    assert len(sides) == {"parts": 3, "domain": 1, "flat": 0}[tree]
    assert_no_change(project)
