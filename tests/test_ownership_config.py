"""Config of record ownership: ``mailflow:ownerId``, the words the markers name a stack by, and the
``_mailflow`` names the rfc2136 markers live at, which no extra record may take."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import SEED_DOMAIN, config_problems

from mailflow.fleet import template_config
from mailflow.plan import plan_stack
from mailflow.settings import Rfc2136Settings, ZoneFileSettings
from mailflow.stackfile import Secret
from mailflow.targets.rfc2136 import Rfc2136Target
from mailflow.targets.zonefile import ZoneFileTarget

RFC2136 = {"kind": "rfc2136", "server": "192.0.2.53", "keyName": "mailflow"}


def test_the_owner_id_reaches_the_markers_of_both_targets() -> None:
    plan = plan_stack({"domains": [SEED_DOMAIN], "ownerId": "site-a/mailflow/prod"})
    assert plan.settings.owner_id == "site-a/mailflow/prod"
    (domain,) = plan.domains
    assert isinstance(plan.settings.target, ZoneFileSettings)
    zone_file = ZoneFileTarget(plan.settings.target, plan.settings.owner_id)
    assert zone_file.props(domain)["owner"] == "site-a/mailflow/prod"
    rfc2136 = plan_stack(
        {
            "domains": [SEED_DOMAIN],
            "ownerId": "site-a/mailflow/prod",
            "target": RFC2136,
            "tsigSecret": Secret(),
        }
    )
    assert isinstance(rfc2136.settings.target, Rfc2136Settings)
    target = Rfc2136Target(rfc2136.settings.target, "c2VjcmV0", rfc2136.settings.owner_id)
    (group, *_) = rfc2136.domains[0].groups
    assert target.props(rfc2136.domains[0], group)["owner"] == "site-a/mailflow/prod"


def test_without_an_owner_id_the_markers_name_the_stack() -> None:
    assert plan_stack({"domains": [SEED_DOMAIN]}).settings.owner_id is None


@pytest.mark.parametrize(
    ("owner_id", "problem"),
    [
        ("site a", "'site a' is not an owner id"),
        ('site"a', "'site\"a' is not an owner id"),
        ("owner=a,type=MX", "'owner=a,type=MX' is not an owner id"),
        ("/site-a", "'/site-a' is not an owner id"),
        ("a" * 101, "is not an owner id"),
        (42, "Input should be a valid string"),
        ("", "is empty (null); remove the key to use the default, or give a value"),
    ],
)
def test_an_owner_id_the_markers_cannot_hold_is_refused_by_path(owner_id: Any, problem: str) -> None:
    (refused,) = config_problems({"domains": [SEED_DOMAIN], "ownerId": owner_id})
    assert refused.startswith("mailflow:ownerId: ") and problem in refused, refused


@pytest.mark.parametrize("name", ["_mailflow", "_mailflow.www", "_MAILFLOW.autodiscover", "_mailflow.a.b"])
def test_an_extra_record_where_the_ownership_markers_live_is_refused(name: str) -> None:
    extra = {"name": name, "type": "TXT", "value": "hello"}
    assert config_problems({"domains": [{**SEED_DOMAIN, "extraRecords": [extra]}]}) == [
        f"mailflow:domains[0].extraRecords[0].name: '{name}' is a name under _mailflow, which mailflow "
        "keeps for the ownership markers of the rfc2136 target (_mailflow.<name>): choose another"
    ]


def test_an_extra_record_below_another_label_named_mailflow_is_kept() -> None:
    extra = {"name": "www._mailflow", "type": "TXT", "value": "hello"}
    plan = plan_stack({"domains": [{**SEED_DOMAIN, "extraRecords": [extra]}]})
    assert "www._mailflow.contoso.com." in {record.name for record in plan.records}


def test_fleet_split_gives_no_shard_the_templates_owner_id(tmp_path: Path) -> None:
    """Shards sharing one owner id would be one owner: a domain moved from one to another would be
    taken by the second and deleted by the first."""
    (tmp_path / "Pulumi.yaml").write_text("name: mailflow\nruntime: python\n")
    template = tmp_path / "Pulumi.prod.yaml"
    config = {"mailflow:ownerId": "site-a/mailflow/prod", "mailflow:maxDeleteShare": 0.5}
    template.write_text(yaml.safe_dump({"config": config}))
    assert template_config(template) == (
        {"mailflow:maxDeleteShare": 0.5},
        ["mailflow:ownerId names the template's stack alone and was not copied: give each stack its own"],
    )
