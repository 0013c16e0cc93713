"""The values Microsoft assigns to a domain: the Exchange Online MX host, the DKIM targets and the
autodiscover target. Each is taken from the tenant file first, then from explicit config, and only
then derived, where Microsoft documents the derivation; every derived value is a path-named
warning saying what it assumes, and strict mode refuses it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mailflow.config import ON_PREMISES_TOPOLOGIES, Autodiscover, Domain
from mailflow.errors import ConfigError, Problem
from mailflow.tenant import TenantDomain, read_date
from mailflow.topology import CLOUDS, MxTarget

DKIM_SELECTORS = ("selector1", "selector2")
MX_MICROSOFT = ".mx.microsoft"
SPF_MIN_TTL = 3600
"""Microsoft recommends at least one hour for the SPF TXT record."""
_DKIM_FORMS = (
    # Since May 2025: selector1-<domain-dashes>._domainkey.<prefix>.<partition>-v1.dkim.mail.microsoft
    re.compile(r"^(selector[12])-[a-z0-9-]+\._domainkey\.[a-z0-9-]+\.[a-z0-9]-v1\.dkim\.mail\.microsoft$"),
    # Before: selector1-<domain-dashes>._domainkey.<tenant>.onmicrosoft.com (.us, .cn in sovereign clouds)
    re.compile(r"^(selector[12])-[a-z0-9-]+\._domainkey\.[a-z0-9-]+\.onmicrosoft\.(?:com|us|cn)$"),
)
STRICT_REASON = "strict mode refuses values Microsoft assigns that are derived, not read from the tenant"


@dataclass(frozen=True)
class Assigned:
    """The assigned values of one domain, where each came from, and what the choice warns of."""

    exo_mx: MxTarget
    autodiscover: str | None
    """The CNAME target of ``autodiscover.<domain>``; None publishes no record."""
    dkim: dict[str, str]
    cnames: dict[str, str]
    """Other CNAME targets the tenant gives (device management), by relative name."""
    sources: dict[str, str]
    """``exoMxHost``, ``dkim``, ``autodiscover`` -> where the value came from, for people."""
    warnings: list[Problem] = field(default_factory=list)
    derived: list[Problem] = field(default_factory=list)
    """One per derived value; warnings, or problems in strict mode."""


def _tenant_source(tenant: TenantDomain, what: str) -> str:
    graph = tenant.graph
    if what == "graph":
        return f"tenant file: Microsoft Graph, read {read_date(graph.read_at)}"
    exo = tenant.exchange_online
    assert exo is not None
    return f"tenant file: Exchange Online export, read {read_date(exo.read_at)}"


def _exo_mx(domain: Domain, path: str, tenant: TenantDomain | None, found: Assigned) -> MxTarget | None:
    exo = domain.exchange_online
    key = f"{path}.exchangeOnline.mxHost"
    tenant_mx = tenant.graph.mx if tenant else None
    if tenant and tenant_mx:
        if exo.mx_host is not None and exo.mx_host != tenant_mx.host:
            found.warnings.append(
                Problem(
                    key,
                    f"'{exo.mx_host}' differs from the tenant's MX host '{tenant_mx.host}' "
                    f"(Microsoft Graph, read {read_date(tenant.graph.read_at)}); the tenant's is "
                    "published: remove mxHost",
                )
            )
        dnssec = tenant.exchange_online.dnssec if tenant.exchange_online else None
        if dnssec and dnssec.expected_mx and dnssec.expected_mx.host != tenant_mx.host:
            found.warnings.append(
                Problem(
                    key,
                    f"Get-DnssecStatusForVerifiedDomain expects MX '{dnssec.expected_mx.host}' but Microsoft "
                    f"Graph lists '{tenant_mx.host}'; Graph's is published. Pull the tenant again once "
                    "the DNSSEC change has settled",
                )
            )
        found.sources["exoMxHost"] = _tenant_source(tenant, "graph")
        priority = exo.mx_priority if exo.mx_priority is not None else tenant_mx.priority
        return MxTarget(priority, tenant_mx.host)
    priority = exo.mx_priority if exo.mx_priority is not None else 0
    if exo.mx_host is not None:
        found.sources["exoMxHost"] = f"config: {key}"
        return MxTarget(priority, exo.mx_host)
    pull = "read it with `mailflow tenant pull` (mailflow:tenantFile) or set mxHost"
    if exo.cloud in ("gcc-high", "dod"):
        if exo.initial_domain is None:
            raise ConfigError(
                [
                    Problem(
                        key,
                        f"cannot be derived in {exo.cloud}: Microsoft names the MX host after the tenant "
                        "(<tenant>.mail.protection.office365.us); set exchangeOnline.initialDomain "
                        f"(contoso.onmicrosoft.us), or {pull}",
                    )
                ]
            )
        host = f"{exo.initial_domain.split('.')[0]}.{CLOUDS[exo.cloud].mx_suffix}"
        found.derived.append(
            Problem(
                key,
                f"derived as '{host}' from the tenant name in exchangeOnline.initialDomain, as "
                f"Microsoft's {exo.cloud} DNS page describes; {pull}",
            )
        )
    else:
        if "-" in domain.name:
            raise ConfigError(
                [
                    Problem(
                        key,
                        f"cannot be derived for '{domain.name}': Microsoft assigns the MX host of a domain "
                        f"containing '-' (its token drops the hyphens and may carry a suffix); {pull}",
                    )
                ]
            )
        host = f"{domain.name.replace('.', '-')}.{CLOUDS[exo.cloud].mx_suffix}"
        found.derived.append(
            Problem(
                key,
                f"derived as '{host}' from the domain name, which holds only for domains accepted "
                "before July 2026: newer domains get a host under mx.microsoft that cannot be "
                f"derived; {pull}",
            )
        )
    found.sources["exoMxHost"] = "derived from the domain name"
    return MxTarget(priority, host)


def _config_dkim(domain: Domain) -> dict[str, str]:
    """The targets config gives: both selectors, or the old format derived from initialDomain."""
    config = domain.exchange_online.dkim
    if config is None:
        return {}
    if config.selector1 is not None and config.selector2 is not None:
        return {"selector1": config.selector1, "selector2": config.selector2}
    if config.initial_domain is not None:
        token = domain.name.replace(".", "-")
        return {s: f"{s}-{token}._domainkey.{config.initial_domain}" for s in DKIM_SELECTORS}
    return {}


def _dkim(domain: Domain, path: str, tenant: TenantDomain | None, found: Assigned) -> None:
    key = f"{path}.exchangeOnline.dkim"
    config = domain.exchange_online.dkim
    configured = _config_dkim(domain)
    tenant_dkim = tenant.exchange_online.dkim if tenant and tenant.exchange_online else None
    if tenant and tenant_dkim:
        found.dkim.update(selector1=tenant_dkim.selector1, selector2=tenant_dkim.selector2)
        found.sources["dkim"] = _tenant_source(tenant, "exchange")
        if configured and configured != found.dkim:
            found.warnings.append(
                Problem(
                    key,
                    "differs from the tenant's Selector1CNAME/Selector2CNAME; the tenant's are published: "
                    "remove exchangeOnline.dkim",
                )
            )
        return
    found.dkim.update(configured)
    if config is None or not configured:
        return
    if config.initial_domain is None:
        found.sources["dkim"] = f"config: {key}"
        for selector, target in configured.items():
            form = next((m for m in (f.match(target) for f in _DKIM_FORMS) if m), None)
            if form is None or form.group(1) != selector:
                found.warnings.append(
                    Problem(
                        f"{key}.{selector}",
                        f"'{target}' is not of a form Microsoft uses for {selector} "
                        f"({selector}-<domain>._domainkey.<tenant>.<x>-v1.dkim.mail.microsoft, or the older "
                        f"…._domainkey.<tenant>.onmicrosoft.com); copy {selector.capitalize()}CNAME "
                        "from Get-DkimSigningConfig",
                    )
                )
        return
    found.sources["dkim"] = "derived from initialDomain (old format)"
    found.derived.append(
        Problem(
            f"{key}.initialDomain",
            f"targets derived in the old format ({configured['selector1']}); custom domains added "
            "since May 2025 use …<partition>-v1.dkim.mail.microsoft targets that only the tenant "
            "knows, and the two formats cannot coexist for a selector: read them with "
            "`mailflow tenant pull --exo-json` or set selector1 and selector2",
        )
    )


def _autodiscover(domain: Domain, path: str, tenant: TenantDomain | None, found: Assigned) -> str | None:
    key = f"{path}.exchangeOnline.autodiscover"
    setting = domain.exchange_online.autodiscover
    hybrid = domain.topology in ON_PREMISES_TOPOLOGIES
    if isinstance(setting, Autodiscover):
        target = setting.target
    elif setting is None:
        target = "none" if hybrid else "exchange-online"
        if hybrid:
            found.warnings.append(
                Problem(
                    key,
                    "is not set, so no autodiscover record is published: in Exchange hybrid it must "
                    "point to the on-premises Exchange servers (Microsoft's hybrid prerequisites); set "
                    "{target: on-premises, host: <Exchange host>}, or {target: none} if it is "
                    "published elsewhere",
                )
            )
    else:
        target = "exchange-online" if setting else "none"
    if target == "none":
        return None
    if isinstance(setting, Autodiscover) and setting.target == "on-premises":
        found.sources["autodiscover"] = f"config: {key}.host"
        return setting.host
    if hybrid:
        found.warnings.append(
            Problem(
                key,
                f"points to Exchange Online in the {domain.topology} topology: Outlook for mailboxes still "
                "on-premises is sent away from the servers that hold them; do this only once every "
                "mailbox has moved",
            )
        )
    if tenant and "autodiscover" in tenant.graph.cnames:
        found.sources["autodiscover"] = _tenant_source(tenant, "graph")
        return tenant.graph.cnames["autodiscover"]
    found.sources["autodiscover"] = f"Microsoft's {domain.exchange_online.cloud} endpoint"
    return CLOUDS[domain.exchange_online.cloud].autodiscover


def _tenant_checks(domain: Domain, path: str, tenant: TenantDomain, label: str) -> list[Problem]:
    """The tenant file must describe this domain in this cloud; what the tenant says of the domain's
    state is a warning."""
    cloud = domain.exchange_online.cloud
    if tenant.cloud != cloud:
        raise ConfigError(
            [
                Problem(
                    f"{path}.exchangeOnline.cloud",
                    f"is {cloud}, but {label} read {domain.name} from the {tenant.cloud} cloud",
                )
            ]
        )
    include = f"include:{CLOUDS[cloud].spf_include}"
    spf = tenant.graph.spf
    if spf is not None and include not in spf.split():
        raise ConfigError(
            [
                Problem(
                    f"{path}.exchangeOnline.cloud",
                    f"the tenant's SPF record ('{spf}') does not hold {include}: is the cloud right?",
                )
            ]
        )
    warnings = []
    if not tenant.graph.verified:
        warnings.append(
            Problem(
                path,
                f"{domain.name} is not verified in the tenant: Exchange Online accepts no mail for it until "
                "its MS= TXT record (exchangeOnline.verification) is published and the domain verified",
            )
        )
    elif "Email" not in tenant.graph.supported_services:
        services = ", ".join(tenant.graph.supported_services) or "none"
        warnings.append(
            Problem(
                path,
                f"Email is not among {domain.name}'s services in the tenant ({services}): add it in the "
                "Microsoft 365 admin center, or Exchange Online will not accept its mail",
            )
        )
    warnings.extend(
        Problem(path, f"Microsoft Graph could not give this domain's records: {reason}")
        for reason in tenant.graph.unavailable
    )
    return warnings


def assign(domain: Domain, path: str, tenant: TenantDomain | None, tenant_label: str) -> Assigned:
    """The assigned values of ``domain``; raise ``ConfigError`` when one can be neither read nor
    derived, or the tenant file contradicts the config."""
    found = Assigned(MxTarget(0, ""), None, {}, {}, {})
    if tenant is not None:
        found.warnings.extend(_tenant_checks(domain, path, tenant, tenant_label))
    exo_mx = _exo_mx(domain, path, tenant, found)
    assert exo_mx is not None
    _dkim(domain, path, tenant, found)
    autodiscover = _autodiscover(domain, path, tenant, found)
    if domain.ttl < SPF_MIN_TTL:
        found.warnings.append(
            Problem(
                f"{path}.ttl",
                f"{domain.ttl} s is the TTL of the SPF record too; Microsoft recommends at least "
                f"{SPF_MIN_TTL} s for it",
            )
        )
    cnames = dict(tenant.graph.cnames) if tenant else {}
    cnames.pop("autodiscover", None)
    return Assigned(exo_mx, autodiscover, found.dkim, cnames, found.sources, found.warnings, found.derived)


def mx_microsoft_problems(
    path: str, exo_mx: MxTarget, apex_mx_hosts: list[str], tenant: TenantDomain | None
) -> tuple[list[Problem], list[Problem]]:
    """Microsoft's rules for a DNSSEC-capable ``mx.microsoft`` host that the MX points to: no
    fallback MX beside it (its DNSSEC steps delete the legacy one), and the priority that
    ``Get-DnssecStatusForVerifiedDomain`` validates."""
    if not exo_mx.host.endswith(MX_MICROSOFT) or exo_mx.host not in apex_mx_hosts:
        return [], []
    problems = []
    others = sorted(h for h in apex_mx_hosts if h != exo_mx.host)
    if others:
        problems.append(
            Problem(
                f"{path}.extraRecords",
                f"MX {', '.join(others)} beside the DNSSEC-capable {exo_mx.host}: Microsoft's DNSSEC "
                "steps remove every other MX record (no fallback MX)",
            )
        )
    warnings = []
    dnssec = tenant.exchange_online.dnssec if tenant and tenant.exchange_online else None
    expected = dnssec.expected_mx if dnssec else None
    if expected and expected.host == exo_mx.host and expected.priority != exo_mx.priority:
        warnings.append(
            Problem(
                f"{path}.exchangeOnline.mxPriority",
                f"MX priority {exo_mx.priority}, but Get-DnssecStatusForVerifiedDomain expects "
                f"{expected.priority} for {exo_mx.host}",
            )
        )
    return problems, warnings
