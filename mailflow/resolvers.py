"""Where SPF lookup counting gets TXT records: a checked-in snapshot (offline) or live DNS."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any, Protocol

import dns.exception

if TYPE_CHECKING:
    import dns.resolver


class UnknownName(LookupError):
    """The resolver cannot tell what ``name`` publishes (not in the snapshot, or DNS failed)."""


class Resolver(Protocol):
    def txt(self, name: str) -> Sequence[str]:
        """The TXT records at ``name``, each record's character-strings joined; [] when none."""
        ...


class SnapshotResolver:
    """Answers from a JSON snapshot of published records (``mailflow/data/spf_snapshot.json``)."""

    def __init__(self, records: Mapping[str, Mapping[str, Sequence[str]]], captured: str) -> None:
        self.records = {name.lower().rstrip("."): dict(rrsets) for name, rrsets in records.items()}
        self.captured = captured

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> SnapshotResolver:
        return cls(document["records"], str(document.get("captured", "unknown")))

    def txt(self, name: str) -> Sequence[str]:
        rrsets = self.records.get(name.lower().rstrip("."))
        if rrsets is None:
            raise UnknownName(name)
        return list(rrsets.get("TXT", ()))


@cache
def bundled_snapshot() -> SnapshotResolver:
    """The snapshot shipped with mailflow: Microsoft's SPF include and the vendors it knows."""
    text = resources.files("mailflow").joinpath("data/spf_snapshot.json").read_text("utf-8")
    return SnapshotResolver.from_json(json.loads(text))


class LiveResolver:
    """Asks DNS through dnspython: the system resolver, or the given nameservers."""

    def __init__(self, nameservers: Sequence[str] = (), port: int = 53, timeout: float = 5.0) -> None:
        # Imported here: dns.resolver costs more start-up time than planning a small stack.
        import dns.resolver

        self._resolver = dns.resolver.Resolver(configure=not nameservers)
        if nameservers:
            self._resolver.nameservers = list(nameservers)
            self._resolver.port = port
        self._resolver.lifetime = timeout

    @property
    def resolver(self) -> dns.resolver.Resolver:
        return self._resolver

    def txt(self, name: str) -> Sequence[str]:
        import dns.resolver

        try:
            answer = self._resolver.resolve(name, "TXT")
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except dns.exception.DNSException as error:
            raise UnknownName(f"{name} ({error.__class__.__name__})") from error
        return [b"".join(rdata.strings).decode("utf-8", "replace") for rdata in answer]
