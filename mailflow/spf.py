"""SPF (RFC 7208): terms, the one place an SPF record is built, lookup counting, TXT splitting."""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from mailflow.names import normalize_name
from mailflow.resolvers import BudgetExhausted, Resolver, UnknownName

MAX_LOOKUPS = 10
"""RFC 7208 §4.6.4: more DNS-querying terms than this is a permerror."""
MAX_VOID_LOOKUPS = 2
"""RFC 7208 §4.6.4: more lookups that find nothing (NXDOMAIN, no records) than this is a permerror."""
EVALUATION_SECONDS = 20.0
"""RFC 7208 §4.6.4: the time limit on one evaluation SHOULD allow at least 20 seconds."""
MAX_STRING_BYTES = 255
"""RFC 1035 §3.3: one TXT character-string holds at most 255 bytes."""
WARN_RECORD_BYTES = 450
"""Above this the answer risks exceeding 512 bytes over UDP (checkdmarc warns at the same size)."""

ALL_QUALIFIERS = {"fail": "-", "softfail": "~", "neutral": "?"}

_LOOKUP_MECHANISMS = frozenset({"include", "a", "mx", "ptr", "exists"})
# Evaluation stops at the first match, so cheap IP terms go before terms that query DNS.
_MECHANISM_ORDER = {"ip4": 0, "ip6": 1, "a": 2, "mx": 3, "include": 4, "exists": 5}
_MECHANISMS = frozenset({*_MECHANISM_ORDER, "ptr", "all"})
_MECHANISM_NAME = re.compile(r"[a-z0-9]*", re.IGNORECASE | re.ASCII)
# RFC 7208 §7.1; macro letters and the reverse transformer are case-insensitive (§7.3).
_MACRO = re.compile(r"%\{[slodiphcrtv]\d*r?[.\-+,/_=]*\}|%%|%_|%-", re.IGNORECASE)
# RFC 7208 allows any visible character in a domain-spec; outside macros mailflow takes only what
# a DNS name in a TXT record holds without quoting or escaping.
_DOMAIN_SPEC_CHARACTER = re.compile(r"[A-Za-z0-9._-]")
_CIDR_SUFFIX = re.compile(r"^(?P<spec>[^/]*)(?:/(?P<v4>\d{1,2}))?(?://(?P<v6>\d{1,3}))?$")
_MODIFIER = re.compile(r"^(?P<name>[a-z][a-z0-9_.-]*)=(?P<value>.*)$", re.IGNORECASE | re.ASCII)


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
        # a, mx and ptr: the argument holds ":domain" and/or "/cidr" exactly as written.
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
    if not spec:
        raise SpfTermError(f"'{term}' has an empty domain")
    literal = _MACRO.sub("", spec)
    if "%" in literal:
        raise SpfTermError(f"'{term}' has an invalid macro (RFC 7208 §7.1)")
    refused = next((c for c in literal if not _DOMAIN_SPEC_CHARACTER.fullmatch(c)), None)
    if refused is not None:
        raise SpfTermError(
            f"'{term}': the domain holds {refused!r}; mailflow takes only letters, digits, '-', '_', "
            "'.' and RFC 7208 §7.1 macros in a domain"
        )
    if literal != spec:
        return spec
    try:
        return normalize_name(spec, hostname=False)
    except ValueError as error:
        raise SpfTermError(f"'{term}': domain {error}") from None


def _parse_network(version: int, argument: str, term: str, *, exact: bool) -> str:
    """``exact`` refuses host bits set beyond the prefix, which RFC 7208 lets receivers ignore."""
    try:
        network = ipaddress.ip_network(argument, strict=exact)
    except ValueError as error:
        raise SpfTermError(f"'{term}' is not a valid ip{version} network ({error})") from None
    if network.version != version:
        raise SpfTermError(f"'{term}' holds an IPv{network.version} address; use ip{network.version}:")
    if "%" in argument:
        raise SpfTermError(f"'{term}' has an IPv6 zone index, which SPF has no place for")
    full = 32 if version == 4 else 128
    return str(network.network_address) if network.prefixlen == full else str(network)


def _authorises_everyone(term: str) -> SpfTermError:
    return SpfTermError(
        f"'{term}' has a CIDR length of 0, which authorises every address, like +all; "
        "list the sender's networks instead"
    )


def _parse(text: str, *, published: bool) -> SpfTerm:
    """One SPF mechanism, or ``SpfTermError`` naming what is wrong with it. A term list in config
    is what mailflow publishes; ``published`` reads what another domain's record may hold as a
    receiver would (ptr, all, host bits set in a network, a CIDR length of 0)."""
    raw = text.strip()
    if not raw or " " in raw:
        raise SpfTermError(f"'{text}' is not one SPF term (terms are separated by spaces)")
    qualifier = raw[0] if raw[0] in "+-~?" else ""
    body = raw[len(qualifier) :]
    qualifier = qualifier.replace("+", "")  # "+" is the default: "+ip4:…" and "ip4:…" are one term
    modifier = _MODIFIER.match(body)
    if modifier:
        raise SpfTermError(
            f"'{text}': the {modifier['name'].lower()}= modifier is not allowed here; mailflow builds "
            "the whole record and always ends it with an all term (RFC 7208 §6.1: redirect is then "
            "ignored)"
        )
    name_end = _MECHANISM_NAME.match(body)
    assert name_end is not None  # the pattern matches the empty string
    mechanism, rest = body[: name_end.end()].lower(), body[name_end.end() :]
    if mechanism not in _MECHANISMS or rest[:1] not in ("", ":", "/"):
        raise SpfTermError(f"'{text}' is not an SPF mechanism (expected ip4, ip6, a, mx, include or exists)")
    if mechanism == "all":
        if not published:
            raise SpfTermError(f"'{text}': the all term is set by spf.all, not in a term list")
        if rest:
            raise SpfTermError(f"'{text}': all takes no argument")
        return SpfTerm(mechanism, "", qualifier)
    if mechanism == "ptr" and not published:
        raise SpfTermError(f"'{text}': ptr must not be used (RFC 7208 §5.5); list the IPs instead")
    if mechanism in ("ip4", "ip6"):
        if not rest[1:] or rest[0] != ":":
            raise SpfTermError(f"'{text}' needs an address, e.g. {mechanism}:192.0.2.1")
        network = _parse_network(int(mechanism[-1]), rest[1:], text, exact=not published)
        if not published and network.endswith("/0"):
            raise _authorises_everyone(text)
        return SpfTerm(mechanism, network, qualifier)
    if mechanism in ("include", "exists"):
        if not rest[1:] or rest[0] != ":":
            raise SpfTermError(f"'{text}' needs a domain, e.g. {mechanism}:spf.example.com")
        return SpfTerm(mechanism, _check_domain_spec(rest[1:], text), qualifier)
    parts = _CIDR_SUFFIX.match(rest)
    if parts is None or (mechanism == "ptr" and len(parts["spec"]) != len(rest)):
        raise SpfTermError(f"'{text}' has an invalid CIDR length")
    spec = parts["spec"]
    if spec:
        if len(spec) == 1:
            raise SpfTermError(f"'{text}' is not valid: expected {mechanism}:domain")
        spec = ":" + _check_domain_spec(spec[1:], text)
    for family, maximum in (("v4", 32), ("v6", 128)):
        length = parts[family]
        if length and int(length) > maximum:
            raise SpfTermError(f"'{text}' has an IP{family} CIDR length over {maximum}")
        if length and int(length) == 0 and not published:
            raise _authorises_everyone(text)
    return SpfTerm(mechanism, spec + rest[len(parts["spec"]) :], qualifier)


@lru_cache(maxsize=8192)
def parse_term(text: str) -> SpfTerm:
    """Parse one SPF mechanism of a term list in config; raise ``SpfTermError`` naming what is
    wrong, or why mailflow refuses to publish it."""
    return _parse(text, published=False)


def is_spf_record(text: str) -> bool:
    """RFC 7208 §4.5: an SPF record starts with the version ``v=spf1``, then a space or its end."""
    return text[:6].lower() == "v=spf1" and text[6:7] in ("", " ")


@dataclass(frozen=True)
class _PublishedRecord:
    """Another domain's SPF record, read as far as counting its lookups needs."""

    terms: tuple[SpfTerm, ...]
    redirect: str | None
    """The redirect= target, when no all term makes receivers ignore it (RFC 7208 §6.1)."""
    errors: tuple[str, ...]
    """Terms receivers cannot evaluate (permerror)."""


@lru_cache(maxsize=4096)
def _parse_record(record: str) -> _PublishedRecord:
    terms: list[SpfTerm] = []
    errors: list[str] = []
    redirect = None
    for word in record.split()[1:]:
        try:
            modifier = _MODIFIER.match(word)
            if modifier is None:
                terms.append(_parse(word, published=True))
            # Other modifiers make no lookup that counts (exp= is read only to explain a fail).
            elif modifier["name"].lower() == "redirect":
                redirect = _check_domain_spec(modifier["value"], word)
        except SpfTermError as error:
            errors.append(f"{error} (permerror)")
    has_all = any(term.mechanism == "all" for term in terms)
    return _PublishedRecord(tuple(terms), None if has_all else redirect, tuple(errors))


def record_terms(record: str) -> tuple[SpfTerm, ...]:
    """The mechanisms of a published SPF record, in its order (those receivers cannot read left out)."""
    return _parse_record(record).terms


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
    """Counting stops past ``MAX_LOOKUPS``, as receivers do: ``MAX_LOOKUPS + 1`` means more than
    the limit."""
    unresolved: tuple[str, ...] = ()
    """Included names the resolver could not provide, each with the reason when it has one: their
    own nested lookups are not counted, so ``total`` is a lower bound."""
    problems: tuple[str, ...] = ()
    """Faults in the include chain that make receivers return permerror."""

    @property
    def over_limit(self) -> bool:
        return self.total > MAX_LOOKUPS


@dataclass
class _Evaluation:
    """The running state of one count: RFC 7208 §4.6.4 limits a whole evaluation, nested records
    included."""

    lookups: int = 0
    voids: int = 0
    unresolved: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    stopped: bool = False

    def spend(self, lookups: int) -> bool:
        """Count ``lookups``; past the limit, stop at ``MAX_LOOKUPS + 1`` and return False."""
        self.lookups = min(self.lookups + lookups, MAX_LOOKUPS + 1)
        self.stopped = self.stopped or self.lookups > MAX_LOOKUPS
        return not self.stopped

    def void(self) -> bool:
        """Count a lookup that found nothing; past ``MAX_VOID_LOOKUPS``, stop and return False."""
        self.voids += 1
        if self.voids > MAX_VOID_LOOKUPS:
            self.problems.append(
                f"more than {MAX_VOID_LOOKUPS} lookups found nothing (RFC 7208 §4.6.4: permerror)"
            )
            self.stopped = True
        return not self.stopped

    def mark(self) -> tuple[int, int, int]:
        """What changes when a nested record has a fault or an unknown part."""
        return (self.voids, len(self.problems), len(self.unresolved))

    def result(self) -> LookupCount:
        return LookupCount(
            self.lookups, tuple(dict.fromkeys(self.unresolved)), tuple(dict.fromkeys(self.problems))
        )


@dataclass
class LookupCounter:
    """Counts lookups through a resolver as a receiver evaluates a record (RFC 7208 §4.6.4): at
    most ``MAX_LOOKUPS`` DNS-querying terms and ``MAX_VOID_LOOKUPS`` void lookups, and ``seconds``
    of resolver time, per count. So one count asks the resolver at most ``MAX_LOOKUPS`` times
    whatever the records it reads hold."""

    resolver: Resolver
    seconds: float = EVALUATION_SECONDS
    _answers: dict[str, Sequence[str] | UnknownName] = field(default_factory=dict, init=False, repr=False)
    """Each name is asked once: the same includes recur across the domains of a stack, and a
    name that failed (a server that never answers) would cost its timeout again per domain."""
    _record_counts: dict[str, int | UnknownName | None] = field(default_factory=dict, init=False, repr=False)
    """Host lookups of ``a`` and ``mx`` terms, as ``_answers`` keeps TXT answers."""
    _costs: dict[str, int] = field(default_factory=dict, init=False, repr=False)
    """Lookups inside a name's record whose whole tree was counted without fault or unknown
    part: reading it again would give the same number (planning 10,000 domains reads
    Microsoft's include 10,000 times)."""

    def count(self, terms: Iterable[SpfTerm]) -> LookupCount:
        """Lookups made by ``terms`` (a record's mechanisms), nested includes included."""
        evaluation = _Evaluation()
        with self.resolver.within(self.seconds):
            self._walk(tuple(terms), None, evaluation, ())
        return evaluation.result()

    def count_record(self, record: str, name: str) -> LookupCount:
        """Lookups made by a published record (``name`` is where it is published)."""
        evaluation = _Evaluation()
        with self.resolver.within(self.seconds):
            self._walk_record(record, name.lower().rstrip("."), evaluation, ())
        return evaluation.result()

    def _walk_record(self, record: str, name: str, evaluation: _Evaluation, chain: tuple[str, ...]) -> None:
        parsed = _parse_record(record)
        evaluation.problems.extend(f"{name}: {error}" for error in parsed.errors)
        if any(term.mechanism == "ptr" for term in parsed.terms):
            evaluation.problems.append(f"{name} uses ptr, which RFC 7208 §5.5 says not to use")
        self._walk(parsed.terms, parsed.redirect, evaluation, (*chain, name))

    def _walk(
        self,
        terms: tuple[SpfTerm, ...],
        redirect: str | None,
        evaluation: _Evaluation,
        chain: tuple[str, ...],
    ) -> None:
        for term in terms:
            if not term.costs_lookup:
                continue
            if not evaluation.spend(1):
                return
            if term.include_target is not None:
                self._follow("include", term.include_target, evaluation, chain)
            elif term.mechanism in ("a", "mx"):
                self._hosts(term, chain[-1] if chain else None, evaluation)
            if evaluation.stopped:
                return
        if redirect is not None and evaluation.spend(1) and "%" not in redirect:
            self._follow("redirect", redirect, evaluation, chain)

    def _follow(self, kind: str, name: str, evaluation: _Evaluation, chain: tuple[str, ...]) -> None:
        """Count the record at ``name``, which an include or redirect term names."""
        if name in chain:
            evaluation.problems.append(f"include loop: {' -> '.join((*chain, name))}")
            return
        cost = self._costs.get(name)
        if cost is not None:
            evaluation.spend(cost)
            return
        answer = self._txt(name)
        if isinstance(answer, UnknownName):
            evaluation.unresolved.append(str(answer))
            return
        if not answer and not evaluation.void():
            return
        records = [record for record in answer if is_spf_record(record)]
        if len(records) != 1:
            evaluation.problems.append(
                f"{name} publishes {len(records)} SPF records (permerror)"
                if records
                else f"{kind}:{name} has no SPF record (permerror)"
            )
            return
        lookups, before = evaluation.lookups, evaluation.mark()
        self._walk_record(records[0], name, evaluation, chain)
        if not evaluation.stopped and evaluation.mark() == before:
            self._costs[name] = evaluation.lookups - lookups

    def _hosts(self, term: SpfTerm, current: str | None, evaluation: _Evaluation) -> None:
        """What an ``a`` or ``mx`` term finds, where the resolver can tell (live DNS): nothing is
        a void lookup, and more than ``MAX_LOOKUPS`` MX hosts a permerror (RFC 7208 §4.6.4)."""
        spec = _CIDR_SUFFIX.match(term.argument.removeprefix(":"))
        name = (spec.group("spec") if spec else "") or current
        if not name or "%" in name:
            return  # the domain being evaluated, unknown for a record not yet published, or a macro
        kinds = ("MX",) if term.mechanism == "mx" else ("A", "AAAA")
        try:
            counts = [self._count(name.lower().rstrip("."), kind) for kind in kinds]
        except UnknownName as error:
            evaluation.unresolved.append(str(error))
            return
        if None in counts:
            return
        found = sum(count or 0 for count in counts)
        if found == 0:
            evaluation.void()
        elif term.mechanism == "mx" and found > MAX_LOOKUPS:
            evaluation.problems.append(
                f"{term.text}: {name} has {found} MX records; more than {MAX_LOOKUPS} is a permerror "
                "(RFC 7208 §4.6.4)"
            )

    def _count(self, name: str, rtype: str) -> int | None:
        key = f"{rtype} {name}"
        if key not in self._record_counts:
            try:
                self._record_counts[key] = self.resolver.record_count(name, rtype)
            except BudgetExhausted:
                raise  # not kept: the next count has a budget of its own
            except UnknownName as error:
                self._record_counts[key] = error
        answer = self._record_counts[key]
        if isinstance(answer, UnknownName):
            raise answer
        return answer

    def _txt(self, name: str) -> Sequence[str] | UnknownName:
        answer = self._answers.get(name)
        if answer is None:
            try:
                answer = self.resolver.txt(name)
            except BudgetExhausted as error:
                return error  # not kept: the next count has a budget of its own
            except UnknownName as error:
                answer = error
            self._answers[name] = answer
        return answer
