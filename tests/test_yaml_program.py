"""The component package from another language, through the real engine: `pulumi package add` of a
copy of this repository into the Pulumi YAML example (examples/yaml), whose `pulumi up` writes
the zone file the Python seed stack writes."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from pulumi_project import Project, copy_repository, make_project, pulumi_bin, run_pulumi

import mailflow
from mailflow.plan import plan_stack
from mailflow.provider import MailFlowDomain, MailFlowProvider
from mailflow.stackfile import read_stack_file

pytestmark = pytest.mark.engine
ROOT = Path(__file__).resolve().parent.parent
STACK = "dev"
CLOUD_SDKS = ("pulumi_cloudflare", "pulumi_azure_native")


def stand_in_cloud_plugins(pulumi_home: Path) -> None:
    """Mark the Cloudflare and Azure provider plugins as installed. The package's virtualenv holds
    their Python SDKs, so `pulumi package add` installs the plugins they name, from
    get.pulumi.com, which this machine cannot reach; a zone-file stack never starts them. The
    versions are those the locked SDKs ask for."""
    for module in CLOUD_SDKS:
        spec = importlib.util.find_spec(module)
        assert spec is not None and spec.submodule_search_locations, module
        (location,) = spec.submodule_search_locations
        plugin = json.loads((Path(location) / "pulumi-plugin.json").read_text())
        (pulumi_home / "plugins" / f"resource-{plugin['name']}-v{plugin['version']}").mkdir(parents=True)


class YamlProject:
    """The YAML example beside a copy of the repository, with its own backend and Pulumi home."""

    def __init__(self, base: Path) -> None:
        self.package = base / "mailflow"
        self.directory = base / "mail-dns"
        self.home = base / "pulumi-home"
        self.state = base / "state"
        for directory in (self.package, self.directory, self.state):
            directory.mkdir(parents=True)
        copy_repository(self.package)
        shutil.copy(ROOT / "examples" / "yaml" / "Pulumi.yaml", self.directory / "Pulumi.yaml")
        stand_in_cloud_plugins(self.home)

    @property
    def zone_file(self) -> Path:
        return self.directory / "zones" / "contoso.com.zone"

    @property
    def program(self) -> dict[str, Any]:
        return dict(yaml.safe_load((self.directory / "Pulumi.yaml").read_text()))

    def write_program(self, program: dict[str, Any]) -> None:
        (self.directory / "Pulumi.yaml").write_text(yaml.safe_dump(program, sort_keys=False))

    def pulumi(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        env = {
            **os.environ,
            "PATH": f"{pulumi_bin()}{os.pathsep}{os.environ['PATH']}",
            "PULUMI_BACKEND_URL": f"file://{self.state}",
            "PULUMI_CONFIG_PASSPHRASE": "mail-dns-test",
            "PULUMI_HOME": str(self.home),
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        }
        return run_pulumi(list(args), self.directory, env, check)


def outline(schema: dict[str, Any]) -> dict[str, Any]:
    """What a schema says of the component: each input and whether it is plain, the outputs, the
    required ones, the descriptions."""
    resource = schema["resources"]["mailflow:index:MailFlowDomain"]
    return {
        "version": schema["version"],
        "component": resource["isComponent"],
        "inputs": {
            name: (bool(spec.get("plain")), spec["description"])
            for name, spec in resource["inputProperties"].items()
        },
        "outputs": {name: spec["description"] for name, spec in resource["properties"].items()},
        "required": (resource["requiredInputs"], sorted(resource["required"])),
    }


@pytest.fixture(scope="module")
def added(tmp_path_factory: pytest.TempPathFactory) -> YamlProject:
    project = YamlProject(tmp_path_factory.mktemp("yaml"))
    project.pulumi("package", "add", "../mailflow")
    project.pulumi("stack", "init", STACK)
    return project


@pytest.fixture(scope="module")
def deployed(added: YamlProject) -> YamlProject:
    added.pulumi("up", "--yes")
    return added


@pytest.fixture(scope="module")
def python_stack(tmp_path_factory: pytest.TempPathFactory) -> Project:
    project = make_project(tmp_path_factory.mktemp("python"))
    project.pulumi("up", "--yes")
    return project


def test_package_add_records_the_package_and_its_schema(added: YamlProject) -> None:
    assert added.program["packages"] == {"mailflow": "../mailflow"}
    declared = yaml.safe_load(
        (added.directory / "sdks" / "mailflow" / f"mailflow-{mailflow.__version__}.yaml").read_text()
    )
    assert declared == {"packageDeclarationVersion": 1, "name": "mailflow", "version": mailflow.__version__}
    # The engine gets from the plugin the schema tests/test_provider.py checks (in its own form).
    served = json.loads(added.pulumi("package", "get-schema", "../mailflow").stdout)
    expected = json.loads(MailFlowProvider([MailFlowDomain], "mailflow", None, mailflow.__version__).schema)
    assert outline(served) == outline(expected)


def test_up_writes_the_zone_file_of_the_python_stack(deployed: YamlProject, python_stack: Project) -> None:
    written = deployed.zone_file.read_text().splitlines()
    expected = (python_stack.zones / "contoso.com.zone").read_text().splitlines()
    # The first line names the stack that owns the file: the YAML program's own.
    assert written[0] == f"; managed by mailflow, stack organization/mail-dns/{STACK}"
    assert expected[0] == "; managed by mailflow, stack organization/mailflow/local"
    assert written[1:] == expected[1:]


def test_outputs_are_the_component_outputs(deployed: YamlProject, python_stack: Project) -> None:
    outputs = json.loads(deployed.pulumi("stack", "output", "--json").stdout)
    (plan,) = plan_stack(read_stack_file(python_stack.stack_file)).domains
    assert outputs["spf"] == plan.spf
    assert outputs["spfLookups"] == plan.spf_lookups.total
    assert outputs["exoMxHost"] == outputs["relayHost"] == plan.exo_mx_host
    assert [(r["name"], r["type"], r["value"]) for r in outputs["records"]] == [
        (r.name, r.type, r.value) for r in plan.records
    ]


def test_a_second_run_changes_nothing(deployed: YamlProject) -> None:
    before = deployed.zone_file.read_bytes()
    deployed.pulumi("preview", "--expect-no-changes")
    deployed.pulumi("up", "--yes", "--expect-no-changes")
    assert deployed.zone_file.read_bytes() == before


def test_bad_inputs_are_named_by_property_and_change_nothing(deployed: YamlProject) -> None:
    good = deployed.program
    bad = json.loads(json.dumps(good))
    domain = bad["resources"]["contoso"]["properties"]["domain"]
    domain["topology"] = "third-party-hybird"
    domain["ttl"] = 3600.5
    domain["exchangeOnline"]["verification"] = {"fn::secret": "MS=ms12345678"}
    bad["resources"]["contoso"]["properties"]["target"]["tsigSecret"] = "c2VjcmV0"
    before = deployed.zone_file.read_bytes()
    deployed.write_program(bad)
    try:
        result = deployed.pulumi("up", "--yes", check=False)
    finally:
        deployed.write_program(good)
    assert result.returncode != 0
    assert (
        "property domain.exchangeOnline.verification with value <secret> has a problem: must be a plain"
        " value, known when the program starts (not a secret nor an output)"
    ) in result.stdout + result.stderr
    # Every problem of the gate is reported together, each by its property path.
    plain = json.loads(json.dumps(bad))
    plain["resources"]["contoso"]["properties"]["domain"]["exchangeOnline"]["verification"] = "MS=ms12345678"
    deployed.write_program(plain)
    try:
        result = deployed.pulumi("up", "--yes", check=False)
    finally:
        deployed.write_program(good)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    for line in (
        "property target.tsigSecret with value",
        "has a problem: is not a known setting (check its spelling and camelCase)",
        "property domain.topology with value \"third-party-hybird\" has a problem: 'third-party-hybird' is not one",
        "property domain.ttl with value 3600.5 has a problem: Input should be a valid integer",
    ):
        assert line in output
    assert "Traceback" not in output and 'File "' not in output
    assert deployed.zone_file.read_bytes() == before
    deployed.pulumi("preview", "--expect-no-changes")


def test_destroy_removes_the_zone_file(deployed: YamlProject) -> None:
    deployed.pulumi("destroy", "--yes")
    assert not deployed.zone_file.exists()
    deployed.pulumi("up", "--yes")
    assert deployed.zone_file.exists()
