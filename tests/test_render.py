"""Plan output formats: JSON rows, zone fragments that named-checkzone accepts, the table."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import EXAMPLES, SEED_STACK

from mailflow.cli import main

NAMED_CHECKZONE = shutil.which("named-checkzone") or "/usr/bin/named-checkzone"
ZONE_HEADER = "$TTL 3600\n@ IN SOA ns1.{0}. hostmaster.{0}. 1 7200 3600 1209600 300\n@ IN NS ns1.{0}.\nns1 IN A 192.0.2.53\n"


def run_plan(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["plan", *args]) == 0
    return capsys.readouterr().out


def test_json_rows_have_name_type_ttl_value(capsys) -> None:
    rows = json.loads(run_plan(capsys, str(SEED_STACK), "--format", "json"))
    assert rows[0] == {
        "name": "contoso.com.",
        "type": "MX",
        "ttl": 3600,
        "value": "10 mx1.filter.example.net.",
    }
    assert all(set(row) == {"name", "type", "ttl", "value"} for row in rows)
    assert all(row["name"].endswith(".") for row in rows)


def test_output_is_deterministic(capsys) -> None:
    first = run_plan(capsys, str(SEED_STACK), "--format", "json")
    assert run_plan(capsys, str(SEED_STACK), "--format", "json") == first


@pytest.mark.parametrize("stack", [SEED_STACK, *sorted(EXAMPLES.glob("*.yaml"))], ids=lambda p: p.stem)
def test_zone_fragment_is_accepted_by_named_checkzone(stack: Path, tmp_path, capsys) -> None:
    fragment = run_plan(capsys, str(stack), "--format", "zone")
    origin = fragment.split("$ORIGIN ", 1)[1].split("\n", 1)[0].rstrip(".")
    zone_file = tmp_path / "db.zone"
    (tmp_path / "fragment.zone").write_text(fragment)
    zone_file.write_text(ZONE_HEADER.format(origin) + f"$INCLUDE {tmp_path / 'fragment.zone'}\n")
    result = subprocess.run(
        [NAMED_CHECKZONE, "-i", "local", origin, str(zone_file)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK" in result.stdout


def test_table_shows_relay_host_and_lookup_count(capsys) -> None:
    table = run_plan(capsys, str(SEED_STACK))
    assert "third party relays inbound mail to: contoso-com.mail.protection.outlook.com" in table
    assert "SPF DNS lookups: 1/10" in table


def test_warnings_go_to_stderr_so_json_stays_parseable(capsys) -> None:
    assert main(["plan", str(EXAMPLES / "third-party-hybrid.yaml"), "--format", "json"]) == 0
    out, err = capsys.readouterr()
    json.loads(out)
    assert "warning: mailflow:domains[0].spf: lookups inside third_party_cloud_service.com" in err


def test_console_script_matches_python_dash_m(tmp_path) -> None:
    python = Path(sys.executable)
    script = python.parent / "mailflow"
    args = ["plan", str(SEED_STACK), "--format", "json"]
    via_module = subprocess.run(
        [str(python), "-m", "mailflow", *args], capture_output=True, text=True, check=True
    )
    via_script = subprocess.run([str(script), *args], capture_output=True, text=True, check=True)
    assert via_script.stdout == via_module.stdout != ""
