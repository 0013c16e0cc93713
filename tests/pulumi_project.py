"""A throwaway copy of the project (or another program in its place), driven by the real Pulumi CLI
with a local file backend: used by the engine tests and the engine benchmarks."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
LOCAL_PASSPHRASE = "mailflow-local-only"  # the documented passphrase of the local stack only


@cache
def pulumi_bin() -> str:
    """The directory holding the CLI and language host (built on first use, cached after)."""
    result = subprocess.run(
        [str(ROOT / "scripts" / "install-pulumi.sh")], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"scripts/install-pulumi.sh failed:\n{result.stderr[-4000:]}")
    return result.stdout.strip().splitlines()[-1]


def locked_version(distribution: str) -> str:
    """The version of ``distribution`` that requirements.lock pins (a provider SDK's is the version
    of its plugin)."""
    lock = (ROOT / "requirements.lock").read_text()
    pinned = re.search(rf"^{re.escape(distribution)}==([^\s;\\]+)", lock, re.MULTILINE)
    assert pinned is not None, f"requirements.lock pins no {distribution}"
    return pinned[1]


def copy_repository(destination: Path) -> None:
    """The repository's files as a clone has them (tracked or new, not ignored), without its
    virtualenv, state or outputs."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)


SEVERITY = re.compile(r"(error|warning|info|debug): ")
# The characters a failure message shows at most: of each error (its end: the exception), of all
# errors (whole errors, the first ones), of the end of stderr, of the other diagnostics, and of the
# end of stdout where there are no diagnostics.
EACH_ERROR_SHOWN = 3000
ERRORS_SHOWN = 9000
STDERR_SHOWN = 3000
OTHERS_SHOWN = 3000
STDOUT_SHOWN = 4000


def diagnostics(stdout: str) -> tuple[list[str], list[str]]:
    """The error diagnostics of a Pulumi run, each under the resource it is about and with the
    lines that continue it (a traceback), and the other diagnostic lines (warnings, under their
    resources): from every ``Diagnostics:`` section of the text output (a `pulumi up` has its
    preview's, then its update's), or from the ``diagnostics`` of ``--json`` output."""
    errors: list[str] = []
    others: list[str] = []
    if stdout.lstrip().startswith("{"):
        try:
            document = json.loads(stdout)
        except ValueError:
            document = None
        if isinstance(document, dict):
            for entry in document.get("diagnostics") or []:
                message = str(entry.get("message", "")).rstrip()
                (errors if entry.get("severity") == "error" else others).append(message)
            return errors, others
    blocks: list[list[str]] = []
    block: list[str] | None = None  # the error being read
    indent = 0
    section: int | None = None  # in a section: the indentation of its resource lines (0 until seen)
    resource, listed = "", False  # the resource the lines are about; whether ``others`` has it
    for line in stdout.splitlines():
        stripped = line.lstrip()
        depth = len(line) - len(stripped)
        if line == "Diagnostics:":
            section, block, resource = 0, None, ""
            continue
        if section is None:
            continue
        if not stripped:
            if block is not None:
                block.append(line)
            continue
        if depth == 0:  # the next section (Outputs:, Resources:, …)
            section = block = None
            continue
        section = section or depth
        if block is not None and (depth < indent or (depth == indent and SEVERITY.match(stripped))):
            block = None
        if depth == section:
            resource, listed = line, False
            continue
        if block is None and stripped.startswith("error: "):
            block, indent = ([resource] if resource else []), depth
            blocks.append(block)
        if block is not None:
            block.append(line)
            continue
        if resource and not listed:
            others.append(resource)
            listed = True
        others.append(line)
    errors += ["\n".join(b).rstrip() for b in blocks]
    return errors, others


def _tail(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"[… {len(text) - limit} characters]\n{text[-limit:]}"


def _head(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[:limit]}\n[… {len(text) - limit} characters]"


def failure_message(command: str, result: subprocess.CompletedProcess[str]) -> str:
    """What a failed run said, the errors first: the error diagnostics and the end of stderr,
    then the other diagnostics (or, with none, the end of stdout); bounded in size."""
    errors, others = diagnostics(result.stdout)
    parts = [f"{command} failed ({result.returncode})"]
    if errors:
        shown: list[str] = []
        size = 0
        for error in errors:
            size += min(len(error), EACH_ERROR_SHOWN)
            if shown and size > ERRORS_SHOWN:
                shown.append(f"[… {len(errors) - len(shown)} more errors]")
                break
            shown.append(_tail(error, EACH_ERROR_SHOWN))
        parts.append("errors:\n" + "\n".join(shown))
    if result.stderr.strip():
        parts.append("stderr:\n" + _tail(result.stderr.rstrip(), STDERR_SHOWN))
    if others:
        parts.append("other diagnostics:\n" + _head("\n".join(others), OTHERS_SHOWN))
    if not errors and not others and result.stdout.strip():
        parts.append("stdout:\n" + _tail(result.stdout.rstrip(), STDOUT_SHOWN))
    return "\n".join(parts)


def run_pulumi(
    args: list[str], directory: Path, env: dict[str, str], check: bool = True
) -> subprocess.CompletedProcess[str]:
    """``pulumi ARGS --non-interactive`` in ``directory``; with ``check``, a failure raises an
    ``AssertionError`` that shows its errors (``failure_message``)."""
    result = subprocess.run(
        ["pulumi", *args, "--non-interactive"],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(failure_message(f"pulumi {' '.join(args)}", result))
    return result


@dataclass
class Project:
    directory: Path
    stack: str = "local"

    @property
    def zones(self) -> Path:
        return self.directory / "zones"

    @property
    def stack_file(self) -> Path:
        return self.directory / "stacks" / f"Pulumi.{self.stack}.yaml"

    @property
    def state(self) -> Path:
        return self.directory / ".pulumi-state"

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "PATH": f"{pulumi_bin()}{os.pathsep}{os.environ['PATH']}",
            "PULUMI_BACKEND_URL": f"file://{self.state}",
            "PULUMI_CONFIG_PASSPHRASE": LOCAL_PASSPHRASE,
            "PULUMI_HOME": str(self.directory / ".pulumi-home"),
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            "PYTHONPATH": str(ROOT),  # a program given to make_project may import modules of this tree
        }

    def pulumi(
        self, *args: str, check: bool = True, allow_destructive: bool = False
    ) -> subprocess.CompletedProcess[str]:
        """Run the CLI on this stack; ``allow_destructive`` lets a run delete or move MX and SPF
        records (``MAILFLOW_ALLOW_DESTRUCTIVE=1``)."""
        env = self.env()
        if allow_destructive:
            env["MAILFLOW_ALLOW_DESTRUCTIVE"] = "1"
        return run_pulumi([*args, "--stack", self.stack], self.directory, env, check)

    def config(self) -> dict[str, Any]:
        document = yaml.safe_load(self.stack_file.read_text())
        return dict(document["config"])

    def write_config(self, config: dict[str, Any]) -> None:
        document = yaml.safe_load(self.stack_file.read_text())
        document["config"] = config
        self.stack_file.write_text(yaml.safe_dump(document, sort_keys=False))

    def domains(self) -> list[dict[str, Any]]:
        return list(self.config()["mailflow:domains"])

    def set_domains(self, domains: list[dict[str, Any]]) -> None:
        self.write_config({**self.config(), "mailflow:domains": domains})

    def set_domains_file(self, domains: list[dict[str, Any]], extra: dict[str, Any] | None = None) -> None:
        """The domains in ``domains.json`` beside ``Pulumi.yaml`` (``mailflow:domainsFile``)."""
        (self.directory / "domains.json").write_text(json.dumps(domains))
        config = {k: v for k, v in self.config().items() if k != "mailflow:domains"}
        self.write_config({**config, "mailflow:domainsFile": "domains.json", **(extra or {})})

    def preview_steps(self) -> list[dict[str, Any]]:
        """`pulumi preview --json` steps: op and URN of each planned change."""
        output = self.pulumi("preview", "--json").stdout
        return list(json.loads(output).get("steps", []))

    def changed_steps(self) -> list[tuple[str, str]]:
        """(op, logical name) of each resource a preview would change."""
        return [(s["op"], s["urn"].rsplit("::", 1)[1]) for s in self.preview_steps() if s["op"] != "same"]

    def resources(self) -> list[dict[str, Any]]:
        exported = json.loads(self.pulumi("stack", "export").stdout)
        return list(exported["deployment"].get("resources") or [])


def make_project(
    directory: Path,
    target: dict[str, Any] | None = None,
    secrets: dict[str, str] | None = None,
    program: str | None = None,
    stack: str = "local",
) -> Project:
    """Copy the program (or write ``program`` as ``__main__.py`` in its place) and the local stack
    with its tenant file; zone files go to ``directory/zones`` unless another ``target`` is given;
    ``secrets`` are set with ``pulumi config set --secret``; ``stack`` names the stack (a second
    stack of the same project elsewhere keeps the local stack's config under its own name)."""
    directory.mkdir(parents=True, exist_ok=True)
    if program is not None:
        (directory / "__main__.py").write_text(program)
    else:
        shutil.copy(ROOT / "__main__.py", directory / "__main__.py")
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    project["runtime"]["options"]["virtualenv"] = sys.prefix
    (directory / "Pulumi.yaml").write_text(yaml.safe_dump(project, sort_keys=False))
    (directory / "stacks").mkdir(exist_ok=True)
    shutil.copy(ROOT / "stacks" / "Pulumi.local.yaml", directory / "stacks" / f"Pulumi.{stack}.yaml")
    shutil.copytree(ROOT / "stacks" / "tenant", directory / "stacks" / "tenant")
    created = Project(directory, stack)
    created.state.mkdir()
    target = target or {"kind": "zonefile", "directory": str(created.zones)}
    created.write_config({**created.config(), "mailflow:target": target})
    created.pulumi("stack", "init")
    for key, value in (secrets or {}).items():
        created.pulumi("config", "set", "--secret", key, value)
    return created
