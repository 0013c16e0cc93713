"""Zone-file state names files relative to the project, through the real engine: a second checkout
of a project runs its state with no change, and a state written with absolute paths (as before)
needs none either."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from pulumi_project import Project, make_project

pytestmark = pytest.mark.engine
RELATIVE = {"kind": "zonefile", "directory": "zones"}


def test_state_holds_no_path_of_the_checkout_and_a_second_checkout_changes_nothing(tmp_path: Path) -> None:
    first = make_project(tmp_path / "first", target=RELATIVE)
    first.pulumi("up", "--yes")
    state = first.pulumi("stack", "export").stdout
    assert '"path": "zones/contoso.com.zone"' in state
    assert str(first.directory) not in state

    second = Project(tmp_path / "second")
    shutil.copytree(first.directory, second.directory)
    shutil.rmtree(first.directory)
    second.pulumi("preview", "--expect-no-changes")
    written = (second.zones / "contoso.com.zone").read_bytes()
    second.pulumi("up", "--yes", "--expect-no-changes")
    assert (second.zones / "contoso.com.zone").read_bytes() == written


def test_a_state_of_absolute_paths_needs_no_change(tmp_path: Path) -> None:
    project = make_project(
        tmp_path / "project", target={"kind": "zonefile", "directory": str(tmp_path / "project" / "zones")}
    )
    project.pulumi("up", "--yes")
    assert f'"path": "{project.zones}/contoso.com.zone"' in project.pulumi("stack", "export").stdout
    project.write_config({**project.config(), "mailflow:target": RELATIVE})
    project.pulumi("preview", "--expect-no-changes")
    project.pulumi("up", "--yes", "--expect-no-changes")
    # A real move is still one: the guard refuses it, as it would any other.
    project.write_config(
        {**project.config(), "mailflow:target": {"kind": "zonefile", "directory": "elsewhere"}}
    )
    refused = project.pulumi("preview", check=False)
    assert refused.returncode != 0
    assert "mailflow refuses this run" in refused.stdout
