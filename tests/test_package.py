"""The built wheel, installed with pip into a new virtualenv as a user installs it: importable,
typed for mypy, its command line answering ``--version``, its licence declared."""

from __future__ import annotations

import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest
from pulumi_project import copy_repository

import mailflow

pytestmark = pytest.mark.package


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built from a copy of the repository: a build writes build/ and *.egg-info into
    the tree it builds."""
    source = tmp_path_factory.mktemp("source")
    copy_repository(source)
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--disable-pip-version-check",
            "--no-deps",
            "-w",
            out,
            source,
        ],
        check=True,
    )
    (built,) = out.glob("*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``bin`` directory of a new virtualenv holding the wheel and what it depends on."""
    env = tmp_path_factory.mktemp("venv")
    venv.create(env, with_pip=True)
    subprocess.run([env / "bin" / "pip", "install", "-q", "--disable-pip-version-check", wheel], check=True)
    return env / "bin"


def test_the_distribution_is_named_apart_from_the_unrelated_mailflow_on_pypi(wheel: Path) -> None:
    assert wheel.name.startswith(f"pulumi_mailflow-{mailflow.__version__}-py3-none-any")


def test_the_wheel_declares_its_licence_and_ships_it_with_the_type_marker(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        (metadata,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        text = archive.read(metadata).decode()
    assert "License-Expression: Apache-2.0" in text
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert "mailflow/py.typed" in names
    assert "mailflow/data/spf_snapshot.json" in names


def test_the_installed_command_answers_its_version(installed: Path) -> None:
    result = subprocess.run([installed / "mailflow", "--version"], capture_output=True, text=True, check=True)
    assert result.stdout == f"mailflow {mailflow.__version__}\n"


def test_the_public_api_imports_from_the_installed_package(installed: Path) -> None:
    code = (
        "import mailflow; print(sorted(name for name in mailflow.__all__ if getattr(mailflow, name) is None))"
    )
    result = subprocess.run([installed / "python", "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout == "[]\n"


def test_a_consumer_type_checks_against_the_installed_package(installed: Path, tmp_path: Path) -> None:
    consumer = tmp_path / "consumer.py"
    consumer.write_text(
        "from mailflow import StackPlan, plan_stack\n\n"
        "def domains(values: dict[str, object]) -> list[str]:\n"
        "    plan: StackPlan = plan_stack(values)\n"
        "    return [domain.domain for domain in plan.domains]\n"
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "--python-executable",
            installed / "python",
            consumer,
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout


def test_the_exports_are_the_names_the_package_lists() -> None:
    assert set(mailflow.__all__) == {"__version__", *mailflow._EXPORTS}
