"""``mailflow:domainsFile``: the domain list kept beside the stack file, for stacks whose config
would not fit the one environment variable Pulumi hands a program its config in."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import SEED_DOMAIN
from pulumi_harness import run_program

from mailflow.cli import main
from mailflow.errors import ConfigError
from mailflow.plan import plan_stack
from mailflow.stackfile import read_stack_file


def project(tmp_path: Path, config: dict[str, Any], domains: Any = None) -> Path:
    """A project directory with a stack file in ``stacks/`` and, if given, ``domains.yaml``."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "Pulumi.yaml").write_text("name: mailflow\nruntime: python\n")
    (tmp_path / "stacks").mkdir()
    if domains is not None:
        (tmp_path / "domains.yaml").write_text(yaml.safe_dump(domains))
    stack = tmp_path / "stacks" / "Pulumi.big.yaml"
    stack.write_text(yaml.safe_dump({"config": config}))
    return stack


def problems(stack: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        plan_stack(read_stack_file(stack))
    return [str(problem) for problem in caught.value.problems]


def test_a_domains_file_plans_exactly_as_the_inline_list(tmp_path: Path) -> None:
    stack = project(tmp_path, {"mailflow:domainsFile": "domains.yaml"}, [SEED_DOMAIN])
    from_file = plan_stack(read_stack_file(stack))
    inline = plan_stack({"domains": [copy.deepcopy(SEED_DOMAIN)]})
    assert from_file.records == inline.records


def test_the_path_is_relative_to_the_project_whatever_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = project(tmp_path / "project", {"mailflow:domainsFile": "domains.yaml"}, [SEED_DOMAIN])
    monkeypatch.chdir(tmp_path)
    assert main(["plan", str(stack.relative_to(tmp_path)), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["name"] == "contoso.com."


def test_problems_in_the_file_name_the_file_and_the_domain(tmp_path: Path) -> None:
    bad = copy.deepcopy(SEED_DOMAIN)
    bad["name"] = "fabrikam.com"
    bad["onPremises"]["ips"] = ["131.107.21.999"]
    stack = project(tmp_path, {"mailflow:domainsFile": "domains.yaml"}, [SEED_DOMAIN, bad, SEED_DOMAIN])
    assert problems(stack) == [
        "domains.yaml[1].onPremises.ips[0]: '131.107.21.999' is not an IPv4 or IPv6 address or CIDR network",
        "domains.yaml[2].name: 'contoso.com' is already configured at domains.yaml[0]",
    ]


@pytest.mark.parametrize(
    ("config", "domains", "expected"),
    [
        (
            {"mailflow:domainsFile": "domains.yaml", "mailflow:domains": [SEED_DOMAIN]},
            [SEED_DOMAIN],
            "mailflow:domainsFile: and mailflow:domains are both set; keep one of them",
        ),
        (
            {"mailflow:domainsFile": "missing.yaml"},
            None,
            "mailflow:domainsFile ({project}/missing.yaml): cannot be read (No such file or directory)",
        ),
        (
            {"mailflow:domainsFile": "domains.yaml"},
            {"name": "contoso.com"},
            "mailflow:domainsFile ({project}/domains.yaml): must hold a list of domains, as mailflow:domains does",
        ),
        (
            {"mailflow:domainsFile": 7},
            None,
            "mailflow:domainsFile ({project}/7): cannot be read (No such file or directory)",
        ),
        (
            {"mailflow:domainsFile": "domains.yaml"},
            [],
            "domains.yaml: must be a non-empty list of domains",
        ),
    ],
)
def test_a_bad_domains_file_is_one_clear_problem(
    tmp_path: Path, config: dict[str, Any], domains: Any, expected: str
) -> None:
    stack = project(tmp_path, config, domains)
    assert problems(stack) == [expected.format(project=tmp_path)]


def test_the_program_reads_the_domains_file(tmp_path: Path) -> None:
    path = tmp_path / "domains.json"
    path.write_text(json.dumps([SEED_DOMAIN]))
    run = run_program(
        {
            "domainsFile": str(path),
            "target": {"kind": "cloudflare", "zoneId": "zone-1"},
            "stackOutputs": "full",
        }
    )
    assert list(run.outputs["domains"]) == ["contoso.com"]
    assert len(run.of_type("cloudflare:index/dnsRecord:DnsRecord")) == len(
        run.outputs["domains"]["contoso.com"]["records"]
    )
