"""Bad input: every problem is reported at once, each naming its config path; the CLI exits 2."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import SEED_DOMAIN, config_problems

from mailflow.cli import main

Edit = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Edit:
    def edit(domain: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = domain
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return edit


def _delete(path: str) -> Edit:
    def edit(domain: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = domain
        for part in parents:
            node = node[part]
        del node[last]

    return edit


CASES: list[tuple[str, Edit, str]] = [
    (
        "bad on-prem ip",
        _set("onPremises.ips", ["131.107.21.231", "131.107.21.999"]),
        "mailflow:domains[0].onPremises.ips[1]: '131.107.21.999' is not an IPv4 or IPv6 address",
    ),
    (
        "on-prem network with host bits",
        _set("onPremises.ips", ["10.0.0.1/24"]),
        "mailflow:domains[0].onPremises.ips[0]: '10.0.0.1/24' has host bits set",
    ),
    (
        "on-prem network of every address",
        _set("onPremises.ips", ["0.0.0.0/0"]),
        "mailflow:domains[0].onPremises.ips[0]: '0.0.0.0/0' is every IPv4 address: it would trust any sender",
    ),
    (
        "connector ips of every address",
        _set("thirdParty.connectorIps", ["::/0"]),
        "mailflow:domains[0].thirdParty.connectorIps[0]: '::/0' is every IPv6 address",
    ),
    (
        "enhanced filtering skipping every address",
        _set("thirdParty.enhancedFilteringSkipIps", ["0.0.0.0/0"]),
        "mailflow:domains[0].thirdParty.enhancedFilteringSkipIps[0]: '0.0.0.0/0' is every IPv4 address",
    ),
    (
        "empty on-prem ips",
        _set("onPremises.ips", []),
        "mailflow:domains[0].onPremises.ips: must list at least 1 entry",
    ),
    (
        "unknown topology",
        _set("topology", "cloud-only"),
        "mailflow:domains[0].topology: 'cloud-only' is not one of: exchange-online",
    ),
    ("missing name", _delete("name"), "mailflow:domains[0].name: is required"),
    (
        "bad domain name",
        _set("name", "contoso"),
        "mailflow:domains[0].name: 'contoso' is not a fully qualified name",
    ),
    (
        "underscore in domain",
        _set("name", "con_toso.com"),
        "mailflow:domains[0].name: 'con_toso.com' is not a valid host name",
    ),
    (
        "ttl too small",
        _set("ttl", 5),
        "mailflow:domains[0].ttl: Input should be greater than or equal to 60",
    ),
    (
        "ttl not a number",
        _set("ttl", "hour"),
        "mailflow:domains[0].ttl: Input should be a valid integer",
    ),
    (
        "misspelt key",
        _set("onPremise", {"ips": ["1.2.3.4"]}),
        "mailflow:domains[0].onPremise: is not a known setting",
    ),
    (
        "missing third party",
        _delete("thirdParty"),
        "mailflow:domains[0].thirdParty: is required by the third-party-hybrid topology",
    ),
    (
        "third party refused by exchange-online",
        _set("topology", "exchange-online"),
        "mailflow:domains[0].thirdParty: is only used by the third-party-front and "
        "third-party-hybrid topologies, not exchange-online",
    ),
    (
        "missing on-premises",
        _delete("onPremises"),
        "mailflow:domains[0].onPremises: is required by the third-party-hybrid topology",
    ),
    (
        "third party without mx",
        _set("thirdParty.mx", []),
        "mailflow:domains[0].thirdParty.mx: must list at least 1 entry",
    ),
    (
        "bad mx host",
        _set("thirdParty.mx", [{"host": "mx 1.example.net", "priority": 10}]),
        "mailflow:domains[0].thirdParty.mx[0].host: 'mx 1.example.net' is not a valid host name",
    ),
    (
        "mx priority out of range",
        _set("thirdParty.mx", [{"host": "mx.example.net", "priority": 70000}]),
        "mailflow:domains[0].thirdParty.mx[0].priority: Input should be less than or equal to 65535",
    ),
    (
        "ptr in vendor spf",
        _set("thirdParty.spf", ["ptr:example.net"]),
        "mailflow:domains[0].thirdParty.spf[0]: 'ptr:example.net': ptr must not be used",
    ),
    (
        "bad vendor spf ip",
        _set("thirdParty.spf", ["ip4:10.10.10"]),
        "mailflow:domains[0].thirdParty.spf[0]: 'ip4:10.10.10' is not a valid ip4 network",
    ),
    (
        "all in extra spf",
        _set("spf", {"extra": ["~all"]}),
        "mailflow:domains[0].spf.extra[0]: '~all': the all term is set by spf.all",
    ),
    (
        "spf term not text",
        _set("spf", {"extra": [42]}),
        "mailflow:domains[0].spf.extra[0]: 42 is not an SPF term",
    ),
    (
        "bad spf all",
        _set("spf", {"all": "pass"}),
        "mailflow:domains[0].spf.all: 'pass' is not one of: fail or softfail",
    ),
    (
        "bad verification",
        _set("exchangeOnline.verification", "ms=1234"),
        "mailflow:domains[0].exchangeOnline.verification: 'ms=1234' does not match",
    ),
    (
        "bad cloud",
        _set("exchangeOnline.cloud", "gcc"),
        "mailflow:domains[0].exchangeOnline.cloud: 'gcc' is not one of: commercial, gcc-high, dod or china",
    ),
    (
        "hyphenated domain needs mx host",
        lambda d: d.update(name="contoso-eu.com", exchangeOnline={"verification": "MS=ms12345678"}),
        "mailflow:domains[0].exchangeOnline.mxHost: cannot be derived for 'contoso-eu.com': Microsoft assigns",
    ),
    (
        "dkim needs both selectors",
        _set("exchangeOnline.dkim", {"selector1": "s1.contoso.onmicrosoft.com"}),
        "mailflow:domains[0].exchangeOnline.dkim.selector2: is required with the other selector",
    ),
    (
        "dkim forms mixed",
        _set(
            "exchangeOnline.dkim",
            {
                "selector1": "a.b.com",
                "selector2": "c.d.com",
                "initialDomain": "contoso.onmicrosoft.com",
            },
        ),
        "mailflow:domains[0].exchangeOnline.dkim: set either selector1 and selector2, or initialDomain",
    ),
    (
        "dmarc policy",
        _set("dmarc", {"policy": "block"}),
        "mailflow:domains[0].dmarc.policy: 'block' is not one of: none, quarantine or reject",
    ),
    (
        "dmarc rua not mailto",
        _set("dmarc", {"policy": "none", "rua": ["dmarc@contoso.com"]}),
        "mailflow:domains[0].dmarc.rua[0]: 'dmarc@contoso.com' is not a mailto: URI",
    ),
    (
        "dmarc pct",
        _set("dmarc", {"policy": "none", "pct": 150}),
        "mailflow:domains[0].dmarc.pct: Input should be less than or equal to 100",
    ),
    (
        "mta-sts id",
        _set("mtaSts", {"id": "2026-11-27"}),
        "mailflow:domains[0].mtaSts.id: '2026-11-27' does not match",
    ),
    (
        "tls-rpt uri",
        _set("tlsRpt", {"rua": ["ftp://x.example.com"]}),
        "mailflow:domains[0].tlsRpt.rua[0]: 'ftp://x.example.com' is not a mailto: or https: URI",
    ),
    (
        "mdm outside commercial",
        lambda d: (d.update(mdm=True), d["exchangeOnline"].update(cloud="gcc-high")),
        "mailflow:domains[0].mdm: records are only known for the commercial cloud, not gcc-high",
    ),
    (
        "extra record bad value",
        _set("extraRecords", [{"name": "mail", "type": "A", "value": "x"}]),
        "mailflow:domains[0].extraRecords[0].value: 'x' is not a valid A value",
    ),
    (
        "second spf record",
        _set("extraRecords", [{"type": "TXT", "value": '"v=spf1 -all"'}]),
        "mailflow:domains[0].extraRecords[0].value: a second SPF record at the apex is a permerror",
    ),
    (
        "cname beside other data",
        _set("extraRecords", [{"name": "autodiscover", "type": "A", "value": "192.0.2.1"}]),
        "mailflow:domains[0].extraRecords: autodiscover.contoso.com. has a CNAME beside other records",
    ),
]


@pytest.mark.parametrize(("edit", "expected"), [(c[1], c[2]) for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_names_its_path(edit: Edit, expected: str) -> None:
    domain = copy.deepcopy(SEED_DOMAIN)
    edit(domain)
    problems = config_problems({"domains": [domain]})
    assert any(p.startswith(expected) for p in problems), problems


def test_every_problem_of_every_domain_is_reported_at_once() -> None:
    first = copy.deepcopy(SEED_DOMAIN)
    first["ttl"] = 1
    first["onPremises"]["ips"] = ["nope"]
    second = copy.deepcopy(SEED_DOMAIN)
    second["name"] = "fabrikam.com"
    second["topology"] = "hybrid-onprem-front"
    problems = config_problems({"domains": [first, second], "domainz": []})
    assert problems == [
        "mailflow:domainz: is not a known setting (check its spelling and camelCase)",
        "mailflow:domains[0].onPremises.ips[0]: 'nope' is not an IPv4 or IPv6 address or CIDR network",
        "mailflow:domains[0].ttl: Input should be greater than or equal to 60 (got 1)",
        "mailflow:domains[1].onPremises.mxHost: is required by hybrid-onprem-front: the MX points to it",
        "mailflow:domains[1].thirdParty: is only used by the third-party-front and "
        "third-party-hybrid topologies, not hybrid-onprem-front",
    ]


def test_duplicate_domain_is_refused() -> None:
    problems = config_problems({"domains": [SEED_DOMAIN, SEED_DOMAIN]})
    assert problems == [
        "mailflow:domains[1].name: 'contoso.com' is already configured at mailflow:domains[0]"
    ]


def test_missing_domains_key() -> None:
    assert config_problems({}) == ["mailflow:domains: is required: the list of mail domains to manage"]


def test_domains_not_a_list() -> None:
    assert config_problems({"domains": {"name": "contoso.com"}}) == [
        "mailflow:domains: must be a non-empty list of domains"
    ]


def _write_stack(tmp_path: Path, domains: Any) -> Path:
    path = tmp_path / "Pulumi.bad.yaml"
    path.write_text(yaml.safe_dump({"config": {"mailflow:domains": domains}}))
    return path


def test_cli_exits_2_with_every_problem_and_no_traceback(tmp_path, capsys) -> None:
    domain = copy.deepcopy(SEED_DOMAIN)
    domain["onPremises"]["ips"] = ["131.107.21.231", "131.107.21.999"]
    domain["ttl"] = 0
    status = main(["plan", str(_write_stack(tmp_path, [domain])), "--format", "json"])
    out, err = capsys.readouterr()
    assert status == 2
    assert out == ""
    assert "Traceback" not in err
    assert "mailflow: 2 config problems:" in err
    assert "mailflow:domains[0].onPremises.ips[1]: '131.107.21.999' is not an IPv4 or IPv6" in err


def test_cli_reports_unreadable_and_invalid_yaml(tmp_path, capsys) -> None:
    assert main(["plan", str(tmp_path / "missing.yaml")]) == 2
    assert "cannot be read" in capsys.readouterr().err
    broken = tmp_path / "Pulumi.broken.yaml"
    broken.write_text("config: [unclosed\n")
    assert main(["plan", str(broken)]) == 2
    assert "is not valid YAML" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("name", "rtype", "value", "where"),
    [
        ("Autodiscover", "A", "192.0.2.1", "CNAME autodiscover.contoso.com."),
        ("_DMARC", "TXT", '"v=DMARC1; p=none"', "TXT _dmarc.contoso.com."),
    ],
)
def test_a_case_variant_of_a_planned_name_is_refused(seed_domain, name, rtype, value, where) -> None:
    seed_domain["extraRecords"] = [{"name": name, "type": rtype, "value": value}]
    problems = config_problems({"domains": [seed_domain]})
    assert any(
        p.startswith(f"mailflow:domains[0].extraRecords[0].name: '{name}' is ")
        and p.endswith(f"where mailflow plans {where}")
        for p in problems
    ), problems


def test_extra_names_are_published_in_lower_case(seed_domain) -> None:
    seed_domain["extraRecords"] = [{"name": "VPN", "type": "A", "value": "192.0.2.9"}]
    from conftest import plan_domains

    assert ("vpn.contoso.com.", "A") in {(r.name, r.type) for r in plan_domains(seed_domain).records}


def test_defaults_made_without_validation_equal_validated_ones() -> None:
    """``Domain`` and ``StackSettings`` hold defaults made with ``model_construct`` (no validator
    built at import): a validator added to one of these models must not make them differ."""
    from mailflow.config import Domain, ExchangeOnline, Spf
    from mailflow.settings import StackSettings, ZoneFileSettings

    for model, field in ((Domain, "exchange_online"), (Domain, "spf"), (StackSettings, "target")):
        default = model.model_fields[field].default
        validated = type(default).model_validate({})
        assert default == validated and default.model_fields_set == validated.model_fields_set
    assert {ExchangeOnline, Spf, ZoneFileSettings} == {
        type(Domain.model_fields["exchange_online"].default),
        type(Domain.model_fields["spf"].default),
        type(StackSettings.model_fields["target"].default),
    }
