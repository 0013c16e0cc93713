"""Zone-file state names files relative to the project, through the real engine: a second checkout
of a project runs its state with no change, and a state written with absolute paths (as before)
takes the relative ones in one update that writes no file."""

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


def test_a_state_of_absolute_paths_takes_relative_ones_without_writing_a_file(tmp_path: Path) -> None:
    project = make_project(
        tmp_path / "project", target={"kind": "zonefile", "directory": str(tmp_path / "project" / "zones")}
    )
    project.pulumi("up", "--yes")
    assert f'"path": "{project.zones}/contoso.com.zone"' in project.pulumi("stack", "export").stdout
    zone = project.zones / "contoso.com.zone"
    written, modified = zone.read_bytes(), zone.stat().st_mtime_ns
    project.write_config({**project.config(), "mailflow:target": RELATIVE})
    # One update of the zone file's state, to its new spelling: no replacement.
    assert project.changed_steps() == [("update", "contoso.com/zone")]
    project.pulumi("up", "--yes")
    (resource,) = [r for r in project.resources() if r["urn"].endswith("::contoso.com/zone")]
    # What the provider reads, rewrites and deletes by; the ID, a resource's for good, keeps its name.
    assert resource["inputs"]["path"] == resource["outputs"]["path"] == "zones/contoso.com.zone"
    assert (zone.read_bytes(), zone.stat().st_mtime_ns) == (written, modified)
    project.pulumi("preview", "--expect-no-changes")
    # A real move is still one: the guard refuses it, as it would any other.
    project.write_config(
        {**project.config(), "mailflow:target": {"kind": "zonefile", "directory": "elsewhere"}}
    )
    refused = project.pulumi("preview", check=False)
    assert refused.returncode != 0
    assert "mailflow refuses this run" in refused.stdout
