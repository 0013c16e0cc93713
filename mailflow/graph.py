"""Read what Microsoft Graph says of each domain (``GET /domains/{id}`` and its
``serviceConfigurationRecords``), in the Microsoft cloud the domain lives in, with Microsoft's
Graph SDK and an azure-identity credential that needs only ``Domain.Read.All``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from mailflow.assigned import is_mx_microsoft
from mailflow.fields import Cloud
from mailflow.names import normalize_name
from mailflow.tenant import Auth, GraphValues, TenantMx

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential
    from msgraph.graph_service_client import GraphServiceClient

PERMISSION = "Domain.Read.All"
MAX_PAGES = 50
"""A domain has a handful of service records; more pages than this is a server going round in circles."""


@dataclass(frozen=True)
class GraphCloud:
    """Microsoft Graph's endpoint and the Entra ID sign-in host of one Microsoft cloud
    (Graph's "National cloud deployments" page)."""

    endpoint: str
    authority: str
    scope: str
    """The token's scope: ``<Graph endpoint>/.default``."""


def _cloud(endpoint: str, authority: str) -> GraphCloud:
    return GraphCloud(endpoint, authority, f"{endpoint}/.default")


GRAPH_CLOUDS: dict[Cloud, GraphCloud] = {
    "commercial": _cloud("https://graph.microsoft.com", "login.microsoftonline.com"),
    "gcc-high": _cloud("https://graph.microsoft.us", "login.microsoftonline.us"),
    "dod": _cloud("https://dod-graph.microsoft.us", "login.microsoftonline.us"),
    "china": _cloud("https://microsoftgraph.chinacloudapi.cn", "login.partner.microsoftonline.cn"),
}


class TenantReadError(Exception):
    """The tenant could not be read; the message says why and what to do."""


def credential(auth: Auth, cloud: Cloud) -> TokenCredential:
    """An azure-identity credential signing in to ``cloud``: ``default`` tries the pipeline's
    environment (client secret or certificate, workload identity federation), a managed identity,
    then the Azure CLI's sign-in; ``device-code`` asks a person to sign in on another device."""
    from azure.identity import (
        AzureCliCredential,
        DefaultAzureCredential,
        DeviceCodeCredential,
        EnvironmentCredential,
        WorkloadIdentityCredential,
    )

    authority = GRAPH_CLOUDS[cloud].authority
    if auth == "environment":
        return EnvironmentCredential(authority=authority)
    if auth == "workload-identity":
        return WorkloadIdentityCredential(authority=authority)
    if auth == "azure-cli":
        return AzureCliCredential()
    if auth == "device-code":
        return DeviceCodeCredential(authority=authority)
    return DefaultAzureCredential(authority=authority, exclude_interactive_browser_credential=True)


def graph_client(token: TokenCredential, cloud: GraphCloud, timeout: float) -> GraphServiceClient:
    """A Graph client for ``cloud`` whose token goes to that cloud's host only; the SDK's middleware
    retries throttled requests (429, honouring Retry-After) a bounded number of times."""
    import httpx
    from kiota_authentication_azure.azure_identity_authentication_provider import (
        AzureIdentityAuthenticationProvider,
    )
    from kiota_http.kiota_client_factory import KiotaClientFactory
    from msgraph.graph_request_adapter import GraphRequestAdapter
    from msgraph.graph_service_client import GraphServiceClient
    from msgraph_core import GraphClientFactory

    host = urlsplit(cloud.endpoint).hostname or ""
    auth = AzureIdentityAuthenticationProvider(token, scopes=[cloud.scope], allowed_hosts=[host])
    http = KiotaClientFactory.get_default_client()
    http.timeout = httpx.Timeout(timeout)
    adapter = GraphRequestAdapter(auth, client=GraphClientFactory.create_with_default_middleware(client=http))
    adapter.base_url = f"{cloud.endpoint}/v1.0"
    return GraphServiceClient(request_adapter=adapter)


def _field(record: Any, attribute: str, key: str) -> Any:
    """A record property, typed when Graph names the record's ``@odata.type`` with its ``#`` (as
    it does), from the untyped remainder when not (as Graph's documentation example shows it)."""
    value = getattr(record, attribute, None)
    return value if value is not None else (record.additional_data or {}).get(key)


def graph_values(
    domain: str, source: str, details: Any, records: Iterable[Any], read_at: datetime
) -> GraphValues:
    """The tenant-file form of a domain and its service records; raise ``TenantReadError`` on
    values that are no DNS data."""
    mx: list[TenantMx] = []
    spf: str | None = None
    cnames: dict[str, str] = {}
    unavailable: list[str] = []
    apex = normalize_name(domain, hostname=False)
    suffix = f".{apex}"
    try:
        for record in records:
            kind = str(_field(record, "record_type", "recordType") or "").lower()
            # normalize_name gives the A-label, so a Unicode label from Graph matches the config's.
            label = normalize_name(str(_field(record, "label", "label") or domain), hostname=False)
            service = _field(record, "supported_service", "supportedService")
            description = _field(record, "description", "description")
            if description is not None and not kind:
                unavailable.append(str(description))
            elif kind == "mx" and label == apex and service == "Email":
                host = _field(record, "mail_exchange", "mailExchange")
                if not isinstance(host, str) or not host:
                    raise ValueError(f"an MX record has no mailExchange ({host!r})")
                priority = _field(record, "preference", "preference")
                if not isinstance(priority, int) or isinstance(priority, bool):
                    raise ValueError(f"MX {host} has no whole-number preference ({priority!r})")
                mx.append(TenantMx(host=host, priority=priority))
            elif kind == "txt" and label == apex and service == "Email":
                text = str(_field(record, "text", "text") or "")
                if text.lower().startswith("v=spf1"):
                    spf = text
            elif kind == "cname" and label.endswith(suffix):
                cnames[label.removesuffix(suffix)] = str(_field(record, "canonical_name", "canonicalName"))
        mx.sort(key=lambda m: (m.priority, not is_mx_microsoft(m.host), m.host))
        if not isinstance(details.is_verified, bool):
            raise ValueError(f"the domain has no isVerified flag ({details.is_verified!r})")
        return GraphValues(
            source=source,
            read_at=read_at,
            verified=details.is_verified,
            supported_services=tuple(sorted(details.supported_services or ())),
            mx=mx[0] if mx else None,
            other_mx=tuple(mx[1:]) or None,
            spf=spf,
            cnames=dict(sorted(cnames.items())),
            unavailable=tuple(unavailable),
        )
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        field = ".".join(str(part) for part in first["loc"])
        raise TenantReadError(
            f"{domain}: Microsoft Graph returned a value that is not DNS data ({field}: {first['msg']})"
        ) from None
    except (ValueError, TypeError) as error:
        detail = str(error).splitlines()[0]
        raise TenantReadError(
            f"{domain}: Microsoft Graph returned a value that is not DNS data ({detail})"
        ) from None


def _explain(error: Exception, domain: str, cloud: Cloud) -> str:
    """One line on what failed and what to do."""
    import httpx
    from azure.core.exceptions import ClientAuthenticationError
    from msgraph.generated.models.o_data_errors.o_data_error import ODataError

    if isinstance(error, ODataError):
        status = error.response_status_code
        code = error.error.code if error.error else None
        message = error.error.message if error.error else None
        said = f"{status} {code}: {message}" if code else f"{status}"
        if status == 401:
            return f"Microsoft Graph refused the token ({said}); sign in to the {cloud} cloud's tenant again"
        if status == 403:
            return (
                f"Microsoft Graph denied access ({said}): the identity needs the {PERMISSION} permission "
                "(an application permission with admin consent, or a user holding the Domain Name "
                "Administrator or Global Reader role)"
            )
        if status == 404:
            return (
                f"{domain} is not a domain of this tenant ({said}): add it in the Microsoft 365 admin "
                f"center, or check exchangeOnline.cloud ({cloud})"
            )
        if status == 429:
            headers = {name.lower(): value for name, value in (error.response_headers or {}).items()}
            wait = headers.get("retry-after")
            later = f"in {wait} s or more, the wait Graph asked for" if wait else "later"
            return f"Microsoft Graph kept throttling the requests ({said}); run again {later}"
        return f"Microsoft Graph answered {said}"
    if isinstance(error, ClientAuthenticationError):
        first = str(error.message or error).strip().splitlines()[0]
        return f"could not sign in to the {cloud} cloud: {first}"
    if isinstance(error, httpx.TimeoutException):
        return "Microsoft Graph did not answer in time"
    if isinstance(error, httpx.HTTPError):
        return f"could not reach Microsoft Graph ({type(error).__name__}: {error})"
    first = (str(error).strip().splitlines() or [""])[0][:200]
    return f"Microsoft Graph's answer could not be read ({type(error).__name__}: {first})"


async def _read_domain(
    client: GraphServiceClient, domain: str, cloud: GraphCloud, now: datetime
) -> GraphValues:
    builder = client.domains.by_domain_id(domain)
    details = await builder.get()
    if details is None:
        raise TenantReadError(f"{domain}: Microsoft Graph returned no domain")
    records: list[Any] = []
    page = await builder.service_configuration_records.get()
    for _ in range(MAX_PAGES):
        if page is None or page.value is None:
            raise TenantReadError(f"{domain}: Microsoft Graph's answer holds no list of service records")
        records.extend(page.value)
        link = page.odata_next_link
        if not link:
            break
        # The next page must come from the same Graph endpoint: the token is for it alone.
        if urlsplit(link)[:2] != urlsplit(cloud.endpoint)[:2]:
            raise TenantReadError(f"{domain}: Microsoft Graph sent a next page on another host ({link})")
        page = await builder.service_configuration_records.with_url(link).get()
    else:
        raise TenantReadError(f"{domain}: Microsoft Graph sent more than {MAX_PAGES} pages of records")
    source = f"{cloud.endpoint}/v1.0/domains/{domain} (+ /serviceConfigurationRecords)"
    return graph_values(domain, source, details, records, now)


def read_domains(
    domains: Iterable[tuple[str, Cloud]],
    token_for: Callable[[Cloud], TokenCredential],
    timeout: float = 30.0,
    clouds: dict[Cloud, GraphCloud] | None = None,
) -> dict[str, GraphValues]:
    """Each domain's Graph values, read from its cloud; raise ``TenantReadError`` naming every
    domain that could not be read and why."""
    endpoints = clouds or GRAPH_CLOUDS
    by_cloud: dict[Cloud, list[str]] = {}
    for name, cloud in domains:
        by_cloud.setdefault(cloud, []).append(name)
    now = datetime.now(UTC).replace(microsecond=0)

    async def read_all() -> tuple[dict[str, GraphValues], list[str]]:
        values: dict[str, GraphValues] = {}
        failures: list[str] = []
        for cloud, names in by_cloud.items():
            try:
                client = graph_client(token_for(cloud), endpoints[cloud], timeout)
            except ValueError as error:  # azure-identity: a credential's settings are missing
                reason = (str(error).strip().splitlines() or [""])[0]
                failures.extend(f"{name}: cannot sign in to the {cloud} cloud: {reason}" for name in names)
                continue
            for name in names:
                try:
                    values[name] = await _read_domain(client, name, endpoints[cloud], now)
                except TenantReadError as error:
                    failures.append(str(error))
                except Exception as error:
                    failures.append(f"{name}: {_explain(error, name, cloud)}")
        return values, failures

    values, failures = asyncio.run(read_all())
    if failures:
        raise TenantReadError("\n".join(failures))
    return values
