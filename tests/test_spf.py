"""SPF terms, building, lookup counting through a resolver, and TXT string splitting."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager

import pytest
from conftest import config_problems, plan_domains

from mailflow.resolvers import SnapshotResolver, UnknownName, bundled_snapshot
from mailflow.spf import (
    MAX_LOOKUPS,
    LookupCounter,
    SpfTermError,
    build_record,
    order_terms,
    parse_term,
    split_strings,
)


def snapshot(**records: str | list[str]) -> SnapshotResolver:
    return SnapshotResolver(
        {name.replace("_", "."): {"TXT": [v] if isinstance(v, str) else v} for name, v in records.items()},
        "test",
    )


@pytest.mark.parametrize(
    ("text", "normal"),
    [
        ("ip4:10.10.10.1", "ip4:10.10.10.1"),
        ("ip4:10.10.10.1/32", "ip4:10.10.10.1"),
        ("ip4:10.10.10.0/24", "ip4:10.10.10.0/24"),
        ("IP6:2001:DB8::/32", "ip6:2001:db8::/32"),
        ("include:Spf.Protection.Outlook.com", "include:spf.protection.outlook.com"),
        ("a:dispatch-us.ppe-hosted.com", "a:dispatch-us.ppe-hosted.com"),
        ("a", "a"),
        ("mx/24", "mx/24"),
        ("a:mail.example.com/24//64", "a:mail.example.com/24//64"),
        ("exists:%{i}.spf.abc.iphmx.com", "exists:%{i}.spf.abc.iphmx.com"),
        ("~include:_spf.example.com", "~include:_spf.example.com"),
        ("exists:%{I}.%{L1r}._spf.example.com", "exists:%{I}.%{L1r}._spf.example.com"),
        ("ip4:0.0.0.0/1", "ip4:0.0.0.0/1"),
    ],
)
def test_valid_terms_parse_to_their_normal_form(text: str, normal: str) -> None:
    assert parse_term(text).text == normal


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("ptr", "ptr must not be used"),
        ("ptr:example.com", "ptr must not be used"),
        ("-all", "set by spf.all"),
        ("redirect=_spf.example.com", "redirect= modifier is not allowed"),
        ("ip4:10.10.10.999", "not a valid ip4 network"),
        ("ip4:2001:db8::1", "use ip6:"),
        ("ip4:10.0.0.1/24", "not a valid ip4 network"),
        ("include:", "needs a domain"),
        ("include:localhost", "not a fully qualified name"),
        ("exists:%{z}.example.com", "invalid macro"),
        ("mx:example.com/33", "CIDR length over 32"),
        ("foo:bar", "not an SPF mechanism"),
        ("ip4:1.2.3.4 ip4:5.6.7.8", "not one SPF term"),
        ("ip6:fe80::1%eth0", "zone index"),
        ("all", "set by spf.all"),
        ("include-x:example.com", "not an SPF mechanism"),
    ],
)
def test_invalid_terms_are_refused_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(SpfTermError, match=reason):
        parse_term(text)


@pytest.mark.parametrize(
    "text",
    ["ip4:0.0.0.0/0", "ip6:::/0", "a/0", "a//0", "a:mail.example.com/0", "mx//0", "mx:mail.example.com/0//0"],
)
def test_a_cidr_length_of_0_is_refused_like_plus_all(text: str) -> None:
    with pytest.raises(SpfTermError, match="authorises every address, like \\+all"):
        parse_term(text)


@pytest.mark.parametrize(
    ("text", "character"),
    [
        ('include:spf"x.example.com', '"'),
        ("include:spf(x).example.com", "("),
        ("a:mail;x.example.com", ";"),
        ("exists:%{i}.spf\\x.example.com", "\\"),
        ("mx:mail.example.com)", ")"),
        ("include:spf.exämple.com", "ä"),
        ("include:spf.exa\tmple.com", "\t"),
    ],
)
def test_a_domain_with_characters_outside_names_and_macros_is_refused(text: str, character: str) -> None:
    with pytest.raises(SpfTermError, match="mailflow takes only letters, digits") as refused:
        parse_term(text)
    assert f"the domain holds {character!r}" in str(refused.value)


def test_terms_are_deduplicated_and_ordered_cheapest_first() -> None:
    terms = [
        parse_term(t)
        for t in [
            "include:b.example.com",
            "ip6:2001:db8::1",
            "ip4:131.107.21.231",
            "include:a.example.com",
            "ip4:10.10.10.1",
            "a:mail.example.com",
            "ip4:10.10.10.1/32",
        ]
    ]
    assert [t.text for t in order_terms(terms)] == [
        "ip4:10.10.10.1",
        "ip4:131.107.21.231",
        "ip6:2001:db8::1",
        "a:mail.example.com",
        "include:a.example.com",
        "include:b.example.com",
    ]


def test_qualified_terms_keep_their_place_in_front() -> None:
    terms = [parse_term(t) for t in ["ip4:10.0.0.0/8", "-ip4:10.0.0.1", "+ip4:192.0.2.1"]]
    assert build_record(terms, "softfail").text == ("v=spf1 -ip4:10.0.0.1 ip4:10.0.0.0/8 ip4:192.0.2.1 ~all")


def test_split_strings_keeps_each_string_within_255_bytes() -> None:
    record = "v=spf1 " + " ".join(f"ip4:192.0.2.{i}" for i in range(60)) + " -all"
    strings = split_strings(record)
    assert len(strings) == 4
    assert all(len(s.encode()) <= 255 for s in strings)
    assert "".join(strings) == record


def test_long_spf_is_one_record_of_several_strings_with_a_size_warning(seed_domain) -> None:
    seed_domain["spf"] = {"extra": [f"ip4:192.0.2.{i}" for i in range(40)]}
    domain = plan_domains(seed_domain).domains[0]
    spf_records = [r for r in domain.records if r.type == "TXT" and b"v=spf1" in r.rdata.strings[0]]
    assert len(spf_records) == 1
    assert len(spf_records[0].rdata.strings) == 3
    assert b"".join(spf_records[0].rdata.strings).decode() == domain.spf
    assert any("over 450" in w.message for w in domain.warnings)


def test_nested_includes_are_counted_through_the_resolver() -> None:
    resolver = snapshot(
        **{
            "a_example_com": "v=spf1 include:b.example.com include:c.example.com -all",
            "b_example_com": "v=spf1 a:x.example.com mx -all",
            "c_example_com": "v=spf1 ip4:192.0.2.0/24 -all",
        }
    )
    count = LookupCounter(resolver).count([parse_term("include:a.example.com")])
    assert count.total == 5
    assert count.problems == () and count.unresolved == ()


def test_redirect_counts_unless_an_all_term_is_present() -> None:
    resolver = snapshot(
        **{
            "r_example_com": "v=spf1 redirect=t.example.com",
            "t_example_com": "v=spf1 include:u.example.com -all",
            "u_example_com": "v=spf1 ip4:192.0.2.1 -all",
            "s_example_com": "v=spf1 ip4:192.0.2.2 redirect=t.example.com -all",
        }
    )
    counter = LookupCounter(resolver)
    assert counter.count([parse_term("include:r.example.com")]).total == 3
    assert counter.count([parse_term("include:s.example.com")]).total == 1


def test_include_chain_faults_are_reported() -> None:
    resolver = snapshot(
        **{
            "loop_example_com": "v=spf1 include:loop.example.com -all",
            "two_example_com": ["v=spf1 -all", "v=spf1 ip4:192.0.2.1 -all"],
            "none_example_com": ["google-site-verification=abc"],
        }
    )
    counter = LookupCounter(resolver)
    assert "include loop" in counter.count([parse_term("include:loop.example.com")]).problems[0]
    assert "publishes 2 SPF records" in counter.count([parse_term("include:two.example.com")]).problems[0]
    assert "has no SPF record" in counter.count([parse_term("include:none.example.com")]).problems[0]


def test_bundled_snapshot_counts_microsoft_and_mimecast() -> None:
    counter = LookupCounter(bundled_snapshot())
    assert counter.count([parse_term("include:spf.protection.outlook.com")]).total == 1
    assert counter.count([parse_term("include:_netblocks.mimecast.com")]).total == 7
    with pytest.raises(UnknownName):
        bundled_snapshot().txt("not-in-snapshot.example")


def test_more_than_ten_lookups_is_refused_with_each_terms_cost(seed_domain) -> None:
    seed_domain["thirdParty"]["spf"] = ["include:_netblocks.mimecast.com"]
    seed_domain["spf"] = {"extra": ["a:mail1.contoso.com", "a:mail2.contoso.com", "mx:contoso.com"]}
    problems = config_problems({"domains": [seed_domain]})
    assert len(problems) == 1
    assert problems[0].startswith("mailflow:domains[0].spf: the SPF record needs more than 10 DNS lookups")
    assert "include:_netblocks.mimecast.com (7)" in problems[0]


def test_ten_lookups_is_accepted(seed_domain) -> None:
    seed_domain["thirdParty"]["spf"] = ["include:_netblocks.mimecast.com"]
    seed_domain["spf"] = {"extra": ["a:mail1.contoso.com", "mx:contoso.com"]}
    assert plan_domains(seed_domain).domains[0].spf_lookups.total == 10


class CountingResolver:
    """The snapshot, counting the names it is asked for."""

    def __init__(self, resolver: SnapshotResolver) -> None:
        self.snapshot = resolver
        self.asked: list[str] = []

    def txt(self, name: str) -> Sequence[str]:
        self.asked.append(name)
        return self.snapshot.txt(name)

    def within(self, seconds: float) -> AbstractContextManager[None]:
        return self.snapshot.within(seconds)


def chain(length: int) -> SnapshotResolver:
    """n0.example.com includes n1.example.com, … up to n{length}."""
    records = {f"n{i}_example_com": f"v=spf1 include:n{i + 1}.example.com -all" for i in range(length)}
    return snapshot(**records, **{f"n{length}_example_com": "v=spf1 -all"})


def test_counting_stops_past_the_limit_and_asks_no_more() -> None:
    resolver = CountingResolver(chain(50))
    count = LookupCounter(resolver).count([parse_term("include:n0.example.com")])
    assert count.total == MAX_LOOKUPS + 1 and count.over_limit
    assert len(resolver.asked) == MAX_LOOKUPS


def test_a_count_is_the_same_whether_its_includes_were_counted_before() -> None:
    texts = ["a", "mx", "a:mail.example.com", "mx:mail.example.com", "include:_netblocks.mimecast.com"]
    terms = [parse_term(t) for t in texts]
    counter = LookupCounter(bundled_snapshot())
    assert counter.count([terms[-1]]).total == 7
    assert counter.count(terms) == LookupCounter(bundled_snapshot()).count(terms)
    assert counter.count(terms).total == MAX_LOOKUPS + 1


def test_more_than_two_void_lookups_is_a_permerror_and_stops_the_count() -> None:
    resolver = CountingResolver(snapshot(**{f"v{i}_example_com": [] for i in range(5)}))
    terms = [parse_term(f"include:v{i}.example.com") for i in range(5)]
    count = LookupCounter(resolver).count(terms)
    assert count.problems[-1] == "more than 2 lookups found nothing (RFC 7208 §4.6.4: permerror)"
    assert len(resolver.asked) == 3


def test_a_published_record_is_counted_with_ptr_and_modifiers() -> None:
    resolver = snapshot(
        **{
            "t_example_com": "v=spf1 ptr a/24 exp=explain.example.com redirect=u.example.com",
            "u_example_com": "v=spf1 mx:mail.example.com/0 ip4:192.0.2.1/24 -all",
        }
    )
    count = LookupCounter(resolver).count_record("v=spf1 include:t.example.com -all", "example.com")
    assert count.total == 5
    assert count.problems == ("t.example.com uses ptr, which RFC 7208 §5.5 says not to use",)


def test_a_term_receivers_cannot_read_in_a_published_record_is_a_problem() -> None:
    count = LookupCounter(snapshot()).count_record("v=spf1 foo:bar a include:x(y).com -all", "example.com")
    assert count.total == 1
    assert count.problems == (
        "example.com: 'foo:bar' is not an SPF mechanism (expected ip4, ip6, a, mx, include or exists) "
        "(permerror)",
        "example.com: 'include:x(y).com': the domain holds '('; mailflow takes only letters, digits, "
        "'-', '_', '.' and RFC 7208 §7.1 macros in a domain (permerror)",
    )


def test_an_include_the_resolver_cannot_give_is_named_not_counted_as_nothing() -> None:
    count = LookupCounter(snapshot()).count_record("v=spf1 include:elsewhere.example -all", "example.com")
    assert (count.total, count.unresolved) == (1, ("elsewhere.example",))
