"""DNS names in config: internationalised names as IDNA 2008 A-labels, invisible characters refused,
label and name lengths (RFC 1035 §2.3.4) as path-named problems, long input quoted in part."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import config_problems, plan_domains
from hypothesis import given
from hypothesis import strategies as st

from mailflow.errors import quote
from mailflow.names import a_label, name_octets, normalize_name, relative_name


def domain(name: str, **settings: Any) -> dict[str, Any]:
    return {
        "name": name,
        "topology": "exchange-online",
        "exchangeOnline": {"mxHost": "mx.example.net"},
        **settings,
    }


def test_a_unicode_domain_is_planned_under_its_a_label() -> None:
    (planned,) = plan_domains(domain("Bücher.example")).domains
    assert planned.domain == "xn--bcher-kva.example"
    assert {record.name for record in planned.records} == {
        "xn--bcher-kva.example.",
        "autodiscover.xn--bcher-kva.example.",
    }


def test_a_decomposed_unicode_name_is_the_same_name() -> None:
    assert normalize_name("bu\u0308cher.example", hostname=True) == "xn--bcher-kva.example"


def test_a_unicode_domain_and_its_a_label_are_one_domain() -> None:
    assert config_problems({"domains": [domain("xn--bcher-kva.example"), domain("bücher.example")]}) == [
        "mailflow:domains[1].name: 'bücher.example' (xn--bcher-kva.example) is already configured at "
        "mailflow:domains[0]"
    ]


@pytest.mark.parametrize(
    ("name", "says"),
    [
        (
            "contoso.com\u200b",
            "'contoso.com\\u200b' is not a valid host name: label 'com\\u200b' holds U+200B ZERO WIDTH "
            "SPACE, which IDNA 2008 does not allow there (RFC 5892); write the name without it",
        ),
        (
            "con\u00adtoso.com",
            "'con\\xadtoso.com' is not a valid host name: label 'con\\xadtoso' holds U+00AD SOFT HYPHEN, "
            "which IDNA 2008 does not allow there (RFC 5892); write the name without it",
        ),
        (
            "contoso\u0627.com",
            "'contoso\u0627.com' is not a valid host name: label 'contoso\u0627' mixes right-to-left and "
            "left-to-right characters in a way the Bidi rule refuses (IDNA 2008, RFC 5893)",
        ),
        (
            "con\u200dtoso.com",
            "'con\\u200dtoso.com' is not a valid host name: label 'con\\u200dtoso' holds U+200D ZERO "
            "WIDTH JOINER, which IDNA 2008 does not allow there (RFC 5892); write the name without it",
        ),
    ],
    ids=["zero-width space", "soft hyphen", "mixed directions", "zero-width joiner"],
)
def test_a_name_that_is_not_idna_2008_is_refused_not_a_new_domain(name: str, says: str) -> None:
    assert config_problems({"domains": [domain(name)]}) == [f"mailflow:domains[0].name: {says}"]


def test_host_names_elsewhere_in_config_become_a_labels_too() -> None:
    config = domain("contoso.com")
    config["exchangeOnline"]["mxHost"] = "mx.bücher.example"
    (planned,) = plan_domains(config).domains
    assert planned.exo_mx_host == "mx.xn--bcher-kva.example"


def test_a_64_octet_label_is_a_path_named_problem() -> None:
    label = "a" * 64
    assert config_problems({"domains": [domain(f"{label}.com")]}) == [
        f"mailflow:domains[0].name: '{label}.com' is not a valid host name: label '{label}' is 64 octets, "
        "over 63 (RFC 1035 §2.3.4)"
    ]


def test_an_internationalised_label_over_63_octets_names_its_a_label() -> None:
    label = "".join(chr(0x4E00 + 97 * i) for i in range(25))  # 25 ideographs: a 72-octet A-label
    with pytest.raises(
        ValueError, match=rf"label '{label}' \(A-label 'xn--[a-z0-9-]+'\) is 72 octets, over 63"
    ):
        a_label(label)


def test_a_name_over_255_octets_is_a_path_named_problem() -> None:
    name = ".".join(["a" * 63] * 4)
    (problem,) = config_problems({"domains": [domain(name)]})
    assert problem.startswith("mailflow:domains[0].name: is not a valid host name: 'aaaa")
    assert problem.endswith("…' is 257 octets, over 255 (RFC 1035 §2.3.4)")


def test_a_domain_with_no_room_for_the_names_mailflow_plans_is_refused() -> None:
    name = ".".join(["a" * 61] * 3 + ["b" * 61])  # 247 characters: a valid name on its own
    (problem,) = config_problems(
        {"domains": [domain(name, dmarc={"policy": "none"}, tlsRpt={"rua": ["mailto:t@example.net"]})]}
    )
    assert problem.startswith(
        "mailflow:domains[0].name: is too long for the CNAME record mailflow plans: 'autodiscover.aaaa"
    )
    assert problem.endswith("…' is 262 octets, over 255 (RFC 1035 §2.3.4)")


def test_octets_count_the_wire_form() -> None:
    assert name_octets(".") == 1
    assert name_octets("contoso.com.") == name_octets("contoso.com") == 13


@pytest.mark.parametrize(
    ("text", "published"),
    [
        ("@", "@"),
        ("Mail", "mail"),
        ("*", "*"),
        ("*.Dev", "*.dev"),
        ("_sip._tcp", "_sip._tcp"),
        ("bücher", "xn--bcher-kva"),
    ],
)
def test_relative_names_in_their_published_form(text: str, published: str) -> None:
    assert relative_name(text) == published


def test_quote_escapes_what_cannot_be_seen_and_cuts_long_text() -> None:
    assert quote("a\nb\u200bc") == "'a\\nb\\u200bc'"
    assert quote("x" * 81) == f"'{'x' * 80}…'"
    assert quote("x" * 80) == f"'{'x' * 80}'"


@given(st.text())
def test_any_text_is_a_name_or_a_value_error(text: str) -> None:
    try:
        name = normalize_name(text, hostname=False)
    except ValueError as error:
        assert "\n" not in str(error)
        return
    assert name.isascii() and name_octets(name) <= 255
    assert all(0 < len(label) <= 63 for label in name.split("."))
