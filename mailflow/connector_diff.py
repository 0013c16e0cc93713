"""`mailflow connectors diff`: compare one planned tenant's connectors, ARC trusted sealers and
accepted domains with what ``mailflow connectors export`` read from the tenant."""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from mailflow.connectors import (
    NAME_PREFIX,
    Connector,
    ConnectorPlan,
    ConnectorType,
    Direction,
    ParameterValue,
    TenantConnectors,
)
from mailflow.live_connectors import (
    ACCEPTED_DOMAINS,
    ARC_CONFIG,
    CONNECTORS,
    MULTI_VALUED,
    Kind,
    LiveObject,
    LiveTenant,
    LiveValue,
)

ENABLED = "Enabled"
UNPLANNED_DEFAULTS: Mapping[Direction, tuple[str, ...]] = {
    Direction.INBOUND: ("TreatMessagesAsInternal", "EFTestMode"),
    Direction.OUTBOUND: ("IsTransportRuleScoped", "TestMode", "AllAcceptedDomains"),
}
"""Flags the plan leaves false (Exchange Online's default) that would change a connector's mail:
mail treated as internal skips filtering, Enhanced Filtering in test mode filters nothing, a
connector scoped to transport rules or to every accepted domain routes other mail than planned."""
LOCK_DOWN_PAIRS = (
    ("RestrictDomainsToCertificate", "RestrictDomainsToIPAddresses"),
    ("RestrictDomainsToIPAddresses", "RestrictDomainsToCertificate"),
)
"""A connector locked down one way is left unlocked the other (a certificate lock-down beside
stale IP restriction rejects what the plan accepts)."""


class Severity(StrEnum):
    DRIFT = "drift"
    """The tenant differs from the plan."""
    WARNING = "warning"
    """Worth a look, but not a difference from a planned value."""
    LEFT_ALONE = "left-alone"
    """Not mailflow's: listed so that the report accounts for every connector."""


class Change(StrEnum):
    MISSING = "missing"
    """A planned connector the tenant lacks."""
    DIFFERENT = "different"
    """A planned parameter whose live value differs."""
    UNEXPECTED = "unexpected"
    """A ``mailflow …`` connector the plan no longer has."""
    SEALER_MISSING = "sealer missing"
    """A planned ARC trusted sealer the tenant does not trust."""
    NOT_ACCEPTED = "not accepted"
    """A planned accepted domain the tenant does not accept."""
    DOMAIN_TYPE = "different type"
    """An accepted domain of another type than planned."""
    SET_OUTSIDE = "set outside"
    """A parameter the plan leaves at Exchange Online's default, set otherwise in the tenant in a
    way that changes where the connector's mail goes or how it is checked."""
    NOT_EXPORTED = "not exported"
    """A planned parameter the export does not hold, so it was not compared."""
    DISABLED = "disabled"
    """A planned connector that is switched off (the plan leaves ``Enabled`` alone)."""
    WIZARD_INSTEAD = "wizard instead"
    """A planned on-premises connector the script neither makes nor sets, since the tenant has an
    on-premises connector of that direction that mailflow did not make (the Hybrid Configuration
    Wizard's)."""
    LEFT_ALONE = "left alone"
    """A connector not named ``mailflow …``, such as the Hybrid Configuration Wizard's."""


_SEVERITY = {
    Change.NOT_EXPORTED: Severity.WARNING,
    Change.DISABLED: Severity.WARNING,
    Change.WIZARD_INSTEAD: Severity.WARNING,
    Change.LEFT_ALONE: Severity.LEFT_ALONE,
}

JsonValue = bool | str | list[str] | None


@dataclass(frozen=True)
class Finding:
    change: Change
    object: str
    """What kind of object: ``InboundConnector``, ``OutboundConnector``, ``ArcConfig`` or
    ``AcceptedDomain`` (the noun of its cmdlets)."""
    name: str
    """The connector's name, the sealer's or accepted domain's name."""
    parameter: str | None = None
    planned: JsonValue = None
    live: JsonValue = None

    @property
    def severity(self) -> Severity:
        return _SEVERITY.get(self.change, Severity.DRIFT)


IN_SYNC = "in-sync"


@dataclass(frozen=True)
class ConnectorDiff:
    tenant: str
    source: str
    """The export compared with (``connectors export (<path>)``)."""
    generated_at: datetime
    findings: tuple[Finding, ...]

    @property
    def drift(self) -> bool:
        return any(finding.severity is Severity.DRIFT for finding in self.findings)

    @property
    def status(self) -> str:
        return Severity.DRIFT if self.drift else IN_SYNC


class TenantChoiceError(ValueError):
    """The tenant to compare cannot be told from the plan and ``--tenant``."""


def planned_tenant(plan: ConnectorPlan, name: str | None) -> TenantConnectors:
    """The tenant ``name`` names; without a name, the plan's one tenant (an empty one when the
    plan has none). Raise ``TenantChoiceError`` when that does not settle it."""
    names = [tenant.tenant for tenant in plan.tenants]
    if name is None:
        if len(plan.tenants) > 1:
            raise TenantChoiceError(
                f"the stack plans connectors for several tenants ({', '.join(names)}); "
                "name the one the export is of with --tenant"
            )
        return plan.tenants[0] if plan.tenants else TenantConnectors("default", (), (), ())
    found = next((tenant for tenant in plan.tenants if tenant.tenant == name), None)
    if found is None:
        planned = f"its tenants: {', '.join(names)}" if names else "it plans none"
        raise TenantChoiceError(f"--tenant {name}: the stack plans no such tenant ({planned})")
    return found


def diff_tenant(planned: TenantConnectors, live: LiveTenant) -> ConnectorDiff:
    """Every difference between the planned tenant and the export, connectors first, then the
    ARC trusted sealers and accepted domains, then the connectors left alone."""
    findings: list[Finding] = []
    left_alone: list[Finding] = []
    for direction in CONNECTORS:
        planned_connectors = [c for c in planned.connectors if c.direction is direction]
        found, others = _connector_findings(direction, planned_connectors, live.connectors(direction))
        findings.extend(found)
        left_alone.extend(others)
    findings.extend(_sealer_findings(planned.arc_trusted_sealers, live.arc_config))
    findings.extend(_accepted_domain_findings(planned, live.accepted_domains))
    return ConnectorDiff(planned.tenant, live.source, live.generated_at, (*findings, *left_alone))


def _connector_findings(
    direction: Direction, planned: Iterable[Connector], live: Iterable[LiveObject]
) -> tuple[list[Finding], list[Finding]]:
    """The drift of one direction's connectors, and the live connectors left alone. Exchange
    Online names are unique without regard to case."""
    noun = f"{direction}Connector"
    kinds = CONNECTORS[direction].properties
    live_connectors = {connector.name.casefold(): connector for connector in live}
    # As the connector script decides it: an on-premises connector mailflow did not name does the
    # job of the planned one, which is then neither made nor set.
    wizard = [
        connector.name
        for name, connector in live_connectors.items()
        if not name.startswith(NAME_PREFIX) and _on_premises(connector.properties.get("ConnectorType"))
    ]
    planned_names: set[str] = set()
    findings: list[Finding] = []
    for connector in planned:
        planned_names.add(connector.name.casefold())
        found = live_connectors.get(connector.name.casefold())
        connector_type = next((p.value for p in connector.parameters if p.name == "ConnectorType"), None)
        if wizard and _on_premises(connector_type):
            findings.append(Finding(Change.WIZARD_INSTEAD, noun, connector.name, live=wizard))
        elif found is None:
            findings.append(Finding(Change.MISSING, noun, connector.name))
        else:
            findings.extend(_parameter_findings(connector, found, noun, kinds))
    left_alone: list[Finding] = []
    for name, live_connector in live_connectors.items():
        if name in planned_names:
            continue
        if name.startswith(NAME_PREFIX):
            findings.append(Finding(Change.UNEXPECTED, noun, live_connector.name))
        else:
            left_alone.append(Finding(Change.LEFT_ALONE, noun, live_connector.name))
    return findings, left_alone


def _on_premises(connector_type: ParameterValue | LiveValue) -> bool:
    return comparable(Kind.WORD, connector_type) == ConnectorType.ON_PREMISES.casefold()


def _parameter_findings(
    connector: Connector, live: LiveObject, noun: str, kinds: Mapping[str, Kind]
) -> list[Finding]:
    findings = []
    for parameter in connector.parameters:
        kind = kinds.get(parameter.name)
        if kind is None or parameter.name not in live.properties:
            findings.append(
                Finding(Change.NOT_EXPORTED, noun, connector.name, parameter.name, _shown(parameter.value))
            )
            continue
        value = live.properties[parameter.name]
        if comparable(kind, parameter.value) != comparable(kind, value):
            findings.append(
                Finding(
                    Change.DIFFERENT,
                    noun,
                    connector.name,
                    parameter.name,
                    _shown(parameter.value),
                    _shown(value),
                )
            )
    planned = {parameter.name: parameter.value for parameter in connector.parameters}
    if ENABLED not in planned and comparable(Kind.FLAG, live.properties.get(ENABLED)) is False:
        findings.append(Finding(Change.DISABLED, noun, connector.name, ENABLED, live=False))
    left_false = [*UNPLANNED_DEFAULTS[connector.direction]]
    left_false.extend(other for locked, other in LOCK_DOWN_PAIRS if planned.get(locked) is True)
    findings.extend(
        Finding(Change.SET_OUTSIDE, noun, connector.name, name, False, True)
        for name in left_false
        if name not in planned and comparable(Kind.FLAG, live.properties.get(name)) is True
    )
    return findings


def _sealer_findings(planned: Iterable[str], arc_config: LiveObject | None) -> list[Finding]:
    live_value = arc_config.properties.get("ArcTrustedSealers") if arc_config else None
    trusted = _set(Kind.NAMES, live_value if isinstance(live_value, str | tuple) else None)
    noun = ARC_CONFIG.cmdlet.removeprefix("Get-")
    return [
        Finding(Change.SEALER_MISSING, noun, sealer, "ArcTrustedSealers", sealer, _shown(live_value))
        for sealer in planned
        if _name(sealer) not in trusted
    ]


def _accepted_domain_findings(planned: TenantConnectors, live: Iterable[LiveObject]) -> list[Finding]:
    noun = ACCEPTED_DOMAINS.cmdlet.removeprefix("Get-")
    accepted = {_name(domain.name): domain for domain in live}
    findings = []
    for domain in planned.accepted_domains:
        found = accepted.get(_name(domain.domain))
        if found is None:
            findings.append(
                Finding(Change.NOT_ACCEPTED, noun, domain.domain, "DomainType", domain.domain_type.value)
            )
            continue
        live_type = found.properties.get("DomainType")
        if comparable(Kind.WORD, domain.domain_type) != comparable(Kind.WORD, live_type):
            findings.append(
                Finding(
                    Change.DOMAIN_TYPE,
                    noun,
                    domain.domain,
                    "DomainType",
                    domain.domain_type.value,
                    _shown(live_type),
                )
            )
    return findings


_ADDRESS_SPACE = re.compile(r"^smtp:(?P<domain>.*?)(?:;\d+)?$", re.IGNORECASE)
"""``smtp:*;1``: how Exchange shows an address space (a ``SenderDomains`` entry) with its cost."""


def comparable(kind: Kind, value: ParameterValue | LiveValue) -> Hashable:
    """``value`` in the form it is compared in for its kind; ``None`` for a cleared value (null,
    empty text, an empty list), so that ``$null`` and ``@()`` are the same."""
    if kind in MULTI_VALUED and not isinstance(value, bool):
        return _set(kind, value) or None
    if value is None or value == "" or value == ():
        return None
    if isinstance(value, tuple):
        value = ",".join(value)
    if isinstance(value, bool):
        return value
    text = str(value).strip()
    if kind is Kind.FLAG:
        return {"true": True, "false": False}.get(text.casefold(), text.casefold())
    if kind is Kind.TEXT:
        return str(value)
    if kind is Kind.NAME:
        return _name(text)
    return text.casefold()


def _set(kind: Kind, value: str | tuple[str, ...] | None) -> frozenset[str]:
    """A multi-valued property's values, each normalised for its kind. Get-ArcConfig gives its
    sealers as one comma-separated entry, and no name or address holds a comma."""
    items = (value,) if isinstance(value, str) else value or ()
    normalise = _network if kind is Kind.NETWORKS else _name
    return frozenset(normalise(part) for item in items for part in item.split(",") if part.strip())


def _name(text: str) -> str:
    """A host, domain, certificate or mail address name without case, a final dot, an IP
    literal's brackets or an address space's ``smtp:`` and cost."""
    name = text.strip()
    address_space = _ADDRESS_SPACE.match(name)
    if address_space:
        name = address_space["domain"]
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    return name.rstrip(".").casefold()


def _network(text: str) -> str:
    """An address or network as one network (``10.0.0.1/32``); a range or anything else as text."""
    try:
        return str(ipaddress.ip_network(text.strip().strip("[]"), strict=False))
    except ValueError:
        return text.strip().casefold()


def _shown(value: ParameterValue | LiveValue) -> JsonValue:
    """A value as the report shows it: an enum by its name, a multi-valued one as a list."""
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, StrEnum):
        return value.value
    return value


def report_json(diff: ConnectorDiff) -> str:
    document = {
        "tenant": diff.tenant,
        "export": diff.source,
        "generatedAt": diff.generated_at.isoformat().replace("+00:00", "Z"),
        "status": diff.status,
        "drift": diff.drift,
        "findings": [
            {
                "severity": finding.severity.value,
                "change": finding.change.value,
                "object": finding.object,
                "name": finding.name,
                "parameter": finding.parameter,
                "planned": finding.planned,
                "live": finding.live,
            }
            for finding in diff.findings
        ],
    }
    return json.dumps(document, indent=2) + "\n"


def report_table(diff: ConnectorDiff) -> str:
    generated = diff.generated_at.isoformat().replace("+00:00", "Z")
    status = "drift" if diff.drift else "in sync"
    lines = [f"tenant {diff.tenant}: {status} ({diff.source}, read {generated})"]
    for finding in diff.findings:
        lines.append(
            f"  {finding.severity:<10} {finding.change:<15} {finding.object:<17} {finding.name}"
            + _detail(finding)
        )
    return "\n".join(lines) + "\n"


def _detail(finding: Finding) -> str:
    if finding.change is Change.LEFT_ALONE:
        return "  (not named mailflow …)"
    if finding.change is Change.NOT_EXPORTED:
        return f"  {finding.parameter}: planned {_text(finding.planned)}, not in the export"
    if finding.change in (Change.DIFFERENT, Change.DOMAIN_TYPE, Change.SEALER_MISSING):
        return f"  {finding.parameter}: planned {_text(finding.planned)}, live {_text(finding.live)}"
    if finding.change is Change.NOT_ACCEPTED:
        return f"  planned {finding.planned}"
    if finding.change is Change.SET_OUTSIDE:
        return (
            f"  {finding.parameter}: live true, which the plan leaves false: "
            f"Set-{finding.object} -Identity '{finding.name}' -{finding.parameter} $false"
        )
    if finding.change is Change.DISABLED:
        return "  Enabled: live false"
    if finding.change is Change.WIZARD_INSTEAD:
        return f"  not made nor set beside {_text(finding.live)} (onPremises.hybridWizard: true plans none)"
    return ""


def _text(value: JsonValue) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(value) + "]"
    return value
