"""Plan output formats: JSON rows, zone fragments that named-checkzone accepts, the table."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import dns.zone
import pytest
import yaml
from conftest import EXAMPLES, SEED_STACK

from mailflow.cli import main
from mailflow.plan import plan_stack
from mailflow.render import plan_zone

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


def check_zone(fragment: str, directory: Path, extra_lines: str = "") -> None:
    """BIND's own check of a fragment ``$INCLUDE``d in a zone with SOA and NS (and
    ``extra_lines``, e.g. the addresses of in-zone MX and SRV targets)."""
    if not Path(NAMED_CHECKZONE).exists():
        pytest.fail(f"{NAMED_CHECKZONE} is missing: install bind9-utils (scripts/install-system-deps.sh)")
    origin = fragment.split("$ORIGIN ", 1)[1].split("\n", 1)[0].rstrip(".")
    zone_file = directory / "db.zone"
    (directory / "fragment.zone").write_text(fragment)
    header = ZONE_HEADER.format(origin) + extra_lines
    zone_file.write_text(header + f"$INCLUDE {directory / 'fragment.zone'}\n")
    result = subprocess.run(
        [NAMED_CHECKZONE, "-i", "local", origin, str(zone_file)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK" in result.stdout


@pytest.mark.parametrize("stack", [SEED_STACK, *sorted(EXAMPLES.glob("*.yaml"))], ids=lambda p: p.stem)
def test_zone_fragment_is_accepted_by_named_checkzone(stack: Path, tmp_path, capsys) -> None:
    check_zone(run_plan(capsys, str(stack), "--format", "zone"), tmp_path)


def extra_domain(*extras: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": "contoso.com",
        "topology": "exchange-online",
        "exchangeOnline": {"mxHost": "contoso-com.mail.protection.outlook.com"},
        "extraRecords": list(extras),
    }


def test_hostile_txt_text_stays_one_quoted_record(tmp_path) -> None:
    text = 'x" 60 IN NS evil.example. ; $INCLUDE /etc/passwd ( \\ )'
    stack = plan_stack({"domains": [extra_domain({"name": "note", "type": "TXT", "value": text})]})
    fragment = plan_zone(stack)
    assert 'note 3600 IN TXT "x\\" 60 IN NS evil.example. ; $INCLUDE /etc/passwd ( \\\\ )"\n' in fragment
    check_zone(fragment, tmp_path)
    zone = dns.zone.from_text(fragment, "contoso.com.", relativize=False, check_origin=False)
    assert {(n.to_text(), r.to_text()) for n, _, r in zone.iterate_rdatas("TXT")} == {
        ("contoso.com.", '"v=spf1 include:spf.protection.outlook.com -all"'),
        ("note.contoso.com.", '"x\\" 60 IN NS evil.example. ; $INCLUDE /etc/passwd ( \\\\ )"'),
    }
    assert list(zone.iterate_rdatas("NS")) == []


@pytest.mark.parametrize(
    "name",
    [
        "x IN NS evil.example.\n$INCLUDE /etc/passwd\ny",
        "@ IN NS evil.example.",
        "$INCLUDE /etc/passwd",
        "x;\n@",
        'x" IN NS "evil',
        "(x)",
    ],
)
def test_a_name_that_would_inject_zone_lines_writes_nothing(name: str, tmp_path, capsys) -> None:
    stack_file = tmp_path / "Pulumi.injected.yaml"
    domain = extra_domain({"name": name, "type": "TXT", "value": "x"})
    stack_file.write_text(yaml.safe_dump({"config": {"mailflow:domains": [domain]}}))
    assert main(["plan", str(stack_file), "--format", "zone"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "mailflow:domains[0].extraRecords[0].name: " in err


def test_every_extra_type_is_accepted_by_named_checkzone(tmp_path) -> None:
    extras = [
        {"name": "lists", "type": "MX", "value": "10 mx"},
        {"name": "_imaps._tcp", "type": "SRV", "value": "0 1 993 imap"},
        {"type": "CAA", "value": '0 issue "letsencrypt.org"'},
        {"name": "www", "type": "CNAME", "value": "web"},
        {"name": "*.dev", "type": "A", "value": "192.0.2.80"},
        {"name": "bücher", "type": "AAAA", "value": "2001:db8::1"},
        {"name": "selector1._domainkey.mail", "type": "TXT", "value": "v=DKIM1; k=rsa; p=" + "A" * 392},
    ]
    fragment = plan_zone(plan_stack({"domains": [extra_domain(*extras)]}))
    assert "*.dev 3600 IN A 192.0.2.80\n" in fragment
    assert "xn--bcher-kva 3600 IN AAAA 2001:db8::1\n" in fragment
    check_zone(fragment, tmp_path, "mx IN A 192.0.2.25\nimap IN A 192.0.2.143\nweb IN A 192.0.2.80\n")


def test_table_shows_relay_host_and_lookup_count(capsys) -> None:
    table = run_plan(capsys, str(SEED_STACK))
    assert "third party relays inbound mail to: contoso-com.mail.protection.outlook.com" in table
    assert "SPF DNS lookups: 1/10" in table


def test_warnings_go_to_stderr_so_json_stays_parseable(capsys) -> None:
    assert main(["plan", str(EXAMPLES / "third-party-hybrid.yaml"), "--format", "json"]) == 0
    out, err = capsys.readouterr()
    json.loads(out)
    assert (
        "warning: mailflow:domains[0].spf: the records of third_party_cloud_service.com could not be read"
        in err
    )


def test_console_script_matches_python_dash_m(tmp_path) -> None:
    python = Path(sys.executable)
    script = python.parent / "mailflow"
    args = ["plan", str(SEED_STACK), "--format", "json"]
    via_module = subprocess.run(
        [str(python), "-m", "mailflow", *args], capture_output=True, text=True, check=True
    )
    via_script = subprocess.run([str(script), *args], capture_output=True, text=True, check=True)
    assert via_script.stdout == via_module.stdout != ""
