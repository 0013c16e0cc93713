"""Where SPF lookup counting and `mailflow check` get records: a checked-in snapshot (offline) or
live DNS, within a time budget."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any, Protocol

import dns.exception

if TYPE_CHECKING:
    import dns.rdata


class UnknownName(LookupError):
    """The resolver cannot tell what ``name`` publishes (not in the snapshot, or DNS failed)."""


class DnsFailure(UnknownName):
    """Live DNS gave no usable answer: ``reason`` says why (an rcode such as SERVFAIL, a timeout,
    a malformed answer)."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name} ({reason})")
        self.reason = reason


class BudgetExhausted(DnsFailure):
    """The time budget of the lookups in progress ran out before ``name`` was answered."""

    def __init__(self, name: str, reason: str = "time budget exhausted") -> None:
        super().__init__(name, reason)


class Resolver(Protocol):
    def txt(self, name: str) -> Sequence[str]:
        """The TXT records at ``name``, each record's character-strings joined; [] when none."""
        ...

    def within(self, seconds: float) -> AbstractContextManager[None]:
        """Lookups inside the block raise ``BudgetExhausted`` once ``seconds`` have passed."""
        ...

    def record_count(self, name: str, rtype: str) -> int | None:
        """How many records of ``rtype`` (A, AAAA, MX) ``name`` holds; None when the resolver
        cannot tell (a snapshot holds TXT records only)."""
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

    def within(self, seconds: float) -> AbstractContextManager[None]:
        return nullcontext()  # answers from memory take no time worth a budget

    def record_count(self, name: str, rtype: str) -> int | None:
        return None


@cache
def bundled_snapshot() -> SnapshotResolver:
    """The snapshot shipped with mailflow: Microsoft's SPF include and the vendors it knows."""
    text = resources.files("mailflow").joinpath("data/spf_snapshot.json").read_text("utf-8")
    return SnapshotResolver.from_json(json.loads(text))


@dataclass(frozen=True)
class Nameserver:
    """A server to ask instead of the system resolver: its addresses (a host name's, resolved
    once) and port."""

    addresses: tuple[str, ...]
    port: int = 53


@dataclass(frozen=True)
class RecordSet:
    """What live DNS answered for one name and type: no rdata for NXDOMAIN or no data."""

    rdatas: tuple[dns.rdata.Rdata, ...]
    ttl: int
    authoritative: bool


class LiveResolver:
    """Asks DNS through dnspython: the system resolver, or the given nameserver. Each query waits
    at most ``timeout`` seconds, and none outlasts the budget of a ``within`` block."""

    def __init__(self, nameserver: Nameserver | None = None, timeout: float = 5.0) -> None:
        # Imported here: dns.resolver costs more start-up time than planning a small stack.
        import dns.resolver

        self._timeout = timeout
        self._deadline = math.inf
        self._unusable: str | None = None
        try:
            self._resolver = dns.resolver.Resolver(configure=nameserver is None)
        except dns.resolver.NoResolverConfiguration as error:
            # Every query then fails with this reason, so `check` still reports each record set.
            self._resolver = dns.resolver.Resolver(configure=False)
            self._unusable = f"no system resolver: {error}"
        if nameserver is not None:
            self._resolver.nameservers = list(nameserver.addresses)
            self._resolver.port = nameserver.port

    @contextmanager
    def within(self, seconds: float) -> Iterator[None]:
        outer = self._deadline
        self._deadline = min(outer, time.monotonic() + seconds)
        try:
            yield
        finally:
            self._deadline = outer

    def _lifetime(self, name: str) -> float:
        """How long the next lookup for ``name`` may take: a query's timeout, cut to what is left
        of the budget; raise ``BudgetExhausted`` when nothing is, and ``DnsFailure`` when there is
        no resolver to ask, before anything is asked."""
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise BudgetExhausted(name, "not queried: time budget exhausted")
        if self._unusable is not None:
            raise DnsFailure(name, self._unusable)
        return min(self._timeout, remaining)

    def _timed_out(self, name: str, lifetime: float) -> DnsFailure:
        """A lookup given ``lifetime`` seconds got no answer: the budget ran out when it was the
        budget that cut the lifetime short."""
        if lifetime < self._timeout:
            return BudgetExhausted(name)
        return DnsFailure(name, f"no answer within {self._timeout:g} s")

    def query(self, name: str, rtype: str) -> RecordSet:
        """The records of type ``rtype`` at ``name``; raise ``DnsFailure`` when DNS gives no
        usable answer, ``BudgetExhausted`` once the budget is spent (then nothing is asked)."""
        import dns.flags
        import dns.name
        import dns.resolver

        lifetime = self._lifetime(name)
        try:
            answer = self._resolver.resolve(
                dns.name.from_text(name), rtype, raise_on_no_answer=False, lifetime=lifetime
            )
        except dns.resolver.NXDOMAIN as error:
            answers = error.responses().values()
            return RecordSet((), 0, authoritative=any(r.flags & dns.flags.AA for r in answers))
        except dns.exception.Timeout as error:
            raise self._timed_out(name, lifetime) from error
        except dns.exception.DNSException as error:
            raise DnsFailure(name, _failure_reason(error)) from error
        authoritative = bool(answer.response.flags & dns.flags.AA)
        if answer.rrset is None:
            return RecordSet((), 0, authoritative)
        return RecordSet(tuple(answer.rrset), answer.rrset.ttl, authoritative)

    def zone_of(self, name: str) -> str:
        """The zone holding ``name``: the closest enclosing name with an SOA record."""
        import dns.resolver

        lifetime = self._lifetime(name)
        try:
            zone = dns.resolver.zone_for_name(name, resolver=self._resolver, lifetime=lifetime)
        except dns.exception.Timeout as error:
            raise self._timed_out(name, lifetime) from error
        except dns.exception.DNSException as error:
            raise DnsFailure(name, _failure_reason(error)) from error
        return zone.to_text()

    def record_count(self, name: str, rtype: str) -> int:
        return len(self.query(name, rtype).rdatas)

    def txt(self, name: str) -> Sequence[str]:
        import dns.rdtypes.txtbase

        rdatas = self.query(name, "TXT").rdatas
        return [
            b"".join(rdata.strings).decode("utf-8", "replace")
            for rdata in rdatas
            if isinstance(rdata, dns.rdtypes.txtbase.TXTBase)
        ]


def _failure_reason(error: dns.exception.DNSException) -> str:
    """What the servers answered (SERVFAIL, REFUSED…), or what was wrong with their answers."""
    import dns.message
    import dns.resolver

    if not isinstance(error, dns.resolver.NoNameservers):
        return type(error).__name__
    # dnspython lists (server, tcp, port, rcode text or exception, response) per attempt; a
    # truncated UDP answer is only the signal to ask again over TCP.
    causes = [
        cause if isinstance(cause, str) else _exception_reason(cause)
        for _, _, _, cause, _ in error.kwargs.get("errors", [])
        if not isinstance(cause, dns.message.Truncated)
    ]
    return ", ".join(dict.fromkeys(causes)) or "no nameserver to ask"


def _exception_reason(error: object) -> str:
    name = type(error).__name__
    return f"malformed answer ({name})" if isinstance(error, dns.exception.DNSException) else name
