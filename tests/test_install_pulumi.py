"""scripts/install-pulumi.sh picks the Pulumi CLI: an official one on PATH first, when it is recent
enough and has the language hosts beside it; the source build otherwise; a clear message when
neither can be had."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "install-pulumi.sh"
PINNED = re.search(r"^pulumi==([0-9.]+)", (ROOT / "requirements.lock").read_text(), re.MULTILINE)
assert PINNED is not None, "requirements.lock pins the Pulumi SDK"
SDK_VERSION = PINNED[1]
HOSTS = ("pulumi-language-python", "pulumi-language-yaml")


def official_cli(directory: Path, version: str, hosts: tuple[str, ...] = HOSTS) -> Path:
    """A directory laid out as an official install: `pulumi` (answering `pulumi version` only)
    and the language hosts beside it."""
    directory.mkdir()
    (directory / "pulumi").write_text(f"#!/bin/sh\necho {version}\n")
    for name in ("pulumi", *hosts):
        (directory / name).touch()
        (directory / name).chmod(0o755)
    return directory


def install(path: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT)],
        env={"HOME": os.environ["HOME"], "PATH": path, **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_an_official_cli_at_the_sdk_version_or_newer_is_used(tmp_path: Path) -> None:
    for version in (f"v{SDK_VERSION}", "v3.999.0"):
        cli = official_cli(tmp_path / version, version)
        result = install(f"{cli}:{os.environ['PATH']}")
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == str(cli)
        assert f"using existing {cli}/pulumi" in result.stderr


@pytest.mark.parametrize(
    ("version", "hosts", "reason"),
    [
        (
            "v3.200.0",
            HOSTS,
            "pulumi v3.200.0 is older than v{floor}, the Pulumi SDK this project pins; upgrade it",
        ),
        ("v4.0.0", HOSTS, "pulumi v4.0.0 is not version 3, which the project's Pulumi SDK v{floor} needs"),
        ("v3.999.0", ("pulumi-language-python",), "pulumi-language-yaml is not next to it"),
    ],
)
def test_an_unfit_cli_is_set_aside_for_the_build(
    tmp_path: Path, version: str, hosts: tuple[str, ...], reason: str
) -> None:
    cli = official_cli(tmp_path / "official", version, hosts)
    result = install(f"{cli}:{os.environ['PATH']}")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() != str(cli)
    assert f"ignoring {cli}/pulumi" in result.stderr
    assert reason.format(floor=SDK_VERSION) in result.stderr


def test_without_a_cli_or_go_it_says_what_to_install(tmp_path: Path) -> None:
    old = official_cli(tmp_path / "old", "v3.100.0")
    result = install(f"{old}:/usr/bin:/bin", MAILFLOW_PULUMI_HOME=str(tmp_path / "empty"))
    assert result.returncode == 1
    assert result.stdout == ""
    assert (
        f"no Pulumi CLI v{SDK_VERSION} or newer on PATH, and no Go to build v3.274.1 from source: install the"
        " Pulumi CLI, https://www.pulumi.com/docs/iac/download-install/"
    ) in result.stderr
