"""`mailflow connectors`: the script on stdout, warnings on stderr, --strict and exit codes."""

from __future__ import annotations

import pytest
from conftest import SEED_STACK

from mailflow.cli import main


def test_connectors_prints_the_script_and_warns_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["connectors", str(SEED_STACK)]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("# Exchange Online connectors")
    assert "New-InboundConnector -Name 'mailflow from Example filtering service'" in out
    assert "New-OutboundConnector" not in out
    assert "Set-AcceptedDomain -Identity 'contoso.com' -DomainType Authoritative" in out
    assert "warning: mailflow:domains[0].onPremises.smartHost: is not set" in err


def test_strict_turns_missing_values_into_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["connectors", str(SEED_STACK), "--strict"]) == 2
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
