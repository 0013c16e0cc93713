"""extraRecords: every value parsed by dnspython against the domain, names checked, records planned
and rendered alike in every format and target; anything else is a path-named config error."""

from __future__ import annotations

import json
from typing import Any

import dns.name
import dns.rdatatype
import dns.zone
import pytest
from conftest import config_problems
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pulumi_harness import run_program

from mailflow.errors import ConfigError
from mailflow.plan import StackPlan, plan_stack
from mailflow.records import Record
from mailflow.render import plan_json, plan_table, plan_zone

DKIM_KEY = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA" + "x" * 348 + "IDAQAB"
"""The shape of a 2048-bit RSA public key in base64: 398 characters, more than one string holds."""
DKIM_TEXT = f"v=DKIM1; k=rsa; p={DKIM_KEY}"


def domain(*extras: dict[str, Any], **settings: Any) -> dict[str, Any]:
    """An exchange-online domain with these extra records."""
    return {
        "name": "contoso.com",
        "topology": "exchange-online",
        "exchangeOnline": {"mxHost": "contoso-com.mail.protection.outlook.com"},
        "dmarc": {"policy": "none"},
        "extraRecords": list(extras),
        **settings,
    }


def plan(*extras: dict[str, Any]) -> StackPlan:
    return plan_stack({"domains": [domain(*extras)]})


def extras_of(stack: StackPlan) -> list[Record]:
    """The records beyond those the plain domain gets."""
    plain = set(plan_stack({"domains": [domain()]}).records)
    return [record for record in stack.records if record not in plain]


def problems_of(*extras: dict[str, Any]) -> list[str]:
    return config_problems({"domains": [domain(*extras)]})


def zone_records(fragment: str) -> set[tuple[str, str, int, str]]:
    """What a zone file reader finds in a fragment: owner, type, TTL and value of each record."""
    zone = dns.zone.from_text(fragment, "contoso.com.", relativize=False, check_origin=False)
    return {
        (name.to_text(), dns.rdatatype.to_text(rdata.rdtype), ttl, rdata.to_text())
        for name, ttl, rdata in zone.iterate_rdatas()
    }


def planned_rows(stack: StackPlan) -> set[tuple[str, str, int, str]]:
    return {(r.name, r.type, r.ttl, r.value) for r in stack.records}


# ---- each type, planned and rendered -------------------------------------------------------------

TYPES = [
    (
        {"name": "lists", "type": "MX", "value": "10 mx"},
        ("lists.contoso.com.", "MX", (10, "mx.contoso.com."), "10 mx.contoso.com."),
    ),
    (
        {"name": "lists", "type": "MX", "value": "20 MX.Example.NET."},
        ("lists.contoso.com.", "MX", (20, "mx.example.net."), "20 mx.example.net."),
    ),
    (
        {"name": "_imaps._tcp", "type": "SRV", "value": "0 1 993 imap"},
        ("_imaps._tcp.contoso.com.", "SRV", (0, 1, 993, "imap.contoso.com."), "0 1 993 imap.contoso.com."),
    ),
    (
        {"name": "@", "type": "CAA", "value": '0 issue "letsencrypt.org"'},
        ("contoso.com.", "CAA", ('0 issue "letsencrypt.org"',), '0 issue "letsencrypt.org"'),
    ),
    (
        {"name": "www", "type": "CNAME", "value": "web"},
        ("www.contoso.com.", "CNAME", ("web.contoso.com.",), "web.contoso.com."),
    ),
    (
        {"name": "www", "type": "CNAME", "value": "web.example.net."},
        ("www.contoso.com.", "CNAME", ("web.example.net.",), "web.example.net."),
    ),
    (
        {"name": "mail", "type": "A", "value": "192.0.2.25"},
        ("mail.contoso.com.", "A", ("192.0.2.25",), "192.0.2.25"),
    ),
    (
        {"name": "mail", "type": "AAAA", "value": "2001:db8:0::25"},
        ("mail.contoso.com.", "AAAA", ("2001:db8::25",), "2001:db8::25"),
    ),
    (
        {"name": "*.dev", "type": "A", "value": "192.0.2.80"},
        ("*.dev.contoso.com.", "A", ("192.0.2.80",), "192.0.2.80"),
    ),
    (
        {"name": "@", "type": "MX", "value": "0 ."},
        ("contoso.com.", "MX", (0, "."), "0 ."),
    ),
]


@pytest.mark.parametrize(("extra", "expected"), TYPES, ids=[f"{e['type']} {e['value']}" for e, _ in TYPES])
def test_each_type_is_planned_with_names_completed_by_the_domain(
    extra: dict[str, Any], expected: tuple[Any, ...]
) -> None:
    (record,) = extras_of(plan(extra))
    assert (record.name, record.type, record.data, record.value) == expected


@pytest.mark.parametrize(("extra", "expected"), TYPES, ids=[f"{e['type']} {e['value']}" for e, _ in TYPES])
def test_each_type_reads_back_the_same_from_json_table_and_zone(
    extra: dict[str, Any], expected: tuple[Any, ...]
) -> None:
    stack = plan(extra)
    name, rtype, _, value = expected
    assert {"name": name, "type": rtype, "ttl": 3600, "value": value} in json.loads(plan_json(stack))
    relative = name.removesuffix("contoso.com.").rstrip(".") or "@"
    assert any(
        line.split() == [relative, rtype, "3600", *value.split()] for line in plan_table(stack).splitlines()
    )
    assert zone_records(plan_zone(stack)) == planned_rows(stack)


def test_mx_srv_cname_and_caa_reach_every_target_field_by_field() -> None:
    extras = [
        {"name": "lists", "type": "MX", "value": "10 mx"},
        {"name": "_imaps._tcp", "type": "SRV", "value": "0 1 993 imap"},
        {"type": "CAA", "value": '0 issue "letsencrypt.org"'},
        {"name": "www", "type": "CNAME", "value": "web"},
    ]
    cloudflare = run_program({"domains": [domain(*extras)], "target": {"kind": "cloudflare", "zoneId": "z"}})
    assert cloudflare.named("lists.contoso.com/MX/v3bdf869ae146").inputs["priority"] == 10
    assert cloudflare.named("lists.contoso.com/MX/v3bdf869ae146").inputs["content"] == "mx.contoso.com"
    srv = cloudflare.named("_imaps._tcp.contoso.com/SRV/v19696e7b72b3").inputs["data"]
    assert srv == {"priority": 0, "weight": 1, "port": 993, "target": "imap.contoso.com"}
    assert cloudflare.named("www.contoso.com/CNAME").inputs["content"] == "web.contoso.com"
    azure = run_program(
        {"domains": [domain(*extras)], "target": {"kind": "azure", "resourceGroupName": "rg"}}
    )
    assert azure.named("lists.contoso.com/MX").inputs["mxRecords"] == [
        {"exchange": "mx.contoso.com", "preference": 10}
    ]
    assert azure.named("_imaps._tcp.contoso.com/SRV").inputs["srvRecords"] == [
        {"priority": 0, "weight": 1, "port": 993, "target": "imap.contoso.com"}
    ]
    assert azure.named("contoso.com/CAA").inputs["caaRecords"] == [
        {"flags": 0, "tag": "issue", "value": "letsencrypt.org"}
    ]
    assert azure.named("www.contoso.com/CNAME").inputs["cnameRecord"] == {"cname": "web.contoso.com"}
    presentation = {
        ("lists.contoso.com.", "MX", "10 mx.contoso.com."),
        ("_imaps._tcp.contoso.com.", "SRV", "0 1 993 imap.contoso.com."),
        ("contoso.com.", "CAA", '0 issue "letsencrypt.org"'),
        ("www.contoso.com.", "CNAME", "web.contoso.com."),
    }
    zonefile = run_program({"domains": [domain(*extras)]})
    records = zonefile.named("contoso.com/zone").inputs["records"]
    assert presentation <= {(r["name"], r["type"], r["value"]) for r in records}
    rfc2136 = run_program(
        {"domains": [domain(*extras)], "target": {"kind": "rfc2136", "server": "192.0.2.53", "keyName": "k"}},
        extra_config={"mailflow:tsigSecret": "c2VjcmV0"},
        secret_keys=["mailflow:tsigSecret"],
    )
    record_sets = {
        (r.inputs["name"], r.inputs["type"], v)
        for r in rfc2136.registrations
        if r.custom
        for v in r.inputs.get("values", ())
    }
    assert presentation <= record_sets


# ---- TXT: the value is the text -----------------------------------------------------------------


def txt_of(value: str) -> Record:
    (record,) = extras_of(plan({"name": "selector1._domainkey", "type": "TXT", "value": value}))
    return record


def published_text(record: Record) -> str:
    return b"".join(record.rdata.strings).decode("ascii")


def test_txt_text_is_published_as_it_is_written() -> None:
    record = txt_of("google-site-verification=abc")
    assert record.data == ("google-site-verification=abc",)
    assert record.value == '"google-site-verification=abc"'


def test_a_2048_bit_dkim_key_is_split_into_255_byte_strings() -> None:
    record = txt_of(DKIM_TEXT)
    assert [len(s) for s in record.rdata.strings] == [255, len(DKIM_TEXT) - 255]
    assert published_text(record) == DKIM_TEXT


def test_quoted_character_strings_as_a_zone_file_writes_them_are_joined() -> None:
    quoted = f'"v=DKIM1; k=rsa; " "p={DKIM_KEY[:200]}" "{DKIM_KEY[200:]}"'
    assert txt_of(quoted).data == txt_of(DKIM_TEXT).data


def test_a_quoted_value_as_the_readme_shows_it_has_no_quotes_inside() -> None:
    assert published_text(txt_of('"google-site-verification=abc"')) == "google-site-verification=abc"


def test_a_long_quoted_string_is_accepted_and_split() -> None:
    assert published_text(txt_of(f'"{DKIM_TEXT}"')) == DKIM_TEXT


def test_quotes_and_backslashes_inside_unquoted_text_are_published_escaped() -> None:
    record = txt_of('say "hi" \\ bye')
    assert published_text(record) == 'say "hi" \\ bye'
    assert record.value == '"say \\"hi\\" \\\\ bye"'


def test_a_long_txt_reads_back_from_the_zone_as_one_record() -> None:
    stack = plan({"name": "selector1._domainkey", "type": "TXT", "value": DKIM_TEXT})
    assert zone_records(plan_zone(stack)) == planned_rows(stack)


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("caf\u00e9", "holds 'é', which is not printable ASCII"),
        ('"caf\\195\\169"', "holds 'é', which is not printable ASCII"),
        ("line one\nline two", "holds '\\n', a control or invisible character; a value is one line"),
        ('"v=DKIM1" ; comment', "holds ';' outside quotes, which starts a comment"),
        ('"unbalanced', "is not TXT character-strings in presentation format"),
    ],
)
def test_txt_text_that_is_not_printable_ascii_or_well_quoted_is_refused(value: str, says: str) -> None:
    problems = problems_of({"name": "x", "type": "TXT", "value": value})
    assert len(problems) == 1 and problems[0].startswith("mailflow:domains[0].extraRecords[0].value: ")
    assert says in problems[0], problems


def test_a_second_spf_record_is_refused_however_it_is_written() -> None:
    for value in ("v=spf1 -all", '"v=spf1 " "-all"', "V=SPF1 include:x.example.com -all"):
        assert problems_of({"type": "TXT", "value": value}) == [
            "mailflow:domains[0].extraRecords[0].value: a second SPF record at the apex is a permerror "
            "(RFC 7208 §3.2); add its terms to spf.extra instead"
        ]


def test_text_at_the_apex_that_only_mentions_spf_is_not_an_spf_record() -> None:
    (record,) = extras_of(plan({"type": "TXT", "value": "note: v=spf1 lives here"}))
    assert published_text(record) == "note: v=spf1 lives here"


# ---- values that are no rdata of their type ---------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        ({"type": "A", "value": "x"}, "'x' is not a valid A value"),
        ({"type": "MX", "value": "mx.example.net."}, "'mx.example.net.' is not a valid MX value"),
        ({"type": "MX", "value": "10 mx.example.net. ; backup"}, "holds ';' outside quotes"),
        ({"type": "MX", "value": "10 mx.example.net.\n$INCLUDE /etc/passwd"}, "holds '\\n'"),
        ({"name": "w", "type": "CNAME", "value": "a b.example.net."}, "is not a valid CNAME value"),
        ({"name": "w", "type": "CNAME", "value": "a\\032b.example.net."}, "the name it points to"),
        ({"name": "w", "type": "CNAME", "value": "*.example.net."}, "the name it points to"),
        ({"name": "w", "type": "CNAME", "value": "x" * 64}, "a label of a name is over 63 octets"),
        (
            {"name": "w", "type": "CNAME", "value": ".".join(["x" * 60] * 4)},
            "a name is over 255 octets once completed with the domain",
        ),
        ({"name": "w", "type": "CNAME", "value": "web\u200b"}, "holds '\\u200b'"),
        ({"type": "SRV", "value": "0 1 99999 sip"}, "is not a valid SRV value"),
    ],
)
def test_a_value_that_is_no_rdata_of_its_type_is_a_path_named_problem(
    extra: dict[str, Any], says: str
) -> None:
    problems = problems_of(extra)
    assert [p.split(": ", 1)[0] for p in problems] == ["mailflow:domains[0].extraRecords[0].value"], problems
    assert says in problems[0]


def test_an_internationalised_target_is_published_as_its_a_label() -> None:
    (record,) = extras_of(plan({"name": "w", "type": "CNAME", "value": "Bücher.example."}))
    assert record.value == "xn--bcher-kva.example."


def test_a_long_value_is_quoted_in_part_in_its_message() -> None:
    (problem,) = problems_of({"type": "A", "value": "1" * 300})
    assert f"'{'1' * 80}…' is not a valid A value" in problem


# ---- names --------------------------------------------------------------------------------------------

INJECTIONS = [
    "x IN NS evil.example.\n$INCLUDE /etc/passwd\ny",
    "@ 60 IN NS evil.example.",
    "$INCLUDE /etc/passwd",
    "mail;",
    'mail"',
    "(mail)",
    "mail\\.x",
    "mail..x",
    ".mail",
    "mail.",
    "mail\n",
    " mail",
    "sub.*",
    "*x",
    "-mail",
]


@pytest.mark.parametrize("name", INJECTIONS)
def test_a_name_that_is_no_relative_dns_name_is_refused(name: str) -> None:
    problems = problems_of({"name": name, "type": "TXT", "value": "x"})
    assert len(problems) == 1, problems
    assert problems[0].startswith("mailflow:domains[0].extraRecords[0].name: "), problems
    assert "\n" not in problems[0]


def test_the_name_message_says_what_a_name_may_hold() -> None:
    assert problems_of({"name": "mail server", "type": "A", "value": "192.0.2.1"}) == [
        "mailflow:domains[0].extraRecords[0].name: 'mail server' is not a name relative to the domain "
        "('@', or labels such as 'mail' or '_sip._tcp'): label 'mail server' holds ' '; a label holds "
        "only letters, digits, hyphens and underscores"
    ]


def test_a_64_octet_label_is_refused_naming_its_length() -> None:
    (problem,) = problems_of({"name": "a" * 64, "type": "A", "value": "192.0.2.1"})
    assert problem.startswith("mailflow:domains[0].extraRecords[0].name: ")
    assert problem.endswith(f"label '{'a' * 64}' is 64 octets, over 63 (RFC 1035 §2.3.4)")


def test_a_name_over_255_octets_with_the_domain_is_refused() -> None:
    name = ".".join(["a" * 61] * 4)
    (problem,) = problems_of({"name": name, "type": "A", "value": "192.0.2.1"})
    assert problem.startswith("mailflow:domains[0].extraRecords[0].name: is too long with the domain: '")
    assert problem.endswith("is 261 octets, over 255 (RFC 1035 §2.3.4)")


def test_an_internationalised_name_is_published_as_its_a_label() -> None:
    (record,) = extras_of(plan({"name": "bücher", "type": "A", "value": "192.0.2.1"}))
    assert record.name == "xn--bcher-kva.contoso.com."


# ---- duplicates ----------------------------------------------------------------------


def test_a_repeated_extra_record_is_refused() -> None:
    problems = problems_of(
        {"name": "mail", "type": "A", "value": "192.0.2.1"},
        {"name": "MAIL", "type": "A", "value": "192.0.2.1"},
    )
    assert problems == [
        "mailflow:domains[0].extraRecords[1]: repeats extraRecords[0]: A mail.contoso.com. '192.0.2.1'"
    ]


def test_a_txt_repeated_in_another_form_is_refused() -> None:
    problems = problems_of(
        {"name": "x", "type": "TXT", "value": "hello"},
        {"name": "x", "type": "TXT", "value": '"hel" "lo"'},
    )
    assert problems == [
        "mailflow:domains[0].extraRecords[1]: repeats extraRecords[0]: TXT x.contoso.com. '\"hello\"'"
    ]


def test_an_extra_record_that_repeats_a_planned_one_is_refused() -> None:
    problems = problems_of({"type": "MX", "value": "0 contoso-com.mail.protection.outlook.com."})
    assert problems == [
        "mailflow:domains[0].extraRecords[0]: repeats what mailflow plans: MX contoso.com. "
        "'0 contoso-com.mail.protection.outlook.com.'"
    ]


@pytest.mark.parametrize(
    ("name", "kind"), [("_dmarc", "DMARC"), ("_mta-sts", "MTA-STS"), ("_smtp._tls", "TLS-RPT")]
)
def test_a_txt_beside_a_policy_record_mailflow_plans_is_refused(name: str, kind: str) -> None:
    values = domain(
        {"name": name, "type": "TXT", "value": "v=DMARC1; p=reject"},
        mtaSts={"id": "20261128"},
        tlsRpt={"rua": ["mailto:tls@contoso.com"]},
    )
    assert config_problems({"domains": [values]}) == [
        f"mailflow:domains[0].extraRecords[0]: adds a TXT record at {name}.contoso.com., beside the {kind} "
        "record mailflow plans: receivers then apply neither; set it in the domain's own settings instead"
    ]


def test_a_dmarc_record_of_ones_own_is_kept_when_mailflow_plans_none() -> None:
    values = domain({"name": "_dmarc", "type": "TXT", "value": "v=DMARC1; p=reject"})
    del values["dmarc"]
    records = plan_stack({"domains": [values]}).records
    assert [r.value for r in records if r.name == "_dmarc.contoso.com."] == ['"v=DMARC1; p=reject"']


def test_the_rfc2136_ownership_marker_must_fit_in_front_of_every_name() -> None:
    name = ".".join(["a" * 61] * 3 + ["b" * 45])  # autodiscover.<name> fits 255 octets, its marker not
    values = {
        "domains": [domain(name=name)],
        "target": {"kind": "rfc2136", "server": "127.0.0.1", "keyName": "k"},
    }
    problems = [p for p in config_problems(values) if not p.startswith("mailflow:tsigSecret")]
    assert len(problems) == 1
    assert problems[0].startswith(
        "mailflow:domains[0].name: is too long for the CNAME record mailflow plans: its rfc2136 ownership "
        "marker '_mailflow.autodiscover.aaaa"
    )
    assert plan_stack({"domains": [domain(name=name)]}).domains


# ---- any text: a plan, or a config error ------------------------------------------------------------

NAME_LIKE = st.from_regex(r"@|(\*\.)?[a-zA-Z0-9_-]{1,12}(\.[a-zA-Z0-9_-]{1,12}){0,2}", fullmatch=True)
HOSTILE = st.text(alphabet=" \t\n;$\"'()\\.@*_-aZ09é\u200b\u00adİK", max_size=40)
ANY_TEXT = st.one_of(st.text(), HOSTILE)
VALUES = {
    "A": st.ip_addresses(v=4).map(str),
    "AAAA": st.ip_addresses(v=6).map(str),
    "CNAME": NAME_LIKE,
    "MX": st.builds("{} {}".format, st.integers(-1, 70000), NAME_LIKE),
    "SRV": st.builds("{} {} {} {}".format, *[st.integers(0, 70000)] * 3, NAME_LIKE),
    "CAA": st.builds('0 {} "{}"'.format, st.sampled_from(["issue", "iodef", "x y"]), HOSTILE),
    "TXT": st.one_of(HOSTILE, st.builds('"{}" "{}"'.format, HOSTILE, HOSTILE)),
}


@st.composite
def domains_with_an_extra(draw: st.DrawFn) -> dict[str, Any]:
    """A domain with one extra record: its domain name, record name or value any text, or none of
    them (the others plausible, so that many examples plan and their zone text is checked)."""
    rtype = draw(st.sampled_from(sorted(VALUES)))
    hostile = draw(st.sampled_from(["domain", "name", "value", "none"]))
    return {
        "name": draw(ANY_TEXT if hostile == "domain" else st.sampled_from(["contoso.com", "bücher.example"])),
        "topology": "exchange-online",
        "exchangeOnline": {"mxHost": "mx.example.net"},
        "extraRecords": [
            {
                "name": draw(ANY_TEXT if hostile == "name" else NAME_LIKE),
                "type": rtype,
                "value": draw(ANY_TEXT if hostile == "value" else VALUES[rtype]),
            }
        ],
    }


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(config=domains_with_an_extra())
def test_any_text_plans_exactly_its_records_or_is_a_config_error(config: dict[str, Any]) -> None:
    try:
        stack = plan_stack({"domains": [config]})
    except ConfigError:
        return
    (planned,) = stack.domains
    apex = dns.name.from_text(planned.domain)
    zone = dns.zone.from_text(plan_zone(stack), apex, relativize=False, check_origin=False)
    found = {
        (name.to_text(), dns.rdatatype.to_text(rdata.rdtype), ttl, rdata.to_text())
        for name, ttl, rdata in zone.iterate_rdatas()
    }
    assert found == planned_rows(stack)
    assert all(dns.name.from_text(record.name).is_subdomain(apex) for record in stack.records)


def test_a_txt_value_larger_than_a_dns_record_holds_is_refused() -> None:
    assert problems_of({"name": "big", "type": "TXT", "value": "x" * 70_000}) == [
        "mailflow:domains[0].extraRecords[0].value: is 70275 octets as TXT data; a DNS record holds at most "
        "65535 (RFC 1035 §3.2.1)"
    ]
    largest = 65535 // 256 * 255 + (65535 % 256 - 1)
    assert published_text(txt_of("y" * largest)) == "y" * largest
