"""The rfc2136 record-set provider on its own, against real BIND servers on loopback (tests/test_bind.py
runs it through the engine): moves between servers, whose record sets a move or a removal may
touch, and a changed owner id."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dns.query
import dns.rcode
import dns.tsigkeyring
import dns.update
import pytest
from bind_server import KEY_NAME, BindServer
from dns_server import DnsServer, Zone

from mailflow.dnsupdate import RecordSetState, UpdateFailed, marker_text
from mailflow.settings import TSIG_SECRET
from mailflow.targets import rfc2136
from mailflow.targets.rfc2136 import RecordSetProvider, same_record_set

pytestmark = pytest.mark.bind

STACK_A = "organization/mailflow/a"
STACK_B = "organization/mailflow/b"
MX = ["10 mx1.filter.example.net.", "20 mx2.filter.example.net."]
MARKERS = "_mailflow.contoso.com."


def props(server: BindServer | DnsServer, owner: str, secret: str = "", **changes: Any) -> dict[str, Any]:
    """The provider's inputs for contoso.com's MX on ``server``, as ``Rfc2136Target.props`` makes them."""
    return {
        "server": "127.0.0.1",
        "port": server.port,
        "zone": "contoso.com.",
        "keyName": f"{KEY_NAME}.",
        "keyAlgorithm": "hmac-sha256",
        "timeout": 5.0,
        TSIG_SECRET: secret or getattr(server, "secret", ""),
        "name": "contoso.com.",
        "type": "MX",
        "ttl": 3600,
        "values": MX,
        "owner": owner,
        "adopt": False,
        "adopted": None,
        **changes,
    }


def marker(owner: str) -> str:
    return marker_text(owner, "MX")


@pytest.fixture
def here(tmp_path: Path) -> Iterator[BindServer]:
    server = BindServer(tmp_path / "here", ["contoso.com"])
    server.start()
    yield server
    server.stop()


@pytest.fixture
def there(tmp_path: Path, here: BindServer) -> Iterator[BindServer]:
    server = BindServer(tmp_path / "there", ["contoso.com"], secret=here.secret)
    server.start()
    yield server
    server.stop()


def created(server: BindServer, owner: str, **changes: Any) -> dict[str, Any]:
    outs = RecordSetProvider().create(props(server, owner, **changes)).outs
    assert outs is not None
    return outs


def test_a_move_reads_the_new_copy_back_before_it_deletes_the_old(
    here: BindServer, there: BindServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    olds = created(here, STACK_A)
    seen_there: list[set[str]] = []
    delete = rfc2136.delete_record_set

    def observed(*args: Any) -> None:
        seen_there.append(there.query("contoso.com.", "MX"))
        assert here.query("contoso.com.", "MX") == set(MX)  # not yet deleted
        delete(*args)

    monkeypatch.setattr(rfc2136, "delete_record_set", observed)
    outs = RecordSetProvider().update("id", olds, props(there, STACK_A)).outs
    assert seen_there == [set(MX)]
    assert (there.query("contoso.com.", "MX"), there.query(MARKERS, "TXT")) == (set(MX), {marker(STACK_A)})
    assert (here.query("contoso.com.", "MX"), here.query(MARKERS, "TXT")) == (set(), set())
    assert outs is not None and outs["adopted"] is None


def test_a_move_onto_another_stacks_record_set_holding_the_same_values_is_refused(
    here: BindServer, there: BindServer
) -> None:
    """Equal values are not the same record set: stack B moving onto stack A's would take it and,
    on removal, delete it."""
    created(there, STACK_A)
    olds = created(here, STACK_B)
    with pytest.raises(UpdateFailed, match=f"it exists and belongs to mailflow stack {STACK_A}"):
        RecordSetProvider().update("id", olds, props(there, STACK_B))
    assert (there.query("contoso.com.", "MX"), there.query(MARKERS, "TXT")) == (set(MX), {marker(STACK_A)})
    assert (here.query("contoso.com.", "MX"), here.query(MARKERS, "TXT")) == (set(MX), {marker(STACK_B)})


def test_a_record_set_only_another_stack_marks_is_never_deleted(here: BindServer) -> None:
    """A state that names a record set another stack owns (as a move once took it) deletes nothing."""
    created(here, STACK_A)
    RecordSetProvider().delete("id", props(here, STACK_B))
    assert (here.query("contoso.com.", "MX"), here.query(MARKERS, "TXT")) == (set(MX), {marker(STACK_A)})


def test_a_move_of_an_adopted_record_set_leaves_it_where_it_was_without_the_marker(
    here: BindServer, there: BindServer
) -> None:
    update = dns.update.UpdateMessage(
        "contoso.com.", keyring=dns.tsigkeyring.from_text({KEY_NAME: here.secret}), keyname=KEY_NAME
    )
    update.add("contoso.com.", 3600, "MX", "5 hand.example.net.")
    assert dns.query.tcp(update, here.address, port=here.port, timeout=5).rcode() == dns.rcode.NOERROR
    olds = created(here, STACK_A, adopt=True)
    assert olds["adopted"] == {"ttl": 3600, "values": ["5 hand.example.net."]}
    outs = RecordSetProvider().update("id", olds, props(there, STACK_A, adopt=True)).outs
    assert outs is not None and outs["adopted"] is None  # created at the new place
    assert there.query("contoso.com.", "MX") == set(MX)
    assert (here.query("contoso.com.", "MX"), here.query(MARKERS, "TXT")) == (set(MX), set())


def test_a_changed_owner_id_swaps_the_marker_of_what_this_stack_wrote(here: BindServer) -> None:
    olds = created(here, STACK_A)
    RecordSetProvider().update("id", olds, props(here, "acme-eu/prod"))
    assert here.query("contoso.com.", "MX") == set(MX)
    assert here.query(MARKERS, "TXT") == {marker("acme-eu/prod")}


def test_a_changed_owner_id_takes_nothing_another_stack_marks(here: BindServer) -> None:
    created(here, STACK_A)
    olds = props(here, STACK_B)  # a state that names stack A's record set
    with pytest.raises(UpdateFailed, match=f"it carries the marker of {STACK_A}, not {STACK_B}'s"):
        RecordSetProvider().update("id", olds, props(here, "acme-eu/prod"))
    assert here.query(MARKERS, "TXT") == {marker(STACK_A)}


@pytest.mark.parametrize(
    ("markers", "same"),
    [([STACK_A], True), ([STACK_B], False), ([], False)],
    ids=["this stack's marker", "another stack's", "no marker"],
)
def test_another_address_is_the_same_zone_only_under_this_stacks_marker(
    markers: list[str], same: bool
) -> None:
    zone = Zone()
    zone.add("contoso.com.", "MX", *MX)
    if markers:
        zone.add(MARKERS, "TXT", *(marker(owner) for owner in markers))
    with DnsServer(zone) as server:
        news = props(server, STACK_A, secret="c2VjcmV0")
        olds = {**news, "port": 1}
        assert same_record_set(olds, news, RecordSetState(3600, tuple(MX))) is same
