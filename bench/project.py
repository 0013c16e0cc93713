"""A throwaway copy of the project (or of the hand-written baseline program), driven by the real
Pulumi CLI with a local file backend: used by the engine tests and the engine benchmarks."""

from __future__ import annotations

import json
import os
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
            "PYTHONPATH": str(ROOT),  # the hand-written baseline imports bench.handwritten
        }

    def pulumi(
        self, *args: str, check: bool = True, allow_destructive: bool = False
    ) -> subprocess.CompletedProcess[str]:
        """Run the CLI on this stack; ``allow_destructive`` lets a run delete or move MX and SPF
        records (``MAILFLOW_ALLOW_DESTRUCTIVE=1``)."""
        env = self.env()
        if allow_destructive:
            env["MAILFLOW_ALLOW_DESTRUCTIVE"] = "1"
        result = subprocess.run(
            ["pulumi", *args, "--stack", self.stack, "--non-interactive"],
            cwd=self.directory,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if check and result.returncode != 0:
            diagnostics = result.stdout.partition("Diagnostics:")[2].partition("Outputs:")[0]
            shown = diagnostics[-6000:] or result.stdout[-4000:]
            raise AssertionError(
                f"pulumi {' '.join(args)} failed ({result.returncode}):\n{shown}\n{result.stderr[-4000:]}"
            )
        return result

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


HANDWRITTEN_MAIN = """\
import json
from pathlib import Path

import pulumi

from bench.handwritten import zonefile_program

config = pulumi.Config("mailflow")
domains_file = config.get("domainsFile")
domains = json.loads(Path(domains_file).read_text()) if domains_file else config.require_object("domains")
zonefile_program(domains, Path(config.require_object("target")["directory"]))
"""


def make_project(
    directory: Path,
    target: dict[str, Any] | None = None,
    secrets: dict[str, str] | None = None,
    handwritten: bool = False,
    stack: str = "local",
) -> Project:
    """Copy the program (or the hand-written baseline) and the local stack with its tenant file;
    zone files go to ``directory/zones`` unless another ``target`` is given; ``secrets`` are set
    with ``pulumi config set --secret``; ``stack`` names the stack (a second stack of the same
    project elsewhere keeps the local stack's config under its own name)."""
    directory.mkdir(parents=True, exist_ok=True)
    if handwritten:
        (directory / "__main__.py").write_text(HANDWRITTEN_MAIN)
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
