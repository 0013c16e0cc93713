"""Typed stack config of the ``mailflow`` namespace, read from a stack file or ``pulumi.Config``.

Every problem is collected with its config path (``mailflow:domains[0].onPremises.ips[1]``) and
raised together as one ``ConfigError``; nothing is planned from a config that has any.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import yaml_rs
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PlainValidator,
    Tag,
    ValidationError,
)
from pydantic.alias_generators import to_camel

from mailflow.errors import ConfigError, Problem
from mailflow.names import normalize_name
from mailflow.spf import SpfTerm, parse_term

NAMESPACE = "mailflow"


class Topology(StrEnum):
    EXCHANGE_ONLINE = "exchange-online"
    THIRD_PARTY_FRONT = "third-party-front"
    HYBRID_EXO_FRONT = "hybrid-exo-front"
    HYBRID_ONPREM_FRONT = "hybrid-onprem-front"
    THIRD_PARTY_HYBRID = "third-party-hybrid"


THIRD_PARTY_TOPOLOGIES = frozenset({Topology.THIRD_PARTY_FRONT, Topology.THIRD_PARTY_HYBRID})
ON_PREMISES_TOPOLOGIES = frozenset(
    {Topology.HYBRID_EXO_FRONT, Topology.HYBRID_ONPREM_FRONT, Topology.THIRD_PARTY_HYBRID}
)


def _hostname(value: str) -> str:
    return normalize_name(value, hostname=True)


def _dns_name(value: str) -> str:
    return normalize_name(value, hostname=False)


def _ip_network(value: str) -> str:
    try:
        network = ipaddress.ip_network(value.strip(), strict=True)
    except ValueError:
        try:
            ipaddress.ip_network(value.strip(), strict=False)
        except ValueError:
            raise ValueError(f"'{value}' is not an IPv4 or IPv6 address or CIDR network") from None
        raise ValueError(f"'{value}' has host bits set; write the network address") from None
    full = 32 if network.version == 4 else 128
    return str(network.network_address) if network.prefixlen == full else str(network)


def _spf_term(value: Any) -> SpfTerm:
    if isinstance(value, SpfTerm):
        return value
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not an SPF term; write it as text, e.g. 'ip4:192.0.2.1'")
    return parse_term(value)


def _report_uri(schemes: tuple[str, ...]) -> Callable[[str], str]:
    def check(value: str) -> str:
        scheme, _, rest = value.partition(":")
        if scheme.lower() not in schemes or not rest:
            raise ValueError(f"'{value}' is not a {' or '.join(s + ':' for s in schemes)} URI")
        if scheme.lower() == "mailto":
            address = rest.split("!", 1)[0]
            local, at, domain = address.rpartition("@")
            if not at or not local:
                raise ValueError(f"'{value}' is not a mailto: URI with an e-mail address")
            _hostname(domain)
        return value

    return check


HostName = Annotated[str, AfterValidator(_hostname)]
DnsName = Annotated[str, AfterValidator(_dns_name)]
IpNetwork = Annotated[str, AfterValidator(_ip_network)]
SpfTermText = Annotated[SpfTerm, PlainValidator(_spf_term)]
Ttl = Annotated[int, Field(ge=60, le=86400)]
MailtoUri = Annotated[str, AfterValidator(_report_uri(("mailto",)))]
TlsRptUri = Annotated[str, AfterValidator(_report_uri(("mailto", "https")))]


class Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


class MxHost(Model):
    host: HostName
    priority: Annotated[int, Field(ge=0, le=65535)] = 10


class ThirdParty(Model):
    name: Annotated[str, Field(min_length=1)]
    mx: Annotated[list[MxHost], Field(min_length=1)]
    spf: tuple[SpfTermText, ...] = ()
    sends_outbound: bool | None = None
    """Relays outbound mail, so joins SPF. Unset: true for third-party-hybrid (the seed article),
    false for third-party-front (Microsoft's third-party article)."""
    connector_ips: tuple[IpNetwork, ...] | None = None
    """Sender IPs of the Partner inbound connector; default: the ``ip4`` terms of ``spf``."""
    certificate_name: HostName | None = None
    """Restrict the Partner inbound connector by this TLS certificate name instead of IPs."""
    enhanced_filtering: bool | None = None
    """Enhanced Filtering for Connectors on the Partner inbound connector (default: on, unless
    centralized mail transport is on)."""
    enhanced_filtering_skip_ips: tuple[IpNetwork, ...] | None = None
    """Enhanced Filtering skips these public IPs (``EFSkipIPs``) instead of only the last hop, for
    mail that passes several of the service's hosts."""


class DkimSelectors(Model):
    selector1: DnsName | None = None
    selector2: DnsName | None = None
    initial_domain: HostName | None = None


Cloud = Literal["commercial", "gcc-high", "dod", "china"]


class Autodiscover(Model):
    """Where ``autodiscover.<domain>`` points: Exchange Online (all mailboxes in the cloud), the
    on-premises Exchange servers (hybrid, until the migration ends), or no record at all."""

    target: Literal["exchange-online", "on-premises", "none"]
    host: HostName | None = None
    """The on-premises Autodiscover host (CNAME target), e.g. ``mail.contoso.com``."""


def _autodiscover_form(value: Any) -> str:
    return "setting" if isinstance(value, dict | Autodiscover) else "switch"


AutodiscoverSetting = Annotated[
    Annotated[bool, Tag("switch")] | Annotated[Autodiscover, Tag("setting")],
    Discriminator(_autodiscover_form),
]
_UNION_TAGS = frozenset({"switch", "setting"})
"""Names pydantic gives the members of a tagged union in error locations; no config path has them."""


class ExchangeOnline(Model):
    mx_host: HostName | None = None
    mx_priority: Annotated[int, Field(ge=0, le=65535)] | None = None
    """Default: the tenant's preference, else 0."""
    verification: Annotated[str, Field(pattern=r"^MS=ms\d{8}$")] | None = None
    autodiscover: AutodiscoverSetting | None = None
    """Unset: Exchange Online for the exchange-online and third-party-front topologies; no record,
    with a warning, for the hybrid ones. ``true`` / ``false``: Exchange Online / no record."""
    dkim: DkimSelectors | None = None
    cloud: Cloud = "commercial"
    initial_domain: HostName | None = None
    """The tenant's initial domain (``contoso.onmicrosoft.us``): GCC High and DoD MX hosts are
    derived from its first label when no tenant file gives the host."""
    centralized_mail_transport: bool = False
    """Route all outbound mail through on-premises (``RouteAllMessagesViaOnPremises``)."""


class OnPremises(Model):
    ips: Annotated[list[IpNetwork], Field(min_length=1)]
    mx_host: HostName | None = None
    mx_priority: Annotated[int, Field(ge=0, le=65535)] = 10
    smart_host: HostName | None = None
    """Where Exchange Online delivers mail for on-premises mailboxes (the outbound connector)."""
    certificate_name: HostName | None = None
    """Certificate name the on-premises servers present to Exchange Online (inbound connector);
    without it the connector is restricted to ``ips``."""


class Spf(Model):
    all: Literal["fail", "softfail"] = "fail"
    extra: tuple[SpfTermText, ...] = ()


DmarcPolicy = Literal["none", "quarantine", "reject"]


class Dmarc(Model):
    policy: DmarcPolicy
    sp: DmarcPolicy | None = None
    pct: Annotated[int, Field(ge=0, le=100)] | None = None
    rua: tuple[MailtoUri, ...] = ()
    ruf: tuple[MailtoUri, ...] = ()
    adkim: Literal["r", "s"] | None = None
    aspf: Literal["r", "s"] | None = None
    fo: tuple[Literal["0", "1", "d", "s"], ...] = ()
    ri: Annotated[int, Field(ge=1)] | None = None


class MtaSts(Model):
    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9]{1,32}$")]
    mode: Literal["enforce", "testing", "none"] = "testing"
    max_age: Annotated[int, Field(ge=86400, le=31557600)] = 604800
    policy_host: HostName | None = None
    """CNAME target of ``mta-sts.<domain>``, the web host serving the policy file."""


class TlsRpt(Model):
    rua: Annotated[list[TlsRptUri], Field(min_length=1)]


class ExtraRecord(Model):
    name: Annotated[str, Field(min_length=1)] = "@"
    type: Literal["A", "AAAA", "CNAME", "MX", "TXT", "SRV", "CAA"]
    value: Annotated[str, Field(min_length=1)]
    ttl: Ttl | None = None


class Domain(Model):
    name: HostName
    topology: Topology
    ttl: Ttl = 3600
    third_party: ThirdParty | None = None
    exchange_online: ExchangeOnline = ExchangeOnline()
    on_premises: OnPremises | None = None
    spf: Spf = Spf()
    dmarc: Dmarc | None = None
    mta_sts: MtaSts | None = None
    tls_rpt: TlsRpt | None = None
    mdm: bool = False
    skype_for_business: bool = False
    extra_records: tuple[ExtraRecord, ...] = ()
    zone_id: Annotated[str, Field(min_length=1)] | None = None
    """Cloudflare target: the zone's ID (else the target's zoneId, else looked up by name)."""
    zone_name: HostName | None = None
    """Azure target: the DNS zone holding the domain, when it is not the domain itself."""
    adopt: bool = False
    """zonefile and rfc2136 targets: take over a zone file or record sets that exist but that no
    mailflow stack wrote (their previous content is kept in state)."""
    import_ids: dict[str, Annotated[str, Field(min_length=1)]] = {}
    """Adopt existing records: Pulumi logical name -> the provider's ID of the live record."""


class ZoneFileTarget(Model):
    """Writes one zone file per domain (no account needed)."""

    kind: Literal["zonefile"] = "zonefile"
    directory: Annotated[str, Field(min_length=1)] = "out/zones"
    """Where ``<domain>.zone`` files go, relative to the project directory unless absolute."""
    nameservers: Annotated[tuple[HostName, ...], Field(min_length=1)] = ("localhost",)
    """NS records of the zone; in-zone names need an A record in ``extraRecords``."""
    hostmaster: HostName | None = None
    """The SOA RNAME (``hostmaster.<domain>`` when unset)."""


class CloudflareTarget(Model):
    """``cloudflare.DnsRecord`` per record value; the token is the provider's ``cloudflare:apiToken``."""

    kind: Literal["cloudflare"]
    zone_id: Annotated[str, Field(min_length=1)] | None = None


class AzureTarget(Model):
    """``azure-native.dns.RecordSet`` per name and type in an existing Azure DNS zone."""

    kind: Literal["azure"]
    resource_group_name: Annotated[str, Field(min_length=1)]


def _ip_address(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        raise ValueError(f"'{value}' is not an IP address") from None


def _key_name(value: str) -> str:
    """TSIG key names are DNS names, often of one label (``ddns-key``)."""
    try:
        return dns.name.from_text(value.strip()).to_text(omit_final_dot=True).lower()
    except dns.exception.DNSException as error:
        raise ValueError(f"'{value}' is not a valid TSIG key name ({error})") from None


class Rfc2136Target(Model):
    """Signed dynamic updates (RFC 2136 + TSIG) to an authoritative server: BIND, Knot, PowerDNS,
    Windows DNS. The TSIG secret is the Pulumi secret ``mailflow:tsigSecret`` (base64)."""

    kind: Literal["rfc2136"]
    server: Annotated[str, AfterValidator(_ip_address)]
    port: Annotated[int, Field(ge=1, le=65535)] = 53
    zone: HostName | None = None
    """The zone to update; default: each domain's own name."""
    key_name: Annotated[str, AfterValidator(_key_name)]
    key_algorithm: Literal[
        "hmac-sha256", "hmac-sha384", "hmac-sha512", "hmac-sha224", "hmac-sha1", "hmac-md5"
    ] = "hmac-sha256"
    timeout: Annotated[float, Field(gt=0, le=120)] = 10.0


Target = Annotated[
    ZoneFileTarget | CloudflareTarget | AzureTarget | Rfc2136Target, Field(discriminator="kind")
]


ResourceTree = Literal["parts", "domain", "flat"]
"""How a stack nests its resources: ``parts``, a ``MailFlowDomain`` component per domain with a
component per topology side holding that side's records; ``domain``, records straight under the
``MailFlowDomain``; ``flat``, records at the top of the stack, no components. Fewer components
mean fewer engine steps and checkpoint writes, which large stacks feel (docs/BENCHMARKS.md)."""
RESOURCE_TREES: tuple[ResourceTree, ...] = ("parts", "domain", "flat")


class StackSettings(Model):
    """The ``mailflow:*`` keys other than ``domains``, which are checked one domain at a time."""

    production: bool = False
    """Protect MX and SPF records: Pulumi refuses to delete them until unprotected."""
    target: Target = ZoneFileTarget()
    resource_tree: ResourceTree = "parts"
    max_delete_share: Annotated[float, Field(ge=0, le=1)] = 0.3
    """The destructive-change guard refuses a run deleting or moving more than this share of the
    stack's record resources (and any MX or SPF one) unless ``MAILFLOW_ALLOW_DESTRUCTIVE=1``."""
    strict: bool = False
    """Refuse every value Microsoft assigns that is derived rather than read from the tenant or
    set in config (as ``--strict`` does on the command line)."""


def _format_loc(prefix: str, loc: Sequence[str | int]) -> str:
    path = prefix
    for part in loc:
        if part not in _UNION_TAGS:
            path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _problem_message(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    value = error.get("input")
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a known setting (check its spelling and camelCase)"
    if kind == "value_error":
        message = str(error["msg"]).removeprefix("Value error, ")
        return message if message.startswith("'") else f"{message}"
    if kind == "literal_error":
        expected = str(error["ctx"]["expected"]).replace("'", "")
        return f"'{value}' is not one of: {expected}"
    if kind == "enum":
        expected = str(error["ctx"]["expected"]).replace("'", "")
        return f"'{value}' is not one of: {expected}"
    if kind == "too_short":
        minimum = error["ctx"]["min_length"]
        return f"must list at least {minimum} {'entry' if minimum == 1 else 'entries'}"
    if kind == "string_pattern_mismatch":
        return f"'{value}' does not match the expected form {error['ctx']['pattern']}"
    return f"{error['msg']} (got {value!r})"


def problems_from(error: ValidationError, prefix: str) -> list[Problem]:
    """Pydantic's errors as path-named problems (``prefix`` is the config path of the model)."""
    return [
        Problem(_format_loc(prefix, e["loc"]), _problem_message(e)) for e in error.errors(include_url=False)
    ]


def _check_topology(domain: Domain, path: str) -> list[Problem]:
    problems: list[Problem] = []
    topology = domain.topology
    if topology in THIRD_PARTY_TOPOLOGIES and domain.third_party is None:
        problems.append(
            Problem(f"{path}.thirdParty", f"is required by the {topology} topology (its MX hosts)")
        )
    if topology not in THIRD_PARTY_TOPOLOGIES and domain.third_party is not None:
        problems.append(
            Problem(
                f"{path}.thirdParty",
                f"is only used by the third-party-front and third-party-hybrid topologies, not {topology}",
            )
        )
    if topology in ON_PREMISES_TOPOLOGIES and domain.on_premises is None:
        problems.append(
            Problem(
                f"{path}.onPremises", f"is required by the {topology} topology (the on-premises servers' IPs)"
            )
        )
    if topology not in ON_PREMISES_TOPOLOGIES and domain.on_premises is not None:
        problems.append(Problem(f"{path}.onPremises", f"is only used by hybrid topologies, not {topology}"))
    on_premises = domain.on_premises
    if topology == Topology.HYBRID_ONPREM_FRONT and on_premises and on_premises.mx_host is None:
        problems.append(
            Problem(f"{path}.onPremises.mxHost", "is required by hybrid-onprem-front: the MX points to it")
        )
    exo = domain.exchange_online
    problems.extend(_check_autodiscover(domain, path))
    initial = exo.initial_domain
    if initial is not None and exo.cloud not in ("gcc-high", "dod"):
        problems.append(
            Problem(
                f"{path}.exchangeOnline.initialDomain",
                f"is only used in the gcc-high and dod clouds (their MX host is named after the tenant), "
                f"not {exo.cloud}",
            )
        )
    elif initial is not None and not initial.endswith(".onmicrosoft.us"):
        problems.append(
            Problem(
                f"{path}.exchangeOnline.initialDomain",
                f"'{initial}' is not a {exo.cloud} initial domain (<tenant>.onmicrosoft.us)",
            )
        )
    dkim = exo.dkim
    if dkim is not None:
        explicit = dkim.selector1 is not None or dkim.selector2 is not None
        if explicit and dkim.initial_domain is not None:
            problems.append(
                Problem(
                    f"{path}.exchangeOnline.dkim",
                    "set either selector1 and selector2, or initialDomain, not both",
                )
            )
        elif explicit and (dkim.selector1 is None or dkim.selector2 is None):
            missing = "selector2" if dkim.selector2 is None else "selector1"
            problems.append(
                Problem(
                    f"{path}.exchangeOnline.dkim.{missing}",
                    "is required with the other selector (Microsoft rotates both)",
                )
            )
        elif not explicit and dkim.initial_domain is None:
            problems.append(
                Problem(
                    f"{path}.exchangeOnline.dkim", "needs selector1 and selector2 targets, or initialDomain"
                )
            )
    if (domain.mdm or domain.skype_for_business) and exo.cloud != "commercial":
        key = "mdm" if domain.mdm else "skypeForBusiness"
        problems.append(
            Problem(f"{path}.{key}", f"records are only known for the commercial cloud, not {exo.cloud}")
        )
    for index, record in enumerate(domain.extra_records):
        problems.extend(_check_extra_record(record, f"{path}.extraRecords[{index}]"))
    return problems


def _check_autodiscover(domain: Domain, path: str) -> list[Problem]:
    setting = domain.exchange_online.autodiscover
    if not isinstance(setting, Autodiscover):
        return []
    key = f"{path}.exchangeOnline.autodiscover"
    if setting.target == "on-premises" and setting.host is None:
        return [Problem(f"{key}.host", "is required by target on-premises: the Exchange server's host name")]
    if setting.target != "on-premises" and setting.host is not None:
        return [Problem(f"{key}.host", f"is only used by target on-premises, not {setting.target}")]
    if setting.target == "on-premises" and domain.topology not in ON_PREMISES_TOPOLOGIES:
        return [
            Problem(
                f"{key}.target",
                f"on-premises is for the hybrid topologies; {domain.topology} has no on-premises servers",
            )
        ]
    return []


def _check_extra_record(record: ExtraRecord, path: str) -> list[Problem]:
    problems: list[Problem] = []
    if record.name != "@":
        try:
            normalize_name(f"{record.name}.example", hostname=False)
        except ValueError as error:
            problems.append(Problem(f"{path}.name", f"is not a relative name ({error})"))
    try:
        dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.from_text(record.type), record.value)
    except (dns.exception.DNSException, ValueError) as error:
        problems.append(
            Problem(f"{path}.value", f"'{record.value}' is not a valid {record.type} value ({error})")
        )
    if record.type == "TXT" and record.name == "@" and "v=spf1" in record.value.lower():
        problems.append(
            Problem(
                f"{path}.value",
                "a second SPF record at the apex is a permerror (RFC 7208 §3.2); "
                "add its terms to spf.extra instead",
            )
        )
    return problems


def parse_domains(
    raw: Any, domains_file: str | None = None
) -> tuple[list[tuple[str, Domain]], list[Problem]]:
    """Validate each domain on its own, so that one bad domain does not hide the others' problems.
    Problems name the list by its config key, or by the domains file it was read from."""
    prefix = domains_file or f"{NAMESPACE}:domains"
    if raw is None:
        return [], [Problem(prefix, "is required: the list of mail domains to manage")]
    if not isinstance(raw, list) or not raw:
        return [], [Problem(prefix, "must be a non-empty list of domains")]
    parsed: list[tuple[str, Domain]] = []
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for index, item in enumerate(raw):
        path = f"{prefix}[{index}]"
        try:
            domain = Domain.model_validate(item)
        except ValidationError as error:
            problems.extend(problems_from(error, path))
            continue
        if domain.name in seen:
            problems.append(
                Problem(f"{path}.name", f"'{domain.name}' is already configured at {seen[domain.name]}")
            )
            continue
        seen[domain.name] = path
        topology_problems = _check_topology(domain, path)
        problems.extend(topology_problems)
        if not topology_problems:
            parsed.append((path, domain))
    return parsed, problems


def namespace_values(stack_config: Mapping[str, Any]) -> dict[str, Any]:
    """The ``mailflow:*`` entries of a stack file's ``config:`` block, keyed without the prefix."""
    values: dict[str, Any] = {}
    for key, value in stack_config.items():
        namespace, sep, name = str(key).partition(":")
        if sep and namespace == NAMESPACE:
            values[name] = value
    return values


def read_yaml(path: Path, label: str) -> Any:
    try:
        # yaml-rs reads YAML 1.2, as Pulumi's own Go loader does, and large stack files about
        # twenty times faster than PyYAML.
        return yaml_rs.loads(path.read_text("utf-8-sig"))
    except OSError as error:
        raise ConfigError([Problem(label, f"cannot be read ({error.strerror})")]) from None
    except UnicodeDecodeError as error:
        raise ConfigError(
            [Problem(label, f"is not UTF-8 text ({error.reason} at byte {error.start})")]
        ) from None
    except yaml_rs.YAMLDecodeError as error:
        raise ConfigError([Problem(label, f"is not valid YAML ({error})")]) from None


def project_path(name: str, project: Path) -> Path:
    """A file a stack names (``domainsFile``, ``tenantFile``): relative to the project directory."""
    return Path(name) if Path(name).is_absolute() else project / name


def project_directory(stack_file: Path) -> Path:
    """The directory holding ``Pulumi.yaml`` above a stack file (else the stack file's own)."""
    resolved = stack_file.resolve()
    for directory in resolved.parents:
        if (directory / "Pulumi.yaml").is_file():
            return directory
    return resolved.parent


def read_stack_file(path: Path, tenant: bool = True) -> dict[str, Any]:
    """The ``mailflow`` namespace of ``stacks/Pulumi.<stack>.yaml`` with the files it names read
    (the tenant file too, unless ``tenant`` is false); raise ``ConfigError`` if unreadable."""
    document = read_yaml(path, str(path))
    if not isinstance(document, dict) or not isinstance(document.get("config", {}), dict):
        raise ConfigError([Problem(str(path), "is not a Pulumi stack file (no config: mapping)")])
    values = namespace_values(document.get("config") or {})
    return with_files(values, project_directory(path), tenant)


def with_files(values: dict[str, Any], project: Path, tenant: bool = True) -> dict[str, Any]:
    """The files a stack names, read: ``domainsFile`` into ``domains``, ``tenantFile`` into
    ``tenant`` (a ``TenantFile``)."""
    if "tenant" in values:
        raise ConfigError(
            [Problem(f"{NAMESPACE}:tenant", "is not a known setting; did you mean tenantFile?")]
        )
    values = with_domains_file(values, project)
    if not tenant or values.get("tenantFile") is None:
        return values
    from mailflow.tenant import read_tenant_file

    return {**values, "tenant": read_tenant_file(values["tenantFile"], project)}


def with_domains_file(values: dict[str, Any], project: Path) -> dict[str, Any]:
    """``mailflow:domainsFile``, a YAML or JSON file (relative to the project directory) holding
    the domain list, read into ``domains``. Large stacks need it: Pulumi hands a program its whole
    config in one environment variable, which Linux caps at 128 KiB (a few hundred domains)."""
    name = values.get("domainsFile")
    if name is None:
        return values
    key = f"{NAMESPACE}:domainsFile"
    if not isinstance(name, str) or not name:
        raise ConfigError([Problem(key, "must be the path of a YAML or JSON file holding the domain list")])
    if values.get("domains") is not None:
        raise ConfigError([Problem(key, f"and {NAMESPACE}:domains are both set; keep one of them")])
    path = project_path(name, project)
    domains = read_yaml(path, f"{key} ({path})")
    if not isinstance(domains, list):
        raise ConfigError(
            [Problem(f"{key} ({path})", "must hold a list of domains, as mailflow:domains does")]
        )
    return {**values, "domains": domains, "domainsFile": name}


_TARGET_KINDS = frozenset({"zonefile", "cloudflare", "azure", "rfc2136"})
_SETTINGS = frozenset({"production", "target", "resourceTree", "strict", "maxDeleteShare"})
_KNOWN_TOP_LEVEL = _SETTINGS | {"domains", "domainsFile", "tenantFile", "tenant", "tsigSecret"}


def parse_settings(values: Mapping[str, Any]) -> tuple[StackSettings | None, list[Problem]]:
    """The stack-wide settings, and problems with the namespace's keys other than ``domains``."""
    problems = [
        Problem(f"{NAMESPACE}:{key}", "is not a known setting (check its spelling and camelCase)")
        for key in values
        if key not in _KNOWN_TOP_LEVEL
    ]
    settings = {k: v for k, v in values.items() if k in _SETTINGS and v is not None}
    try:
        return StackSettings.model_validate(settings), problems
    except ValidationError as error:
        for e in error.errors(include_url=False):
            head, *rest = e["loc"]
            if head == "target" and rest and rest[0] in _TARGET_KINDS:
                rest = rest[1:]  # pydantic names the union member; the config path does not
            problems.append(Problem(_format_loc(f"{NAMESPACE}:{head}", rest), _problem_message(e)))
        return None, problems


def check_target_keys(domain: Domain, path: str, target: StackSettings) -> list[Problem]:
    """Per-domain keys that only one target kind uses."""
    kind = target.target.kind
    problems = []
    if domain.zone_id is not None and kind != "cloudflare":
        problems.append(Problem(f"{path}.zoneId", f"is only used by the cloudflare target, not {kind}"))
    update_zone = target.target.zone if isinstance(target.target, Rfc2136Target) else None
    if update_zone and domain.name != update_zone and not domain.name.endswith(f".{update_zone}"):
        problems.append(
            Problem(
                f"{path}.name", f"'{domain.name}' is not inside the rfc2136 target's zone '{update_zone}'"
            )
        )
    if domain.adopt and kind not in ("zonefile", "rfc2136"):
        problems.append(
            Problem(f"{path}.adopt", f"is for the zonefile and rfc2136 targets; {kind} adopts with importIds")
        )
    zone_name = domain.zone_name
    if zone_name is not None and kind != "azure":
        problems.append(Problem(f"{path}.zoneName", f"is only used by the azure target, not {kind}"))
    elif zone_name is not None and domain.name != zone_name and not domain.name.endswith(f".{zone_name}"):
        problems.append(Problem(f"{path}.zoneName", f"'{zone_name}' does not contain '{domain.name}'"))
    return problems
