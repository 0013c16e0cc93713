"""The pipelines' own command sequence (docs/pipelines) on a fresh copy of the repository, with an
official-style Pulumi CLI on PATH: `make setup`, then `mailflow plan` and `pulumi preview` of each
deployed stack. Their provider plugins cannot be had here, so each preview must end with the
command that installs its stack's plugin."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from pulumi_project import copy_repository, failure_message, locked_version, pulumi_bin

pytestmark = pytest.mark.engine
PLUGINS = {"staging": "cloudflare", "prod": "azure-native"}
"""The deployed stacks and the provider plugin each one's target needs."""


def test_the_pipeline_steps_run_on_a_fresh_copy_with_the_official_cli(tmp_path: Path) -> None:
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
    setup = step("make", "setup")
    assert setup.returncode == 0, failure_message("make setup", setup)
    for stack, plugin in PLUGINS.items():
        # A passphrase per stack, as the pipelines' secret stores hold them.
        env["PULUMI_CONFIG_PASSPHRASE"] = f"{stack}-passphrase"
        plan = step(".venv/bin/mailflow", "plan", f"stacks/Pulumi.{stack}.yaml")
        assert plan.returncode == 0, failure_message(f"mailflow plan {stack}", plan)
        init = step("pulumi", "stack", "init", stack, "--non-interactive")
        assert init.returncode == 0, failure_message(f"pulumi stack init {stack}", init)
        assert f"Created stack '{stack}'" in init.stdout + init.stderr
        preview = step("pulumi", "preview", "--stack", stack, "--diff", "--non-interactive")
        output = preview.stdout + preview.stderr
        assert preview.returncode != 0
        assert f"Previewing update ({stack})" in output
        assert (
            f"install it with `pulumi plugin install resource {plugin} v{locked_version(f'pulumi-{plugin}')}`"
            in output
        )
        assert "Traceback" not in output
