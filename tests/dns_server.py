"""A scripted DNS server on loopback: each name answers as a test says (records, an rcode, silence,
or a reply cut short), names can be made up on the fly, and every query is counted. UDP and TCP
share one ephemeral port on 127.0.0.1."""

from __future__ import annotations

import errno
import socket
import socketserver
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset


@dataclass(frozen=True)
class Reply:
    rrsets: tuple[dns.rrset.RRset, ...] = ()
    rcode: dns.rcode.Rcode = dns.rcode.NOERROR
    silent: bool = False
    """Never answer, as a server behind a dropping firewall."""
    malformed: bool = False
    """Answer over TCP with the message cut short, which no parser accepts (over UDP, only say
    that the answer is truncated: resolvers ignore a malformed datagram as possibly spoofed)."""


SERVFAIL = Reply(rcode=dns.rcode.SERVFAIL)
REFUSED = Reply(rcode=dns.rcode.REFUSED)
NXDOMAIN = Reply(rcode=dns.rcode.NXDOMAIN)
SILENT = Reply(silent=True)
MALFORMED = Reply(malformed=True)


def records(name: str, rtype: str, *values: str, ttl: int = 3600) -> Reply:
    """One record set, its owner name spelt exactly as given."""
    return Reply((dns.rrset.from_text(name, ttl, "IN", rtype, *values),))


Generator = Callable[[str, str], Reply | None]
"""Makes up the reply for a (lowercase absolute name, type), or None for names it does not own."""


@dataclass
class Zone:
    """What the server answers: record sets, whole names overridden (an rcode, silence), and
    generators for names made up on the fly. A name it knows nothing of is NXDOMAIN."""

    record_sets: dict[tuple[str, str], Reply] = field(default_factory=dict)
    names: dict[str, Reply] = field(default_factory=dict)
    generators: list[Generator] = field(default_factory=list)

    def add(self, name: str, rtype: str, *values: str, ttl: int = 3600) -> None:
        self.record_sets[_key(name), rtype] = records(name, rtype, *values, ttl=ttl)

    def reply(self, name: str, rtype: str) -> Reply:
        if name in self.names:
            return self.names[name]
        for generate in self.generators:
            made = generate(name, rtype)
            if made is not None:
                return made
        if (name, rtype) in self.record_sets:
            return self.record_sets[name, rtype]
        return Reply() if any(owner == name for owner, _ in self.record_sets) else NXDOMAIN


def _key(name: str) -> str:
    return name.lower().rstrip(".") + "."


class _UdpServer(socketserver.ThreadingUDPServer):
    daemon_threads = True


class _TcpServer(socketserver.ThreadingTCPServer):
    daemon_threads = True


class DnsServer:
    """Serves ``zone`` on 127.0.0.1 until closed; ``queries`` lists each (name, type) asked."""

    def __init__(self, zone: Zone) -> None:
        self.zone = zone
        self.queries: list[tuple[str, str]] = []
        self._closing = threading.Event()
        self._udp, self._tcp = self._bind()
        self.port: int = self._udp.server_address[1]
        self._threads = [
            threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
            for server in (self._udp, self._tcp)
        ]
        for thread in self._threads:
            thread.start()

    def _bind(self) -> tuple[_UdpServer, _TcpServer]:
        server = self

        class Udp(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                data, sock = self.request
                wire = server._answer(data, tcp=False)
                if wire is not None:
                    sock.sendto(wire, self.client_address)

        class Tcp(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                length = self.request.recv(2)
                if len(length) < 2:
                    return
                data = _receive(self.request, struct.unpack("!H", length)[0])
                wire = server._answer(data, tcp=True)
                if wire is None:
                    server._closing.wait()
                else:
                    self.request.sendall(struct.pack("!H", len(wire)) + wire)

        # The port an ephemeral UDP bind gets may be taken for TCP: try a few.
        for _ in range(20):
            udp = _UdpServer(("127.0.0.1", 0), Udp)
            try:
                tcp = _TcpServer(("127.0.0.1", udp.server_address[1]), Tcp)
            except OSError as error:
                udp.server_close()
                if error.errno != errno.EADDRINUSE:
                    raise
                continue
            return udp, tcp
        raise OSError(errno.EADDRINUSE, "no port free for both UDP and TCP on 127.0.0.1")

    def _answer(self, data: bytes, tcp: bool) -> bytes | None:
        query = dns.message.from_wire(data)
        question = query.question[0]
        name, rtype = question.name.to_text().lower(), dns.rdatatype.to_text(question.rdtype)
        self.queries.append((name, rtype))
        reply = self.zone.reply(name, rtype)
        if reply.silent:
            return None
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        response.set_rcode(reply.rcode)
        response.answer.extend(reply.rrsets)
        if reply.malformed and not tcp:
            response.flags |= dns.flags.TC
        wire = response.to_wire()
        return wire[: len(wire) - 3] if reply.malformed and tcp else wire

    def asked(self, suffix: str) -> int:
        """How many queries were for names ending in ``suffix``."""
        return sum(1 for name, _ in self.queries if name.endswith(suffix))

    def close(self) -> None:
        self._closing.set()
        for server in (self._udp, self._tcp):
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)

    def __enter__(self) -> DnsServer:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()


def _receive(sock: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            break
        data += chunk
    return data
