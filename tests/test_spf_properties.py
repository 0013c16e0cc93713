"""Property tests: for generated topologies the SPF record is valid to an independent evaluator
(pyspf, offline against the bundled snapshot), within 10 lookups, and authorises exactly the
configured senders; any text either parses to a term that reads back the same, or is refused."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import spf as pyspf
from conftest import plan_domains
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailflow.resolvers import bundled_snapshot
from mailflow.spf import MAX_STRING_BYTES, SpfTermError, parse_term
from mailflow.topology import third_party_sends_outbound

OUTSIDER = "192.0.2.1"  # TEST-NET-1: never generated below, in no snapshot range
EXO_SENDER = "40.92.0.1"  # inside spf.protection.outlook.com's 40.92.0.0/15
MIMECAST_EU_SENDER = "195.130.217.1"  # inside eu._netblocks.mimecast.com's 195.130.217.0/24
REGIONAL_INCLUDES = ["eu._netblocks.mimecast.com", "us._netblocks.mimecast.com", "de._netblocks.mimecast.com"]
TEST_NET_1 = ipaddress.ip_network("192.0.2.0/24")

ipv4_networks = st.builds(
    lambda address, prefix: ipaddress.ip_network(f"{address}/{prefix}", strict=False),
    st.ip_addresses(v=4, network="198.18.0.0/15") | st.ip_addresses(v=4, network="203.0.113.0/24"),
    st.integers(24, 32),
)
ipv6_networks = st.builds(
    lambda address, prefix: ipaddress.ip_network(f"{address}/{prefix}", strict=False),
    st.ip_addresses(v=6, network="2001:db8::/32"),
    st.integers(48, 128),
)
networks = st.lists(ipv4_networks | ipv6_networks, min_size=1, max_size=25, unique=True)


def _text(network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> str:
    return str(network.network_address) if network.prefixlen == network.max_prefixlen else str(network)


def _term(network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> str:
    return f"ip{network.version}:{_text(network)}"


@st.composite
def domains(draw: st.DrawFn) -> dict[str, Any]:
    topology = draw(
        st.sampled_from(
            [
                "exchange-online",
                "third-party-front",
                "hybrid-exo-front",
                "hybrid-onprem-front",
                "third-party-hybrid",
            ]
        )
    )
    domain: dict[str, Any] = {
        "name": "example.com",
        "topology": topology,
        "spf": {"all": draw(st.sampled_from(["fail", "softfail"]))},
    }
    if topology in ("third-party-front", "third-party-hybrid"):
        vendor_terms = [_term(n) for n in draw(st.lists(ipv4_networks, max_size=4))]
        vendor_terms += draw(st.lists(st.sampled_from(REGIONAL_INCLUDES), max_size=3, unique=True))
        domain["thirdParty"] = {
            "name": "filter",
            "mx": [{"host": "mx1.filter.example.net"}],
            "spf": [f"include:{t}" if "mimecast" in t else t for t in vendor_terms],
            "sendsOutbound": draw(st.booleans()),
        }
    if topology in ("hybrid-exo-front", "hybrid-onprem-front", "third-party-hybrid"):
        domain["onPremises"] = {"ips": [_text(n) for n in draw(networks)], "mxHost": "mail.example.com"}
    return domain


@contextmanager
def offline_dns(zone: dict[str, list[bytes]]) -> Iterator[None]:
    """Serve pyspf's TXT lookups from the domain's planned record and the bundled snapshot."""
    snapshot = bundled_snapshot()

    def lookup(name: str, qtype: str, *args: Any, **kwargs: Any) -> list[Any]:
        key = name.lower().rstrip(".")
        if qtype != "TXT":
            return []
        if key in zone:
            return [((name, qtype), tuple(zone[key]))]
        records = snapshot.records.get(key, {}).get("TXT", [])
        return [((name, qtype), (record.encode(),)) for record in records]

    original = pyspf.DNSLookup
    pyspf.DNSLookup = lookup
    try:
        yield
    finally:
        pyspf.DNSLookup = original


def evaluate(ip: str) -> str:
    result, _, _ = pyspf.query(i=ip, s="postmaster@example.com", h="mail.example.com").check()
    return str(result)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(domains())
def test_spf_authorises_exactly_the_configured_senders(domain: dict[str, Any]) -> None:
    plan = plan_domains(domain).domains[0]
    spf_rdata = next(
        r.rdata for r in plan.records if r.type == "TXT" and r.rdata.strings[0].startswith(b"v=spf1")
    )
    assert all(len(s) <= MAX_STRING_BYTES for s in spf_rdata.strings)
    assert plan.spf_lookups.total <= 10

    senders = [EXO_SENDER]
    if plan.config.on_premises:
        senders += [ip.split("/")[0] for ip in plan.config.on_premises.ips]
    third_party = plan.config.third_party
    if third_party and third_party_sends_outbound(plan.config):
        senders += [t.argument.split("/")[0] for t in third_party.spf if t.mechanism == "ip4"]
        if any(t.argument == "eu._netblocks.mimecast.com" for t in third_party.spf):
            senders.append(MIMECAST_EU_SENDER)
    elif third_party:
        on_premises = plan.config.on_premises.ips if plan.config.on_premises else []
        on_premises_terms = {f"ip{'6' if ':' in ip else '4'}:{ip}" for ip in on_premises}
        published = set(plan.spf.split())
        assert all(t.text not in published for t in third_party.spf if t.text not in on_premises_terms)

    with offline_dns({"example.com": list(spf_rdata.strings)}):
        for sender in senders:
            assert evaluate(sender) == "pass", (sender, plan.spf)
        expected_outsider = "fail" if plan.config.spf.all == "fail" else "softfail"
        assert evaluate(OUTSIDER) == expected_outsider, plan.spf


# Text near SPF terms: a qualifier, a mechanism or modifier name, then characters SPF terms hold
# and some they must not.
spf_like_text = st.builds(
    lambda qualifier, name, rest: qualifier + name + rest,
    st.sampled_from(["", "+", "-", "~", "?"]),
    st.sampled_from(
        ["ip4:", "ip6:", "a", "mx", "include:", "exists:", "ptr", "all", "redirect=", "A:", "MX:"]
    ),
    st.text(alphabet=st.sampled_from(list('0123456789abcdefABCDEF.:/%{}_-=()";\t ä')) | st.characters()),
)


@settings(max_examples=3000, deadline=None)
@given(st.text() | spf_like_text)
def test_any_text_parses_to_a_term_that_reads_back_the_same_or_is_refused(text: str) -> None:
    try:
        term = parse_term(text)
    except SpfTermError:
        return
    assert parse_term(term.text) == term
