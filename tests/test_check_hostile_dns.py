"""`mailflow check` and `plan --live-spf` against a DNS server on loopback that fails, never
answers, or serves hostile SPF: every record set is reported, a failed query is a finding (exit 3),
the SPF walk asks a bounded number of queries, and bad arguments exit 4."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TXT
import pytest
from conftest import plan_domains
from dns_server import MALFORMED, REFUSED, SERVFAIL, SILENT, DnsServer, Reply, Zone, records

from mailflow.cli import _nameserver, main
from mailflow.plan import StackPlan
from mailflow.resolvers import LiveResolver, Nameserver, bundled_snapshot
from mailflow.spf import MAX_LOOKUPS, LookupCounter, split_strings

APEX = "contoso.com."
PLANNED_SPF = "v=spf1 ip4:10.10.10.1 ip4:131.107.21.231 include:spf.protection.outlook.com -all"


def txt_value(text: str) -> str:
    """``text`` as a TXT value in presentation format, split into character-strings."""
    strings = [s.encode() for s in split_strings(text)]
    return dns.rdtypes.ANY.TXT.TXT(dns.rdataclass.IN, dns.rdatatype.TXT, strings).to_text()


def published(plan: StackPlan) -> Zone:
    """The plan's records as published, and the SPF includes the bundled snapshot holds."""
    zone = Zone()
    record_sets: dict[tuple[str, str], list[str]] = {}
    for record in plan.records:
        record_sets.setdefault((record.name, record.type), []).append(record.value)
    for (name, rtype), values in record_sets.items():
        zone.add(name, rtype, *values)
    for name, rrsets in bundled_snapshot().records.items():
        zone.add(f"{name}.", "TXT", *(txt_value(text) for text in rrsets.get("TXT", [])))
    return zone


def publish_spf(zone: Zone, spf: str) -> None:
    """Replace the apex SPF record (the verification TXT stays)."""
    zone.add(APEX, "TXT", '"MS=ms12345678"', txt_value(spf))


def include_chain(name: str, rtype: str) -> Reply | None:
    """a1.chain.test includes a2.chain.test, which includes a3…, without end."""
    if not name.endswith(".chain.test."):
        return None
    step = int(name.split(".")[0][1:])
    return records(name, "TXT", txt_value(f"v=spf1 include:a{step + 1}.chain.test -all"))


def include_fan_out(name: str, rtype: str) -> Reply | None:
    """Each record under fan.test includes ten names one level down, six levels deep."""
    if not name.endswith("fan.test."):
        return None
    depth = name.count(".") - 2
    if depth >= 6:
        return records(name, "TXT", '"v=spf1 -all"')
    includes = " ".join(f"include:n{i}.{name}" for i in range(10))
    return records(name, "TXT", txt_value(f"v=spf1 {includes} -all"))


@dataclass
class Scene:
    """A stack file, and a server publishing its plan (edit ``zone`` to change what it serves)."""

    stack: Path
    zone: Zone
    server: DnsServer
    capsys: pytest.CaptureFixture[str]
    stderr: str = ""

    def run(self, *args: str) -> tuple[int, str]:
        """The exit status and standard output of a command on the stack, asking the server."""
        command, *options = args
        nameserver = f"127.0.0.1:{self.server.port}"
        code = main([command, str(self.stack), "--nameserver", nameserver, *options])
        output = self.capsys.readouterr()
        self.stderr = output.err
        assert "Traceback" not in output.err
        return code, output.out

    def check(self, *options: str) -> tuple[int, str]:
        # The budget is this test's guard against a hang too.
        return self.run("check", "--timeout", "0.5", "--budget", "20", *options)

    def check_json(self, *options: str) -> tuple[int, dict[str, Any]]:
        code, output = self.check("--format", "json", *options)
        return code, json.loads(output)


@pytest.fixture
def scene_of(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> Iterator[Callable[[dict[str, Any]], Scene]]:
    servers: list[DnsServer] = []

    def make(domain: dict[str, Any]) -> Scene:
        stack = tmp_path / "Pulumi.test.yaml"
        stack.write_text(json.dumps({"config": {"mailflow:domains": [domain]}}))
        zone = published(plan_domains(domain))
        servers.append(DnsServer(zone))
        return Scene(stack, zone, servers[-1], capsys)

    yield make
    for server in servers:
        server.close()


@pytest.fixture
def scene(scene_of: Callable[[dict[str, Any]], Scene], seed_domain: dict[str, Any]) -> Scene:
    return scene_of(seed_domain)


def findings(report: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    return [
        (f["severity"], f["problem"], f["type"], f["name"], f["live"])
        for domain in report["domains"]
        for f in domain["findings"]
    ]


def test_a_zone_served_as_planned_is_in_sync(scene: Scene) -> None:
    code, output = scene.check()
    assert (code, output) == (0, "contoso.com: in sync; live SPF lookups: 1/10\n")


def test_a_txt_value_split_into_other_strings_is_the_same_value(scene: Scene) -> None:
    head, tail = PLANNED_SPF[:20], PLANNED_SPF[20:]
    scene.zone.add(APEX, "TXT", '"MS=ms" "12345678"', f'"{head}" "{tail}"')
    assert scene.check() == (0, "contoso.com: in sync; live SPF lookups: 1/10\n")


def test_names_in_other_case_are_the_same_records(scene: Scene) -> None:
    scene.zone.add("AutoDiscover.Contoso.COM.", "CNAME", "Mail.CONTOSO.com.")
    scene.zone.add("Contoso.com.", "MX", "10 MX1.Filter.Example.NET.", "20 mx2.FILTER.example.net.")
    assert scene.check()[0] == 0


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (SERVFAIL, "SERVFAIL"),
        (REFUSED, "REFUSED"),
        (MALFORMED, "malformed answer (FormError)"),
        (SILENT, "no answer within 0.5 s"),
    ],
    ids=["SERVFAIL", "REFUSED", "malformed", "silent"],
)
def test_a_failed_query_is_a_finding_and_the_rest_is_still_checked(
    scene: Scene, reply: Reply, reason: str
) -> None:
    scene.zone.names["autodiscover.contoso.com."] = reply
    scene.zone.add(APEX, "MX", "5 rogue.example.net.")
    code, report = scene.check_json()
    assert code == 1  # the drift read elsewhere outranks the failure
    assert report["status"] == "drift"
    assert findings(report) == [
        ("drift", "missing", "MX", APEX, ""),
        ("drift", "missing", "MX", APEX, ""),
        ("drift", "unexpected", "MX", APEX, "5 rogue.example.net."),
        ("dns-failure", "DNS failure", "CNAME", "autodiscover.contoso.com.", reason),
    ]


def test_dns_failures_without_drift_exit_3_with_the_report(scene: Scene) -> None:
    scene.zone.names["autodiscover.contoso.com."] = SERVFAIL
    code, output = scene.check()
    assert code == 3
    assert output == (
        "contoso.com: DNS failure; live SPF lookups: 1/10\n"
        "  dns-failure DNS failure            CNAME autodiscover.contoso.com.  live SERVFAIL\n"
    )


def test_a_server_refusing_everything_gives_a_finding_per_record_set(scene: Scene) -> None:
    scene.zone.generators.append(lambda name, rtype: REFUSED)
    code, report = scene.check_json()
    assert code == 3
    assert report["status"] == "dns-failure"
    assert report["domains"][0]["spfLookups"] is None
    assert {(f[2], f[3]) for f in findings(report)} == {
        ("MX", APEX),
        ("TXT", APEX),
        ("TXT", "_dmarc.contoso.com."),
        ("CNAME", "autodiscover.contoso.com."),
    }
    assert {f[:2] for f in findings(report)} == {("dns-failure", "DNS failure")}


def test_record_sets_left_when_the_budget_runs_out_are_not_queried(scene: Scene) -> None:
    scene.zone.names[APEX] = SILENT  # the apex MX is asked first
    code, report = scene.check_json("--timeout", "5", "--budget", "0.3")
    assert code == 3
    assert findings(report) == [
        ("dns-failure", "DNS failure", "MX", APEX, "time budget exhausted"),
        ("dns-failure", "DNS failure", "TXT", APEX, "not queried: time budget exhausted"),
        ("dns-failure", "DNS failure", "TXT", "_dmarc.contoso.com.", "not queried: time budget exhausted"),
        (
            "dns-failure",
            "DNS failure",
            "CNAME",
            "autodiscover.contoso.com.",
            "not queried: time budget exhausted",
        ),
    ]
    assert {name for name, _ in scene.server.queries} == {APEX}


def test_no_dmarc_record_when_the_plan_has_none_is_a_warning(
    scene_of: Callable[[dict[str, Any]], Scene], seed_domain: dict[str, Any]
) -> None:
    del seed_domain["dmarc"]
    code, report = scene_of(seed_domain).check_json()
    assert code == 0
    assert report["status"] == "in-sync"
    assert findings(report) == [("warning", "missing DMARC record", "TXT", "_dmarc.contoso.com.", "")]


def test_a_planned_dmarc_record_missing_live_is_drift(scene: Scene) -> None:
    del scene.zone.record_sets["_dmarc.contoso.com.", "TXT"]
    code, report = scene.check_json()
    assert code == 1
    assert [f[:2] for f in findings(report)] == [("drift", "missing"), ("drift", "missing DMARC record")]


def test_an_endless_include_chain_stops_at_the_lookup_limit(scene: Scene) -> None:
    scene.zone.generators.append(include_chain)
    publish_spf(scene.zone, "v=spf1 include:a1.chain.test -all")
    code, report = scene.check_json()
    assert code == 1
    assert ("drift", "SPF needs more than 10 lookups (permerror)") in [f[:2] for f in findings(report)]
    assert report["domains"][0]["spfLookups"] == MAX_LOOKUPS + 1
    assert scene.server.asked(".chain.test.") <= MAX_LOOKUPS


def test_an_include_fan_out_stops_at_the_lookup_limit(scene: Scene) -> None:
    scene.zone.generators.append(include_fan_out)
    publish_spf(scene.zone, "v=spf1 include:fan.test -all")
    code, output = scene.check()
    assert code == 1
    assert output.startswith("contoso.com: drift; live SPF lookups: more than 10/10\n")
    assert scene.server.asked("fan.test.") <= MAX_LOOKUPS


def test_more_than_two_void_lookups_stop_the_count(scene: Scene) -> None:
    includes = " ".join(f"include:gone{i}.example.net" for i in range(6))
    publish_spf(scene.zone, f"v=spf1 {includes} -all")
    code, report = scene.check_json()
    assert code == 1
    problems = [f[1] for f in findings(report)]
    assert "more than 2 lookups found nothing (RFC 7208 §4.6.4: permerror)" in problems
    assert scene.server.asked("example.net.") == 3


def test_an_include_that_cannot_be_read_makes_the_count_a_lower_bound(
    scene_of: Callable[[dict[str, Any]], Scene], seed_domain: dict[str, Any]
) -> None:
    """The vendor include costs 7 lookups: when its server fails, the count must not read 2 as if
    that were all."""
    seed_domain["thirdParty"]["spf"] = ["include:_netblocks.mimecast.com"]
    scene = scene_of(seed_domain)
    assert scene.check() == (0, "contoso.com: in sync; live SPF lookups: 8/10\n")
    scene.zone.names["_netblocks.mimecast.com."] = SERVFAIL
    assert scene.check()[1].startswith("contoso.com: DNS failure; live SPF lookups: at least 2/10\n")
    code, report = scene.check_json()
    assert code == 3
    assert report["domains"][0]["spfLookups"] == 2
    assert report["domains"][0]["spfUnresolved"] == ["_netblocks.mimecast.com (SERVFAIL)"]
    assert findings(report) == [
        (
            "dns-failure",
            "DNS failure",
            "TXT",
            APEX,
            "SPF lookups not counted inside _netblocks.mimecast.com (SERVFAIL)",
        )
    ]


def test_plan_live_spf_stops_an_endless_include_chain(
    scene_of: Callable[[dict[str, Any]], Scene], seed_domain: dict[str, Any]
) -> None:
    seed_domain["spf"] = {"extra": ["include:a1.chain.test"]}
    scene = scene_of(seed_domain)
    scene.zone.generators.append(include_chain)
    code, _ = scene.run("plan", "--live-spf")
    assert code == 2
    assert "needs more than 10 DNS lookups" in scene.stderr
    assert scene.server.asked(".chain.test.") <= MAX_LOOKUPS


def test_an_spf_count_stops_asking_once_its_time_budget_is_spent(scene: Scene) -> None:
    scene.zone.names["hang.example.net."] = SILENT
    resolver = LiveResolver(Nameserver(("127.0.0.1",), scene.server.port), timeout=5)
    count = LookupCounter(resolver, seconds=0.3).count_record(
        "v=spf1 include:hang.example.net include:spf.protection.outlook.com -all", APEX
    )
    assert count.unresolved == (
        "hang.example.net (time budget exhausted)",
        "spf.protection.outlook.com (not queried: time budget exhausted)",
    )
    assert scene.server.asked("outlook.com.") == 0


@pytest.mark.parametrize(
    "nameserver",
    [
        "",
        ":53",
        "127.0.0.1:",
        "127.0.0.1:0",
        "127.0.0.1:65536",
        "localhost:99999",
        "127.0.0.1:abc",
        "127.0.0.1:\uff15\uff13",  # fullwidth digits: str.isdigit() says yes
        "[::1",
        "[::1]:",
        "[::1]53",
        "[localhost]:53",
        "::1:99999",
        "999.1.2.3",
        "-bad-.example",
    ],
)
def test_a_bad_nameserver_is_a_usage_error(nameserver: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["check", "Pulumi.test.yaml", "--nameserver", nameserver])
    assert exited.value.code == 4
    error = capsys.readouterr().err
    assert "argument --nameserver" in error
    assert "Traceback" not in error


@pytest.mark.parametrize("seconds", ["nan", "inf", "-inf", "1e400", "0", "-1", "61", "abc", ""])
def test_a_bad_timeout_is_a_usage_error(seconds: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["check", "Pulumi.test.yaml", "--timeout", seconds])
    assert exited.value.code == 4
    assert "argument --timeout" in capsys.readouterr().err


@pytest.mark.parametrize("seconds", ["nan", "inf", "0", "-5"])
def test_a_bad_budget_is_a_usage_error(seconds: str) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["check", "Pulumi.test.yaml", "--budget", seconds])
    assert exited.value.code == 4


@pytest.mark.parametrize("argv", [["check"], ["nonsense"], ["check", "x.yaml", "--format", "xml"]])
def test_usage_errors_exit_4_not_2_which_is_for_config_problems(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 4


@pytest.mark.parametrize(
    ("text", "addresses", "port"),
    [
        ("192.0.2.53", ("192.0.2.53",), 53),
        ("192.0.2.53:5353", ("192.0.2.53",), 5353),
        ("[2001:db8::53]", ("2001:db8::53",), 53),
        ("[2001:db8::53]:5353", ("2001:db8::53",), 5353),
        ("2001:db8::53", ("2001:db8::53",), 53),
        ("::1", ("::1",), 53),
    ],
)
def test_nameserver_forms(text: str, addresses: tuple[str, ...], port: int) -> None:
    assert _nameserver(text) == Nameserver(addresses, port)


@pytest.mark.parametrize(("text", "port"), [("localhost", 53), ("localhost:5353", 5353)])
def test_a_nameserver_host_name_is_resolved_once_to_its_addresses(text: str, port: int) -> None:
    nameserver = _nameserver(text)
    assert nameserver.port == port
    assert "127.0.0.1" in nameserver.addresses or "::1" in nameserver.addresses


def test_a_and_mx_terms_that_find_nothing_are_void_lookups(scene: Scene) -> None:
    """RFC 7208 §4.6.4: an ``a`` or ``mx`` term whose name has no records counts as a void lookup,
    so three of them make the published record a permerror."""
    publish_spf(scene.zone, "v=spf1 a:nx1.example.net mx:nx2.example.net a:nx3.example.net -all")
    code, report = scene.check_json()
    assert code == 1
    assert "more than 2 lookups found nothing (RFC 7208 §4.6.4: permerror)" in [
        f[1] for f in findings(report)
    ]


def test_an_mx_term_with_more_than_ten_hosts_is_a_permerror(scene: Scene) -> None:
    scene.zone.add("big.example.net.", "MX", *(f"{i} mx{i}.example.net." for i in range(11)))
    scene.zone.add("mail.example.net.", "A", "127.0.0.2")
    publish_spf(scene.zone, "v=spf1 a:mail.example.net mx:big.example.net -all")
    code, report = scene.check_json()
    assert code == 1
    assert (
        "mx:big.example.net: big.example.net has 11 MX records; more than 10 is a permerror (RFC 7208 §4.6.4)"
    ) in [f[1] for f in findings(report)]


def test_a_and_mx_terms_that_find_hosts_cost_one_lookup_each(scene: Scene) -> None:
    scene.zone.add("mail.example.net.", "A", "127.0.0.2")
    scene.zone.add("six.example.net.", "AAAA", "::1")
    scene.zone.add("mx.example.net.", "MX", "10 mail.example.net.")
    publish_spf(scene.zone, "v=spf1 a:mail.example.net a:six.example.net mx:mx.example.net -all")
    _, output = scene.check()
    assert "live SPF lookups: 3/10" in output
    assert "permerror" not in output


def test_plan_live_spf_asks_dns_for_at_most_its_budget(
    scene_of: Callable[[dict[str, Any]], Scene], seed_domain: dict[str, Any]
) -> None:
    """Four domains whose includes never answer: each would cost its timeout per name; the budget
    bounds the whole run, and what is left unasked is named, not waited for."""
    domains = []
    for n in range(4):
        domain = {**seed_domain, "name": f"d{n}.contoso.com"}
        domain["spf"] = {"extra": [f"include:hang{n}{i}.example.net" for i in range(3)]}
        domain["exchangeOnline"] = {
            **seed_domain["exchangeOnline"],
            "mxHost": f"d{n}-contoso-com.mail.protection.outlook.com",
        }
        domains.append(domain)
    scene = scene_of(domains[0])
    scene.stack.write_text(json.dumps({"config": {"mailflow:domains": domains}}))
    scene.zone.generators.append(lambda name, rtype: SILENT if name.endswith(".example.net.") else None)
    started = time.monotonic()
    code, output = scene.run("plan", "--live-spf", "--timeout", "1", "--budget", "2")
    assert time.monotonic() - started < 6
    assert code == 0
    assert "not queried: time budget exhausted" in output


def test_plan_budget_needs_live_spf(scene: Scene) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["plan", str(scene.stack), "--budget", "5"])
    assert stopped.value.code == 4


def test_an_escape_sequence_in_live_dns_is_shown_as_text(scene: Scene) -> None:
    publish_spf(scene.zone, "v=spf1 \x1b[31mred -all")
    _, output = scene.check()
    assert "\x1b" not in output
    assert "\\x1b[31mred" in output
