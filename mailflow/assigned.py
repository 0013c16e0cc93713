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
_DKIM_FORM = re.compile(
    r"^(selector[12])-[a-z0-9-]+\._domainkey\.[a-z0-9-]+\."
    # Since May 2025: selector1-<domain-dashes>._domainkey.<prefix>.<partition>-v1.dkim.mail.microsoft
    r"(?:[a-z0-9]-v1\.dkim\.mail\.microsoft"
    # Before: selector1-<domain-dashes>._domainkey.<tenant>.onmicrosoft.com (.us, .cn in sovereign clouds)
    r"|onmicrosoft\.(?:com|us|cn))$"
)
STRICT_REASON = "strict mode refuses values Microsoft assigns that are derived, not read from the tenant"
PULL_HINT = "read it with `mailflow tenant pull` (mailflow:tenantFile) or set mxHost"


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
    warnings: tuple[Problem, ...]
    derived: tuple[Problem, ...]
    """One per derived value; warnings, or problems in strict mode."""


@dataclass
class _Findings:
    sources: dict[str, str] = field(default_factory=dict)
    warnings: list[Problem] = field(default_factory=list)
    derived: list[Problem] = field(default_factory=list)
    refused: list[Problem] = field(default_factory=list)
    """Values that can be neither read nor derived: all of a domain's are reported together."""


def _graph_source(tenant: TenantDomain) -> str:
    return f"tenant file: Microsoft Graph, read {read_date(tenant.graph.read_at)}"


def _derivable(domain: Domain, key: str, what: str, hint: str, found: _Findings) -> bool:
    """Whether a token can be derived from the domain's name; refused for a name Microsoft
    tokenises its own way: with '-' (it drops the hyphens and may add a suffix) or
    internationalised."""
    name = domain.name
    # Config names are A-labels, which hold '-' too: tell them apart first.
    if any(label.startswith("xn--") for label in name.split(".")):
        reason = "spelled with non-ASCII letters (its token comes from the A-label Microsoft uses)"
    elif "-" in name:
        reason = "containing '-' (its token drops the hyphens and may carry a suffix)"
    else:
        return True
    found.refused.append(
        Problem(
            key,
            f"cannot be derived for '{name}': Microsoft assigns the {what} of a domain {reason}; {hint}",
            needs_tenant=True,
        )
    )
    return False


def _exo_mx(domain: Domain, path: str, tenant: TenantDomain | None, found: _Findings) -> MxTarget:
    exo = domain.exchange_online
    key = f"{path}.exchangeOnline.mxHost"
    tenant_mx = tenant.graph.mx if tenant else None
    if tenant and tenant_mx:
        read = f"Microsoft Graph, read {read_date(tenant.graph.read_at)}"
        if exo.mx_host is not None and exo.mx_host != tenant_mx.host:
            found.warnings.append(
                Problem(
                    key,
                    f"'{exo.mx_host}' differs from the tenant's MX host '{tenant_mx.host}' ({read}); "
                    "the tenant's is published: remove mxHost",
                )
            )
        if exo.mx_priority is not None and exo.mx_priority != tenant_mx.priority:
            found.warnings.append(
                Problem(
                    f"{path}.exchangeOnline.mxPriority",
                    f"{exo.mx_priority} differs from the tenant's preference {tenant_mx.priority} ({read}); "
                    "the tenant's is published: remove mxPriority",
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
        if tenant.graph.other_mx:
            others = ", ".join(f"{m.host} ({m.priority})" for m in tenant.graph.other_mx)
            found.warnings.append(
                Problem(
                    key,
                    f"Microsoft Graph lists more MX hosts than one for {domain.name}: {tenant_mx.host} "
                    f"({tenant_mx.priority}) is published, not {others}; Exchange Online receives on one "
                    "host, so pull the tenant again once Microsoft's change of the domain's MX has settled",
                )
            )
        found.sources["exoMxHost"] = _graph_source(tenant)
        return MxTarget(tenant_mx.priority, tenant_mx.host)
    priority = exo.mx_priority if exo.mx_priority is not None else 0
    if exo.mx_host is not None:
        found.sources["exoMxHost"] = f"config: {key}"
        return MxTarget(priority, exo.mx_host)
    if exo.cloud in ("gcc-high", "dod"):
        if exo.initial_domain is None:
            found.refused.append(
                Problem(
                    key,
                    f"cannot be derived in {exo.cloud}: Microsoft names the MX host after the tenant "
                    "(<tenant>.mail.protection.office365.us); set exchangeOnline.initialDomain "
                    f"(contoso.onmicrosoft.us), or {PULL_HINT}",
                    needs_tenant=True,
                )
            )
            return MxTarget(priority, "")
        host = f"{exo.initial_domain.split('.')[0]}.{CLOUDS[exo.cloud].mx_suffix}"
        found.derived.append(
            Problem(
                key,
                f"derived as '{host}' from the tenant name in exchangeOnline.initialDomain, as "
                f"Microsoft's {exo.cloud} DNS page describes; {PULL_HINT}",
            )
        )
        found.sources["exoMxHost"] = "derived from the tenant name"
        return MxTarget(priority, host)
    if not _derivable(domain, key, "MX host", PULL_HINT, found):
        return MxTarget(priority, "")
    host = f"{domain.name.replace('.', '-')}.{CLOUDS[exo.cloud].mx_suffix}"
    found.derived.append(
        Problem(
            key,
            f"derived as '{host}' from the domain name, which holds only for domains accepted "
            "before July 2026: newer domains get a host under mx.microsoft that cannot be derived; "
            + PULL_HINT,
        )
    )
    found.sources["exoMxHost"] = "derived from the domain name"
    return MxTarget(priority, host)


def _config_dkim(domain: Domain) -> tuple[dict[str, str], bool]:
    """The targets config gives, and whether they are derived: both selectors, or the old format
    derived from initialDomain."""
    config = domain.exchange_online.dkim
    if config is None:
        return {}, False
    if config.selector1 is not None and config.selector2 is not None:
        return {"selector1": config.selector1, "selector2": config.selector2}, False
    if config.initial_domain is not None:
        token = domain.name.replace(".", "-")
        return {s: f"{s}-{token}._domainkey.{config.initial_domain}" for s in DKIM_SELECTORS}, True
    return {}, False


def _dkim(domain: Domain, path: str, tenant: TenantDomain | None, found: _Findings) -> dict[str, str]:
    key = f"{path}.exchangeOnline.dkim"
    configured, derived = _config_dkim(domain)
    exported = tenant.exchange_online if tenant else None
    if exported and exported.dkim:
        dkim = exported.dkim
        targets = {"selector1": dkim.selector1, "selector2": dkim.selector2}
        found.sources["dkim"] = f"tenant file: Exchange Online export, read {read_date(exported.read_at)}"
        if configured and configured != targets:
            found.warnings.append(
                Problem(
                    key,
                    "differs from the tenant's Selector1CNAME/Selector2CNAME; the tenant's are published: "
                    "remove exchangeOnline.dkim",
                )
            )
        if dkim.enabled is False or (dkim.status is not None and dkim.status != "Valid"):
            found.warnings.append(
                Problem(
                    key,
                    f"DKIM signing of {domain.name} is not on in the tenant (status {dkim.status}): once "
                    f"these CNAMEs resolve, run Set-DkimSigningConfig -Identity {domain.name} -Enabled $true",
                )
            )
        return targets
    if not configured:
        where = (
            f"the tenant file holds no Exchange Online export for {domain.name}"
            if tenant
            else "there is no tenant file and exchangeOnline.dkim is not set"
        )
        found.warnings.append(
            Problem(
                key,
                f"no DKIM CNAMEs are published: {where}, so Exchange Online cannot sign its mail with "
                "the domain's own key; run `mailflow tenant script`, then `mailflow tenant pull "
                "--exo-json`, or set selector1 and selector2 from Get-DkimSigningConfig",
            )
        )
    if not configured:
        return {}
    if not derived:
        found.sources["dkim"] = f"config: {key}"
        for selector, target in configured.items():
            form = _DKIM_FORM.match(target)
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
        return configured
    if not _derivable(
        domain,
        f"{key}.initialDomain",
        "DKIM token",
        "set selector1 and selector2 from Get-DkimSigningConfig, or use a tenant file (mailflow tenant pull)",
        found,
    ):
        return {}
    found.sources["dkim"] = "derived from dkim.initialDomain (old format)"
    found.derived.append(
        Problem(
            f"{key}.initialDomain",
            f"targets derived in the old format ({configured['selector1']}); custom domains added "
            "since May 2025 use …<partition>-v1.dkim.mail.microsoft targets that only the tenant "
            "knows, and the two formats cannot coexist for a selector: read them with "
            "`mailflow tenant pull --exo-json` or set selector1 and selector2",
        )
    )
    return configured


def _autodiscover(domain: Domain, path: str, tenant: TenantDomain | None, found: _Findings) -> str | None:
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
        found.sources["autodiscover"] = _graph_source(tenant)
        return tenant.graph.cnames["autodiscover"]
    found.sources["autodiscover"] = f"Microsoft's {domain.exchange_online.cloud} endpoint"
    return CLOUDS[domain.exchange_online.cloud].autodiscover


def _tenant_checks(domain: Domain, path: str, tenant: TenantDomain, label: str, found: _Findings) -> None:
    """The tenant file must describe this domain in this cloud; what the tenant says of the domain's
    state is a warning."""
    cloud = domain.exchange_online.cloud
    if tenant.cloud != cloud:
        found.refused.append(
            Problem(
                f"{path}.exchangeOnline.cloud",
                f"is {cloud}, but {label} read {domain.name} from the {tenant.cloud} cloud",
            )
        )
        return
    include = f"include:{CLOUDS[cloud].spf_include}"
    spf = tenant.graph.spf
    if spf is not None and include not in spf.split():
        found.refused.append(
            Problem(
                f"{path}.exchangeOnline.cloud",
                f"the tenant's SPF record ({spf!r}) does not hold {include}: is the cloud right?",
            )
        )
    if not tenant.graph.verified:
        found.warnings.append(
            Problem(
                path,
                f"{domain.name} is not verified in the tenant: Exchange Online accepts no mail for it until "
                "its MS= TXT record (exchangeOnline.verification) is published and the domain verified",
            )
        )
        return
    found.warnings.extend(
        Problem(path, f"Microsoft Graph could not give this domain's records: {reason}")
        for reason in tenant.graph.unavailable
    )
    if "Email" not in tenant.graph.supported_services:
        services = ", ".join(tenant.graph.supported_services) or "none"
        found.warnings.append(
            Problem(
                path,
                f"Email is not among {domain.name}'s services in the tenant ({services}): add it in the "
                "Microsoft 365 admin center, or Exchange Online will not accept its mail",
            )
        )


def awaits_verification(domain: Domain, tenant: TenantDomain | None) -> bool:
    """The tenant holds the domain unverified and Graph gives it no MX host: Microsoft assigns
    one on verification, so nothing that depends on it can be planned yet (unless config names
    the host)."""
    return (
        tenant is not None
        and not tenant.graph.verified
        and tenant.graph.mx is None
        and domain.exchange_online.mx_host is None
    )


def verification_findings(
    domain: Domain, path: str, tenant: TenantDomain, label: str
) -> tuple[list[Problem], list[Problem]]:
    """The problems and warnings of a domain that awaits verification (``awaits_verification``),
    whose plan is its MS= record alone."""
    found = _Findings()
    _tenant_checks(domain, path, tenant, label, found)
    if domain.exchange_online.verification is None:
        found.refused.append(
            Problem(
                f"{path}.exchangeOnline.verification",
                f"is needed: {domain.name} is not verified in the tenant, and its MS= TXT record is what "
                "verifies it; copy the value from the domain's page in the Microsoft 365 admin center",
            )
        )
    if domain.cutover is not None:
        found.refused.append(
            Problem(
                f"{path}.cutover",
                f"cannot move the MX of {domain.name}: it is not verified in the tenant, which has "
                "assigned it no MX host yet",
            )
        )
    found.warnings.append(
        Problem(
            path,
            "only the MS= record is planned until Microsoft assigns the domain's MX host, which it "
            "does on verification: publish this plan, verify the domain in the Microsoft 365 admin "
            "center, then run `mailflow tenant pull` and the domain's other records follow",
        )
    )
    return found.refused, found.warnings


def assign(domain: Domain, path: str, tenant: TenantDomain | None, tenant_label: str | None) -> Assigned:
    """The assigned values of ``domain``, given the stack's tenant file (``tenant_label``, None
    without one) and its entry for the domain; raise ``ConfigError`` when a value can be neither
    read nor derived, or the tenant file contradicts the config."""
    found = _Findings()
    if tenant is not None:
        _tenant_checks(domain, path, tenant, str(tenant_label), found)
    elif tenant_label is not None:
        found.warnings.append(
            Problem(
                path, f"{domain.name} is not in {tenant_label}: run `mailflow tenant pull` for this stack"
            )
        )
    exo_mx = _exo_mx(domain, path, tenant, found)
    dkim = _dkim(domain, path, tenant, found)
    autodiscover = _autodiscover(domain, path, tenant, found)
    if found.refused:
        raise ConfigError(found.refused)
    cnames = {k: v for k, v in (tenant.graph.cnames.items() if tenant else ()) if k != "autodiscover"}
    return Assigned(
        exo_mx, autodiscover, dkim, cnames, found.sources, tuple(found.warnings), tuple(found.derived)
    )


def is_mx_microsoft(host: str) -> bool:
    """A host of Microsoft's DNSSEC-capable ``mx.microsoft`` zone."""
    return host.rstrip(".").endswith(MX_MICROSOFT)


def mx_microsoft_problems(
    path: str, exo_mx: MxTarget, apex_mx_hosts: list[str], tenant: TenantDomain | None
) -> tuple[list[Problem], list[Problem]]:
    """Microsoft's rules for a DNSSEC-capable ``mx.microsoft`` host that the MX points to: no
    fallback MX beside it (its DNSSEC steps delete the legacy one), and the priority that
    ``Get-DnssecStatusForVerifiedDomain`` validates."""
    if not is_mx_microsoft(exo_mx.host) or exo_mx.host not in apex_mx_hosts:
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
    if (
        expected
        and expected.host == exo_mx.host
        and expected.priority is not None
        and expected.priority != exo_mx.priority
    ):
        warnings.append(
            Problem(
                f"{path}.exchangeOnline.mxPriority",
                f"MX priority {exo_mx.priority}, but Get-DnssecStatusForVerifiedDomain expects "
                f"{expected.priority} for {exo_mx.host}",
            )
        )
    return problems, warnings
