"""A BIND 9 server on a loopback port with a temporary config, a TSIG key that may update the
test zones, and fixture zones serving published SPF includes from the bundled snapshot."""

from __future__ import annotations

import base64
import errno
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dns.flags
import dns.message
import dns.opcode
import dns.query
import dns.rdatatype
import dns.resolver

from mailflow.resolvers import bundled_snapshot

NAMED = shutil.which("named") or "/usr/sbin/named"
KEY_NAME = "mailflow-test"
NEXT_KEY_NAME = "mailflow-next"
"""A second key the server knows, for key rotation."""
SOA = "@ 3600 IN SOA localhost. hostmaster.localhost. 1 7200 3600 1209600 300\n@ 3600 IN NS localhost.\n"

PORT_ATTEMPTS = 5
"""Ports a first start tries, each new one after named found the last taken."""
PORT_TAKEN = ("address in use", "unable to listen on any configured interfaces")
"""What named logs when another socket holds its port: for TCP it goes on serving UDP alone; for
UDP it exits."""
RUNNING = re.compile(r" running$", re.MULTILINE)
"""The line named logs once it has loaded its zones."""


def free_port(attempts: int = 50) -> int:
    """A port of 127.0.0.1 free for both UDP and TCP when asked (named listens on both): the one
    an ephemeral UDP bind gets, if a TCP socket can bind it too."""
    for _ in range(attempts):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port = int(udp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind(("127.0.0.1", port))
                except OSError as error:
                    if error.errno != errno.EADDRINUSE:
                        raise
                    continue
        return port
    raise OSError(errno.EADDRINUSE, "no port of 127.0.0.1 free for both UDP and TCP")


def _quoted(text: str) -> str:
    return " ".join(f'"{text[i : i + 255]}"' for i in range(0, len(text), 255))


@dataclass
class BindServer:
    directory: Path
    zones: list[str]
    secret: str = field(default_factory=lambda: base64.b64encode(os.urandom(32)).decode())
    next_secret: str = field(default_factory=lambda: base64.b64encode(os.urandom(32)).decode())
    port: int = field(default_factory=free_port)
    """Where it listens; the first start moves to a new port if named finds this one taken."""
    process: subprocess.Popen[bytes] | None = None
    started: bool = field(default=False, init=False)
    """Whether it has served: from then on clients know the port, and a start keeps it."""
    primary: BindServer | None = None
    """Serve the zones as a secondary of this server: it transfers them when it starts and when
    ``notify`` tells it to, never on its own before the SOA refresh (two hours)."""

    @property
    def address(self) -> str:
        return "127.0.0.1"

    def write_config(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        d = self.directory
        blocks = [
            f'options {{ directory "{d}"; pid-file "{d}/named.pid"; session-keyfile "{d}/session.key";'
            f' managed-keys-directory "{d}"; listen-on port {self.port} {{ 127.0.0.1; }};'
            " listen-on-v6 { none; };"
            " recursion no; dnssec-validation no; notify no; allow-transfer { none; }; };",
            "controls { };",
            f'key "{KEY_NAME}" {{ algorithm hmac-sha256; secret "{self.secret}"; }};',
            f'key "{NEXT_KEY_NAME}" {{ algorithm hmac-sha512; secret "{self.next_secret}"; }};',
        ]
        for zone in self.zones:
            path = d / f"{zone}.zone"
            if self.primary is not None:
                blocks.append(
                    f'zone "{zone}" {{ type secondary; file "{path}";'
                    f" primaries {{ {self.primary.address} port {self.primary.port}; }};"
                    f" allow-notify {{ {self.address}; }}; }};"
                )
                continue
            if not path.exists():
                path.write_text(f"$ORIGIN {zone}.\n" + SOA.format(zone=zone))
            blocks.append(
                f'zone "{zone}" {{ type primary; file "{path}";'
                f" update-policy {{ grant {KEY_NAME} zonesub ANY; grant {NEXT_KEY_NAME} zonesub ANY; }};"
                f" allow-transfer {{ {self.address}; }}; }};"
            )
        # Published SPF includes, so that evaluation follows them to this server only.
        for name, rrsets in bundled_snapshot().records.items():
            path = d / f"fixture-{name}.zone"
            txt = "".join(f"@ 3600 IN TXT {_quoted(value)}\n" for value in rrsets.get("TXT", ()))
            path.write_text(f"$ORIGIN {name}.\n" + SOA.format(zone=name) + txt)
            blocks.append(f'zone "{name}" {{ type primary; file "{path}"; }};')
        (d / "named.conf").write_text("\n".join(blocks) + "\n")

    def start(self) -> None:
        """Start named and wait until it answers. Before the first start the port may have been
        taken since it was chosen (by any process on the machine): then named starts again on
        another one; a later start keeps the port."""
        attempts = 1 if self.started else PORT_ATTEMPTS
        for attempt in range(1, attempts + 1):
            if self._launch():
                self.started = True
                return
            self.stop()
            if attempt < attempts:
                self.port = free_port()
        raise RuntimeError(f"named found its port taken, {attempts} time(s): the last, {self.port}")

    def _launch(self) -> bool:
        """Start named on ``self.port``: True once it answers, False if the port is taken."""
        self.write_config()
        log_path = self.directory / "named.log"
        with open(log_path, "ab") as log:  # named writes to its own copy of the file
            offset = log.tell()
            self.process = subprocess.Popen(
                [NAMED, "-g", "-c", str(self.directory / "named.conf"), "-n", "1"], stdout=log, stderr=log
            )

        def logged() -> str:
            """What named has logged since this start."""
            with open(log_path, "rb") as text:
                text.seek(offset)
                return text.read().decode(errors="replace")

        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            exited = self.process.poll() is not None
            text = logged()
            # Its sockets are made before it loads zones and says it is running: by then the log
            # tells whether another socket held the port (whoever holds it may answer queries).
            if any(taken in text for taken in PORT_TAKEN):
                return False
            if exited:
                raise RuntimeError(f"named exited: {text[-3000:]}")
            if RUNNING.search(text):
                try:
                    self.query(self.zones[0], "SOA", timeout=0.5)
                    return True
                except (OSError, dns.exception.DNSException):
                    pass
            time.sleep(0.1)
        raise RuntimeError(f"named did not answer within 20 s: {logged()[-3000:]}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=20)
        self.process = None

    def query(self, name: str, rtype: str, timeout: float = 3.0) -> set[str]:
        """The values of a record set, asked of this server only."""
        response = dns.query.udp(
            dns.message.make_query(name, rtype), self.address, timeout=timeout, port=self.port
        )
        rdtype = dns.rdatatype.from_text(rtype)
        return {r.to_text() for rrset in response.answer if rrset.rdtype == rdtype for r in rrset}

    def serial(self, zone: str) -> int:
        (soa,) = self.query(zone, "SOA")
        return int(soa.split()[2])

    def notify(self, zone: str, timeout: float = 20.0) -> None:
        """Tell this secondary that ``zone`` changed on its primary, and wait until it serves
        the primary's serial."""
        assert self.primary is not None
        message = dns.message.make_query(zone, "SOA")
        message.flags = dns.flags.AA
        message.set_opcode(dns.opcode.NOTIFY)
        dns.query.udp(message, self.address, timeout=5, port=self.port)
        wanted = self.primary.serial(zone)
        deadline = time.monotonic() + timeout
        while self.serial(zone) != wanted:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{zone}: the secondary did not transfer serial {wanted} in {timeout:g} s")
            time.sleep(0.1)

    def spf_lookup(self) -> Callable[..., list[Any]]:
        """A ``DNSLookup`` for pyspf that asks this server alone (it serves the snapshot's SPF
        includes too), in the form pyspf's own gives: TXT as character-strings, others as text."""
        resolver = self.resolver()

        def lookup(name: str, qtype: str, *args: Any, **kwargs: Any) -> list[Any]:
            try:
                answer = resolver.resolve(name, qtype, raise_on_no_answer=False)
            except dns.resolver.NXDOMAIN:
                return []
            if answer.rrset is None:
                return []
            if qtype == "TXT":
                return [((name, qtype), r.strings) for r in answer.rrset]
            return [((name, qtype), r.to_text()) for r in answer.rrset]

        return lookup

    def resolver(self) -> dns.resolver.Resolver:
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [self.address]
        resolver.port = self.port
        return resolver
