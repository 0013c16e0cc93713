"""What a tenant's Exchange Online connectors, ARC trusted sealers and accepted domains are today:
the read-only PowerShell that exports them as JSON (``mailflow connectors export``), and the reader
of that JSON. One table of properties drives both, so what is exported is what can be compared."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import AwareDatetime, TypeAdapter, ValidationError

from mailflow.connectors import Direction
from mailflow.errors import ConfigError, Problem, quote
from mailflow.powershell import comment
from mailflow.powershell import quote as powershell_quote
from mailflow.validation import format_loc

DEFAULT_EXPORT = "mailflow-connectors.json"
GENERATED_BY = "mailflow connectors export"
MAX_EXPORT_BYTES = 32 * 1024 * 1024
"""Far above any tenant's export (thousands of accepted domains take a few MB); a larger file is no
export, and is refused before it is read into memory."""


class Kind(StrEnum):
    """How a property is written in the export, and how its values compare."""

    FLAG = "flag"
    """``$true`` / ``$false``."""
    WORD = "word"
    """An enum value (``Partner``): compared without case."""
    TEXT = "text"
    """Free text (``Comment``): compared as written."""
    NAME = "name"
    """A host, domain or certificate name: compared without case or a final dot."""
    NAMES = "names"
    """A multi-valued property of names or addresses: a set, compared without order or case."""
    NETWORKS = "networks"
    """A multi-valued property of IP addresses or networks: a set of networks (``10.0.0.1`` is
    ``10.0.0.1/32``)."""


MULTI_VALUED = frozenset({Kind.NAMES, Kind.NETWORKS})


@dataclass(frozen=True)
class ExportedObjects:
    """One cmdlet's objects in the export: under ``key``, the listed properties of each."""

    key: str
    cmdlet: str
    properties: Mapping[str, Kind]
    identity: str | None
    """The property naming each object; ``None`` for the organization's one object (``single``)."""
    single: bool = False

    @property
    def command(self) -> str:
        """The cmdlet with every object asked for: Get- cmdlets stop at 1000 without -ResultSize."""
        return self.cmdlet if self.single else f"{self.cmdlet} -ResultSize Unlimited"


_CONNECTOR_PROPERTIES: Mapping[str, Kind] = {
    "Name": Kind.TEXT,
    "Enabled": Kind.FLAG,
    "Comment": Kind.TEXT,
    "ConnectorType": Kind.WORD,
    "CloudServicesMailEnabled": Kind.FLAG,
}

INBOUND_CONNECTORS = ExportedObjects(
    "inboundConnectors",
    "Get-InboundConnector",
    {
        **_CONNECTOR_PROPERTIES,
        "SenderDomains": Kind.NAMES,
        "AssociatedAcceptedDomains": Kind.NAMES,
        "RestrictDomainsToIPAddresses": Kind.FLAG,
        "SenderIPAddresses": Kind.NETWORKS,
        "RestrictDomainsToCertificate": Kind.FLAG,
        "TlsSenderCertificateName": Kind.NAME,
        "RequireTls": Kind.FLAG,
        "TreatMessagesAsInternal": Kind.FLAG,
        "TrustedOrganizations": Kind.NAMES,
        "EFSkipLastIP": Kind.FLAG,
        "EFSkipIPs": Kind.NETWORKS,
        "EFUsers": Kind.NAMES,
        "EFTestMode": Kind.FLAG,
        "ScanAndDropRecipients": Kind.NAMES,
    },
    identity="Name",
)
OUTBOUND_CONNECTORS = ExportedObjects(
    "outboundConnectors",
    "Get-OutboundConnector",
    {
        **_CONNECTOR_PROPERTIES,
        "UseMXRecord": Kind.FLAG,
        "SmartHosts": Kind.NAMES,
        "TlsSettings": Kind.WORD,
        "TlsDomain": Kind.NAME,
        "RecipientDomains": Kind.NAMES,
        "AllAcceptedDomains": Kind.FLAG,
        "IsTransportRuleScoped": Kind.FLAG,
        "RouteAllMessagesViaOnPremises": Kind.FLAG,
        "SenderRewritingEnabled": Kind.FLAG,
        "TestMode": Kind.FLAG,
    },
    identity="Name",
)
ARC_CONFIG = ExportedObjects(
    "arcConfig", "Get-ArcConfig", {"ArcTrustedSealers": Kind.NAMES}, identity=None, single=True
)
ACCEPTED_DOMAINS = ExportedObjects(
    "acceptedDomains",
    "Get-AcceptedDomain",
    {"DomainName": Kind.NAME, "DomainType": Kind.WORD},
    identity="DomainName",
)
EXPORTED = (INBOUND_CONNECTORS, OUTBOUND_CONNECTORS, ARC_CONFIG, ACCEPTED_DOMAINS)
CONNECTORS: Mapping[Direction, ExportedObjects] = {
    Direction.INBOUND: INBOUND_CONNECTORS,
    Direction.OUTBOUND: OUTBOUND_CONNECTORS,
}

LiveValue = bool | str | tuple[str, ...] | None
"""A property as exported: a multi-valued one as a tuple of its values' text, an enum as its name."""


@dataclass(frozen=True)
class LiveObject:
    name: str
    """Its identity (a connector's ``Name``, an accepted domain's ``DomainName``); empty for the
    ARC config."""
    properties: Mapping[str, LiveValue]
    """The exported properties; one missing from the export is missing here too."""


@dataclass(frozen=True)
class LiveTenant:
    source: str
    generated_at: datetime
    inbound_connectors: tuple[LiveObject, ...]
    outbound_connectors: tuple[LiveObject, ...]
    arc_config: LiveObject | None
    accepted_domains: tuple[LiveObject, ...]

    def connectors(self, direction: Direction) -> tuple[LiveObject, ...]:
        return self.inbound_connectors if direction is Direction.INBOUND else self.outbound_connectors


def export_script(output: str = DEFAULT_EXPORT) -> str:
    """Exchange Online PowerShell that writes the tenant's connectors, ARC config and accepted
    domains as the JSON ``mailflow connectors diff`` reads. It only reads the organization."""
    cmdlets = ", ".join(objects.cmdlet for objects in EXPORTED)
    lines = [
        "# The Exchange Online connectors, ARC trusted sealers and accepted domains of the tenant,",
        f"# read for mailflow ({cmdlets}).",
        "# Run in Exchange Online PowerShell after Connect-ExchangeOnline (the View-Only Organization",
        "# Management role is enough; nothing is changed), then compare the file it writes:",
        f"#   mailflow connectors diff STACKFILE {comment(output)}",
        "$ErrorActionPreference = 'Stop'",
        "# Booleans stay booleans, enums and other values become their text, a missing one null.",
        "function ConvertTo-MailflowValue($value) {",
        "    if ($null -eq $value -or $value -is [bool]) { return $value }",
        "    [string]$value",
        "}",
    ]
    for objects in EXPORTED:
        lines.extend(_export_lines(objects))
    lines.extend(
        [
            "$export = [ordered]@{",
            f"    generatedBy = {powershell_quote(GENERATED_BY)}",
            "    generatedAt = (Get-Date).ToUniversalTime().ToString(",
            "        'yyyy-MM-ddTHH:mm:ssZ', [System.Globalization.CultureInfo]::InvariantCulture)",
            *(f"    {objects.key} = ${objects.key}" for objects in EXPORTED),
            "}",
            f"$export | ConvertTo-Json -Depth 5 | Out-File -LiteralPath {powershell_quote(output)} "
            "-Encoding utf8",
            f'Write-Host ("Wrote " + {powershell_quote(output)} + ": " + $inboundConnectors.Count + '
            '" inbound and " + $outboundConnectors.Count + " outbound connectors, " + '
            '$acceptedDomains.Count + " accepted domains.")',
            "",
        ]
    )
    return "\n".join(lines)


def _export_lines(objects: ExportedObjects) -> list[str]:
    """``$key = @(foreach ($object in @(Get-X)) { [pscustomobject][ordered]@{ ... } })``: each
    property selected by name, a multi-valued one as an array of text."""
    source = f"@({objects.command} | Select-Object -First 1)" if objects.single else f"@({objects.command})"
    loop = f"foreach ($object in {source}) {{"
    lines = [f"${objects.key} = {loop}" if objects.single else f"${objects.key} = @({loop}"]
    lines.append("    [pscustomobject][ordered]@{")
    for name, kind in objects.properties.items():
        if kind in MULTI_VALUED:
            value = f"@(foreach ($item in $object.{name}) {{ [string]$item }})"
        else:
            value = f"ConvertTo-MailflowValue $object.{name}"
        lines.append(f"        {name} = {value}")
    lines.append("    }")
    lines.append("}" if objects.single else "})")
    return lines


def read_live_export(path: Path) -> LiveTenant:
    """The export ``mailflow connectors export`` wrote, or raise ``ConfigError`` naming the file and
    every place in it that is not as the export writes it."""
    label = f"connectors export ({path})"
    document = _json_document(path, label)
    if not isinstance(document, dict):
        raise ConfigError([Problem(label, "is not the JSON object `mailflow connectors export` writes")])
    if document.get("generatedBy") != GENERATED_BY:
        written_by = document.get("generatedBy")
        shown = quote(written_by) if isinstance(written_by, str) else "missing"
        raise ConfigError(
            [
                Problem(
                    f"{label}.generatedBy",
                    f"is {shown}: this is not the file `mailflow connectors export` writes",
                )
            ]
        )
    problems: list[Problem] = []
    generated_at = datetime.min
    try:
        generated_at = TypeAdapter(AwareDatetime).validate_python(document.get("generatedAt"))
    except ValidationError:
        problems.append(Problem(f"{label}.generatedAt", "must be a date and time with its time zone"))
    found = {objects.key: _objects(objects, document, label, problems) for objects in EXPORTED}
    if problems:
        raise ConfigError(problems)
    arc = found[ARC_CONFIG.key]
    return LiveTenant(
        source=label,
        generated_at=generated_at,
        inbound_connectors=found[INBOUND_CONNECTORS.key],
        outbound_connectors=found[OUTBOUND_CONNECTORS.key],
        arc_config=arc[0] if arc else None,
        accepted_domains=found[ACCEPTED_DOMAINS.key],
    )


def _json_document(path: Path, label: str) -> Any:
    try:
        with path.open("rb") as file:
            data = file.read(MAX_EXPORT_BYTES + 1)
    except OSError as error:
        raise ConfigError([Problem(label, f"cannot be read ({error.strerror})")]) from None
    if len(data) > MAX_EXPORT_BYTES:
        raise ConfigError(
            [Problem(label, f"is larger than {MAX_EXPORT_BYTES // (1024 * 1024)} MiB, more than any export")]
        )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ConfigError(
            [Problem(label, "is UTF-16 text; write it with -Encoding utf8, as the export script does")]
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ConfigError(
            [Problem(label, f"is not UTF-8 text ({error.reason} at byte {error.start})")]
        ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(
            [Problem(label, f"is not valid JSON ({error.msg} at line {error.lineno} column {error.colno})")]
        ) from None
    except RecursionError:
        raise ConfigError([Problem(label, "is not valid JSON (nested too deeply)")]) from None


def _objects(
    objects: ExportedObjects, document: Mapping[str, Any], label: str, problems: list[Problem]
) -> tuple[LiveObject, ...]:
    path = format_loc(label, [objects.key])
    if objects.key not in document:
        problems.append(Problem(path, f"is required (what {objects.cmdlet} returns)"))
        return ()
    found = document[objects.key]
    if objects.single:
        if found is None:
            return ()
        if not isinstance(found, dict):
            problems.append(Problem(path, "must be an object or null"))
            return ()
        return (_object(objects, found, path, problems),)
    if not isinstance(found, list):
        problems.append(Problem(path, "must be a list of objects"))
        return ()
    live: list[LiveObject] = []
    seen: set[str] = set()
    for index, entry in enumerate(found):
        entry_path = format_loc(path, [index])
        if not isinstance(entry, dict):
            problems.append(Problem(entry_path, "must be an object"))
            continue
        live_object = _object(objects, entry, entry_path, problems)
        # Exchange Online names are unique without regard to case; a repeated one was edited in.
        if live_object.name and live_object.name.casefold() in seen:
            problems.append(
                Problem(format_loc(entry_path, [str(objects.identity)]), f"repeats {quote(live_object.name)}")
            )
        seen.add(live_object.name.casefold())
        live.append(live_object)
    return tuple(live)


def _object(
    objects: ExportedObjects, entry: Mapping[str, Any], path: str, problems: list[Problem]
) -> LiveObject:
    properties = {
        name: _value(kind, entry[name], format_loc(path, [name]), problems)
        for name, kind in objects.properties.items()
        if name in entry
    }
    name = ""
    if objects.identity is not None:
        identity = properties.get(objects.identity)
        if isinstance(identity, str) and identity:
            name = identity
        else:
            problems.append(Problem(format_loc(path, [objects.identity]), "is required (non-empty text)"))
    return LiveObject(name, properties)


def _value(kind: Kind, value: Any, path: str, problems: list[Problem]) -> LiveValue:
    if value is None:
        return None
    if kind in MULTI_VALUED:
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return tuple(value)
        expected = "a list of text"
    elif kind is Kind.FLAG:
        # Text too: the export writes what is not a boolean as its text.
        if isinstance(value, bool | str):
            return value
        expected = "true or false"
    elif isinstance(value, str):
        return value
    else:
        expected = "text"
    problems.append(Problem(path, f"must be {expected} or null (got {quote(json.dumps(value))})"))
    return None
