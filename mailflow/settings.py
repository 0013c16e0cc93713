"""Stack-wide settings: the target a stack publishes to (zone file, Cloudflare, Azure DNS, RFC 2136),
the resource tree, production protection, strict mode, and the per-domain keys one target uses."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal

import dns.exception
import dns.name
from pydantic import AfterValidator, Field, ValidationError

from mailflow.config import Domain
from mailflow.errors import Problem, quote
from mailflow.fields import HostName, Model
from mailflow.stackfile import Secret
from mailflow.validation import NAMESPACE, format_loc, problem_message

TSIG_SECRET = "tsigSecret"
"""The rfc2136 target's TSIG secret (base64), a Pulumi secret: ``mailflow:tsigSecret``."""


def _inside(name: str, zone: str) -> bool:
    return name == zone or name.endswith(f".{zone}")


class _Target(Model):
    """What every target's settings answer for: the per-domain keys it takes, and its secret."""

    kind: str
    uses: ClassVar[frozenset[str]] = frozenset()
    """The per-domain keys only some targets take that this one does (``importIds``, ``adopt``,
    ``zoneId``, ``zoneName``)."""

    def domain_problems(self, domain: Domain, path: str) -> list[Problem]:
        """The domain's target-specific keys this target does not take, then its own checks."""
        given = {
            "importIds": bool(domain.import_ids),
            "adopt": domain.adopt,
            "zoneId": domain.zone_id is not None,
            "zoneName": domain.zone_name is not None,
        }
        problems = [
            Problem(f"{path}.{key}", _NOT_TAKEN[key].format(kind=self.kind))
            for key, set_ in given.items()
            if set_ and key not in self.uses
        ]
        return [*problems, *self.own_problems(domain, path)]

    def own_problems(self, domain: Domain, path: str) -> list[Problem]:
        return []

    def secret_problems(self, secret: Any, path: str) -> list[Problem]:
        """The TSIG secret, which only the rfc2136 target takes."""
        return (
            [] if secret is None else [Problem(path, f"is only used by the rfc2136 target, not {self.kind}")]
        )


_NOT_TAKEN = {
    "importIds": (
        "is for the cloudflare and azure targets; {kind} takes over existing records with adopt: true"
    ),
    "adopt": "is for the zonefile and rfc2136 targets; {kind} adopts with importIds",
    "zoneId": "is only used by the cloudflare target, not {kind}",
    "zoneName": "is only used by the azure target, not {kind}",
}


class ZoneFileSettings(_Target):
    """Writes one zone file per domain (no account needed)."""

    kind: Literal["zonefile"] = "zonefile"
    uses: ClassVar[frozenset[str]] = frozenset({"adopt"})
    directory: Annotated[str, Field(min_length=1)] = "out/zones"
    """Where ``<domain>.zone`` files go, relative to the project directory unless absolute."""
    nameservers: Annotated[tuple[HostName, ...], Field(min_length=1)] = ("localhost",)
    """NS records of the zone; in-zone names need an A record in ``extraRecords``."""
    hostmaster: HostName | None = None
    """The SOA RNAME (``hostmaster.<domain>`` when unset)."""


class CloudflareSettings(_Target):
    """``cloudflare.DnsRecord`` per record value; the token is the provider's ``cloudflare:apiToken``."""

    kind: Literal["cloudflare"]
    uses: ClassVar[frozenset[str]] = frozenset({"importIds", "zoneId"})
    zone_id: Annotated[str, Field(min_length=1)] | None = None


class AzureSettings(_Target):
    """``azure-native.dns.RecordSet`` per name and type in an existing Azure DNS zone."""

    kind: Literal["azure"]
    uses: ClassVar[frozenset[str]] = frozenset({"importIds", "zoneName"})
    resource_group_name: Annotated[str, Field(min_length=1)]

    def own_problems(self, domain: Domain, path: str) -> list[Problem]:
        zone = domain.zone_name
        if zone is None or _inside(domain.name, zone):
            return []
        return [Problem(f"{path}.zoneName", f"'{zone}' does not contain '{domain.name}'")]


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


OWNER_ID_LENGTH = 100
"""Room for the rfc2136 marker's other words in one TXT character-string (255 octets)."""
_OWNER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]*")


def _owner_id(value: str) -> str:
    """The words of an ownership marker: no space, quote, comma or ``=``, which the zone-file
    marker line and the rfc2136 marker's ``heritage=mailflow,owner=…`` text hold verbatim."""
    if not _OWNER_ID.fullmatch(value) or len(value) > OWNER_ID_LENGTH:
        raise ValueError(
            f"{quote(value)} is not an owner id: letters, digits and . _ - / (starting with a letter "
            f"or digit), at most {OWNER_ID_LENGTH} characters"
        )
    return value


MARKER_LABEL = "_mailflow"
"""The rfc2136 target marks each record set it owns with a TXT record at ``_mailflow.<name>``."""


class Rfc2136Settings(_Target):
    """Signed dynamic updates (RFC 2136 + TSIG) to an authoritative server: BIND, Knot, PowerDNS,
    Windows DNS. The TSIG secret is the Pulumi secret ``mailflow:tsigSecret`` (base64)."""

    kind: Literal["rfc2136"]
    uses: ClassVar[frozenset[str]] = frozenset({"adopt"})
    server: Annotated[str, AfterValidator(_ip_address)]
    port: Annotated[int, Field(ge=1, le=65535)] = 53
    zone: HostName | None = None
    """The zone to update; default: each domain's own name."""
    key_name: Annotated[str, AfterValidator(_key_name)]
    key_algorithm: Literal[
        "hmac-sha256", "hmac-sha384", "hmac-sha512", "hmac-sha224", "hmac-sha1", "hmac-md5"
    ] = "hmac-sha256"
    timeout: Annotated[float, Field(gt=0, le=120)] = 10.0

    def own_problems(self, domain: Domain, path: str) -> list[Problem]:
        if self.zone is None or _inside(domain.name, self.zone):
            return []
        return [
            Problem(f"{path}.name", f"'{domain.name}' is not inside the rfc2136 target's zone '{self.zone}'")
        ]

    def secret_problems(self, secret: Any, path: str) -> list[Problem]:
        """Present, stored as a Pulumi secret, and base64 where it can be read (a stack file holds
        it encrypted; the program gets it decrypted)."""
        hint = f"set it with `pulumi config set --secret {path} <base64 secret>`"
        if secret in (None, ""):
            return [Problem(path, "is required by the rfc2136 target", config_hint=hint)]
        if not isinstance(secret, Secret):
            return [
                Problem(path, "must be a Pulumi secret, not plain text in the stack file", config_hint=hint)
            ]
        if secret.text is not None:
            try:
                base64.b64decode(secret.text, validate=True)
            except binascii.Error:
                return [Problem(path, "is not valid base64 (the form tsig-keygen and dnssec-keygen print)")]
        return []


TargetSettings = Annotated[
    ZoneFileSettings | CloudflareSettings | AzureSettings | Rfc2136Settings, Field(discriminator="kind")
]


ResourceTree = Literal["parts", "domain", "flat"]
"""How a stack nests its resources: ``flat`` (the stack's default), records at the top of the
stack, no components; ``domain``, records under a ``MailFlowDomain`` component per domain;
``parts``, under a component per topology side of that ``MailFlowDomain``. Every component is an
engine step and a checkpoint write, which every stack from about a hundred domains feels
(docs/BENCHMARKS.md)."""
RESOURCE_TREES: tuple[ResourceTree, ...] = ("parts", "domain", "flat")

StackOutputs = Literal["summary", "domains", "full"]
"""What the stack exports: ``summary`` (the default), counts only; ``domains``, also each
domain's topology, SPF, lookup count and hosts; ``full``, also each domain's records and the
Exchange Online connector script. Stack outputs are printed by every preview and ``up`` and
rewritten with every checkpoint; ``mailflow plan`` and ``mailflow connectors`` print the same
from the stack file."""


class StackSettings(Model):
    """The ``mailflow:*`` keys other than ``domains``, which are checked one domain at a time."""

    production: bool = False
    """Protect MX and SPF records: Pulumi refuses to delete them until unprotected."""
    target: TargetSettings = ZoneFileSettings.model_construct()  # unvalidated, as config.Domain's
    resource_tree: ResourceTree = "flat"
    stack_outputs: StackOutputs = "summary"
    max_delete_share: Annotated[float, Field(ge=0, le=1)] = 0.3
    """The destructive-change guard refuses a run deleting or moving more than this share of the
    stack's record resources (and any MX or SPF one) unless ``MAILFLOW_ALLOW_DESTRUCTIVE=1``."""
    strict: bool = False
    """Refuse every value Microsoft assigns that is derived rather than read from the tenant or
    set in config (as ``--strict`` does on the command line)."""
    owner_id: Annotated[str, AfterValidator(_owner_id)] | None = None
    """What the ownership markers of zone files and rfc2136 record sets name this stack by, instead
    of ``<organization>/<project>/<stack>``: unique to the install (two stacks with one owner id
    are one owner). A change takes over, in one run, what carries the old id's marker."""


_TARGET_KINDS = frozenset({"zonefile", "cloudflare", "azure", "rfc2136"})
_SETTINGS = frozenset(
    {"production", "target", "resourceTree", "stackOutputs", "strict", "maxDeleteShare", "ownerId"}
)
_KNOWN_TOP_LEVEL = _SETTINGS | {"domains", "domainsFile", "tenantFile", "tenant", TSIG_SECRET}


def parse_settings(values: Mapping[str, Any]) -> tuple[StackSettings | None, list[Problem]]:
    """The stack-wide settings, and problems with the namespace's keys other than ``domains``."""
    problems = [
        Problem(f"{NAMESPACE}:{key}", "is not a known setting (check its spelling and camelCase)")
        for key in values
        if key not in _KNOWN_TOP_LEVEL
    ]
    problems.extend(
        Problem(f"{NAMESPACE}:{key}", "is empty (null); remove the key to use the default, or give a value")
        for key in sorted(_SETTINGS & values.keys())
        if values[key] in ("", None)
    )
    problems.extend(
        Problem(
            f"{NAMESPACE}:{key}",
            f"is stored as a secret, but only {NAMESPACE}:{TSIG_SECRET} is one; set it as plain config",
        )
        for key, value in values.items()
        if isinstance(value, Secret) and key != TSIG_SECRET
    )
    settings = {
        k: v
        for k, v in values.items()
        if k in _SETTINGS and v not in ("", None) and not isinstance(v, Secret)
    }
    try:
        return StackSettings.model_validate(settings), problems
    except ValidationError as error:
        for e in error.errors(include_url=False):
            head, *rest = e["loc"]
            if head == "target" and rest and rest[0] in _TARGET_KINDS:
                rest = rest[1:]  # pydantic names the union member; the config path does not
            problems.append(Problem(format_loc(f"{NAMESPACE}:{head}", rest), problem_message(e)))
        return None, problems


def secret_problems(settings: StackSettings, values: Mapping[str, Any]) -> list[Problem]:
    """The TSIG secret as the stack's target takes it (``mailflow:tsigSecret``)."""
    return settings.target.secret_problems(values.get(TSIG_SECRET), f"{NAMESPACE}:{TSIG_SECRET}")


def check_target_keys(domain: Domain, path: str, target: StackSettings) -> list[Problem]:
    """Per-domain keys that only some target kinds take, as the stack's target sees them."""
    return target.target.domain_problems(domain, path)
