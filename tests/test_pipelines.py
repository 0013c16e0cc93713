"""The example pipelines of ``docs/pipelines``: the GitHub Actions workflow passes actionlint (and a
broken copy of it does not), and both pipelines keep the shape their README promises: previews
without approvals, posted on the pull request, deployments behind environments, a passphrase per
stack, caches, path filters that cover every input of a deployment, and each stack's provider
plugin at the version requirements.lock pins."""

from __future__ import annotations

import copy
import fnmatch
import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import pytest
import yaml
from conftest import ROOT
from pulumi_project import locked_version

PIPELINES = ROOT / "docs" / "pipelines"
GITHUB = PIPELINES / "github-actions.yml"
AZURE = PIPELINES / "azure-pipelines.yml"

DEPLOYED = ("staging", "prod")
"""The committed stacks that pipelines deploy (``local`` is the offline demo), in order."""
PLUGIN_OF_TARGET = {"cloudflare": "cloudflare", "azure": "azure-native"}
"""The provider plugin (and ``pulumi-<plugin>`` SDK) each target kind of a stack file needs."""

TRIGGERING = [
    "stacks/Pulumi.prod.yaml",
    "stacks/tenant/contoso.yaml",
    "domains/prod.yaml",
    "mailflow/cli.py",
    "mailflow/targets/azure.py",
    "__main__.py",
    "Pulumi.yaml",
    "PulumiPlugin.yaml",
    "pyproject.toml",
    "requirements.lock",
    "requirements-dev.lock",
    "requirements.txt",
    "Makefile",
]
"""A file of each kind that changes what a deployment does (the pipeline's own file is added)."""
NOT_TRIGGERING = ["README.md", "tests/test_engine.py", "docs/BENCHMARKS.md"]

EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict)
    return data


def deployed_stacks() -> dict[str, str]:
    """The stacks the pipelines deploy, in order, with the provider plugin each one's target (in
    its stack file) needs."""
    stacks = {}
    for name in DEPLOYED:
        kind = load(ROOT / "stacks" / f"Pulumi.{name}.yaml")["config"]["mailflow:target"]["kind"]
        stacks[name] = PLUGIN_OF_TARGET[kind]
    return stacks


def pinned_pulumi_cli() -> str:
    """The CLI version scripts/install-pulumi.sh builds, without the ``v``."""
    script = (ROOT / "scripts" / "install-pulumi.sh").read_text()
    found = re.search(r"^readonly PULUMI_VERSION=v(\S+)$", script, re.MULTILINE)
    assert found
    return found.group(1)


def substitute(node: Any, context: str, values: dict[str, str]) -> Any:
    """``node`` with each ``${{ <context>.<key> }}`` replaced by ``values[key]``; an expression on
    ``context`` that is anything else fails."""
    if isinstance(node, dict):
        return {substitute(k, context, values): substitute(v, context, values) for k, v in node.items()}
    if isinstance(node, list):
        return [substitute(item, context, values) for item in node]
    if not isinstance(node, str):
        return node

    def one(match: re.Match[str]) -> str:
        expression = match.group(1)
        plain = re.fullmatch(rf"{context}\.([\w-]+)", expression)
        if plain:
            return values[plain.group(1)]
        if expression == f"replace({context}.name, '-', '_')":
            return values["name"].replace("-", "_")
        assert not re.search(rf"\b{context}\.", expression), f"cannot expand {match.group(0)}"
        return match.group(0)

    return EXPRESSION.sub(one, node)


def run_script(script: str, env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """A step's shell script, run the way both CI systems run bash steps, in the repository."""
    path = tmp_path / "step.sh"
    path.write_text(script)
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", path],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture(scope="module")
def actionlint() -> Path:
    """The actionlint binary, built by scripts/install-actionlint.sh on first use."""
    result = subprocess.run(
        [ROOT / "scripts" / "install-actionlint.sh"], capture_output=True, text=True, timeout=900, check=False
    )
    assert result.returncode == 0, result.stderr
    binary = Path(result.stdout.strip().splitlines()[-1])
    assert os.access(binary, os.X_OK), binary
    return binary


def lint(actionlint: Path, workflow: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [actionlint, "-no-color", workflow],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_actionlint_installer_answers_from_its_cache_the_second_time(actionlint: Path) -> None:
    result = subprocess.run(
        [ROOT / "scripts" / "install-actionlint.sh"], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [str(actionlint)]
    assert result.stderr == ""


def test_the_workflow_passes_actionlint(actionlint: Path) -> None:
    result = lint(actionlint, GITHUB)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("old", "new", "complaint"),
    [
        ("    runs-on: ubuntu-latest\n", "    runs_on: ubuntu-latest\n", 'unexpected key "runs_on"'),
        ("${{ matrix.plugin }}-${{", "${{ matrix.plugins }}-${{", 'property "plugins" is not defined'),
        ("secrets[matrix.passphrase] }}", "secrets[matrix.passphrase] }", "got unexpected EOF"),
        (
            "uses: azure/login@v2\n",
            "uses: azure/login@v2\n        with: {client_id: x}\n",
            'input "client_id"',
        ),
    ],
    ids=["key-typo", "undefined-matrix-property", "broken-expression", "unknown-action-input"],
)
def test_actionlint_rejects_a_broken_copy(
    actionlint: Path, tmp_path: Path, old: str, new: str, complaint: str
) -> None:
    text = GITHUB.read_text()
    assert old in text
    broken = tmp_path / "mailflow.yml"
    broken.write_text(text.replace(old, new, 1))
    result = lint(actionlint, broken)
    assert result.returncode == 1, result.stdout + result.stderr
    assert complaint in result.stdout


# GitHub Actions


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    return load(GITHUB)


def github_jobs(workflow: dict[str, Any]) -> dict[str, dict[str, Any]]:
    jobs = workflow["jobs"]
    assert set(jobs) == {"tenant", "preview", "deploy"}
    return dict(jobs)


def uses(step: dict[str, Any], action: str) -> bool:
    return str(step.get("uses", "")).split("@")[0] == action


def steps_using(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [step for step in job["steps"] if uses(step, action)]


def step_index(job: dict[str, Any], predicate: Callable[[dict[str, Any]], bool]) -> int:
    (index,) = [i for i, step in enumerate(job["steps"]) if predicate(step)]
    return index


def github_glob(pattern: str, path: str) -> bool:
    """GitHub's path filter syntax: ``*`` stays within a directory, ``**`` crosses them."""
    regex = re.escape(pattern).replace(r"\*\*", "\0").replace(r"\*", "[^/]*").replace("\0", ".*")
    return re.fullmatch(regex, path) is not None


def test_github_path_filters_cover_every_input_of_a_deployment(workflow: dict[str, Any]) -> None:
    # PyYAML reads the key `on` as YAML 1.1's true.
    triggers = cast("dict[object, Any]", workflow)[True]
    assert set(triggers) == {"pull_request", "push", "schedule", "workflow_dispatch"}
    for event in ("pull_request", "push"):
        assert triggers[event]["branches"] == ["main"]
        paths = triggers[event]["paths"]
        for path in [*TRIGGERING, ".github/workflows/mailflow.yml"]:
            assert any(github_glob(p, path) for p in paths), f"{event}: {path} triggers nothing"
        for path in NOT_TRIGGERING:
            assert not any(github_glob(p, path) for p in paths), f"{event}: {path} triggers a run"
    assert triggers["pull_request"]["paths"] == triggers["push"]["paths"]


def test_github_previews_wait_for_no_approval_and_only_deployments_are_gated(
    workflow: dict[str, Any],
) -> None:
    jobs = github_jobs(workflow)
    assert jobs["preview"]["if"] == "github.event_name == 'pull_request'"
    assert jobs["deploy"]["if"] == "github.event_name == 'push'"
    assert "schedule" in jobs["tenant"]["if"]
    assert [name for name, job in jobs.items() if "environment" in job] == ["deploy"]
    assert jobs["deploy"]["environment"] == "${{ matrix.stack }}"
    assert "environment" not in workflow
    assert jobs["preview"]["permissions"] == {
        "contents": "read",
        "id-token": "write",
        "pull-requests": "write",
    }
    assert jobs["deploy"]["permissions"] == {"contents": "read", "id-token": "write"}
    assert workflow["permissions"] == {"contents": "read"}
    # A preview posts its diff on the pull request; a deployment runs `pulumi up`, one stack at a time.
    (preview,) = [s for s in steps_using(jobs["preview"], "pulumi/actions") if "command" in s["with"]]
    assert preview["with"]["command"] == "preview"
    assert preview["with"]["comment-on-pr"] is True
    assert preview["with"]["stack-name"] == "${{ matrix.stack }}"
    assert preview["with"]["cloud-url"] == "${{ env.PULUMI_BACKEND_URL }}"
    assert jobs["deploy"]["steps"][-1]["run"].startswith('pulumi up --yes --stack "$STACK"')
    assert jobs["deploy"]["strategy"]["max-parallel"] == 1
    assert jobs["deploy"]["concurrency"] == {
        "group": "mailflow-deploy-${{ matrix.stack }}",
        "cancel-in-progress": False,
    }
    assert not any("pulumi up" in str(step.get("run", "")) for step in jobs["preview"]["steps"])


def test_github_stacks_are_the_deployed_stack_files_each_with_its_own_passphrase(
    workflow: dict[str, Any],
) -> None:
    jobs = github_jobs(workflow)
    expected = [
        {"stack": stack, "plugin": plugin, "passphrase": f"PULUMI_CONFIG_PASSPHRASE_{stack.upper()}"}
        for stack, plugin in deployed_stacks().items()
    ]
    for name in ("preview", "deploy"):
        entries = jobs[name]["strategy"]["matrix"]["include"]
        assert sorted(entries, key=lambda e: e["stack"]) == sorted(expected, key=lambda e: e["stack"])
        assert jobs[name]["env"]["PULUMI_CONFIG_PASSPHRASE"] == "${{ secrets[matrix.passphrase] }}"
    assert [e["stack"] for e in jobs["deploy"]["strategy"]["matrix"]["include"]] == list(DEPLOYED)
    assert jobs["tenant"]["strategy"]["matrix"]["stack"] == list(DEPLOYED)
    # No passphrase shared by the stacks, anywhere.
    assert "PULUMI_CONFIG_PASSPHRASE" not in workflow["env"]
    assert not re.search(r"secrets\.PULUMI_CONFIG_PASSPHRASE\b", GITHUB.read_text())


def test_github_one_azure_sign_in_serves_the_state_backend_and_the_provider(workflow: dict[str, Any]) -> None:
    assert workflow["env"]["PULUMI_BACKEND_URL"].startswith("azblob://")
    # The backend signs in with the Azure CLI only when the URL names the storage account.
    assert "storage_account=" in workflow["env"]["PULUMI_BACKEND_URL"]
    assert workflow["env"]["PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"] == "true"
    jobs = github_jobs(workflow)
    for name in ("preview", "deploy"):
        job = jobs[name]
        (login,) = steps_using(job, "azure/login")
        env = job["env"]
        assert env["ARM_USE_OIDC"] == "true"
        assert login["with"]["client-id"] == env["ARM_CLIENT_ID"]
        assert login["with"]["tenant-id"] == env["ARM_TENANT_ID"]
        assert login["with"]["subscription-id"] == env["ARM_SUBSCRIPTION_ID"]
        assert "creds" not in login["with"]
        # Signed in before anything reads the state.
        pulumi_step = step_index(
            job, lambda s: "command" in s.get("with", {}) or "pulumi up" in s.get("run", "")
        )
        assert step_index(job, lambda s: uses(s, "azure/login")) < pulumi_step
    # Previews read with their own identity; deployments with their environment's.
    assert jobs["preview"]["env"]["ARM_CLIENT_ID"] != jobs["deploy"]["env"]["ARM_CLIENT_ID"]
    (graph,) = steps_using(jobs["tenant"], "azure/login")
    assert graph["with"]["allow-no-subscriptions"] is True
    assert "tenant pull" in jobs["tenant"]["steps"][-1]["run"]
    assert "--check" in jobs["tenant"]["steps"][-1]["run"]


def test_github_jobs_set_up_from_the_locks_with_a_pip_cache_and_plan_first(workflow: dict[str, Any]) -> None:
    for name, job in github_jobs(workflow).items():
        assert job["runs-on"] == "ubuntu-latest"
        assert uses(job["steps"][0], "actions/checkout")
        (python,) = steps_using(job, "actions/setup-python")
        assert python["with"]["python-version"] == "3.11"
        assert python["with"]["cache"] == "pip"
        locks = python["with"]["cache-dependency-path"]
        assert fnmatch.filter(["requirements.lock", "requirements-dev.lock"], locks) == [
            "requirements.lock",
            "requirements-dev.lock",
        ]
        setup = step_index(job, lambda s: s.get("run") == "make setup")
        assert step_index(job, lambda s: uses(s, "actions/setup-python")) < setup
        if name == "tenant":
            continue
        plan = step_index(
            job, lambda s: s.get("run") == '.venv/bin/mailflow plan "stacks/Pulumi.${STACK}.yaml"'
        )
        assert setup < plan < step_index(job, lambda s: uses(s, "azure/login"))
        assert job["env"]["STACK"] == "${{ matrix.stack }}"


def test_github_installs_the_pinned_cli_and_only_the_stack_plugin_with_a_cache(
    workflow: dict[str, Any],
) -> None:
    assert workflow["env"]["PULUMI_VERSION"] == pinned_pulumi_cli()
    for name in ("preview", "deploy"):
        job = github_jobs(workflow)[name]
        cli = [s for s in steps_using(job, "pulumi/actions") if "command" not in s.get("with", {})]
        assert [s["with"] for s in cli] == [{"pulumi-version": "${{ env.PULUMI_VERSION }}"}]
        (cache,) = steps_using(job, "actions/cache")
        assert cache["with"]["path"] == "~/.pulumi/plugins"
        assert "${{ matrix.plugin }}" in cache["with"]["key"]
        assert "${{ steps.plugin.outputs.version }}" in cache["with"]["key"]
        (install,) = [s for s in job["steps"] if "pulumi plugin install" in s.get("run", "")]
        assert install["run"] == 'pulumi plugin install resource "$PLUGIN" "$VERSION"'
        assert install["env"] == {
            "PLUGIN": "${{ matrix.plugin }}",
            "VERSION": "${{ steps.plugin.outputs.version }}",
        }
        assert step_index(job, lambda s: s.get("id") == "plugin") < job["steps"].index(cache)


def test_github_plugin_version_comes_from_requirements_lock(workflow: dict[str, Any], tmp_path: Path) -> None:
    for name in ("preview", "deploy"):
        job = github_jobs(workflow)[name]
        (step,) = [s for s in job["steps"] if s.get("id") == "plugin"]
        for entry in job["strategy"]["matrix"]["include"]:
            env = substitute(step["env"], "matrix", entry)
            output = tmp_path / "output"
            output.write_text("")
            result = run_script(step["run"], {**env, "GITHUB_OUTPUT": str(output)}, tmp_path)
            assert result.returncode == 0, result.stdout + result.stderr
            assert output.read_text() == f"version={locked_version('pulumi-' + entry['plugin'])}\n"
        missing = run_script(
            step["run"], {"PLUGIN": "no-such-provider", "GITHUB_OUTPUT": "/dev/null"}, tmp_path
        )
        assert missing.returncode == 1
        assert "::error::pulumi-no-such-provider is not pinned in requirements.lock" in missing.stdout


# Azure Pipelines


@pytest.fixture(scope="module")
def pipeline() -> dict[str, Any]:
    return load(AZURE)


def stack_parameters(pipeline: dict[str, Any]) -> list[dict[str, str]]:
    (stacks,) = [p for p in pipeline["parameters"] if p["name"] == "stacks"]
    assert stacks["type"] == "object"
    return list(stacks["default"])


def expand(node: Any, stacks: list[dict[str, str]]) -> Any:
    """The pipeline with each ``${{ each stack in parameters.stacks }}`` unrolled, as the
    template engine does it."""
    if isinstance(node, dict):
        return {k: expand(v, stacks) for k, v in node.items()}
    if not isinstance(node, list):
        return node
    items = []
    for item in node:
        if isinstance(item, dict) and len(item) == 1:
            (key,) = item
            if key == "${{ each stack in parameters.stacks }}":
                for stack in stacks:
                    items.extend(expand(substitute(copy.deepcopy(item[key]), "stack", stack), stacks))
                continue
        items.append(expand(item, stacks))
    return items


@pytest.fixture(scope="module")
def stages(pipeline: dict[str, Any]) -> dict[str, dict[str, Any]]:
    expanded = expand(pipeline["stages"], stack_parameters(pipeline))
    stages = {stage["stage"]: stage for stage in expanded}
    assert list(stages) == ["deploy_staging", "deploy_prod", "tenant", "preview"]
    return stages


def azure_jobs(stage: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield from stage["jobs"]


def azure_steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    steps = job["strategy"]["runOnce"]["deploy"]["steps"] if "deployment" in job else job["steps"]
    assert isinstance(steps, list)
    return steps


def tasks(job: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [step for step in azure_steps(job) if step.get("task") == name]


def azure_filter(pattern: str, path: str) -> bool:
    """Azure Pipelines path filters: a file, or a directory with everything under it."""
    return path == pattern or path.startswith(pattern.rstrip("/") + "/")


def test_azure_path_filters_cover_every_input_of_a_deployment(pipeline: dict[str, Any]) -> None:
    for trigger in ("trigger", "pr"):
        assert pipeline[trigger]["branches"] == {"include": ["main"]}
        paths = pipeline[trigger]["paths"]["include"]
        for path in [*TRIGGERING, "azure-pipelines.yml"]:
            assert any(azure_filter(p, path) for p in paths), f"{trigger}: {path} triggers nothing"
        for path in NOT_TRIGGERING:
            assert not any(azure_filter(p, path) for p in paths), f"{trigger}: {path} triggers a run"
        assert not any("*" in p for p in paths)
    (schedule,) = pipeline["schedules"]
    assert schedule["branches"] == {"include": ["main"]}
    assert schedule["always"] is True


def test_azure_stacks_are_the_deployed_stack_files(pipeline: dict[str, Any]) -> None:
    parameters = stack_parameters(pipeline)
    assert [(p["name"], p["plugin"]) for p in parameters] == list(deployed_stacks().items())


def test_azure_previews_wait_for_no_approval_and_only_deployments_are_gated(
    stages: dict[str, dict[str, Any]],
) -> None:
    preview = stages["preview"]
    assert preview["dependsOn"] == []
    assert preview["condition"] == "eq(variables['Build.Reason'], 'PullRequest')"
    assert stages["tenant"]["condition"] == "eq(variables['Build.Reason'], 'Schedule')"
    for job in azure_jobs(preview):
        assert "job" in job
        assert "deployment" not in job
        assert "environment" not in job
        (azure_cli,) = tasks(job, "AzureCLI@2")
        assert azure_cli["inputs"]["azureSubscription"] == "mailflow-preview"
        assert "pulumi preview" in azure_cli["inputs"]["inlineScript"]
        assert "pulumi up" not in azure_cli["inputs"]["inlineScript"]
    for stack in DEPLOYED:
        stage = stages[f"deploy_{stack}"]
        assert "dependsOn" not in stage
        assert "refs/heads/main" in stage["condition"]
        assert "PullRequest" not in stage["condition"]
        (job,) = azure_jobs(stage)
        assert job["deployment"] == "up"
        assert job["environment"] == f"mailflow-{stack}"
        (azure_cli,) = tasks(job, "AzureCLI@2")
        assert azure_cli["inputs"]["azureSubscription"] == f"mailflow-{stack}"
        assert "pulumi up --yes" in azure_cli["inputs"]["inlineScript"]
        assert azure_steps(job)[0] == {"checkout": "self"}


def pulumi_jobs(stages: dict[str, dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each job that runs Pulumi, with its stack."""
    for stack in DEPLOYED:
        (job,) = azure_jobs(stages[f"deploy_{stack}"])
        yield stack, job
        (preview,) = [j for j in azure_jobs(stages["preview"]) if j["job"] == f"preview_{stack}"]
        yield stack, preview


def test_azure_each_stack_reads_its_passphrase_from_its_own_variable_group(
    pipeline: dict[str, Any], stages: dict[str, dict[str, Any]]
) -> None:
    assert not any("group" in v for v in pipeline["variables"] if isinstance(v, dict) and "name" not in v)
    assert "PULUMI_CONFIG_PASSPHRASE" not in pipeline["variables"]
    for stack, job in pulumi_jobs(stages):
        assert job["variables"] == [{"group": f"mailflow-{stack}"}]
        (azure_cli,) = tasks(job, "AzureCLI@2")
        assert azure_cli["env"]["PULUMI_CONFIG_PASSPHRASE"] == "$(PULUMI_CONFIG_PASSPHRASE)"
        assert azure_cli["env"]["STACK"] == stack


def test_azure_one_service_connection_serves_the_state_backend_and_the_provider(
    pipeline: dict[str, Any], stages: dict[str, dict[str, Any]]
) -> None:
    variables = pipeline["variables"]
    assert variables["PULUMI_BACKEND_URL"].startswith("azblob://")
    assert "storage_account=" in variables["PULUMI_BACKEND_URL"]
    assert variables["PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"] == "true"
    for _, job in pulumi_jobs(stages):
        (azure_cli,) = tasks(job, "AzureCLI@2")
        inputs = azure_cli["inputs"]
        assert inputs["scriptType"] == "bash"
        assert inputs["addSpnToEnvironment"] is True
        script = inputs["inlineScript"]
        assert 'ARM_USE_OIDC=true ARM_OIDC_TOKEN="$idToken"' in script
        assert 'ARM_CLIENT_ID="$servicePrincipalId" ARM_TENANT_ID="$tenantId"' in script
        assert "ARM_SUBSCRIPTION_ID" in script
    for job in azure_jobs(stages["tenant"]):
        (azure_cli,) = tasks(job, "AzureCLI@2")
        assert azure_cli["inputs"]["azureSubscription"] == "mailflow-graph"
        assert "tenant pull" in azure_cli["inputs"]["inlineScript"]
        assert "--check --auth azure-cli" in azure_cli["inputs"]["inlineScript"]


def test_azure_jobs_cache_pip_and_plan_before_pulumi(
    pipeline: dict[str, Any], stages: dict[str, dict[str, Any]]
) -> None:
    assert pipeline["variables"]["PIP_CACHE_DIR"] == "$(Pipeline.Workspace)/.pip"
    for stage in stages.values():
        for job in azure_jobs(stage):
            steps = azure_steps(job)
            (python,) = tasks(job, "UsePythonVersion@0")
            assert python["inputs"]["versionSpec"] == "3.11"
            pip = tasks(job, "Cache@2")[0]
            assert pip["inputs"]["path"] == "$(PIP_CACHE_DIR)"
            assert "requirements.lock" in pip["inputs"]["key"]
            assert "requirements-dev.lock" in pip["inputs"]["key"]
            setup = steps.index({"script": "make setup", "displayName": "make setup"})
            assert steps.index(python) < steps.index(pip) < setup
            if stage["stage"] == "tenant":
                continue
            (plan,) = [s for s in steps if s.get("displayName") == "mailflow plan"]
            (azure_cli,) = tasks(job, "AzureCLI@2")
            assert setup < steps.index(plan) < steps.index(azure_cli)


def test_azure_installs_the_pinned_cli_and_only_the_stack_plugin_with_a_cache(
    pipeline: dict[str, Any], stages: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    assert pipeline["variables"]["PULUMI_VERSION"] == pinned_pulumi_cli()
    assert pipeline["variables"]["PULUMI_HOME"] == "$(Pipeline.Workspace)/.pulumi"
    plugins = deployed_stacks()
    for stack, job in pulumi_jobs(stages):
        steps = azure_steps(job)
        (version,) = [s for s in steps if "variable=pluginVersion" in s.get("script", "")]
        result = run_script(version["script"], version["env"], tmp_path)
        assert result.returncode == 0, result.stdout + result.stderr
        assert (
            result.stdout
            == f"##vso[task.setvariable variable=pluginVersion]{locked_version('pulumi-' + plugins[stack])}\n"
        )
        (cache,) = [c for c in tasks(job, "Cache@2") if c["inputs"]["path"] == "$(PULUMI_HOME)/plugins"]
        assert (
            cache["inputs"]["key"]
            == f'pulumi-plugins | "$(Agent.OS)" | "{plugins[stack]}" | "$(pluginVersion)"'
        )
        (install,) = [s for s in steps if "pulumi plugin install" in s.get("script", "")]
        assert install["script"] == 'pulumi plugin install resource "$PLUGIN" "$(pluginVersion)"'
        assert install["env"] == {"PLUGIN": plugins[stack]}
        (cli,) = [s for s in steps if "get.pulumi.com" in s.get("script", "")]
        assert '--version "$(PULUMI_VERSION)"' in cli["script"]
        assert steps.index(version) < steps.index(cache) < steps.index(install)
        assert steps.index(cli) < steps.index(install)


def fake_curl(directory: Path) -> Path:
    """A ``curl`` that records its arguments and the body it is given on standard input."""
    directory.mkdir()
    curl = directory / "curl"
    curl.write_text('#!/bin/sh\nprintf "%s\\n" "$@" >"$0.args"\ncat >"$0.body"\n')
    curl.chmod(0o755)
    return curl


@pytest.mark.skipif(shutil.which("jq") is None, reason="the comment step builds its body with jq")
def test_azure_previews_post_their_output_on_the_pull_request(
    stages: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    for job in azure_jobs(stages["preview"]):
        steps = azure_steps(job)
        (preview,) = tasks(job, "AzureCLI@2")
        (comment,) = [s for s in steps if s.get("displayName") == "Preview as a pull request comment"]
        assert steps.index(preview) < steps.index(comment)
        # Failed previews too, and only where the pull request lives in Azure Repos.
        assert comment["condition"] == (
            "and(succeededOrFailed(), eq(variables['Build.Repository.Provider'], 'TfsGit'))"
        )
        log = preview["env"]["PREVIEW_LOG"]
        assert comment["env"]["PREVIEW_LOG"] == log
        assert preview["inputs"]["inlineScript"].rstrip().endswith('2>&1 | tee "$PREVIEW_LOG"')
        assert comment["env"]["SYSTEM_ACCESSTOKEN"] == "$(System.AccessToken)"
        assert comment["env"]["STACK"] == preview["env"]["STACK"]

        curl = fake_curl(tmp_path / job["job"])
        output = curl.parent / "preview.txt"
        output.write_text("Previewing update (staging):\n + 8 to create\n")
        predefined = {
            "PATH": f"{curl.parent}{os.pathsep}{os.environ['PATH']}",
            "STACK": comment["env"]["STACK"],
            "PREVIEW_LOG": str(output),
            "SYSTEM_ACCESSTOKEN": "job-token",
            "SYSTEM_COLLECTIONURI": "https://dev.azure.com/contoso/",
            "SYSTEM_TEAMPROJECTID": "project-id",
            "BUILD_REPOSITORY_ID": "repository-id",
            "SYSTEM_PULLREQUEST_PULLREQUESTID": "42",
        }
        result = run_script(comment["script"], predefined, tmp_path)
        assert result.returncode == 0, result.stdout + result.stderr
        args = curl.with_name("curl.args").read_text().splitlines()
        assert args[-1] == (
            "https://dev.azure.com/contoso/project-id/_apis/git/repositories/repository-id"
            "/pullRequests/42/threads?api-version=7.1"
        )
        assert "Authorization: Bearer job-token" in args
        assert json.loads(curl.with_name("curl.body").read_text()) == {
            "comments": [
                {
                    "parentCommentId": 0,
                    "commentType": 1,
                    "content": f"#### `pulumi preview` of {predefined['STACK']}\n\n```\n"
                    "Previewing update (staging):\n + 8 to create\n\n```",
                }
            ],
            "status": "closed",
        }
        # No preview ran (an earlier step failed): nothing is posted.
        output.unlink()
        curl.with_name("curl.args").unlink()
        result = run_script(comment["script"], predefined, tmp_path)
        assert result.returncode == 0, result.stdout + result.stderr
        assert not curl.with_name("curl.args").exists()
