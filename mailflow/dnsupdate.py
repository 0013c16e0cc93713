"""RFC 2136 dynamic updates signed with TSIG (dnspython): replace or delete one record set, with
prerequisites so that a record set someone else changed in between is never overwritten."""

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
) -> None:
    """Make the record set hold ``values``, provided the server still holds ``expected`` (None:
    nothing). When the server already holds exactly ``values`` (an earlier run that was cut off
    after the server applied it), that is success too."""
    origin = dns.name.from_text(server.zone)
    update = _new_update(server)
    if expected is None:
        update.absent(name, rtype)
    else:
        update.present(name, _rdataset(rtype, 0, expected.values, origin))  # RFC 2136 §2.4.2: TTL 0
    update.replace(name, _rdataset(rtype, ttl, values, origin))
    if _send(server, update, name, rtype) == dns.rcode.NOERROR:
        return
    current = read_record_set(server, name, rtype)
    if current is not None and current.values == _normalised(rtype, values, origin) and current.ttl == ttl:
        return
    found = "nothing" if current is None else ", ".join(current.values)
    expectation = "no record set" if expected is None else ", ".join(expected.values)
    raise UpdateFailed(
        f"updating {server.describe(name, rtype)}: the server holds {found}, not {expectation} as "
        "mailflow last wrote it; someone changed it. Run `pulumi refresh` to take the server's "
        "values, or adopt an existing record set, then `pulumi up` again"
    )


def delete_record_set(server: UpdateServer, name: str, rtype: str, expected: RecordSetState) -> None:
    """Delete the record set if the server still holds ``expected``; gone already is fine."""
    origin = dns.name.from_text(server.zone)
    update = _new_update(server)
    update.present(name, _rdataset(rtype, 0, expected.values, origin))  # RFC 2136 §2.4.2: TTL 0
    update.delete(name, rtype)
    if _send(server, update, name, rtype) == dns.rcode.NOERROR:
        return
    current = read_record_set(server, name, rtype)
    if current is None:
        return
    raise UpdateFailed(
        f"deleting {server.describe(name, rtype)}: the server holds {', '.join(current.values)}, not "
        f"{', '.join(expected.values)} as mailflow last wrote it; left in place"
    )


def _normalised(rtype: str, values: Sequence[str], origin: dns.name.Name) -> tuple[str, ...]:
    return tuple(sorted(rdata.to_text() for rdata in _rdataset(rtype, 0, values, origin)))
