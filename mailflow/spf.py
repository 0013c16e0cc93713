"""SPF (RFC 7208): terms, the one place an SPF record is built, lookup counting, TXT splitting."""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from mailflow.names import normalize_name
from mailflow.resolvers import Resolver, UnknownName

MAX_LOOKUPS = 10
"""RFC 7208 §4.6.4: more DNS-querying terms than this is a permerror."""
MAX_STRING_BYTES = 255
"""RFC 1035 §3.3: one TXT character-string holds at most 255 bytes."""
WARN_RECORD_BYTES = 450
"""Above this the answer risks exceeding 512 bytes over UDP (checkdmarc warns at the same size)."""

ALL_QUALIFIERS = {"fail": "-", "softfail": "~", "neutral": "?"}

_LOOKUP_MECHANISMS = frozenset({"include", "a", "mx", "ptr", "exists"})
# Evaluation stops at the first match, so cheap IP terms go before terms that query DNS.
_MECHANISM_ORDER = {"ip4": 0, "ip6": 1, "a": 2, "mx": 3, "include": 4, "exists": 5}
_MACRO = re.compile(r"%\{[slodiphcrtv]\d*r?[.\-+,/_=]*\}|%%|%_|%-")
_DOMAIN_SPEC_CHARS = re.compile(r"^[\x21-\x7e]+$")
_CIDR_SUFFIX = re.compile(r"^(?P<spec>[^/]*)(?:/(?P<v4>\d{1,2}))?(?://(?P<v6>\d{1,3}))?$")


class SpfTermError(ValueError):
    """A term that is not valid SPF, or that mailflow refuses to publish."""


@dataclass(frozen=True, order=False)
class SpfTerm:
    """One mechanism of an SPF record, e.g. ``ip4:10.10.10.1`` or ``include:spf.protection.outlook.com``."""

    mechanism: str
    argument: str = ""
    qualifier: str = ""

    @property
    def text(self) -> str:
        if self.mechanism in ("ip4", "ip6", "include", "exists"):
            return f"{self.qualifier}{self.mechanism}:{self.argument}"
        # a and mx: the argument holds ":domain" and/or "/cidr" exactly as written.
        return f"{self.qualifier}{self.mechanism}{self.argument}"

    @property
    def costs_lookup(self) -> bool:
        return self.mechanism in _LOOKUP_MECHANISMS

    @property
    def include_target(self) -> str | None:
        return self.argument if self.mechanism == "include" and "%" not in self.argument else None

    def sort_key(self) -> tuple[int, bytes, int, str]:
        """Mechanism class, then numeric address order for ip4/ip6, then text."""
        order = _MECHANISM_ORDER[self.mechanism]
        if self.mechanism in ("ip4", "ip6"):
            address, _, prefix = self.argument.partition("/")
            family = socket.AF_INET if self.mechanism == "ip4" else socket.AF_INET6
            return (order, socket.inet_pton(family, address), int(prefix or 129), "")
        return (order, b"", 0, self.argument)


def _check_domain_spec(spec: str, term: str) -> str:
    if not _DOMAIN_SPEC_CHARS.match(spec):
        raise SpfTermError(f"'{term}' has an empty or non-printable domain")
    if "%" in spec:
        leftover = _MACRO.sub("", spec)
        if "%" in leftover:
            raise SpfTermError(f"'{term}' has an invalid macro (RFC 7208 §7.1)")
        return spec
    try:
        return normalize_name(spec, hostname=False)
    except ValueError as error:
        raise SpfTermError(f"'{term}': domain {error}") from None


def _parse_network(version: int, argument: str, term: str) -> str:
    try:
        network = ipaddress.ip_network(argument, strict=True)
    except ValueError as error:
        raise SpfTermError(f"'{term}' is not a valid ip{version} network ({error})") from None
    if network.version != version:
        raise SpfTermError(f"'{term}' holds an IPv{network.version} address; use ip{network.version}:")
    full = 32 if version == 4 else 128
    return str(network.network_address) if network.prefixlen == full else str(network)


@lru_cache(maxsize=8192)
def parse_term(text: str) -> SpfTerm:
    """Parse one SPF mechanism; raise ``SpfTermError`` naming what is wrong."""
    raw = text.strip()
    if not raw or " " in raw:
        raise SpfTermError(f"'{text}' is not one SPF term (terms are separated by spaces)")
    qualifier = raw[0] if raw[0] in "+-~?" else ""
    body = raw[len(qualifier) :]
    qualifier = qualifier.replace("+", "")  # "+" is the default: "+ip4:…" and "ip4:…" are one term
    lowered = body.lower()
    name, sep, argument = lowered.partition(":")
    if "=" in name:
        modifier = name.split("=", 1)[0]
        raise SpfTermError(
            f"'{text}': the {modifier}= modifier is not allowed here; mailflow builds the whole "
            "record and always ends it with an all term (RFC 7208 §6.1: redirect is then ignored)"
        )
    if name == "ptr" or name.startswith("ptr/"):
        raise SpfTermError(f"'{text}': ptr must not be used (RFC 7208 §5.5); list the IPs instead")
    if name == "all":
        raise SpfTermError(f"'{text}': the all term is set by spf.all, not in a term list")
    if name in ("ip4", "ip6"):
        if not sep or not argument:
            raise SpfTermError(f"'{text}' needs an address, e.g. {name}:192.0.2.1")
        return SpfTerm(name, _parse_network(int(name[-1]), argument, text), qualifier)
    if name in ("include", "exists"):
        if not sep or not argument:
            raise SpfTermError(f"'{text}' needs a domain, e.g. {name}:spf.example.com")
        return SpfTerm(name, _check_domain_spec(body.partition(":")[2], text), qualifier)
    mechanism = re.match(r"^(a|mx)(?=$|[:/])", lowered)
    if mechanism is None:
        raise SpfTermError(f"'{text}' is not an SPF mechanism (expected ip4, ip6, a, mx, include or exists)")
    rest = body[len(mechanism.group(1)) :]
    parts = _CIDR_SUFFIX.match(rest)
    if parts is None:
        raise SpfTermError(f"'{text}' has an invalid CIDR length")
    spec = parts.group("spec")
    if spec:
        if not spec.startswith(":") or len(spec) == 1:
            raise SpfTermError(f"'{text}' is not valid: expected {mechanism.group(1)}:domain")
        spec = ":" + _check_domain_spec(spec[1:], text)
    if parts.group("v4") and int(parts.group("v4")) > 32:
        raise SpfTermError(f"'{text}' has an IPv4 CIDR length over 32")
    if parts.group("v6") and int(parts.group("v6")) > 128:
        raise SpfTermError(f"'{text}' has an IPv6 CIDR length over 128")
    suffix = rest[len(parts.group("spec")) :]
    return SpfTerm(mechanism.group(1), spec + suffix, qualifier)


def order_terms(terms: Iterable[SpfTerm]) -> tuple[SpfTerm, ...]:
    """Deduplicate and put terms in a stable order, whatever order the config lists them in.

    Terms with an explicit qualifier are exceptions (``-ip4:…`` before a wider ``ip4:…``) and keep
    their config order at the front, since the first matching term decides the result.
    """
    unique = list(dict.fromkeys(terms))
    qualified = [t for t in unique if t.qualifier]
    passing = sorted((t for t in unique if not t.qualifier), key=SpfTerm.sort_key)
    return (*qualified, *passing)


@dataclass(frozen=True)
class SpfRecord:
    terms: tuple[SpfTerm, ...]
    """The published terms, ordered and deduplicated (the ``all`` term excluded)."""
    text: str


def build_record(terms: Iterable[SpfTerm], all_policy: str) -> SpfRecord:
    """The SPF record: ``v=spf1``, the ordered terms, then the ``all`` term."""
    ordered = order_terms(terms)
    parts = ["v=spf1", *(term.text for term in ordered), f"{ALL_QUALIFIERS[all_policy]}all"]
    return SpfRecord(ordered, " ".join(parts))


def split_strings(record: str) -> tuple[str, ...]:
    """Split a TXT value into character-strings of at most 255 bytes (receivers rejoin them)."""
    if len(record) <= MAX_STRING_BYTES and record.isascii():
        return (record,)
    data = record.encode("ascii")
    return tuple(
        data[i : i + MAX_STRING_BYTES].decode("ascii") for i in range(0, len(data), MAX_STRING_BYTES)
    ) or ("",)


@dataclass(frozen=True)
class LookupCount:
    """The RFC 7208 DNS lookup count of a record, nested includes and redirects included."""

    total: int
    unresolved: tuple[str, ...] = ()
    """Included names the resolver could not provide: their own nested lookups are not counted."""
    problems: tuple[str, ...] = ()
    """Faults in the include chain that make receivers return permerror."""


@dataclass
class LookupCounter:
    """Counts lookups through a resolver, remembering each included name's cost."""

    resolver: Resolver
    _costs: dict[str, LookupCount] = field(default_factory=dict)

    def count(self, terms: Iterable[SpfTerm]) -> LookupCount:
        total = 0
        unresolved: list[str] = []
        problems: list[str] = []
        for term in terms:
            if not term.costs_lookup:
                continue
            total += 1
            target = term.include_target
            if target is None:
                continue
            nested = self._include_cost(target, ())
            total += nested.total
            unresolved.extend(nested.unresolved)
            problems.extend(nested.problems)
        return LookupCount(total, tuple(dict.fromkeys(unresolved)), tuple(dict.fromkeys(problems)))

    def _include_cost(self, name: str, chain: tuple[str, ...]) -> LookupCount:
        """Lookups made inside the record at ``name`` (the include term itself not counted)."""
        if name in chain:
            return LookupCount(0, (), (f"include loop: {' -> '.join((*chain, name))}",))
        cached = self._costs.get(name)
        if cached is not None:
            return cached
        result = self._resolve_cost(name, chain)
        self._costs[name] = result
        return result

    def _resolve_cost(self, name: str, chain: tuple[str, ...]) -> LookupCount:
        try:
            records = [r for r in self.resolver.txt(name) if r.lower().startswith("v=spf1")]
        except UnknownName:
            return LookupCount(0, (name,))
        if not records:
            return LookupCount(0, (), (f"include:{name} has no SPF record (permerror)",))
        if len(records) > 1:
            return LookupCount(0, (), (f"{name} publishes {len(records)} SPF records (permerror)",))
        return self.count_record(records[0], name, chain)

    def count_record(self, record: str, name: str, chain: tuple[str, ...] = ()) -> LookupCount:
        """Lookups made by a published record (``name`` is where it is published)."""
        total = 0
        unresolved: list[str] = []
        problems: list[str] = []
        words = record.split()[1:]
        has_all = any(w.lstrip("+-~?").lower() == "all" for w in words)
        for word in words:
            lowered = word.lstrip("+-~?").lower()
            nested_target = None
            if lowered.startswith("redirect="):
                if has_all:
                    continue
                total += 1
                nested_target = word.split("=", 1)[1].lower()
            else:
                mechanism = re.split(r"[:/]", lowered, maxsplit=1)[0]
                if mechanism not in _LOOKUP_MECHANISMS:
                    continue
                total += 1
                if mechanism == "ptr":
                    problems.append(f"{name} uses ptr, which RFC 7208 §5.5 says not to use")
                if mechanism == "include":
                    nested_target = word.split(":", 1)[1].lower()
            if nested_target and "%" not in nested_target:
                nested = self._include_cost(nested_target, (*chain, name))
                total += nested.total
                unresolved.extend(nested.unresolved)
                problems.extend(nested.problems)
        return LookupCount(total, tuple(unresolved), tuple(problems))
