"""The README's commands, typed into the documented shell (`source scripts/env.sh`): the local
stack's walk-through, and a new stack made from the shipped Cloudflare one, whose preview ends
with the command that installs the plugin it needs."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.engine
ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
CLOUDFLARE = re.search(
    r"^pulumi-cloudflare==([0-9.]+)", (ROOT / "requirements.lock").read_text(), re.MULTILINE
)


def readme_block(first_line: str) -> str:
    """The README's ```sh block that starts with ``first_line``."""
    for block in re.findall(r"```sh\n(.*?)```", README, re.DOTALL):
        if block.startswith(first_line):
            return str(block)
    raise AssertionError(f"README has no sh block starting with {first_line!r}")


def typed(commands: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``commands`` typed into an interactive bash that sourced scripts/env.sh, at the project root,
    with state and plugins of its own; the passphrase comes only from the shell."""
    ambient = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "VIRTUAL_ENV"))}
    ambient["PATH"] = os.pathsep.join(p for p in ambient["PATH"].split(os.pathsep) if ".venv" not in p)
    sourced = (
        commands if commands.startswith("source scripts/env.sh") else f"source scripts/env.sh\n{commands}"
    )
    script = f"set -e\n{sourced}"
    return subprocess.run(
        ["bash", "-c", script],
        cwd=ROOT,
        env={
            **ambient,
            "PULUMI_BACKEND_URL": f"file://{tmp_path / 'state'}",
            "PULUMI_HOME": str(tmp_path / "home"),
            "EDITOR": "true",
            **env,
        },
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )


@pytest.fixture
def state(tmp_path: Path) -> Iterator[Path]:
    (tmp_path / "state").mkdir()
    yield tmp_path
    (ROOT / "stacks" / "Pulumi.test.yaml").unlink(missing_ok=True)


def test_the_local_walk_through_works_as_typed(state: Path) -> None:
    result = typed(readme_block("source scripts/env.sh"), state)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "relays inbound mail to: contoso-com.mail.protection.outlook.com" in result.stdout
    assert re.search(r'"records": ?8', result.stdout)  # the stack output
    # The seed stack has every value it needs: its first run is clean.
    assert "warning:" not in (result.stdout + result.stderr).lower()
    assert (
        (ROOT / "out" / "zones" / "contoso.com.zone")
        .read_text()
        .startswith("; managed by mailflow, stack organization/mailflow/local")
    )


def test_the_shell_gives_the_local_passphrase_to_no_other_stack(state: Path) -> None:
    result = typed("pulumi stack init other --non-interactive", state)
    assert result.returncode != 0
    assert "passphrase" in (result.stdout + result.stderr).lower()
    assert not (ROOT / "stacks" / "Pulumi.other.yaml").exists()


def test_a_new_cloudflare_stack_previews_up_to_the_plugin_install_command(state: Path) -> None:
    """Downloads off (this machine reaches no download site): the run names the command."""
    assert CLOUDFLARE is not None
    commands = readme_block("cp stacks/Pulumi.staging.yaml stacks/Pulumi.test.yaml")
    commands = commands.replace("'<the test stack's passphrase>'", "test-stack-passphrase")
    result = typed(commands, state, PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="true")
    output = result.stdout + result.stderr
    # The preview is the last command, and the only one to fail.
    assert result.returncode != 0
    assert "Previewing update (test)" in output
    assert (
        "mailflow:target.kind: the cloudflare target needs the Pulumi plugin pulumi-resource-cloudflare"
        f" v{CLOUDFLARE[1]}, which is not installed"
    ) in output
    assert f"install it with `pulumi plugin install resource cloudflare v{CLOUDFLARE[1]}`" in output
    assert "Traceback" not in output
    assert "encryptionsalt: " in (ROOT / "stacks" / "Pulumi.test.yaml").read_text()
