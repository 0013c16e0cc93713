"""RFC 2136 dynamic updates signed with TSIG (dnspython): replace or delete one record set, with
prerequisites so that a record set someone else changed in between is never overwritten, and an
ownership marker beside it (a TXT record at ``_mailflow.<name>``, in the manner of external-dns's
TXT registry) so that a record set mailflow did not create is never taken over silently and two
stacks never both own one. The marker is written in the same update as the record set."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import dns.exception
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
import dns.tsig
import dns.tsigkeyring
import dns.update

from mailflow.settings import MARKER_LABEL


class UpdateFailed(Exception):
    """An update or query the server refused or did not answer; the message names server,
    zone and record set."""


@dataclass(frozen=True)
class UpdateServer:
    """An authoritative server that accepts signed updates for ``zone``."""

    address: str
    port: int
    zone: str
    key_name: str
    key_algorithm: str
    secret: str
    timeout: float = 10.0

    def describe(self, name: str, rtype: str) -> str:
        return f"{rtype} {name} in zone {self.zone} at {self.address}:{self.port}"


@dataclass(frozen=True)
class RecordSetState:
    """What a server holds at one name and type."""

    ttl: int
    values: tuple[str, ...]
    """Presentation-format values, sorted."""


def marker_name(name: str) -> str:
    return f"{MARKER_LABEL}.{name}"


def marker_text(owner: str, rtype: str) -> str:
    return f'"heritage=mailflow,owner={owner},type={rtype}"'


def _marker(owner: str, rtype: str) -> dns.rdata.Rdata:
    return dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.TXT, marker_text(owner, rtype))


def owners(server: UpdateServer, name: str, rtype: str) -> list[str]:
    """The stacks whose ownership marker for ``rtype`` sits beside ``name``."""
    found = read_record_set(server, marker_name(name), "TXT")
    prefix, suffix = '"heritage=mailflow,owner=', f',type={rtype}"'
    return [
        v[len(prefix) : -len(suffix)]
        for v in (found.values if found else ())
        if v.startswith(prefix) and v.endswith(suffix)
    ]


def _rdataset(rtype: str, ttl: int, values: Sequence[str], origin: dns.name.Name) -> dns.rdataset.Rdataset:
    rdtype = dns.rdatatype.from_text(rtype)
    rdatas = [dns.rdata.from_text(dns.rdataclass.IN, rdtype, value, origin=origin) for value in values]
    return dns.rdataset.from_rdata_list(ttl, rdatas)


def _exchange(server: UpdateServer, message: dns.message.Message, what: str) -> dns.message.Message:
    try:
        return dns.query.tcp(message, server.address, timeout=server.timeout, port=server.port)
    except dns.tsig.PeerBadKey:
        raise UpdateFailed(
            f"{what}: the server does not know TSIG key '{server.key_name}' ({server.key_algorithm})"
        ) from None
    except (dns.tsig.PeerBadSignature, dns.tsig.BadSignature):
        raise UpdateFailed(
            f"{what}: TSIG signature rejected: mailflow:tsigSecret does not match key '{server.key_name}' "
            "on the server"
        ) from None
    except dns.tsig.PeerBadTime:
        raise UpdateFailed(
            f"{what}: TSIG time check failed: the clocks of this host and the server differ"
        ) from None
    except dns.exception.Timeout:
        raise UpdateFailed(f"{what}: no answer within {server.timeout:g} s") from None
    except OSError as error:
        raise UpdateFailed(f"{what}: cannot reach the server ({error.strerror or error})") from None
    except EOFError:
        # The server went away in the middle of the exchange (stopped, restarted, crashed).
        raise UpdateFailed(f"{what}: cannot reach the server (it closed the connection)") from None


def read_record_set(server: UpdateServer, name: str, rtype: str) -> RecordSetState | None:
    """The record set as the server holds it now, or None when there is none."""
    query = dns.message.make_query(name, rtype)
    response = _exchange(server, query, f"reading {server.describe(name, rtype)}")
    if response.rcode() == dns.rcode.NXDOMAIN:
        return None
    if response.rcode() != dns.rcode.NOERROR:
        raise UpdateFailed(f"reading {server.describe(name, rtype)}: {dns.rcode.to_text(response.rcode())}")
    rdtype = dns.rdatatype.from_text(rtype)
    for rrset in response.answer:
        if rrset.rdtype == rdtype and rrset.name == dns.name.from_text(name):
            return RecordSetState(rrset.ttl, tuple(sorted(r.to_text() for r in rrset)))
    return None


_REFUSALS = {
    dns.rcode.REFUSED: "refused by the server's policy (allow-update / update-policy does not grant '{key}')",
    dns.rcode.NOTAUTH: "the server is not authoritative for the zone or did not accept key '{key}' (NOTAUTH)",
    dns.rcode.NOTZONE: "the record is not inside the zone (NOTZONE)",
    dns.rcode.SERVFAIL: "the server failed to apply it (SERVFAIL; see its log)",
}


def _send(server: UpdateServer, update: dns.update.UpdateMessage, name: str, rtype: str) -> int:
    """Send ``update``; return its rcode when a prerequisite failed, raise on any other refusal."""
    what = f"updating {server.describe(name, rtype)}"
    rcode = _exchange(server, update, what).rcode()
    if rcode in (
        dns.rcode.NOERROR,
        dns.rcode.YXRRSET,
        dns.rcode.NXRRSET,
        dns.rcode.YXDOMAIN,
        dns.rcode.NXDOMAIN,
    ):
        return int(rcode)
    reason = _REFUSALS.get(rcode, f"{dns.rcode.to_text(rcode)} from the server")
    raise UpdateFailed(f"{what}: {reason.format(key=server.key_name)}")


def _new_update(server: UpdateServer) -> dns.update.UpdateMessage:
    keyring = dns.tsigkeyring.from_text({server.key_name: server.secret})
    return dns.update.UpdateMessage(
        server.zone,
        keyring=keyring,
        keyname=dns.name.from_text(server.key_name),
        keyalgorithm=server.key_algorithm,
    )


def write_record_set(
    server: UpdateServer,
    name: str,
    rtype: str,
    ttl: int,
    values: Sequence[str],
    expected: RecordSetState | None,
    owner: str,
    previous_owner: str | None = None,
) -> None:
    """Make the record set hold ``values`` and carry ``owner``'s marker, provided the server still
    holds ``expected`` (None: nothing). When the server already holds exactly ``values`` under this
    owner's marker (an earlier run cut off after the server applied it), that is success too."""
    origin = dns.name.from_text(server.zone)
    update = _new_update(server)
    if expected is None:
        update.absent(name, rtype)
    else:
        update.present(name, _rdataset(rtype, 0, expected.values, origin))  # RFC 2136 §2.4.2: TTL 0
    update.replace(name, _rdataset(rtype, ttl, values, origin))
    if previous_owner is not None and previous_owner != owner:
        update.delete(marker_name(name), _marker(previous_owner, rtype))
    update.add(marker_name(name), ttl, _marker(owner, rtype))
    if _send(server, update, name, rtype) == dns.rcode.NOERROR:
        return
    current = read_record_set(server, name, rtype)
    same = current is not None and current.values == _normalised(rtype, values, origin) and current.ttl == ttl
    if same and owner in owners(server, name, rtype):
        return
    found = "nothing" if current is None else ", ".join(current.values)
    expectation = "no record set" if expected is None else ", ".join(expected.values)
    raise UpdateFailed(
        f"updating {server.describe(name, rtype)}: the server holds {found}, not {expectation} as "
        "mailflow last wrote it; someone changed it. Run `pulumi refresh` to take the server's "
        "values, or adopt an existing record set, then `pulumi up` again"
    )


def claim_record_set(
    server: UpdateServer, name: str, rtype: str, owner: str, adopt: bool
) -> tuple[RecordSetState | None, bool]:
    """Before creating: what the server holds at ``name`` and ``rtype`` that this stack may take
    over, and whether it is adopted. (None, False) when there is nothing; the values and False under
    this stack's own marker (a run cut off after writing); the values and True when ``adopt``
    takes one no mailflow stack owns. Otherwise ``UpdateFailed`` naming it and its owner."""
    current = read_record_set(server, name, rtype)
    if current is None:
        return None, False
    marked = owners(server, name, rtype)
    what = server.describe(name, rtype)
    if owner in marked:
        return current, False
    if marked:
        raise UpdateFailed(
            f"creating {what}: it exists and belongs to mailflow stack {', '.join(marked)}; a record set "
            "has one owner, so this stack leaves it alone: remove the domain from one of the two stacks"
        )
    if not adopt:
        raise UpdateFailed(
            f"creating {what}: it exists ({', '.join(current.values)}) and no mailflow stack created it; "
            "it is left as it is. To take it over, set adopt: true on the domain (its values are kept "
            "in state), or remove it by hand"
        )
    return current, True


def verify_key(server: UpdateServer, name: str, rtype: str, expected: RecordSetState) -> None:
    """Send an update that changes nothing (prerequisites only): the server checks the TSIG key and
    that it still holds ``expected``. A key change is tried this way before anything relies on it."""
    origin = dns.name.from_text(server.zone)
    update = _new_update(server)
    update.present(name, _rdataset(rtype, 0, expected.values, origin))
    if _send(server, update, name, rtype) != dns.rcode.NOERROR:
        current = read_record_set(server, name, rtype)
        found = "nothing" if current is None else ", ".join(current.values)
        raise UpdateFailed(
            f"checking the new key on {server.describe(name, rtype)}: the server holds {found}, not "
            f"{', '.join(expected.values)} as mailflow last wrote it"
        )


def delete_record_set(
    server: UpdateServer, name: str, rtype: str, expected: RecordSetState, owner: str
) -> None:
    """Delete the record set and this owner's marker if the server still holds ``expected``; gone
    already is fine."""
    origin = dns.name.from_text(server.zone)
    update = _new_update(server)
    update.present(name, _rdataset(rtype, 0, expected.values, origin))  # RFC 2136 §2.4.2: TTL 0
    update.delete(name, rtype)
    update.delete(marker_name(name), _marker(owner, rtype))
    if _send(server, update, name, rtype) == dns.rcode.NOERROR:
        return
    current = read_record_set(server, name, rtype)
    if current is None:
        release_marker(server, name, rtype, owner)
        return
    raise UpdateFailed(
        f"deleting {server.describe(name, rtype)}: the server holds {', '.join(current.values)}, not "
        f"{', '.join(expected.values)} as mailflow last wrote it; left in place"
    )


def release_marker(server: UpdateServer, name: str, rtype: str, owner: str) -> None:
    """Remove this owner's marker only, leaving the record set (an adopted one) in place."""
    update = _new_update(server)
    update.delete(marker_name(name), _marker(owner, rtype))
    _send(server, update, name, rtype)


def _normalised(rtype: str, values: Sequence[str], origin: dns.name.Name) -> tuple[str, ...]:
    return tuple(sorted(rdata.to_text() for rdata in _rdataset(rtype, 0, values, origin)))
