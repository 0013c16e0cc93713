"""The README's commands, typed into the documented shell (`source scripts/env.sh`) in a copy of the
repository: the local stack's walk-through, a new stack made from the shipped Cloudflare one, whose
preview ends with the command that installs the plugin it needs, and the shipped stacks previewed
as they are. Nothing the commands write reaches the checkout the tests run from."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from pulumi_project import ROOT, copy_repository, failure_message, locked_version

pytestmark = pytest.mark.engine
README = (ROOT / "README.md").read_text()
CLOUDFLARE = locked_version("pulumi-cloudflare")
AZURE = locked_version("pulumi-azure-native")


def readme_block(first_line: str) -> str:
    """The README's ```sh block that starts with ``first_line``."""
    for block in re.findall(r"```sh\n(.*?)```", README, re.DOTALL):
        if block.startswith(first_line):
            return str(block)
    raise AssertionError(f"README has no sh block starting with {first_line!r}")


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A copy of the repository, as a clone has it, with the project's virtualenv: setting one up
    from the locks in a fresh clone is tests/test_pipeline_run.py's to show."""
    copy = tmp_path / "checkout"
    copy_repository(copy)
    (copy / ".venv").symlink_to(sys.prefix)
    # Sourcing env.sh runs `make setup`, which must find the virtualenv current rather than build
    # one through the link.
    current = subprocess.run(["make", "-q", "setup"], cwd=copy, capture_output=True, check=False)
    assert current.returncode == 0, f"{sys.prefix} is not set up from the current locks: run make setup"
    return copy


def typed(commands: str, checkout: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``commands`` typed into a bash that sourced scripts/env.sh, at the root of ``checkout``, with
    a Pulumi home of its own; the passphrase and state come only from the shell (and ``env``)."""
    ambient = {
        k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "VIRTUAL_ENV", "MAILFLOW_"))
    }
    ambient["PATH"] = os.pathsep.join(p for p in ambient["PATH"].split(os.pathsep) if ".venv" not in p)
    sourced = (
        commands if commands.startswith("source scripts/env.sh") else f"source scripts/env.sh\n{commands}"
    )
    return subprocess.run(
        ["bash", "-c", f"set -e\n{sourced}"],
        cwd=checkout,
        env={**ambient, "PULUMI_HOME": str(checkout.parent / "pulumi-home"), "EDITOR": "true", **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )


def test_the_local_walk_through_works_as_typed(checkout: Path) -> None:
    result = typed(readme_block("source scripts/env.sh"), checkout)
    assert result.returncode == 0, failure_message("the typed commands", result)
    assert "relays inbound mail to: contoso-com.mail.protection.outlook.com" in result.stdout
    assert re.search(r'"records": ?8', result.stdout)  # the stack output
    # The seed stack has every value it needs: its first run is clean.
    assert "warning:" not in (result.stdout + result.stderr).lower()
    assert (
        (checkout / "out" / "zones" / "contoso.com.zone")
        .read_text()
        .startswith("; managed by mailflow, stack organization/mailflow/local")
    )
    # The state is the project's own.
    assert (checkout / ".pulumi-state" / ".pulumi" / "stacks" / "mailflow" / "local.json").is_file()


def test_the_shell_gives_the_local_passphrase_to_no_other_stack(checkout: Path) -> None:
    result = typed("pulumi stack init other --non-interactive", checkout)
    assert result.returncode != 0
    assert "passphrase" in (result.stdout + result.stderr).lower()
    assert not (checkout / "stacks" / "Pulumi.other.yaml").exists()


COMMAND_LINES = {
    "stack select --create local": "local",
    "stack select local --create": "local",
    "-C . stack select -c local": "local",
    "--cwd stack stack init test": "test",
    "stack init --secrets-provider passphrase local": "local",
    "stack init test --stack local": "local",
    "stack rm --yes organization/mailflow/local": "organization/mailflow/local",
    "-v 9 stack select local": "local",
    "preview --stack=local": "local",
    "preview -s local --diff": "local",
    "up --yes -s=local": "local",
    "config set --path mailflow:strict true": "",
    "stack output": "",
}


def test_the_shell_finds_the_stack_a_command_line_names_wherever_its_flags_stand(checkout: Path) -> None:
    script = "".join(f'echo "[$(_mailflow_stack_named {line})]"\n' for line in COMMAND_LINES)
    result = typed(script, checkout)
    assert result.returncode == 0, failure_message("the typed commands", result)
    assert result.stdout.splitlines() == [f"[{stack}]" for stack in COMMAND_LINES.values()]


def test_the_local_stack_works_with_its_name_after_a_flag_and_another_passphrase_exported(
    checkout: Path,
) -> None:
    """The README's new-environment steps export the passphrase of the stack they create; the local
    stack keeps its own."""
    result = typed(
        "export PULUMI_CONFIG_PASSPHRASE=the-test-stacks-passphrase\n"
        "pulumi stack select --create local --non-interactive\n"
        "pulumi preview --stack local --non-interactive\n",
        checkout,
    )
    assert result.returncode == 0, failure_message("the typed commands", result)
    assert "+ 3 to create" in result.stdout


class PluginDownloads:
    """A plugin download site on loopback, where the engine's downloads are sent
    (PULUMI_PLUGIN_DOWNLOAD_URL_OVERRIDES): it records each request and has nothing to give."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        downloads = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                downloads.requests.append(self.path)
                self.send_error(404)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.env = {
            "PULUMI_PLUGIN_DOWNLOAD_URL_OVERRIDES": f".*=http://127.0.0.1:{self.server.server_port}",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "false",
        }


@pytest.fixture
def downloads() -> Iterator[PluginDownloads]:
    site = PluginDownloads()
    yield site
    site.server.shutdown()
    site.server.server_close()


def test_with_downloads_on_a_stack_fetches_only_the_plugin_of_its_target(
    checkout: Path, downloads: PluginDownloads
) -> None:
    local = typed(
        "pulumi stack select --create local --non-interactive\npulumi preview --stack local --non-interactive\n",
        checkout,
        **downloads.env,
    )
    assert local.returncode == 0, failure_message("the local preview", local)
    assert downloads.requests == []
    staging = typed(
        "cp stacks/Pulumi.staging.yaml stacks/Pulumi.try.yaml\n"
        "export PULUMI_CONFIG_PASSPHRASE=the-try-stacks-passphrase\n"
        "pulumi stack init try --non-interactive\n"
        "pulumi preview --stack try --non-interactive\n",
        checkout,
        **downloads.env,
    )
    assert staging.returncode != 0  # the site has no plugin to give
    assert downloads.requests
    assert all(f"pulumi-resource-cloudflare-v{CLOUDFLARE}-" in path for path in downloads.requests)


def test_a_new_cloudflare_stack_previews_up_to_the_plugin_install_command(checkout: Path) -> None:
    """Downloads are off in the shell: the run names the command."""
    commands = readme_block("cp stacks/Pulumi.staging.yaml stacks/Pulumi.test.yaml")
    commands = commands.replace("'<the test stack's passphrase>'", "test-stack-passphrase")
    result = typed(commands, checkout)
    output = result.stdout + result.stderr
    # The preview is the last command, and the only one to fail.
    assert result.returncode != 0
    assert "Previewing update (test)" in output
    assert (
        "mailflow:target.kind: the cloudflare target needs the Pulumi plugin pulumi-resource-cloudflare"
        f" v{CLOUDFLARE}, which is not installed"
    ) in output
    assert f"install it with `pulumi plugin install resource cloudflare v{CLOUDFLARE}`" in output
    assert "Traceback" not in output
    assert "encryptionsalt: " in (checkout / "stacks" / "Pulumi.test.yaml").read_text()


@pytest.mark.parametrize(
    ("stack", "plugin", "version"), [("staging", "cloudflare", CLOUDFLARE), ("prod", "azure-native", AZURE)]
)
def test_a_shipped_stack_previews_as_it_is_with_no_tracked_file_changed(
    checkout: Path, stack: str, plugin: str, version: str
) -> None:
    shipped = {p.name: p.read_bytes() for p in (checkout / "stacks").glob("Pulumi.*.yaml")}
    result = typed(f"make preview-example STACK={stack}", checkout)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert f"Previewing update ({stack})" in output
    assert f"install it with `pulumi plugin install resource {plugin} v{version}`" in output
    assert "Traceback" not in output
    assert {p.name: p.read_bytes() for p in (checkout / "stacks").glob("Pulumi.*.yaml")} == shipped
    assert not (checkout / ".pulumi-state" / ".pulumi" / "stacks" / "mailflow" / f"{stack}.json").exists()
