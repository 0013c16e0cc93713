"""The tenant file: the values Microsoft assigned to each domain, as read from the tenant (Microsoft
Graph and an Exchange Online PowerShell export), each group with its source and the time it was read.

``mailflow tenant pull`` writes it; stacks name it in ``mailflow:tenantFile`` and the plan publishes
its values before any value from config or a derivation.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import yaml_rs
from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field, ValidationError

from mailflow.errors import ConfigError, Problem
from mailflow.fields import Cloud, HostName, Model
from mailflow.names import folded, service_name
from mailflow.stackfile import project_path, read_yaml
from mailflow.validation import NAMESPACE, problems_from

TENANT_FILE_KEY = f"{NAMESPACE}:tenantFile"
Auth = Literal["default", "environment", "workload-identity", "azure-cli", "device-code"]
"""How ``mailflow tenant pull`` signs in to Microsoft Graph (``mailflow.graph.credential``)."""
AUTH_METHODS: tuple[Auth, ...] = get_args(Auth)
EXO_EXPORT = "exo-export.json"
"""The file the Exchange Online export script writes by default (``mailflow.exo``)."""
HEADER = (
    "# The values Microsoft assigned to these domains, read from the tenant by `mailflow tenant pull`.\n"
    "# Commit it beside the stack file; `mailflow tenant pull --check` tells when it is out of date.\n"
)


ServiceName = Annotated[str, AfterValidator(service_name)]


class TenantMx(Model):
    host: HostName
    priority: Annotated[int, Field(ge=0, le=65535)]


class GraphValues(Model):
    """What Microsoft Graph says of a domain: ``GET /domains/{id}`` and its
    ``serviceConfigurationRecords`` (the records Microsoft 365 asks the DNS host to publish)."""

    source: str
    """The Graph URL the values were read from."""
    read_at: AwareDatetime
    verified: bool
    supported_services: tuple[str, ...] = ()
    mx: TenantMx | None = None
    """The MX host Exchange Online receives the domain's mail on: Graph's lowest preference, an
    ``mx.microsoft`` host first among equals."""
    other_mx: tuple[TenantMx, ...] | None = None
    """Any further MX records Graph lists, which the plan does not publish."""
    spf: str | None = None
    cnames: dict[str, ServiceName] = Field(default_factory=dict)
    """Relative owner name (``autodiscover``) -> CNAME target, for the domain's Email and Intune
    services."""
    unavailable: tuple[str, ...] = ()
    """Graph's reasons when it could not generate a domain's records (domainDnsUnavailableRecord)."""


class DkimValues(Model):
    selector1: ServiceName
    selector2: ServiceName
    enabled: bool | None = None
    status: str | None = None


class ExpectedMx(Model):
    host: HostName
    priority: Annotated[int | None, Field(ge=0, le=65535)] = None
    """None when the export gave the host alone."""


class DnssecValues(Model):
    status: str
    """``DnssecFeatureStatus``: Enabled or Disabled."""
    expected_mx: ExpectedMx | None = None
    """The DNSSEC-capable MX (``ExpectedMxRecord``), under ``mx.microsoft``."""


class ExchangeValues(Model):
    """What Exchange Online PowerShell says of a domain (``mailflow tenant script`` exports it)."""

    source: str
    """The export file and the cmdlets it ran."""
    read_at: AwareDatetime
    dkim: DkimValues | None = None
    dnssec: DnssecValues | None = None
    accepted_domain_type: str | None = None


class TenantDomain(Model):
    cloud: Cloud
    graph: GraphValues
    exchange_online: ExchangeValues | None = None


def _distinct_names(domains: Any) -> Any:
    """Two keys naming one domain (``contoso.com``, ``Contoso.com.``) would silently become one."""
    if isinstance(domains, dict):
        seen: dict[str, str] = {}
        for key in domains:
            name = folded(str(key))
            if name in seen:
                raise ValueError(f"'{key}' and '{seen[name]}' name the same domain")
            seen[name] = str(key)
    return domains


class TenantFile(Model):
    version: Literal[1] = 1
    domains: Annotated[dict[HostName, TenantDomain], BeforeValidator(_distinct_names)]


def parse_tenant(document: Any, label: str) -> TenantFile:
    """Validate a tenant file's content; problems name the file and the key."""
    try:
        return TenantFile.model_validate(document)
    except ValidationError as error:
        raise ConfigError(problems_from(error, label)) from None


def read_tenant_file(name: Any, project: Path) -> TenantFile:
    """``mailflow:tenantFile``, relative to the project directory like ``domainsFile``."""
    if not isinstance(name, str) or not name:
        raise ConfigError([Problem(TENANT_FILE_KEY, "must be the path of the tenant file (YAML or JSON)")])
    path = project_path(name, project)
    if not path.exists():
        raise ConfigError(
            [
                Problem(
                    TENANT_FILE_KEY,
                    f"{name} does not exist: write it with `mailflow tenant pull STACKFILE`, which reads "
                    "the tenant through Microsoft Graph, and commit it beside the stack file",
                )
            ]
        )
    return parse_tenant(read_yaml(path, f"{TENANT_FILE_KEY} ({path})"), name)


def tenant_document(tenant: TenantFile) -> dict[str, Any]:
    """The file's content as plain data, in camelCase, domains in name order."""
    data = tenant.model_dump(mode="json", by_alias=True, exclude_none=True)
    data["domains"] = dict(sorted(data["domains"].items()))
    return data


def render_tenant(tenant: TenantFile) -> str:
    return HEADER + yaml_rs.dumps(tenant_document(tenant)).removeprefix("---\n")


def values_only(tenant: TenantFile) -> dict[str, Any]:
    """The file without where and when values were read: what ``--check`` compares."""
    data = tenant_document(tenant)
    for domain in data["domains"].values():
        for group in ("graph", "exchangeOnline"):
            if group in domain:
                domain[group].pop("readAt", None)
                domain[group].pop("source", None)
    return data


def read_date(moment: datetime) -> str:
    """The day a value was read, for warnings and tables."""
    return moment.date().isoformat()
