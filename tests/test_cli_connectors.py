"""`mailflow connectors`: the script on stdout, warnings on stderr, --strict and exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import SEED_DOMAIN, SEED_STACK

from mailflow.cli import main


@pytest.fixture
def unrouted(tmp_path: Path) -> Path:
    """A stack of the seed domain without its outbound routes (onPremises.smartHost and the
    service's outboundSmartHosts), which the seed stack has."""
    stack = tmp_path / "Pulumi.unrouted.yaml"
    stack.write_text(yaml.safe_dump({"config": {"mailflow:domains": [SEED_DOMAIN]}}))
    return stack


def test_connectors_prints_the_script(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["connectors", str(SEED_STACK)]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("# Exchange Online connectors")
    assert "New-InboundConnector -Name 'mailflow from Example filtering service'" in out
    assert "New-OutboundConnector -Name 'mailflow to on-premises'" in out
    assert "Set-AcceptedDomain -Identity 'contoso.com' -DomainType Authoritative" in out
    assert err == ""


def test_missing_values_are_warned_on_stderr(unrouted: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["connectors", str(unrouted)]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("# Exchange Online connectors")
    assert "New-OutboundConnector" not in out
    assert "warning: mailflow:domains[0].onPremises.smartHost: is not set" in err


def test_strict_turns_missing_values_into_exit_2(unrouted: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["connectors", str(unrouted), "--strict"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "mailflow:domains[0].onPremises.smartHost: is not set" in err


def test_prune_is_asked_for_on_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["connectors", str(SEED_STACK)]) == 0
    assert "Remove-InboundConnector" not in capsys.readouterr().out
    assert main(["connectors", str(SEED_STACK), "--prune"]) == 0
    out = capsys.readouterr().out
    assert "Where-Object { $_.Name -like 'mailflow *' -and $_.Name -notin @(" in out
    assert "ForEach-Object { Remove-InboundConnector -Identity $_.Identity -Confirm:$false }" in out
