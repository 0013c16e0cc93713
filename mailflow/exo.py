"""The values Microsoft Graph does not give — DKIM selector targets (``Get-DkimSigningConfig``), the
DNSSEC-capable MX (``Get-DnssecStatusForVerifiedDomain``) and the accepted-domain type
(``Get-AcceptedDomain``) — through an Exchange Online PowerShell export: the script that writes
it, and the reader that merges it into the tenant file."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any

import dns.exception
import dns.rdata
import dns.rdataclass
import dns.rdatatype
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from mailflow.errors import ConfigError
from mailflow.powershell import comment, quote
from mailflow.stackfile import read_yaml
from mailflow.tenant import EXO_EXPORT, DkimValues, DnssecValues, ExchangeValues, ExpectedMx
from mailflow.validation import problems_from

CMDLETS = "Get-DkimSigningConfig, Get-DnssecStatusForVerifiedDomain, Get-AcceptedDomain"


class _Export(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class ExportDkim(_Export):
    selector1_cname: Annotated[str | None, Field(alias="selector1CNAME")] = None
    selector2_cname: Annotated[str | None, Field(alias="selector2CNAME")] = None
    enabled: bool | None = None
    status: str | None = None


class ExportDnssec(_Export):
    status: str | None = None
    expected_mx_record: Annotated[str | None, Field(alias="expectedMxRecord")] = None


class ExportDomain(_Export):
    name: Annotated[str, Field(min_length=1)]
    dkim: ExportDkim | None = None
    dnssec: ExportDnssec | None = None
    accepted_domain_type: Annotated[str | None, Field(alias="acceptedDomainType")] = None


class ExoExport(_Export):
    generated_at: Annotated[AwareDatetime, Field(alias="generatedAt")]
    domains: list[ExportDomain]


def export_script(domains: Iterable[str], output: str = EXO_EXPORT) -> str:
    """Exchange Online PowerShell that writes, for each domain, what the three cmdlets say, as the
    JSON ``mailflow tenant pull --exo-json`` reads. It only reads the organization."""
    names = ", ".join(quote(name) for name in domains)
    return "\n".join(
        [
            "# The Exchange Online values of the domains planned by mailflow that Microsoft Graph does",
            f"# not give ({CMDLETS}).",
            "# Run in Exchange Online PowerShell after Connect-ExchangeOnline (the View-Only Organization",
            "# Management role is enough; nothing is changed), then merge the file it writes:",
            f"#   mailflow tenant pull STACKFILE --exo-json {comment(output)}",
            "$ErrorActionPreference = 'Stop'",
            f"$domains = @({names})",
            "$entries = foreach ($name in $domains) {",
            "    $entry = [ordered]@{",
            "        name = $name; dkim = $null; dnssec = $null; acceptedDomainType = $null",
            "    }",
            "    $accepted = Get-AcceptedDomain -Identity $name -ErrorAction SilentlyContinue",
            "    if ($accepted) { $entry.acceptedDomainType = [string]$accepted.DomainType }",
            "    $dkim = Get-DkimSigningConfig -Identity $name -ErrorAction SilentlyContinue",
            "    if ($dkim) {",
            "        $entry.dkim = [ordered]@{",
            "            selector1CNAME = [string]$dkim.Selector1CNAME",
            "            selector2CNAME = [string]$dkim.Selector2CNAME",
            "            enabled = [bool]$dkim.Enabled",
            "            status = [string]$dkim.Status",
            "        }",
            "    }",
            "    $dnssec = Get-DnssecStatusForVerifiedDomain -DomainName $name -ErrorAction SilentlyContinue",
            "    if ($dnssec) {",
            "        $feature = $dnssec.DnssecFeatureStatus",
            "        if ($null -ne $feature.Value) { $feature = $feature.Value }",
            "        $entry.dnssec = [ordered]@{",
            "            status = [string]$feature",
            "            expectedMxRecord = [string]$dnssec.ExpectedMxRecord.Record",
            "        }",
            "    }",
            "    [pscustomobject]$entry",
            "}",
            "$export = [ordered]@{",
            "    generatedBy = 'mailflow tenant script'",
            "    generatedAt = (Get-Date).ToUniversalTime().ToString(",
            "        'yyyy-MM-ddTHH:mm:ssZ', [System.Globalization.CultureInfo]::InvariantCulture)",
            "    domains = @($entries)",
            "}",
            f"$export | ConvertTo-Json -Depth 5 | Set-Content -LiteralPath {quote(output)} -Encoding utf8",
            f'Write-Host ("Wrote " + {quote(output)} + " for " + $domains.Count + " domain(s).")',
            "",
        ]
    )


def read_export(path: Path) -> ExoExport:
    label = f"--exo-json ({path})"
    try:
        return ExoExport.model_validate(read_yaml(path, label))
    except ValidationError as error:
        raise ConfigError(problems_from(error, label)) from None


def _expected_mx(record: str) -> ExpectedMx:
    """``ExpectedMxRecord.Record``: a whole MX record (``@ 60 IN MX 10 contoso-com.e-v1.mx.microsoft``),
    its data (``10 contoso-com.e-v1.mx.microsoft``) or the host alone."""
    fields = record.split()
    if len(fields) >= 3 and fields[-3].upper() == "MX":
        fields = fields[-2:]
    try:
        if len(fields) == 2:
            rdata: Any = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.MX, " ".join(fields))
            return ExpectedMx(host=rdata.exchange.to_text(omit_final_dot=True), priority=rdata.preference)
        if len(fields) == 1:
            return ExpectedMx(host=fields[0])
    except (dns.exception.DNSException, ValidationError) as error:
        detail = _first_error(error) if isinstance(error, ValidationError) else str(error)
        raise ValueError(f"ExpectedMxRecord '{record}' is not an MX record ({detail})") from None
    raise ValueError(f"ExpectedMxRecord '{record}' is not an MX record, its data or a host name")


def exchange_values(entry: ExportDomain, export: ExoExport, source: str) -> tuple[ExchangeValues, list[str]]:
    """One domain's export as tenant-file values, and notes on what it lacks; raise ``ValueError``
    saying which value is no DNS data."""
    notes: list[str] = []
    dkim = None
    if entry.dkim and entry.dkim.selector1_cname and entry.dkim.selector2_cname:
        targets = (entry.dkim.selector1_cname, entry.dkim.selector2_cname)
        for selector, target in zip(("selector1", "selector2"), targets, strict=True):
            if not target.lower().startswith(f"{selector}-"):
                raise ValueError(f"{selector.capitalize()}CNAME '{target}' is not a {selector} target")
        try:
            dkim = DkimValues(
                selector1=targets[0],
                selector2=targets[1],
                enabled=entry.dkim.enabled,
                status=entry.dkim.status,
            )
        except ValidationError as error:
            raise ValueError(f"DKIM: {_first_error(error)}") from None
    else:
        notes.append(
            "no DKIM selector targets (Get-DkimSigningConfig): create them with "
            f"New-DkimSigningConfig -DomainName {entry.name} -Enabled $false, then export again"
        )
    dnssec = None
    if entry.dnssec and entry.dnssec.status:
        expected = entry.dnssec.expected_mx_record
        dnssec = DnssecValues(
            status=entry.dnssec.status, expected_mx=_expected_mx(expected) if expected else None
        )
    values = ExchangeValues(
        source=source,
        read_at=export.generated_at,
        dkim=dkim,
        dnssec=dnssec,
        accepted_domain_type=entry.accepted_domain_type or None,
    )
    return values, notes


def _first_error(error: ValidationError) -> str:
    first = error.errors(include_url=False)[0]
    return str(first["msg"]).removeprefix("Value error, ")
