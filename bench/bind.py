"""A BIND 9 server on a loopback port with a temporary config, a TSIG key that may update the
test zones, and fixture zones serving published SPF includes from the bundled snapshot."""

from __future__ import annotations

import base64
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import dns.message
import dns.query
import dns.rdatatype
import dns.resolver

from mailflow.resolvers import bundled_snapshot

NAMED = shutil.which("named") or "/usr/sbin/named"
KEY_NAME = "mailflow-test"
NEXT_KEY_NAME = "mailflow-next"
"""A second key the server knows, for key rotation."""
SOA = "@ 3600 IN SOA localhost. hostmaster.localhost. 1 7200 3600 1209600 300\n@ 3600 IN NS localhost.\n"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _quoted(text: str) -> str:
    return " ".join(f'"{text[i : i + 255]}"' for i in range(0, len(text), 255))


@dataclass
class BindServer:
    directory: Path
    zones: list[str]
    secret: str = field(default_factory=lambda: base64.b64encode(os.urandom(32)).decode())
    next_secret: str = field(default_factory=lambda: base64.b64encode(os.urandom(32)).decode())
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

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
            if not path.exists():
                path.write_text(f"$ORIGIN {zone}.\n" + SOA.format(zone=zone))
            blocks.append(
                f'zone "{zone}" {{ type primary; file "{path}";'
                f" update-policy {{ grant {KEY_NAME} zonesub ANY; grant {NEXT_KEY_NAME} zonesub ANY; }}; }};"
            )
        # Published SPF includes, so that evaluation follows them to this server only.
        for name, rrsets in bundled_snapshot().records.items():
            path = d / f"fixture-{name}.zone"
            txt = "".join(f"@ 3600 IN TXT {_quoted(value)}\n" for value in rrsets.get("TXT", ()))
            path.write_text(f"$ORIGIN {name}.\n" + SOA.format(zone=name) + txt)
            blocks.append(f'zone "{name}" {{ type primary; file "{path}"; }};')
        (d / "named.conf").write_text("\n".join(blocks) + "\n")

    def start(self) -> None:
        self.write_config()
        log = open(self.directory / "named.log", "ab")  # noqa: SIM115 (kept open for the process)
        self.process = subprocess.Popen(
            [NAMED, "-g", "-c", str(self.directory / "named.conf"), "-n", "1"], stdout=log, stderr=log
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"named exited: {(self.directory / 'named.log').read_text()[-3000:]}")
            try:
                self.query(self.zones[0], "SOA", timeout=0.5)
                return
            except (OSError, dns.exception.DNSException):
                time.sleep(0.1)
        raise RuntimeError("named did not answer within 20 s")

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

    def resolver(self) -> dns.resolver.Resolver:
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [self.address]
        resolver.port = self.port
        return resolver
