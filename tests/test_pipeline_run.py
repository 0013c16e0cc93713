"""The pipelines' own command sequence (docs/pipelines) on a fresh copy of the repository, with an
official-style Pulumi CLI on PATH: `make setup`, `mailflow plan`, `pulumi preview`. The Cloudflare
plugin cannot be had here, so the preview must end with the command that installs it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from pulumi_project import ROOT, copy_repository, failure_message, pulumi_bin

pytestmark = pytest.mark.engine
CLOUDFLARE = re.search(
    r"^pulumi-cloudflare==([0-9.]+)", (ROOT / "requirements.lock").read_text(), re.MULTILINE
)


def test_the_pipeline_steps_run_on_a_fresh_copy_with_the_official_cli(tmp_path: Path) -> None:
    assert CLOUDFLARE is not None
    clone = tmp_path / "clone"
    copy_repository(clone)
    # An official install: the CLI and its language hosts in a directory of their own.
    official = shutil.copytree(pulumi_bin(), tmp_path / "pulumi" / "bin")
    (tmp_path / "state").mkdir()
    ambient = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "VIRTUAL_ENV"))}
    env = {
        **ambient,
        "PATH": f"{official}:{os.environ['PATH']}",
        "PULUMI_BACKEND_URL": f"file://{tmp_path / 'state'}",
        "PULUMI_HOME": str(tmp_path / "home"),
        "PULUMI_CONFIG_PASSPHRASE": "staging-passphrase",
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
    }

    def step(*command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            command, cwd=clone, env=env, capture_output=True, text=True, check=False, timeout=900
        )

    found = step("scripts/install-pulumi.sh")
    assert found.stdout.strip() == str(official), found.stderr
    assert f"using existing {official}/pulumi" in found.stderr
    for command in (("make", "setup"), (".venv/bin/mailflow", "plan", "stacks/Pulumi.staging.yaml")):
        result = step(*command)
        assert result.returncode == 0, failure_message(" ".join(command), result)
    step("pulumi", "stack", "init", "staging", "--non-interactive")
    preview = step("pulumi", "preview", "--stack", "staging", "--diff", "--non-interactive")
    output = preview.stdout + preview.stderr
    assert preview.returncode != 0
    assert f"install it with `pulumi plugin install resource cloudflare v{CLOUDFLARE[1]}`" in output
    assert "Traceback" not in output
