"""The rfc2136 target against a real BIND 9 on loopback, through the real engine; and
`mailflow check` against the same server."""

from __future__ import annotations

import base64
import copy
import json
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import dns.message
import dns.query
import dns.tsigkeyring
import dns.update
import pytest
import spf as pyspf
from bind_server import KEY_NAME, NEXT_KEY_NAME, BindServer
from pulumi_project import Project, diagnostics, make_project

from mailflow.plan import plan_stack
from mailflow.stackfile import read_stack_file

DYNAMIC = "pulumi-python:dynamic:Resource"

pytestmark = [pytest.mark.engine, pytest.mark.bind]


def rfc2136_target(server: BindServer) -> dict[str, Any]:
    return {"kind": "rfc2136", "server": server.address, "port": server.port, "keyName": KEY_NAME}


@pytest.fixture
def bind(tmp_path: Path) -> Iterator[BindServer]:
    server = BindServer(tmp_path / "bind", ["contoso.com", "fabrikam.com"])
    server.start()
    yield server
    server.stop()


@pytest.fixture
def project(tmp_path: Path, bind: BindServer) -> Project:
    created = make_project(tmp_path / "project", rfc2136_target(bind), {"mailflow:tsigSecret": bind.secret})
    created.pulumi("up", "--yes")
    return created


@pytest.mark.parametrize("kind", [socket.SOCK_STREAM, socket.SOCK_DGRAM], ids=["tcp", "udp"])
def test_a_port_taken_before_the_first_start_moves_the_server_to_another(
    tmp_path: Path, kind: socket.SocketKind
) -> None:
    with socket.socket(socket.AF_INET, kind) as holder:
        holder.bind(("127.0.0.1", 0))
        if kind == socket.SOCK_STREAM:
            holder.listen()
        taken = holder.getsockname()[1]
        server = BindServer(tmp_path / "bind", ["contoso.com"], port=taken)
        server.start()
        try:
            assert server.port != taken
            query = dns.message.make_query("contoso.com.", "SOA")
            for ask in (dns.query.udp, dns.query.tcp):
                assert ask(query, server.address, timeout=5, port=server.port).answer
        finally:
            server.stop()


def planned(project: Project) -> dict[tuple[str, str], set[str]]:
    sets: dict[tuple[str, str], set[str]] = {}
    for record in plan_stack(read_stack_file(project.stack_file)).records:
        sets.setdefault((record.name, record.type), set()).add(record.value)
    return sets


def served(bind: BindServer, record_sets: dict[tuple[str, str], set[str]]) -> dict[tuple[str, str], set[str]]:
    return {key: bind.query(*key) for key in record_sets}


def run_check(project: Project, bind: BindServer, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "mailflow",
            "check",
            str(project.stack_file),
            "--nameserver",
            f"{bind.address}:{bind.port}",
            *extra,
        ],
        capture_output=True,
        text=True,
        check=False,
    )


def nsupdate(bind: BindServer, zone: str, change: Any) -> None:
    """An edit made behind mailflow's back, signed with the same key."""
    update = dns.update.UpdateMessage(
        zone, keyring=dns.tsigkeyring.from_text({KEY_NAME: bind.secret}), keyname=KEY_NAME
    )
    change(update)
    response = dns.query.tcp(update, bind.address, port=bind.port, timeout=5)
    assert response.rcode() == 0


def test_up_publishes_exactly_the_planned_records(project: Project, bind: BindServer) -> None:
    expected = planned(project)
    assert served(bind, expected) == expected
    assert bind.query("contoso.com.", "MX") == {"10 mx1.filter.example.net.", "20 mx2.filter.example.net."}
    assert '"v=spf1 ip4:10.10.10.1 ip4:131.107.21.231 include:spf.protection.outlook.com -all"' in bind.query(
        "contoso.com.", "TXT"
    )


@pytest.mark.parametrize(
    ("sender", "result"),
    [
        ("131.107.21.231", "pass"),  # on-premises Exchange
        ("10.10.10.1", "pass"),  # the third-party filtering service
        ("40.92.0.1", "pass"),  # Exchange Online, through the include BIND serves
        ("192.0.2.1", "fail"),  # anyone else
    ],
)
def test_spf_evaluates_against_the_server(
    project: Project, bind: BindServer, sender: str, result: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pyspf, "DNSLookup", bind.spf_lookup())
    verdict, _, explanation = pyspf.query(i=sender, s="postmaster@contoso.com", h="mail.contoso.com").check()
    assert verdict == result, explanation


def test_second_up_changes_nothing(project: Project) -> None:
    project.pulumi("up", "--yes", "--expect-no-changes")


def test_a_config_change_updates_only_what_changed(project: Project, bind: BindServer) -> None:
    before = served(bind, planned(project))
    domains = project.domains()
    domains[0]["onPremises"]["ips"] = ["131.107.21.232"]
    project.set_domains(domains)
    assert project.changed_steps() == [("update", "contoso.com/TXT")]
    project.pulumi("up", "--yes")
    after = served(bind, planned(project))
    changed = {key for key in after if after[key] != before.get(key)}
    assert changed == {("contoso.com.", "TXT")}
    assert any("ip4:131.107.21.232" in v for v in after[("contoso.com.", "TXT")])
    project.pulumi("up", "--yes", "--expect-no-changes")


def test_tsig_secret_stays_secret(project: Project, bind: BindServer) -> None:
    exported = project.pulumi("stack", "export").stdout
    outputs = project.pulumi("stack", "output", "--json").stdout
    assert bind.secret not in exported
    assert bind.secret not in outputs
    assert bind.secret not in project.stack_file.read_text()


def test_plain_text_tsig_secret_is_refused_before_anything_changes(tmp_path: Path, bind: BindServer) -> None:
    created = make_project(tmp_path / "plain", rfc2136_target(bind))
    created.write_config({**created.config(), "mailflow:tsigSecret": bind.secret})
    result = created.pulumi("preview", check=False)
    assert result.returncode != 0
    assert "mailflow:tsigSecret: must be a Pulumi secret" in result.stdout + result.stderr


def test_wrong_tsig_key_is_refused_and_changes_nothing(project: Project, bind: BindServer) -> None:
    before = served(bind, planned(project))
    project.pulumi("config", "set", "--secret", "mailflow:tsigSecret", base64.b64encode(b"x" * 32).decode())
    domains = project.domains()
    domains[0]["onPremises"]["ips"] = ["131.107.21.232"]
    project.set_domains(domains)
    result = project.pulumi("up", "--yes", check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    # Every record set tries the new secret before relying on it; the first refusals name theirs.
    assert f"contoso.com. in zone contoso.com. at 127.0.0.1:{bind.port}: TSIG signature rejected" in output
    domains[0]["onPremises"]["ips"] = ["131.107.21.231"]
    project.set_domains(domains)
    assert served(bind, before) == before


def test_server_stopped_during_up_then_next_up_converges(tmp_path: Path) -> None:
    zones = [
        f"{prefix}{name}"
        for name in ("contoso.com", "fabrikam.com")
        for prefix in ["", *(f"site{i}." for i in range(3))]
    ]
    bind = BindServer(tmp_path / "bind", zones)
    bind.start()
    try:
        created = make_project(
            tmp_path / "outage", rfc2136_target(bind), {"mailflow:tsigSecret": bind.secret}
        )
        seed = created.domains()[0]
        domains = []
        for zone in zones:
            domain = copy.deepcopy(seed)
            domain["name"] = zone
            domain["exchangeOnline"]["mxHost"] = f"{zone.replace('.', '-')}.mail.protection.outlook.com"
            domains.append(domain)
        created.set_domains(domains)
        up = subprocess.Popen(
            ["pulumi", "up", "--yes", "--parallel", "1", "--stack", "local", "--non-interactive"],
            cwd=created.directory,
            env=created.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not any(bind.query(f"{zone}.", "MX") for zone in zones[:3]):
            time.sleep(0.05)
        bind.stop()
        output, _ = up.communicate(timeout=300)
        assert up.returncode != 0, "the update finished before the server stopped"
        refusals = [line for line in output.splitlines() if "UpdateFailed:" in line]
        if not refusals or not all(f"at 127.0.0.1:{bind.port}: " in line for line in refusals):
            pytest.fail(f"no clear error naming the server in:\n{output[-8000:]}")
        assert all("cannot reach the server" in line or "no answer" in line for line in refusals), refusals
        bind.start()
        created.pulumi("up", "--yes")
        expected = planned(created)
        assert served(bind, expected) == expected
        created.pulumi("up", "--yes", "--expect-no-changes")
    finally:
        bind.stop()


def test_check_reports_in_sync_then_drift(project: Project, bind: BindServer) -> None:
    in_sync = run_check(project, bind)
    assert in_sync.returncode == 0, in_sync.stdout + in_sync.stderr
    assert "contoso.com: in sync; live SPF lookups: 1/10" in in_sync.stdout
    nsupdate(
        bind,
        "contoso.com",
        lambda u: (
            u.add("contoso.com.", 3600, "TXT", '"v=spf1 -all"'),
            u.delete("_dmarc.contoso.com.", "TXT"),
            u.add("contoso.com.", 3600, "MX", "5 rogue.example.net."),
        ),
    )
    drift = run_check(project, bind, "--format", "json")
    assert drift.returncode == 1
    findings = {
        (f["problem"], f["type"], f["name"]) for f in json.loads(drift.stdout)["domains"][0]["findings"]
    }
    assert findings == {
        ("unexpected", "MX", "contoso.com."),
        ("unexpected", "TXT", "contoso.com."),
        ("duplicate SPF (permerror)", "TXT", "contoso.com."),
        ("missing", "TXT", "_dmarc.contoso.com."),
        ("missing DMARC record", "TXT", "_dmarc.contoso.com."),
    }


def test_check_tenant_reports_dkim_targets_the_tenant_changed(project: Project, bind: BindServer) -> None:
    """The tenant moved contoso.com's DKIM to the 2025 format: the live old-format records are
    drift until the next ``pulumi up`` publishes the tenant's values."""
    in_sync = run_check(project, bind, "--tenant")
    assert in_sync.returncode == 0, in_sync.stdout + in_sync.stderr
    tenant = project.directory / "stacks" / "tenant" / "contoso.yaml"
    old = "selector1-contoso-com._domainkey.contoso.onmicrosoft.com"
    new = "selector1-contoso-com._domainkey.contoso.r-v1.dkim.mail.microsoft"
    tenant.write_text(tenant.read_text().replace(old, new))
    drift = run_check(project, bind, "--tenant", "--format", "json")
    assert drift.returncode == 1
    findings = [
        (f["problem"], f["name"], f["planned"], f["live"])
        for f in json.loads(drift.stdout)["domains"][0]["findings"]
    ]
    assert findings == [
        ("missing", "selector1._domainkey.contoso.com.", f"{new}.", ""),
        ("unexpected", "selector1._domainkey.contoso.com.", "", f"{old}."),
    ]
    project.pulumi("up", "--yes")
    assert run_check(project, bind, "--tenant").returncode == 0


def test_check_compares_names_without_case(project: Project, bind: BindServer) -> None:
    """Microsoft spells some targets with capitals (``…JusticeUK.w-v1.dkim.mail.microsoft``); the
    same name in other case is the same record (RFC 4343), not drift."""
    target = "Selector1-Contoso-Com._domainkey.CONTOSO.onmicrosoft.com."
    nsupdate(
        bind, "contoso.com", lambda u: u.replace("selector1._domainkey.contoso.com.", 3600, "CNAME", target)
    )
    result = run_check(project, bind)
    assert result.returncode == 0, result.stdout


def test_refresh_sees_a_hand_edit_and_up_restores_the_plan(project: Project, bind: BindServer) -> None:
    nsupdate(
        bind,
        "contoso.com",
        lambda u: u.replace("autodiscover.contoso.com.", 600, "CNAME", "elsewhere.example.net."),
    )
    project.pulumi("refresh", "--yes")
    project.pulumi("up", "--yes")
    assert bind.query("autodiscover.contoso.com.", "CNAME") == {"mail.contoso.com."}
    assert run_check(project, bind).returncode == 0


def test_check_exits_2_on_bad_config(tmp_path: Path, bind: BindServer) -> None:
    stack = tmp_path / "Pulumi.bad.yaml"
    stack.write_text("config:\n  mailflow:domains: [{name: contoso, topology: exchange-online}]\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mailflow",
            "check",
            str(stack),
            "--nameserver",
            f"{bind.address}:{bind.port}",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "mailflow:domains[0].name: 'contoso' is not a fully qualified name" in result.stderr


def test_switching_the_resource_tree_moves_record_sets_in_state_without_touching_dns(
    project: Project, bind: BindServer
) -> None:
    serials = {zone: bind.query(zone, "SOA") for zone in ("contoso.com.",)}
    record_sets = sorted(r["urn"].rsplit("::", 1)[1] for r in project.resources() if r["type"] == DYNAMIC)

    def changed_types() -> set[tuple[str, str]]:
        steps = [s for s in project.preview_steps() if s["op"] != "same"]
        return {(s["op"], s["urn"].split("::")[2].rsplit("$", 1)[-1]) for s in steps}

    sides = {"mailflow:index:ThirdPartyFront", "mailflow:index:ExchangeOnline"}
    for tree, expected in (  # from the default, flat
        ("parts", {("create", t) for t in {"mailflow:index:MailFlowDomain", *sides}}),
        ("domain", {("delete", t) for t in sides}),
        ("flat", {("delete", "mailflow:index:MailFlowDomain")}),
    ):
        project.write_config({**project.config(), "mailflow:resourceTree": tree})
        assert changed_types() == expected, tree
        project.pulumi("up", "--yes")
        assert project.changed_steps() == []
        moved = sorted(r["urn"].rsplit("::", 1)[1] for r in project.resources() if r["type"] == DYNAMIC)
        assert moved == record_sets
    assert {zone: bind.query(zone, "SOA") for zone in serials} == serials


def mx_during_up(project: Project, *servers: BindServer) -> list[set[str]]:
    """Run `pulumi up`, asking the servers for contoso.com's MX every 20 ms while it runs: what
    they answered together each time."""
    up = subprocess.Popen(
        ["pulumi", "up", "--yes", "--stack", "local", "--non-interactive"],
        cwd=project.directory,
        env=project.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    answers = []
    while up.poll() is None:
        answers.append(set().union(*(server.query("contoso.com.", "MX") for server in servers)))
        time.sleep(0.02)
    output = up.communicate()[0]
    assert up.returncode == 0, output
    return answers


def rotate_key(project: Project, key_name: str, algorithm: str, secret: str) -> None:
    config = project.config()
    target = {**config["mailflow:target"], "keyName": key_name, "keyAlgorithm": algorithm}
    project.write_config({**config, "mailflow:target": target, "mailflow:production": True})
    project.pulumi("config", "set", "--secret", "mailflow:tsigSecret", secret)


def test_rotating_to_a_wrong_key_fails_and_leaves_every_record_set(
    project: Project, bind: BindServer
) -> None:
    before = served(bind, planned(project))
    state_before = project.resources()
    rotate_key(project, NEXT_KEY_NAME, "hmac-sha512", base64.b64encode(b"y" * 64).decode())
    preview = project.pulumi("preview", "--diff")
    assert "delete" not in preview.stdout and "replace" not in preview.stdout
    result = project.pulumi("up", "--yes", check=False)
    assert result.returncode != 0
    assert "TSIG signature rejected" in result.stdout + result.stderr
    assert served(bind, before) == before
    assert [r.get("outputs", {}).get("keyName") for r in project.resources()] == [
        r.get("outputs", {}).get("keyName") for r in state_before
    ]


def test_rotating_a_production_stack_to_the_right_key_never_leaves_the_zone_without_mx(
    project: Project, bind: BindServer
) -> None:
    expected = planned(project)
    rotate_key(project, NEXT_KEY_NAME, "hmac-sha512", bind.next_secret)
    answers = mx_during_up(project, bind)
    assert answers and all(answer == expected[("contoso.com.", "MX")] for answer in answers)
    assert served(bind, expected) == expected
    assert {r["outputs"]["keyName"] for r in project.resources() if "keyName" in r.get("outputs", {})} == {
        f"{NEXT_KEY_NAME}."
    }
    domains = project.domains()
    domains[0]["onPremises"]["ips"] = ["131.107.21.232"]
    project.set_domains(domains)
    project.pulumi("up", "--yes")  # the new key writes
    assert any("131.107.21.232" in v for v in bind.query("contoso.com.", "TXT"))


def test_a_second_stack_cannot_take_or_delete_the_first_stacks_record_sets(
    project: Project, bind: BindServer, tmp_path: Path
) -> None:
    before = served(bind, planned(project))
    second = make_project(
        tmp_path / "second", rfc2136_target(bind), {"mailflow:tsigSecret": bind.secret}, stack="other"
    )
    result = second.pulumi("up", "--yes", check=False)
    assert result.returncode != 0
    assert "it exists and belongs to mailflow stack organization/mailflow/local" in result.stdout
    second.pulumi("destroy", "--yes")
    assert served(bind, before) == before


def add_fabrikam(project: Project, **extra: Any) -> list[dict[str, Any]]:
    domains = project.domains()
    fabrikam = copy.deepcopy(domains[0])
    fabrikam.update(name="fabrikam.com", **extra)
    fabrikam["exchangeOnline"]["mxHost"] = "fabrikam-com.mail.protection.outlook.com"
    project.set_domains([domains[0], fabrikam])
    return domains


def test_a_record_set_published_by_hand_is_taken_only_when_adopted_and_then_kept(
    project: Project, bind: BindServer
) -> None:
    nsupdate(bind, "fabrikam.com", lambda u: u.add("fabrikam.com.", 3600, "MX", "10 hand.example.net."))
    add_fabrikam(project)
    result = project.pulumi("up", "--yes", check=False)
    assert result.returncode != 0
    assert "MX fabrikam.com. in zone fabrikam.com." in result.stdout
    assert "exists (10 hand.example.net.) and no mailflow stack created it" in result.stdout
    assert bind.query("fabrikam.com.", "MX") == {"10 hand.example.net."}
    domains = add_fabrikam(project, adopt=True)
    project.pulumi("up", "--yes")
    assert bind.query("fabrikam.com.", "MX") == {"10 mx1.filter.example.net.", "20 mx2.filter.example.net."}
    (adopted,) = [r for r in project.resources() if r["urn"].endswith("::fabrikam.com/MX")]
    assert adopted["outputs"]["adopted"] == {"ttl": 3600, "values": ["10 hand.example.net."]}
    project.set_domains(domains[:1])
    removal = project.pulumi("up", "--yes", allow_destructive=True)
    assert bind.query("fabrikam.com.", "MX") == {"10 mx1.filter.example.net.", "20 mx2.filter.example.net."}
    assert bind.query("fabrikam.com.", "TXT") == set(), removal.stdout  # what it created is gone


UPDATE_LOGGED = re.compile(
    r"^(\S+ \S+) .*updating zone '[^']+': (adding an RR|deleting rrset) at '([^']+)' (\S+)", re.MULTILINE
)


def updates(server: BindServer) -> list[tuple[datetime, str, str]]:
    """(when, what, "<name> <type>") of each change the server logged applying an update."""
    log = (server.directory / "named.log").read_text()
    return [
        (datetime.strptime(when, "%d-%b-%Y %H:%M:%S.%f"), what, f"{name}. {rtype}")
        for when, what, name, rtype in UPDATE_LOGGED.findall(log)
    ]


def test_moving_to_another_server_writes_there_before_deleting_here(
    project: Project, bind: BindServer, tmp_path: Path
) -> None:
    expected = planned(project)
    other = BindServer(tmp_path / "other", ["contoso.com"], secret=bind.secret)
    other.start()
    try:
        config = project.config()
        project.write_config({**config, "mailflow:target": {**config["mailflow:target"], "port": other.port}})
        answers = mx_during_up(project, bind, other)
        assert answers and all(answer == expected[("contoso.com.", "MX")] for answer in answers)
        assert served(other, expected) == expected
        assert all(bind.query(*key) == set() for key in expected)
        # Each record set was added at the new server before (or within the same millisecond as)
        # it was deleted at the old one, as the two servers logged the updates.
        added = {key: when for when, what, key in reversed(updates(other)) if what == "adding an RR"}
        deleted = {key: when for when, what, key in updates(bind) if what == "deleting rrset"}
        record_sets = {f"{name} {rtype}" for name, rtype in expected}
        assert record_sets <= added.keys()
        assert all(added[key] <= deleted[key] for key in record_sets)
        project.pulumi("up", "--yes", "--expect-no-changes")
    finally:
        other.stop()


def test_the_guard_refuses_an_up_that_deletes_mx_and_spf_until_allowed(
    project: Project, bind: BindServer
) -> None:
    domains = add_fabrikam(project)
    project.pulumi("up", "--yes")
    fabrikam = {key: values for key, values in served(bind, planned(project)).items() if "fabrikam" in key[0]}
    assert fabrikam[("fabrikam.com.", "MX")]
    project.set_domains(domains[:1])
    for command in (("preview",), ("up", "--yes")):
        result = project.pulumi(*command, check=False)
        assert result.returncode != 0
        (refused,) = [e for e in diagnostics(result.stdout)[0] if "mailflow-change-guard" in e]
        assert "mailflow refuses this run: it deletes or moves 2 MX/SPF record resource(s)" in refused
        assert "fabrikam.com/MX" in refused and "fabrikam.com/TXT" in refused
        assert "Nothing was changed." in refused
    assert served(bind, fabrikam) == fabrikam
    project.pulumi("up", "--yes", allow_destructive=True)
    assert all(bind.query(*key) == set() for key in fabrikam)
    assert bind.query("contoso.com.", "MX")


def test_an_owner_id_set_on_a_running_stack_moves_its_markers_and_keeps_every_record_set(
    project: Project, bind: BindServer
) -> None:
    expected = planned(project)
    project.write_config({**project.config(), "mailflow:ownerId": "site-a/mailflow/local"})
    project.pulumi("up", "--yes")
    assert served(bind, expected) == expected
    assert bind.query("_mailflow.contoso.com.", "TXT") == {
        f'"heritage=mailflow,owner=site-a/mailflow/local,type={rtype}"' for rtype in ("MX", "TXT")
    }
    project.pulumi("up", "--yes", "--expect-no-changes")
