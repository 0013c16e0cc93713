"""One gate: ``mailflow plan``, ``connectors``, ``check``, ``tenant script`` and the Pulumi program
refuse exactly the same configs with the same path-named problems; stack files are read as Pulumi
resolves them (project config in ``Pulumi.yaml``, JSON text, null, secrets)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import SEED_DOMAIN, config_problems
from pulumi_harness import run_program
from test_config_errors import CASES
from test_connectors import BAD_INPUTS, edited, with_hosts
from test_extra_records import INJECTIONS

from mailflow.cli import main
from mailflow.errors import ConfigError
from mailflow.plan import plan_stack
from mailflow.stackfile import read_stack_file

EXCHANGE_ONLINE = {
    "name": "fabrikam.com",
    "topology": "exchange-online",
    "exchangeOnline": {"mxHost": "fabrikam-com.mail.protection.outlook.com"},
    "dmarc": {"policy": "none"},
}
CLOUDFLARE = {"kind": "cloudflare", "zoneId": "zone-1"}
RFC2136 = {"kind": "rfc2136", "server": "127.0.0.1", "keyName": "mailflow"}


def _domain_cases() -> list[tuple[str, dict[str, Any]]]:
    cases = []
    for name, edit, _ in CASES:
        domain = copy.deepcopy(SEED_DOMAIN)
        edit(domain)
        cases.append((name, {"domains": [domain]}))
    for name, change, _ in BAD_INPUTS:
        cases.append(
            (f"connector: {name}", {"domains": [edited(change, with_hosts(copy.deepcopy(SEED_DOMAIN)))]})
        )
    return cases


STACK_CASES: list[tuple[str, dict[str, Any]]] = [
    (
        "centralized transport without on-premises servers",
        {
            "domains": [
                edited({"exchangeOnline": {"centralizedMailTransport": True}}, copy.deepcopy(EXCHANGE_ONLINE))
            ]
        },
    ),
    (
        "importIds key that names no resource",
        {
            "domains": [{**EXCHANGE_ONLINE, "importIds": {"fabrikam.com/MX/nope": "rec-1"}}],
            "target": CLOUDFLARE,
        },
    ),
    ("importIds on the zonefile target", {"domains": [{**EXCHANGE_ONLINE, "importIds": {"x": "y"}}]}),
    (
        "importIds on the rfc2136 target",
        {"domains": [{**EXCHANGE_ONLINE, "importIds": {"x": "y"}}], "target": RFC2136},
    ),
    ("rfc2136 without its secret", {"domains": [EXCHANGE_ONLINE], "target": RFC2136}),
    ("plain-text TSIG secret", {"domains": [EXCHANGE_ONLINE], "target": RFC2136, "tsigSecret": "c2VjcmV0"}),
    ("TSIG secret on another target", {"domains": [EXCHANGE_ONLINE], "tsigSecret": "c2VjcmV0"}),
    ("null target", {"domains": [EXCHANGE_ONLINE], "target": None}),
    ("null production", {"domains": [EXCHANGE_ONLINE], "production": None}),
    ("target as text that is not JSON", {"domains": [EXCHANGE_ONLINE], "target": "cloudflare"}),
    ("domains as a number", {"domains": 5}),
    ("unknown setting", {"domains": [EXCHANGE_ONLINE], "domainz": []}),
    ("the tenant as a setting", {"domains": [EXCHANGE_ONLINE], "tenant": {"version": 1}}),
    ("structured production", {"domains": [EXCHANGE_ONLINE], "production": {"on": True}}),
    ("bad share", {"domains": [EXCHANGE_ONLINE], "maxDeleteShare": 2}),
]


def _seed(**changes: Any) -> dict[str, Any]:
    return {**copy.deepcopy(SEED_DOMAIN), **changes}


INPUT_CASES: list[tuple[str, dict[str, Any]]] = [
    *(
        (
            f"extra record name {name!r}",
            {"domains": [_seed(extraRecords=[{"name": name, "type": "TXT", "value": "x"}])]},
        )
        for name in INJECTIONS
    ),
    *(
        (f"domain name {name!r}", {"domains": [_seed(name=name)]})
        for name in ("contoso.com\u200b", "con\u00adtoso.com", "a" * 64 + ".com", ".".join(["a" * 60] * 5))
    ),
    *(
        (f"DMARC address {uri!r}", {"domains": [_seed(dmarc={"policy": "reject", "rua": [uri]})]})
        for uri in ("mailto:d;pct=0@contoso.com", "mailto:dmarc@contoso.com;ruf=mailto:spy@evil.example")
    ),
    (
        "TXT larger than a record holds",
        {"domains": [_seed(extraRecords=[{"name": "big", "type": "TXT", "value": "x" * 70_000}])]},
    ),
    (
        "MX extra without a preference",
        {"domains": [_seed(extraRecords=[{"name": "@", "type": "MX", "value": "mx.example.net."}])]},
    ),
    ("SPF open to every address", {"domains": [_seed(spf={"extra": ["ip4:0.0.0.0/0"]})]}),
    ("on-premises network of every address", {"domains": [_seed(onPremises={"ips": ["0.0.0.0/0"]})]}),
]
ALL_CASES = [*_domain_cases(), *STACK_CASES, *INPUT_CASES]


def _stack_file(project: Path, values: dict[str, Any]) -> Path:
    (project / "Pulumi.yaml").write_text("name: mailflow\nruntime: python\n", "utf-8")
    path = project / "Pulumi.gate.yaml"
    config = {f"mailflow:{key}": value for key, value in values.items()}
    path.write_text(yaml.safe_dump({"config": config}, sort_keys=False), "utf-8")
    return path


def _problems(report: str) -> list[str]:
    return [line.strip() for line in report.splitlines() if line.startswith("  ")]


def _cli_problems(argv: list[str], capsys: pytest.CaptureFixture[str]) -> list[str]:
    assert main(argv) == 2
    return _problems(capsys.readouterr().err)


def _program_problems(values: dict[str, Any]) -> list[str]:
    config = {key: value for key, value in values.items() if key != "tenant"}
    extra = {"mailflow:tenant": json.dumps(values["tenant"])} if "tenant" in values else {}
    if "target" in values and values["target"] is None:
        del config["target"]  # Pulumi hands a null over as empty text
        extra["mailflow:target"] = ""
    if "production" in values and values["production"] is None:
        del config["production"]
        extra["mailflow:production"] = ""
    with pytest.raises(Exception) as caught:
        run_program(config, extra)
    return _problems(str(caught.value))


@pytest.mark.parametrize("values", [c[1] for c in ALL_CASES], ids=[c[0] for c in ALL_CASES])
def test_every_entry_point_refuses_a_bad_config_with_the_same_problems(
    values: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = str(_stack_file(tmp_path, values))
    planned = _cli_problems(["plan", stack], capsys)
    assert planned
    assert _cli_problems(["connectors", stack], capsys) == planned
    assert _cli_problems(["check", stack, "--nameserver", "127.0.0.1:9"], capsys) == planned
    # Tenant commands make the tenant file, so what only it settles does not stop them.
    with pytest.raises(ConfigError) as caught:
        plan_stack(read_stack_file(Path(stack)))
    before_tenant = [str(p) for p in caught.value.problems if not p.needs_tenant]
    if before_tenant:
        assert _cli_problems(["tenant", "script", stack], capsys) == before_tenant
    else:
        assert main(["tenant", "script", stack]) == 0
    assert _program_problems(values) == planned


def test_project_config_in_pulumi_yaml_is_read_under_the_stack_file(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text(
        yaml.safe_dump(
            {
                "name": "mailflow",
                "runtime": "python",
                "config": {
                    "mailflow:target": {"value": CLOUDFLARE},
                    "resourceTree": "flat",
                    "mailflow:production": {"type": "boolean", "default": True},
                    "mailflow:strict": {"default": True},
                    "other:setting": 1,
                },
            }
        ),
        "utf-8",
    )
    stack = tmp_path / "Pulumi.dev.yaml"
    stack.write_text(
        yaml.safe_dump({"config": {"mailflow:domains": [EXCHANGE_ONLINE], "strict": False}}), "utf-8"
    )
    values = read_stack_file(stack)
    assert values == {
        "target": CLOUDFLARE,
        "resourceTree": "flat",
        "production": "true",
        "strict": "false",
        "domains": [EXCHANGE_ONLINE],
    }


def test_a_mapping_in_project_config_must_be_a_declaration(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text(
        yaml.safe_dump({"name": "mailflow", "config": {"mailflow:target": {"kind": "zonefile"}}}), "utf-8"
    )
    stack = tmp_path / "Pulumi.dev.yaml"
    stack.write_text(yaml.safe_dump({"config": {"mailflow:domains": [EXCHANGE_ONLINE]}}), "utf-8")
    with pytest.raises(ConfigError) as caught:
        read_stack_file(stack)
    assert "config mailflow:target: declares a setting, so it may not hold kind" in str(caught.value)


def test_json_text_config_plans_like_structured_config(tmp_path: Path) -> None:
    structured = _stack_file(tmp_path, {"domains": [EXCHANGE_ONLINE], "target": CLOUDFLARE})
    as_text = tmp_path / "Pulumi.text.yaml"
    as_text.write_text(
        yaml.safe_dump(
            {
                "config": {
                    "mailflow:domains": json.dumps([EXCHANGE_ONLINE]),
                    "mailflow:target": json.dumps(CLOUDFLARE),
                }
            }
        ),
        "utf-8",
    )
    assert read_stack_file(as_text) == read_stack_file(structured)


def test_an_encrypted_tsig_secret_passes_and_the_program_checks_its_base64(tmp_path: Path) -> None:
    stack = tmp_path / "Pulumi.dev.yaml"
    config = {
        "mailflow:domains": [EXCHANGE_ONLINE],
        "mailflow:target": RFC2136,
        "mailflow:tsigSecret": {"secure": "v1:x"},
    }
    stack.write_text(yaml.safe_dump({"config": config}), "utf-8")
    assert plan_stack(read_stack_file(stack)).settings.target.kind == "rfc2136"
    values = {"domains": [EXCHANGE_ONLINE], "target": RFC2136, "tsigSecret": "not base64!"}
    with pytest.raises(Exception, match=r"mailflow:tsigSecret: is not valid base64"):
        run_program(values, secret_keys=["mailflow:tsigSecret"])


def test_only_the_tsig_secret_may_be_a_secret(tmp_path: Path) -> None:
    stack = tmp_path / "Pulumi.dev.yaml"
    config = {"mailflow:domains": [EXCHANGE_ONLINE], "mailflow:production": {"secure": "v1:x"}}
    stack.write_text(yaml.safe_dump({"config": config}), "utf-8")
    assert config_problems(read_stack_file(stack)) == [
        "mailflow:production: is stored as a secret, but only mailflow:tsigSecret is one; set it as plain config"
    ]


def test_a_stack_importing_esc_environments_says_what_it_cannot_see(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = _stack_file(tmp_path, {"domains": [EXCHANGE_ONLINE]})
    document = yaml.safe_load(stack.read_text())
    document["environment"] = ["mailflow-prod"]
    stack.write_text(yaml.safe_dump(document))
    assert main(["plan", str(stack)]) == 0
    err = capsys.readouterr().err
    assert (
        f"warning: {stack}: imports the Pulumi ESC environment 'mailflow-prod', which mailflow cannot read"
        in err
    )
