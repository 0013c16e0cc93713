"""Reading domains from Microsoft Graph through the SDK's real HTTP path, against Graph's recorded
responses replayed on loopback: values, clouds, paging, throttling and every refusal."""

from __future__ import annotations

import time
from typing import Any

import pytest
from azure.core.credentials import AccessToken
from graph_replay import GraphReplay, Reply

from mailflow.fields import Cloud
from mailflow.graph import GRAPH_CLOUDS, GraphCloud, TenantReadError, read_domains
from mailflow.tenant import TenantMx


class StaticToken:
    """A credential that records the scopes it is asked for."""

    def __init__(self) -> None:
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **_: Any) -> AccessToken:
        self.scopes.append(scopes)
        return AccessToken("token-for-tests", int(time.time()) + 3600)


def read(graph: GraphReplay, *domains: tuple[str, Cloud], timeout: float = 10.0) -> Any:
    token = StaticToken()
    clouds = {
        cloud: GraphCloud(graph.base, GRAPH_CLOUDS[cloud].authority, GRAPH_CLOUDS[cloud].scope)
        for _, cloud in domains
    }
    return read_domains(domains, lambda cloud: token, timeout, clouds), token


def test_commercial_domain_as_graphs_documentation_shows_it(graph: GraphReplay) -> None:
    """The documented example names its records' types without '#': they are read all the same."""
    graph.domain("contoso.com")
    values, token = read(graph, ("contoso.com", "commercial"))
    contoso = values["contoso.com"]
    assert contoso.verified is True
    assert contoso.supported_services == ("Email", "OfficeCommunicationsOnline")
    assert contoso.mx == TenantMx(host="contoso-com.mail.protection.outlook.com", priority=0)
    assert contoso.spf == "v=spf1 include:spf.protection.outlook.com -all"
    assert contoso.cnames == {}
    assert token.scopes[0] == ("https://graph.microsoft.com/.default",)
    assert graph.requests == [
        ("/v1.0/domains/contoso.com", "Bearer token-for-tests"),
        ("/v1.0/domains/contoso.com/serviceConfigurationRecords", "Bearer token-for-tests"),
    ]


def test_new_hyphenated_domain_gets_its_mx_microsoft_host_across_pages(graph: GraphReplay) -> None:
    graph.domain("new-domain.example")
    values, _ = read(graph, ("new-domain.example", "commercial"))
    domain = values["new-domain.example"]
    assert domain.mx == TenantMx(host="newdomain-example02b.o-v1.mx.microsoft", priority=0)
    assert domain.cnames == {
        "autodiscover": "autodiscover.outlook.com",
        "enterpriseenrollment": "enterpriseenrollment-s.manage.microsoft.com",
        "enterpriseregistration": "enterpriseregistration.windows.net",
    }
    assert len(graph.requests) == 3


@pytest.mark.parametrize(
    ("domain", "cloud", "autodiscover", "graph_host"),
    [
        ("gcc.contoso.us", "gcc-high", "autodiscover.office365.us", "graph.microsoft.us"),
        ("dod.contoso.mil", "dod", "autodiscover-dod.office365.us", "dod-graph.microsoft.us"),
    ],
)
def test_a_us_government_cloud_asks_for_a_token_of_its_own_graph(
    graph: GraphReplay, domain: str, cloud: Cloud, autodiscover: str, graph_host: str
) -> None:
    graph.domain(domain)
    values, token = read(graph, (domain, cloud))
    assert values[domain].mx == TenantMx(host="contoso.mail.protection.office365.us", priority=0)
    assert values[domain].cnames == {"autodiscover": autodiscover}
    assert token.scopes[0] == (f"https://{graph_host}/.default",)


@pytest.mark.parametrize(
    ("cloud", "endpoint", "authority"),
    [
        ("commercial", "https://graph.microsoft.com", "login.microsoftonline.com"),
        ("gcc-high", "https://graph.microsoft.us", "login.microsoftonline.us"),
        ("dod", "https://dod-graph.microsoft.us", "login.microsoftonline.us"),
        # Entra's national-cloud page; MSAL calls login.chinacloudapi.cn deprecated.
        ("china", "https://microsoftgraph.chinacloudapi.cn", "login.partner.microsoftonline.cn"),
    ],
)
def test_each_cloud_has_its_graph_and_sign_in_hosts(cloud: Cloud, endpoint: str, authority: str) -> None:
    from msgraph_core import NationalClouds

    assert GRAPH_CLOUDS[cloud] == GraphCloud(endpoint, authority, f"{endpoint}/.default")
    assert endpoint in {c.value for c in NationalClouds}


def test_unverified_domain_is_read_with_graphs_reason(graph: GraphReplay) -> None:
    graph.domain("unverified.example")
    values, _ = read(graph, ("unverified.example", "commercial"))
    domain = values["unverified.example"]
    assert domain.verified is False
    assert domain.mx is None
    assert domain.unavailable == ("The domain has not been verified.",)


@pytest.mark.parametrize(
    ("status", "says"),
    [
        (401, "Microsoft Graph refused the token (401 InvalidAuthenticationToken"),
        (403, "needs the Domain.Read.All permission"),
        (404, "contoso.com is not a domain of this tenant (404 Request_ResourceNotFound"),
    ],
)
def test_refusals_say_what_to_do(graph: GraphReplay, status: int, says: str) -> None:
    graph.error("/v1.0/domains/contoso.com", status)
    with pytest.raises(TenantReadError) as caught:
        read(graph, ("contoso.com", "commercial"))
    assert str(caught.value).startswith("contoso.com: ")
    assert says in str(caught.value)


def test_every_failing_domain_is_named_at_once(graph: GraphReplay) -> None:
    graph.domain("contoso.com")
    with pytest.raises(TenantReadError) as caught:
        read(
            graph,
            ("contoso.com", "commercial"),
            ("missing.example", "commercial"),
            ("gone.example", "commercial"),
        )
    lines = str(caught.value).splitlines()
    assert [line.split(":")[0] for line in lines] == ["missing.example", "gone.example"]


def test_throttling_is_retried_after_the_time_graph_asks(graph: GraphReplay) -> None:
    graph.domain("contoso.com")
    errors = graph.error("/v1.0/domains/contoso.com", 429, {"Retry-After": "1"})
    graph.reply("/v1.0/domains/contoso.com", errors, graph.replies["/v1.0/domains/contoso.com"][0])
    graph.domain("contoso.com")
    graph.replies["/v1.0/domains/contoso.com"].insert(0, errors)
    started = time.monotonic()
    values, _ = read(graph, ("contoso.com", "commercial"))
    assert time.monotonic() - started >= 1
    assert values["contoso.com"].mx is not None
    assert [path for path, _ in graph.requests].count("/v1.0/domains/contoso.com") == 2


def test_throttling_that_never_ends_is_a_bounded_error(graph: GraphReplay) -> None:
    graph.error("/v1.0/domains/contoso.com", 429, {"Retry-After": "0"})
    with pytest.raises(TenantReadError, match="kept throttling"):
        read(graph, ("contoso.com", "commercial"))
    assert len(graph.requests) <= 4


def test_a_server_that_hangs_is_a_timeout_not_a_hang(graph: GraphReplay) -> None:
    graph.reply("/v1.0/domains/contoso.com", Reply(200, {}, delay=5))
    started = time.monotonic()
    with pytest.raises(TenantReadError, match="did not answer in time"):
        read(graph, ("contoso.com", "commercial"), timeout=0.5)
    assert time.monotonic() - started < 4.5


def test_a_next_page_on_another_host_is_refused(graph: GraphReplay) -> None:
    graph.domain("contoso.com")
    graph.reply(
        "/v1.0/domains/contoso.com/serviceConfigurationRecords",
        Reply(200, {"value": [], "@odata.nextLink": "https://attacker.example/v1.0/steal"}),
    )
    with pytest.raises(TenantReadError, match="next page on another host"):
        read(graph, ("contoso.com", "commercial"))
    assert all(path.startswith("/v1.0/domains/") for path, _ in graph.requests)


def test_pages_that_never_end_are_cut_off(graph: GraphReplay) -> None:
    graph.domain("contoso.com")
    loop = f"{graph.base}/v1.0/domains/contoso.com/serviceConfigurationRecords"
    graph.reply(
        "/v1.0/domains/contoso.com/serviceConfigurationRecords",
        Reply(200, {"value": [], "@odata.nextLink": loop}),
    )
    with pytest.raises(TenantReadError, match="more than 50 pages"):
        read(graph, ("contoso.com", "commercial"))


@pytest.mark.parametrize(
    "record",
    [
        {
            "recordType": "Mx",
            "label": "contoso.com",
            "supportedService": "Email",
            "mailExchange": "evil host; $INCLUDE /etc/passwd",
            "preference": 0,
        },
        {
            "recordType": "CName",
            "label": "autodiscover.contoso.com",
            "supportedService": "Email",
            "canonicalName": "a\nb.example",
        },
        {
            "recordType": "Mx",
            "label": "contoso.com",
            "supportedService": "Email",
            "mailExchange": "mx.example.net",
            "preference": 70000,
        },
        {
            "recordType": "Mx",
            "label": "contoso.com",
            "supportedService": "Email",
            "mailExchange": "mx.example.net",
            "preference": 10.5,
        },
    ],
)
def test_values_that_are_no_dns_data_are_refused(graph: GraphReplay, record: dict[str, Any]) -> None:
    graph.domain("contoso.com")
    graph.reply("/v1.0/domains/contoso.com/serviceConfigurationRecords", Reply(200, {"value": [record]}))
    with pytest.raises(TenantReadError, match="not DNS data"):
        read(graph, ("contoso.com", "commercial"))


@pytest.mark.parametrize(
    ("page", "reply", "says"),
    [
        (
            "",
            Reply(200, "<html>Service Unavailable</html>", {"Content-Type": "text/html"}),
            "could not be read",
        ),
        ("/serviceConfigurationRecords", Reply(200, ["not", "a", "page"]), "holds no list"),
        (
            "",
            Reply(500, {"error": {"code": "UnknownError", "message": "boom"}}),
            "answered 500 UnknownError: boom",
        ),
    ],
)
def test_an_answer_that_is_not_graphs_is_an_error_not_a_traceback(
    graph: GraphReplay, page: str, reply: Reply, says: str
) -> None:
    graph.domain("contoso.com")
    graph.reply(f"/v1.0/domains/contoso.com{page}", reply)
    with pytest.raises(TenantReadError) as caught:
        read(graph, ("contoso.com", "commercial"))
    assert str(caught.value).startswith("contoso.com: ")
    assert says in str(caught.value)


def test_an_internationalised_domain_matches_graphs_ascii_labels(graph: GraphReplay) -> None:
    graph.reply(
        "/v1.0/domains/bücher.de",
        Reply(200, {"id": "xn--bcher-kva.de", "isVerified": True, "supportedServices": ["Email"]}),
    )
    mx = {
        "@odata.type": "#microsoft.graph.domainDnsMxRecord",
        "recordType": "Mx",
        "label": "xn--bcher-kva.de",
        "supportedService": "Email",
        "mailExchange": "xn--bcher-kva-de01c.mail.protection.outlook.com",
        "preference": 0,
    }
    graph.reply("/v1.0/domains/bücher.de/serviceConfigurationRecords", Reply(200, {"value": [mx]}))
    values, _ = read(graph, ("bücher.de", "commercial"))
    assert values["bücher.de"].mx == TenantMx(
        host="xn--bcher-kva-de01c.mail.protection.outlook.com", priority=0
    )


def test_throttling_past_what_the_client_waits_for_says_how_long_graph_asked(graph: GraphReplay) -> None:
    graph.error("/v1.0/domains/contoso.com", 429, {"Retry-After": "200"})
    with pytest.raises(TenantReadError, match=r"run again in 200 s or more, the wait Graph asked for"):
        read(graph, ("contoso.com", "commercial"))
    assert len(graph.requests) == 1


def test_two_mx_hosts_publish_the_mx_microsoft_one_and_name_the_other(graph: GraphReplay) -> None:
    """While Microsoft moves a domain to mx.microsoft, Graph may list both hosts at one preference."""
    graph.domain("contoso.com")
    page = graph.replies["/v1.0/domains/contoso.com/serviceConfigurationRecords"][0].body
    moved = {**page["value"][0], "mailExchange": "contoso-com.o-v1.mx.microsoft"}
    page["value"].append(moved)
    values, _ = read(graph, ("contoso.com", "commercial"))
    contoso = values["contoso.com"]
    assert contoso.mx == TenantMx(host="contoso-com.o-v1.mx.microsoft", priority=0)
    assert contoso.other_mx == (TenantMx(host="contoso-com.mail.protection.outlook.com", priority=0),)


@pytest.mark.parametrize(
    ("record", "says"),
    [
        (
            {"recordType": "Mx", "label": "contoso.com", "supportedService": "Email", "preference": 0},
            "an MX record has no mailExchange (None)",
        ),
        (
            {
                "recordType": "Mx",
                "label": "contoso.com",
                "supportedService": "Email",
                "mailExchange": "mx.example.net",
                "preference": 70000,
            },
            "(priority: Input should be less than or equal to 65535)",
        ),
    ],
)
def test_a_value_that_is_no_dns_data_is_named(graph: GraphReplay, record: dict[str, Any], says: str) -> None:
    graph.domain("contoso.com")
    graph.reply("/v1.0/domains/contoso.com/serviceConfigurationRecords", Reply(200, {"value": [record]}))
    with pytest.raises(TenantReadError) as caught:
        read(graph, ("contoso.com", "commercial"))
    assert str(caught.value).startswith("contoso.com: Microsoft Graph returned a value that is not DNS data")
    assert says in str(caught.value)
