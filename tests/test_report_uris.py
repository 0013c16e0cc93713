"""DMARC and TLS-RPT report URIs: no URI can end its tag and inject another, and the "reports go
outside" warning names the host that really receives the reports."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import config_problems, plan_domains

from mailflow.report_uris import dmarc_uri, report_host, tls_rpt_uri


def domain(**settings: Any) -> dict[str, Any]:
    return {
        "name": "contoso.com",
        "topology": "exchange-online",
        "exchangeOnline": {"mxHost": "mx.example.net"},
        **settings,
    }


def dmarc_problems(uri: str, tag: str = "rua") -> list[str]:
    return config_problems({"domains": [domain(dmarc={"policy": "reject", tag: [uri]})]})


@pytest.mark.parametrize(
    "uri",
    [
        "mailto:d;pct=0@contoso.com",
        "mailto:dmarc@contoso.com; pct=0",
        "mailto:dmarc@contoso.com;ruf=mailto:spy@evil.example",
    ],
)
def test_a_semicolon_that_would_inject_a_tag_is_refused(uri: str) -> None:
    assert dmarc_problems(uri) == [
        f"mailflow:domains[0].dmarc.rua[0]: '{uri}' holds ';', which ends the rua/ruf tag: what follows "
        "would be read as another tag. Percent-encode it as %3B if the address really holds it "
        "(RFC 7489 §6.2, §6.4)"
    ]


def test_a_comma_that_would_add_a_uri_is_refused() -> None:
    assert dmarc_problems("mailto:dmarc@contoso.com,mailto:spy@evil.example", "ruf") == [
        "mailflow:domains[0].dmarc.ruf[0]: 'mailto:dmarc@contoso.com,mailto:spy@evil.example' holds ',', "
        "which separates the URIs of the rua/ruf tag: list each URI as its own entry, or percent-encode "
        "it as %2C if the address really holds it (RFC 7489 §6.2, §6.4)"
    ]


@pytest.mark.parametrize(
    ("uri", "says"),
    [
        ("mailto:dmarc @contoso.com", "holds ' ', which no URI holds (RFC 3986 §2)"),
        ("mailto:dmarc@contoso.com\n", "holds '\\n', which no URI holds (RFC 3986 §2)"),
        ('mailto:"dmarc"@contoso.com', "holds '\"', which no URI holds unencoded (RFC 3986 §2)"),
        ("mailto:dmarc@contoso.com!10x", "the size limit after '!' is digits and an optional unit"),
        ("mailto:dmarc@contoso.com!", "the size limit after '!' is digits"),
        ("mailto:dm!rc@contoso.com!10m", "the size limit after '!' is digits"),
        ("mailto:dmarc", "is not a mailto: URI with one e-mail address"),
        ("mailto:a@b@contoso.com", "is not a mailto: URI with one e-mail address"),
        ("mailto:.dmarc@contoso.com", "starts or ends with a dot"),
        ("mailto:dmarc@contoso", "the domain 'contoso' is not a fully qualified name"),
        ("https://contoso.com/dmarc", "is not a mailto: URI"),
    ],
)
def test_a_malformed_dmarc_uri_is_refused(uri: str, says: str) -> None:
    (problem,) = dmarc_problems(uri)
    assert problem.startswith("mailflow:domains[0].dmarc.rua[0]: ")
    assert says in problem


@pytest.mark.parametrize(
    ("uri", "published"),
    [
        ("mailto:dmarc@contoso.com", "mailto:dmarc@contoso.com"),
        ("MAILTO:Dmarc@Contoso.COM!10M", "mailto:Dmarc@contoso.com!10m"),
        ("mailto:d%3Bx@contoso.com!500", "mailto:d%3Bx@contoso.com!500"),
        ("mailto:dmarc@bücher.example", "mailto:dmarc@xn--bcher-kva.example"),
    ],
)
def test_a_dmarc_uri_is_published_in_one_form(uri: str, published: str) -> None:
    assert dmarc_uri(uri) == published


def test_the_dmarc_record_holds_the_checked_uris() -> None:
    config = domain(dmarc={"policy": "reject", "rua": ["mailto:a@contoso.com!10m", "mailto:b@contoso.com"]})
    (planned,) = plan_domains(config).domains
    (record,) = [r for r in planned.records if r.name == "_dmarc.contoso.com."]
    assert record.data == ("v=DMARC1; p=reject; rua=mailto:a@contoso.com!10m,mailto:b@contoso.com",)


def test_reports_sent_outside_warn_about_the_host_that_receives_them() -> None:
    config = domain(dmarc={"policy": "reject", "rua": ["mailto:d%3Bx@reports.example!10m"]})
    warnings = [str(w) for w in plan_domains(config).warnings]
    assert (
        "mailflow:domains[0].dmarc.rua[0]: reports go outside contoso.com: reports.example must publish TXT "
        'contoso.com._report._dmarc.reports.example "v=DMARC1" (RFC 7489 §7.1)'
    ) in warnings


def test_reports_to_the_domain_itself_do_not_warn() -> None:
    config = domain(dmarc={"policy": "reject", "rua": ["mailto:dmarc@contoso.com"]})
    assert not [w for w in plan_domains(config).warnings if "reports go outside" in w.message]


@pytest.mark.parametrize(
    ("uri", "host"),
    [
        ("mailto:d@reports.example!10m", "reports.example"),
        ("https://tlsrpt.example:8443/report?x=1", "tlsrpt.example"),
    ],
)
def test_report_host_is_the_receiving_host(uri: str, host: str) -> None:
    assert report_host(uri) == host


def tls_rpt_problems(uri: str) -> list[str]:
    return config_problems({"domains": [domain(tlsRpt={"rua": [uri]})]})


@pytest.mark.parametrize(
    ("uri", "says"),
    [
        ("https://reports.example/tls;v=x", "holds ';', which ends the rua tag"),
        (
            "mailto:tls@contoso.com,mailto:x@evil.example",
            "holds ',', which separates the URIs of the rua tag",
        ),
        ("mailto:tls@contoso.com!10m", "TLS-RPT URIs take no size limit (RFC 8460 §3)"),
        ("https://user@reports.example/", "is not an https: URI with a host name"),
        ("https://reports.example:70000/", "port 70000 is not between 1 and 65535"),
        ("https://reports/", "the host 'reports' is not a fully qualified name"),
        ("ftp://reports.example/", "is not a mailto: or https: URI"),
    ],
)
def test_a_malformed_tls_rpt_uri_is_refused(uri: str, says: str) -> None:
    (problem,) = tls_rpt_problems(uri)
    assert problem.startswith("mailflow:domains[0].tlsRpt.rua[0]: ")
    assert says in problem


def test_tls_rpt_https_uris_are_published_in_one_form() -> None:
    assert tls_rpt_uri("HTTPS://Reports.Example:8443/tls?a=1") == "https://reports.example:8443/tls?a=1"
