"""A provider plugin the engine will not download is named, with the command that installs it,
before anything is registered (mailflow.targets.missing_plugin)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from conftest import SEED_DOMAIN
from pulumi_project import locked_version

import mailflow.targets
from mailflow.components import ConfigRunError, MailFlowDomainArgs
from mailflow.errors import ConfigError
from mailflow.plan import plan_stack
from mailflow.targets import TargetInputs, load_target, missing_plugin

CLOUDFLARE = locked_version("pulumi-cloudflare")
AZURE = locked_version("pulumi-azure-native")


@pytest.fixture
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Downloads off, an empty Pulumi home, no plugin on PATH; returns the plugins directory."""
    monkeypatch.setenv("PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION", "true")
    monkeypatch.setenv("PULUMI_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    return tmp_path / "home" / "plugins"


def test_a_missing_plugin_is_named_with_the_install_command_for_the_locked_version(offline: Path) -> None:
    assert missing_plugin("pulumi_cloudflare") == (
        f"needs the Pulumi plugin pulumi-resource-cloudflare v{CLOUDFLARE}, which is not installed, and"
        " automatic plugin downloads are off (PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION): install it with"
        f" `pulumi plugin install resource cloudflare v{CLOUDFLARE}`"
    )
    message = missing_plugin("pulumi_azure_native")
    assert message is not None
    assert message.endswith(f"`pulumi plugin install resource azure-native v{AZURE}`")


def test_an_installed_plugin_passes_but_not_a_half_installed_one(offline: Path) -> None:
    plugin = offline / f"resource-cloudflare-v{CLOUDFLARE}"
    plugin.mkdir(parents=True)
    (offline / f"resource-cloudflare-v{CLOUDFLARE}.partial").touch()
    assert missing_plugin("pulumi_cloudflare") is not None
    (offline / f"resource-cloudflare-v{CLOUDFLARE}.partial").unlink()
    assert missing_plugin("pulumi_cloudflare") is None
    assert missing_plugin("pulumi_azure_native") is not None


def test_a_plugin_on_path_passes(offline: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ambient = tmp_path / "bin" / "pulumi-resource-cloudflare"
    ambient.parent.mkdir()
    ambient.write_text("#!/bin/sh\n")
    ambient.chmod(0o755)
    monkeypatch.setenv("PATH", f"{ambient.parent}:/usr/bin:/bin")
    assert missing_plugin("pulumi_cloudflare") is None


def test_with_downloads_on_the_engine_fetches_it(offline: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION")
    assert missing_plugin("pulumi_cloudflare") is None


def stack(target: dict[str, str]) -> dict[str, object]:
    return {"domains": [copy.deepcopy(SEED_DOMAIN)], "target": target}


def test_under_the_engine_the_stack_stops_before_registering(
    offline: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mailflow.targets, "get_monitor", object)  # a real engine's monitor
    plan = plan_stack(stack({"kind": "azure", "resourceGroupName": "rg-dns"}))
    with pytest.raises(ConfigError) as caught:
        load_target(plan.settings, TargetInputs())
    (problem,) = caught.value.problems
    assert problem.path == "mailflow:target.kind"
    assert problem.message.startswith(
        f"the azure target needs the Pulumi plugin pulumi-resource-azure-native v{AZURE}"
    )
    # Targets without a provider plugin need nothing.
    load_target(plan_stack(stack({"kind": "zonefile"})).settings, TargetInputs())


def test_a_component_names_the_arg(offline: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mailflow.targets, "get_monitor", object)
    args = MailFlowDomainArgs(
        domain=copy.deepcopy(SEED_DOMAIN), target={"kind": "cloudflare"}, zone_id="zone-1"
    )
    with pytest.raises(ConfigRunError, match=r"target\.kind: the cloudflare target needs the Pulumi plugin"):
        args.planned()


def test_under_mocks_or_outside_pulumi_nothing_is_checked(offline: Path) -> None:
    plan = plan_stack(stack({"kind": "cloudflare", "zoneId": "zone-1"}))
    load_target(plan.settings, TargetInputs())
