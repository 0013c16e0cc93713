"""The zone-file provider on its own (tests/test_engine.py runs it through the engine): what it
writes, what ``read`` sees, which files it refuses, and what an adopted file keeps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mailflow.targets.zonefile import MARKER, Refused, ZoneFileProvider, file_owner, read_zone

OWNER = "organization/mailflow/local"
HAND_MADE = """$ORIGIN fabrikam.com.
$TTL 3600
@ IN SOA ns1.fabrikam.com. hostmaster.fabrikam.com. 2099010101 7200 3600 1209600 300
@ IN NS ns1.fabrikam.com.
@ IN MX 10 old-mx.fabrikam.com.
@ IN TXT "google-site-verification=abc"
ns1 IN A 192.0.2.53
www IN A 192.0.2.80
vpn IN A 192.0.2.81
autodiscover IN A 192.0.2.82
"""
MX = {
    "name": "fabrikam.com.",
    "type": "MX",
    "ttl": 3600,
    "value": "0 fabrikam-com.mail.protection.outlook.com.",
}
SPF = {
    "name": "fabrikam.com.",
    "type": "TXT",
    "ttl": 3600,
    "value": '"v=spf1 include:spf.protection.outlook.com -all"',
}
AUTODISCOVER = {
    "name": "autodiscover.fabrikam.com.",
    "type": "CNAME",
    "ttl": 3600,
    "value": "autodiscover.outlook.com.",
}


def props(path: Path, *records: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """The provider's inputs for fabrikam.com, as ``ZoneFileTarget.props`` makes them."""
    return {
        "path": str(path),
        "origin": "fabrikam.com.",
        "records": sorted(records or (MX, SPF), key=lambda r: (r["name"], r["type"], r["value"])),
        "nameservers": ["ns1.fabrikam.com."],
        "hostmaster": "hostmaster.fabrikam.com.",
        "ttl": 3600,
        "owner": OWNER,
        "adopt": False,
        "serial": None,
        "adopted": None,
        **changes,
    }


def on_disk(path: Path) -> set[tuple[str, str, str]]:
    """(name, type, value) of every record in the file but SOA and the apex NS."""
    return {(r["name"], r["type"], r["value"]) for r in read_zone(path, "fabrikam.com.").records}


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "fabrikam.com.zone"


@pytest.fixture
def provider() -> ZoneFileProvider:
    return ZoneFileProvider()


def created(provider: ZoneFileProvider, inputs: dict[str, Any]) -> dict[str, Any]:
    assert provider.check({}, inputs).failures == []
    outs = provider.create(inputs).outs
    assert outs is not None
    return outs


def updated(provider: ZoneFileProvider, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
    assert provider.check(olds, news).failures == []
    assert provider.diff("id", olds, news).changes
    outs = provider.update("id", olds, news).outs
    assert outs is not None
    return outs


@pytest.mark.parametrize(
    "change",
    [
        {"nameservers": ["ns2.fabrikam.com."]},
        {"nameservers": ["ns1.fabrikam.com.", "ns2.fabrikam.com."]},
        {"hostmaster": "dns-admin.fabrikam.com."},
        {"ttl": 600},
        {"owner": "acme-eu/prod"},
    ],
    ids=["nameserver", "second nameserver", "hostmaster", "ttl", "owner id"],
)
def test_a_change_to_anything_the_file_holds_rewrites_it_under_a_new_serial(
    provider: ZoneFileProvider, path: Path, change: dict[str, Any]
) -> None:
    first = created(provider, props(path))
    news = props(path, **change)
    second = updated(provider, first, news)
    assert second["serial"] > first["serial"]
    found = provider.read("id", second).outs
    assert {key: found[key] for key in change} == change
    assert file_owner(path) == news["owner"]
    assert not provider.diff("id", found, news).changes
    # A file that already holds what would be written is left as it is, whatever state says.
    assert updated(provider, {**second, "records": []}, news)["serial"] == second["serial"]


def test_read_shows_a_hand_edit_of_the_name_servers_hostmaster_or_ttl(
    provider: ZoneFileProvider, path: Path
) -> None:
    inputs = props(path)
    outs = created(provider, inputs)
    text = path.read_text()
    path.write_text(
        text.replace("IN SOA ns1 hostmaster", "IN SOA ns9.example.net. dns")
        .replace("IN NS ns1", "IN NS ns9.example.net.")
        .replace("@ 3600 IN SOA", "@ 60 IN SOA")
    )
    found = provider.read("id", outs).outs
    assert (found["nameservers"], found["hostmaster"], found["ttl"]) == (
        ["ns9.example.net."],
        "dns.fabrikam.com.",
        60,
    )
    assert provider.diff("id", found, inputs).changes
    updated(provider, found, inputs)
    assert read_zone(path, "fabrikam.com.").nameservers == ["ns1.fabrikam.com."]
    assert provider.read("id", outs).outs["hostmaster"] == "hostmaster.fabrikam.com."


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("$INCLUDE common.zone\n", "fabrikam.com.zone:5: zone file directive '$INCLUDE' is not allowed"),
        (
            "$GENERATE 1-9 host$ A 192.0.2.$\n",
            "fabrikam.com.zone:5: zone file directive '$GENERATE' is not allowed",
        ),
        ("www IN A 192.0.2.300\n", "fabrikam.com.zone:"),
    ],
    ids=["include", "generate", "bad value"],
)
def test_a_file_mailflow_cannot_read_whole_is_not_adopted(
    provider: ZoneFileProvider, path: Path, body: str, reason: str
) -> None:
    text = "\n".join(HAND_MADE.splitlines()[:4]) + "\n" + body
    path.write_text(text)
    inputs = props(path, adopt=True)
    (failure,) = provider.check({}, inputs).failures
    assert failure.property == ""
    assert failure.reason.startswith(f"cannot adopt {path}: {reason}")
    with pytest.raises(Refused, match="cannot adopt"):
        provider.create(inputs)
    assert path.read_text() == text


def test_an_adopted_file_keeps_what_mailflow_does_not_plan_and_its_serial_continues(
    provider: ZoneFileProvider, path: Path
) -> None:
    path.write_text(HAND_MADE)
    before = on_disk(path)
    outs = created(provider, props(path, MX, SPF, AUTODISCOVER, adopt=True))
    kept = {
        ("ns1.fabrikam.com.", "A", "192.0.2.53"),
        ("www.fabrikam.com.", "A", "192.0.2.80"),
        ("vpn.fabrikam.com.", "A", "192.0.2.81"),
    }
    planned = {(r["name"], r["type"], r["value"]) for r in (MX, SPF, AUTODISCOVER)}
    # The planned MX, apex TXT and autodiscover CNAME replace the file's MX, TXT and A there.
    assert on_disk(path) == kept | planned
    assert read_zone(path, "fabrikam.com.").serial == 2099010102
    assert outs["adopted"]["serial"] == 2099010101
    assert {(r["name"], r["type"], r["value"]) for r in outs["adopted"]["records"]} == before
    assert provider.read("id", outs).outs["records"] == outs["records"]  # what it holds of mailflow's
    # Kept on every later write, as the file holds them then.
    path.write_text(path.read_text().replace("192.0.2.81", "192.0.2.91"))
    outs = updated(provider, outs, props(path, MX, SPF, adopt=True))
    kept = (kept - {("vpn.fabrikam.com.", "A", "192.0.2.81")}) | {("vpn.fabrikam.com.", "A", "192.0.2.91")}
    # autodiscover is mailflow's since adoption: when it is no longer planned, it goes.
    assert on_disk(path) == kept | {(r["name"], r["type"], r["value"]) for r in (MX, SPF)}
    assert read_zone(path, "fabrikam.com.").serial == 2099010103
    assert outs["adopted"]["serial"] == 2099010101
    assert "adopted: mailflow writes the names and types it plans" in path.read_text().splitlines()[1]


def test_an_adopted_file_mailflow_cannot_read_any_more_is_left_as_it_is(
    provider: ZoneFileProvider, path: Path
) -> None:
    path.write_text(HAND_MADE)
    outs = created(provider, props(path, adopt=True))
    text = path.read_text() + "$INCLUDE more.zone\n"
    path.write_text(text)
    with pytest.raises(Refused, match=f"{path} was adopted, and mailflow cannot read it now"):
        provider.update("id", outs, props(path, MX, adopt=True))
    assert path.read_text() == text


def test_removing_an_adopted_file_keeps_its_records_and_drops_the_marker(
    provider: ZoneFileProvider, path: Path
) -> None:
    path.write_text(HAND_MADE)
    outs = created(provider, props(path, adopt=True))
    records, serial = on_disk(path), read_zone(path, "fabrikam.com.").serial
    provider.delete("id", outs)
    assert on_disk(path) == records
    assert read_zone(path, "fabrikam.com.").serial == serial + 1
    assert file_owner(path) is None and MARKER not in path.read_text()
    # Another stack may now adopt it.
    assert provider.check({}, props(path, owner="organization/mailflow/other", adopt=True)).failures == []


def test_removing_a_file_this_stack_wrote_deletes_it(provider: ZoneFileProvider, path: Path) -> None:
    provider.delete("id", created(provider, props(path)))
    assert not path.exists()


@pytest.mark.parametrize(
    ("first_line", "olds", "reason"),
    [
        (
            f"{MARKER}organization/mailflow/other",
            {},
            "is written by mailflow stack organization/mailflow/other",
        ),
        ("; a hand-made zone", {}, "exists and mailflow did not write it"),
        ("; a hand-made zone", {"owner": OWNER}, "no longer carries this stack's mailflow marker"),
        (f"{MARKER}organization/mailflow/other", {"owner": OWNER}, "is written by mailflow stack"),
    ],
    ids=["another stack's", "hand-made", "replaced since", "another stack's since"],
)
def test_check_refuses_a_file_this_stack_may_not_write_before_anything_changes(
    provider: ZoneFileProvider, path: Path, first_line: str, olds: dict[str, Any], reason: str
) -> None:
    text = f"{first_line}\n{HAND_MADE}"
    path.write_text(text)
    (failure,) = provider.check({**props(path), **olds} if olds else {}, props(path)).failures
    assert failure.property == "" and reason in failure.reason
    assert str(path) in failure.reason
    with pytest.raises(Refused, match=reason):
        if olds:
            provider.update("id", {**props(path), **olds}, props(path, MX))
        else:
            provider.create(props(path))
    assert path.read_text() == text


def test_a_changed_owner_id_takes_over_only_the_files_this_stack_wrote(
    provider: ZoneFileProvider, path: Path
) -> None:
    outs = created(provider, props(path))
    renamed = props(path, owner="acme-eu/prod")
    updated(provider, outs, renamed)
    assert file_owner(path) == "acme-eu/prod"
    # A stack whose state names another id than the file's marker is refused.
    other = path.with_name("contoso.com.zone")
    other.write_text(f"{MARKER}organization/mailflow/other\n{HAND_MADE}")
    (failure,) = provider.check(props(other), props(other, owner="acme-eu/prod")).failures
    assert "is written by mailflow stack organization/mailflow/other" in failure.reason


def test_a_file_served_by_other_name_servers_than_the_targets_is_not_adopted(
    provider: ZoneFileProvider, path: Path
) -> None:
    path.write_text(HAND_MADE)
    (failure,) = provider.check({}, props(path, adopt=True, nameservers=["localhost."])).failures
    assert failure.reason == (
        f"cannot adopt {path}: its name servers are ns1.fabrikam.com., not the target's localhost., and "
        "mailflow writes the apex NS records from those: set mailflow:target.nameservers to the zone's"
    )
    assert path.read_text() == HAND_MADE
