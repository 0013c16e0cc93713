"""No config, however broken, makes an entry point raise anything but its path-named refusal: the
planning gate raises ``ConfigError`` or plans, the command line exits 0 or 2, the program plans or
stops with ``RunError`` (property tests over generated configs)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml
from conftest import SEED_DOMAIN
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pulumi_harness import run_program

from mailflow.cli import main
from mailflow.errors import ConfigError
from mailflow.plan import plan_stack

SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
ANY_VALUE = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
NAMES = st.sampled_from(
    ["contoso.com", "fabrikam.com", "bücher.de", "a-b.example", "x" * 70 + ".com"]
) | st.text(max_size=30)
TOPOLOGIES = st.sampled_from(
    ["exchange-online", "third-party-front", "hybrid-exo-front", "hybrid-onprem-front", "third-party-hybrid"]
)
EXTRA_RECORD = st.fixed_dictionaries(
    {"type": st.sampled_from(["A", "AAAA", "CNAME", "MX", "TXT", "SRV", "CAA"]) | st.text(max_size=5)},
    optional={
        "name": st.text(max_size=20) | st.sampled_from(["@", "www", "*.x", "_sip._tls"]),
        "value": st.text(max_size=40),
        "ttl": SCALARS,
    },
)
DOMAIN = st.fixed_dictionaries(
    {"name": NAMES, "topology": TOPOLOGIES | st.text(max_size=10)},
    optional={
        "ttl": SCALARS,
        "thirdParty": st.fixed_dictionaries(
            {
                "name": st.text(max_size=10),
                "mx": st.lists(st.fixed_dictionaries({"host": NAMES}), max_size=2),
            },
            optional={"spf": st.lists(st.text(max_size=25), max_size=3), "connectorIps": ANY_VALUE},
        )
        | ANY_VALUE,
        "exchangeOnline": st.fixed_dictionaries(
            {},
            optional={
                "mxHost": NAMES,
                "centralizedMailTransport": st.booleans(),
                "autodiscover": ANY_VALUE,
                "dkim": ANY_VALUE,
                "cloud": st.sampled_from(["commercial", "gcc-high", "dod", "china"]),
            },
        ),
        "onPremises": st.fixed_dictionaries(
            {"ips": st.lists(st.text(max_size=20), max_size=2)}, optional={"smartHost": NAMES}
        ),
        "spf": st.fixed_dictionaries({}, optional={"extra": st.lists(st.text(max_size=25), max_size=3)}),
        "dmarc": st.fixed_dictionaries(
            {"policy": st.sampled_from(["none", "reject"]) | st.text(max_size=5)},
            optional={"rua": st.lists(st.text(max_size=30), max_size=2)},
        ),
        "tlsRpt": st.fixed_dictionaries({"rua": st.lists(st.text(max_size=30), max_size=2)}),
        "extraRecords": st.lists(EXTRA_RECORD, max_size=3),
        "importIds": ANY_VALUE,
        "adopt": ANY_VALUE,
    },
)
FIELDS = [
    ("name",),
    ("ttl",),
    ("thirdParty", "name"),
    ("thirdParty", "spf"),
    ("thirdParty", "mx"),
    ("exchangeOnline", "mxHost"),
    ("exchangeOnline", "verification"),
    ("exchangeOnline", "autodiscover"),
    ("onPremises", "ips"),
    ("onPremises", "smartHost"),
    ("spf", "extra"),
    ("dmarc", "rua"),
    ("dmarc", "policy"),
    ("extraRecords",),
]


def _seed_with(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    domain = copy.deepcopy(SEED_DOMAIN)
    node = domain
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value
    return domain


def _valid_ish(path: tuple[str, ...]) -> st.SearchStrategy[Any]:
    if path == ("extraRecords",):
        return st.lists(EXTRA_RECORD, max_size=2)
    if path[-1] in ("spf", "extra", "ips", "rua"):
        return st.lists(st.text(max_size=30), max_size=2)
    return ANY_VALUE


SEED_CHANGED = st.sampled_from(FIELDS).flatmap(
    lambda path: _valid_ish(path).map(lambda v: _seed_with(path, v))
)
"""The seed domain with one field set to something generated: mostly plans, sometimes not."""
NAMESPACE = st.fixed_dictionaries(
    {"domains": st.lists(SEED_CHANGED, min_size=1, max_size=1) | st.lists(DOMAIN, max_size=3) | ANY_VALUE},
    optional={
        "target": st.sampled_from([{"kind": "zonefile"}, {"kind": "cloudflare"}])
        | st.fixed_dictionaries({"kind": st.sampled_from(["zonefile", "cloudflare", "azure", "rfc2136"])})
        | ANY_VALUE,
        "production": st.booleans() | ANY_VALUE,
        "resourceTree": st.sampled_from(["parts", "domain", "flat"]) | ANY_VALUE,
        "strict": st.booleans() | ANY_VALUE,
        "maxDeleteShare": st.floats(0, 1) | ANY_VALUE,
        "tsigSecret": SCALARS,
    },
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=NAMESPACE)
def test_the_gate_plans_or_refuses_with_config_problems(values: dict[str, Any]) -> None:
    try:
        plan_stack(values)
    except ConfigError as error:
        assert error.problems
        assert all(len(str(problem)) < 2000 for problem in error.problems)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(values=NAMESPACE)
def test_the_command_line_exits_0_or_2(
    values: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = tmp_path / "Pulumi.fuzz.yaml"
    stack.write_text(yaml.safe_dump({"config": {f"mailflow:{k}": v for k, v in values.items()}}), "utf-8")
    planned = main(["plan", str(stack), "--format", "zone"])
    assert planned in (0, 2)
    # Every other entry point goes through the same gate, to the same verdict.
    assert main(["connectors", str(stack)]) == planned
    assert main(["tenant", "script", str(stack)]) in (0, 2)
    # A server that refuses at once: check reports each record set as a DNS failure (3).
    assert main(
        ["check", str(stack), "--nameserver", "127.0.0.1:9", "--timeout", "0.2", "--budget", "2"]
    ) in ((2,) if planned == 2 else (1, 3))
    assert "Traceback" not in capsys.readouterr().err


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=NAMESPACE.filter(lambda values: "tsigSecret" not in values))
def test_the_program_plans_or_stops_with_its_problems(values: dict[str, Any]) -> None:
    try:
        run_program(values)
    except pulumi.RunError as error:
        assert str(error).startswith("mailflow: ")


def test_a_yaml_alias_bomb_gives_a_short_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = ['x0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"x{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 5)]
    lines += ["config:", "  mailflow:domains: [{name: *a4, topology: *a3}, *a2, *a2, *a2]"]
    stack = tmp_path / "Pulumi.bomb.yaml"
    stack.write_text("\n".join(lines) + "\n", "utf-8")
    assert main(["plan", str(stack)]) == 2
    err = capsys.readouterr().err
    assert len(err) < 2000
    assert "mailflow:domains[0].name: Input should be a valid string (got [[[[['lol', 'lol'" in err


def test_a_report_lists_at_most_a_hundred_problems(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = tmp_path / "Pulumi.many.yaml"
    stack.write_text(
        yaml.safe_dump({"config": {"mailflow:domains": [{"name": f"d{i}"} for i in range(500)]}})
    )
    assert main(["plan", str(stack)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "mailflow: 1000 config problems:"
    assert len(err) == 102
    assert err[-1] == "  … and 900 more; fix these first"


def test_a_huge_value_or_key_is_not_echoed_whole(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stack = tmp_path / "Pulumi.x.yaml"
    forged = "mailflow:x\n  mailflow:domains[0].name: looks fine\x1b[2J" + "k" * 900
    stack.write_text(json.dumps({"config": {"mailflow:target": {"kind": "z" * 1_000_000}, forged: 1}}))
    assert main(["plan", str(stack)]) == 2
    err = capsys.readouterr().err
    assert len(err) < 4000
    assert "\x1b" not in err
    assert next(line for line in err.splitlines() if "looks fine" in line).startswith("  mailflow:x\\n")


@pytest.mark.parametrize(
    ("target", "says"),
    [
        ({}, "mailflow:target: needs kind to tell which settings these are"),
        (
            {"kind": "zonefil"},
            "mailflow:target: 'zonefil' is not one of: zonefile, cloudflare, azure, rfc2136",
        ),
    ],
)
def test_a_target_without_a_known_kind_says_which_kinds_there_are(target: dict[str, Any], says: str) -> None:
    domain = copy.deepcopy(SEED_DOMAIN)
    with pytest.raises(ConfigError) as caught:
        plan_stack({"domains": [domain], "target": target})
    assert [str(p) for p in caught.value.problems] == [says]
