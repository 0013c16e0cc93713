"""Pulumi components: ``MailFlowDomain``, the DNS records of one mail domain, with the third-party
front, Exchange Online middle and on-premises back as child components, so that ``pulumi preview``
shows the topology as a tree. The stack program registers one per domain; any Pulumi program can
add its own beside its own resources.

The tree shape (``ResourceTree``) chooses how much of that tree is registered: every record
carries aliases for its place in the other shapes, relative to the component's own parent, so
switching shapes moves records in state without recreating a single one.

The annotations are evaluated (no ``from __future__ import annotations``): Pulumi's component
analyzer reads the outputs declared on ``MailFlowDomain`` to build the package schema that
other languages use (``mailflow.provider``)."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, TypeAlias, get_args

import pulumi
from pydantic import BaseModel

from mailflow.config import Domain
from mailflow.errors import ConfigError, Problem
from mailflow.groups import RecordGroup
from mailflow.plan import DomainPlan, plan_stack
from mailflow.settings import (
    RESOURCE_TREES,
    TSIG_SECRET,
    AzureSettings,
    CloudflareSettings,
    ResourceTree,
    Rfc2136Settings,
    ZoneFileSettings,
)
from mailflow.stackfile import Secret, with_files
from mailflow.targets import Pending, Target, TargetInputs, load_target
from mailflow.topology import DOMAIN_PART, EXCHANGE_ONLINE_PART, ON_PREMISES_PART, THIRD_PARTY_PART
from mailflow.validation import NAMESPACE

DOMAIN_TYPE = "mailflow:index:MailFlowDomain"
PART_TYPES = {
    THIRD_PARTY_PART: "mailflow:index:ThirdPartyFront",
    EXCHANGE_ONLINE_PART: "mailflow:index:ExchangeOnline",
    ON_PREMISES_PART: "mailflow:index:OnPremises",
}

ComponentTree = Literal["parts", "domain"]
"""The tree shapes that have a ``MailFlowDomain``; ``flat`` registers none (``pending_records``)."""
TargetSettingsModel = ZoneFileSettings | CloudflareSettings | AzureSettings | Rfc2136Settings


class ConfigRunError(ConfigError, pulumi.RunError):
    """Config problems met by a Pulumi program: every one with its config path, as ``mailflow plan``
    reports them. Being a ``RunError``, it stops the program without a traceback."""


def domain_outputs(plan: DomainPlan) -> dict[str, Any]:
    """What a stack exports per domain: records, SPF and its lookup count, the relay host."""
    return {
        "topology": str(plan.topology),
        "spf": plan.spf,
        "spfLookups": plan.spf_lookups.total,
        "exoMxHost": plan.exo_mx_host,
        "relayHost": plan.relay_host,
        "records": [{"name": r.name, "type": r.type, "ttl": r.ttl, "value": r.value} for r in plan.records],
    }


@dataclass(frozen=True)
class PlannedDomain:
    """A domain the gate has planned, and how to publish it. ``MailFlowDomainArgs.planned`` makes
    one; the stack program makes one per domain of the stack it planned as a whole, which spares
    planning each domain twice and lets every record wait for the stack's ``guard``."""

    plan: DomainPlan
    target: Target
    resource_tree: ResourceTree = "parts"
    production: bool = False
    """Protect MX and SPF records (Pulumi refuses to delete them until unprotected)."""
    guard: pulumi.Resource | None = None
    """The destructive-change guard every record resource depends on (``mailflow.guard``)."""


@dataclass(frozen=True, kw_only=True)
class MailFlowDomainArgs:
    """What a ``MailFlowDomain`` publishes: one domain's config and the target's settings, with
    the keys and values of a stack's ``mailflow:*`` config, checked by the same gate."""

    domain: Mapping[str, Any] | Domain
    """One entry of ``mailflow:domains`` (its camelCase keys), or a ``Domain`` model."""
    target: Mapping[str, Any] | TargetSettingsModel = field(default_factory=ZoneFileSettings)
    """``mailflow:target``: ``{"kind": "cloudflare"}``, ``{"kind": "azure", …}``, …"""
    resource_tree: ComponentTree = "parts"
    production: bool = False
    """``mailflow:production``: protect the MX and SPF records from deletion."""
    strict: bool = False
    """``mailflow:strict``: refuse values Microsoft assigns that had to be derived."""
    tenant_file: str | None = None
    """``mailflow:tenantFile``, relative to the project directory."""
    zone_id: pulumi.Input[str] | None = None
    """cloudflare: the zone, such as ``zone.id`` of a ``cloudflare.Zone`` (else the target's or the
    domain's ``zoneId``, else the zone of the domain's name)."""
    resource_group_name: pulumi.Input[str] | None = None
    """azure: the resource group holding the zone, instead of the target's ``resourceGroupName``."""
    tsig_secret: pulumi.Input[str] | None = None
    """rfc2136: the TSIG secret (base64), such as ``pulumi.Config().require_secret(…)``; it is
    registered as a secret whatever it is given as."""

    def planned(self) -> PlannedDomain:
        """The domain through the gate, or ``ConfigRunError`` with every problem found."""
        problems = self._input_problems()
        try:
            plan = plan_stack(with_files(self._config(), Path.cwd()))
        except ConfigError as error:
            raise ConfigRunError([*problems, *map(arg_problem, error.problems)]) from None
        (domain,) = plan.domains
        if self.zone_id is not None and domain.place.zone_id is not None:
            problems.append(Problem("zone_id", "is given, and so is a zoneId in the config: keep one"))
        if problems:
            raise ConfigRunError(problems)
        inputs = TargetInputs(self.zone_id, self.resource_group_name, self.tsig_secret)
        try:
            target = load_target(plan.settings, inputs)
        except ConfigError as error:
            raise ConfigRunError(map(arg_problem, error.problems)) from None
        return PlannedDomain(domain, target, self.resource_tree, self.production)

    def _target(self) -> Any:
        if isinstance(self.target, Mapping):
            return dict(self.target)
        if not isinstance(self.target, BaseModel):
            return self.target  # no mapping: the gate says what ``target`` must be
        # What was set, as config spells it: the gate checks it again, and fills in the defaults.
        given = self.target.model_dump(mode="json", by_alias=True, exclude_unset=True)
        return {"kind": self.target.kind, **given}

    def provider_problems(self, opts: pulumi.ResourceOptions | None) -> list[Problem]:
        """Providers in ``opts`` of another target than ``target`` names, and none of it: the
        records would go elsewhere than the caller meant (a Cloudflare provider beside the default
        zone-file target would write zone files)."""
        given = opts.providers if opts is not None and opts.providers else ()
        providers = [*(given.values() if isinstance(given, Mapping) else given)]
        if opts is not None and opts.provider is not None:
            providers.append(opts.provider)
        target = self._target()
        kind = target.get("kind", "zonefile") if isinstance(target, dict) else None
        kinds = {PROVIDER_KINDS.get(getattr(provider, "package", "")) for provider in providers} - {None}
        if kind is None or kind in kinds:
            return []
        default = " (the default)" if self.target == ZoneFileSettings() else ""
        return [
            Problem(
                "target",
                f"is {kind}{default}, but opts passes a {other} provider and none of {kind}: set "
                f"target={{'kind': '{other}', …}} for records published through it",
            )
            for other in sorted(str(k) for k in kinds)
        ]

    def _config(self) -> dict[str, Any]:
        """The args as the ``mailflow`` namespace of a stack config. An Input known only once
        resources exist (an Output) is checked for presence alone: it stands in as its name."""
        target = self._target()
        if self.resource_group_name is not None:
            given = self.resource_group_name
            target["resourceGroupName"] = given if isinstance(given, str) else "resource_group_name"
        values: dict[str, Any] = {
            "domains": [self.domain],
            "target": target,
            "resourceTree": self.resource_tree,
            "production": self.production,
            "strict": self.strict,
        }
        if self.tenant_file is not None:
            values["tenantFile"] = self.tenant_file
        if self.tsig_secret is not None:
            values[TSIG_SECRET] = Secret(self.tsig_secret if isinstance(self.tsig_secret, str) else None)
        return values

    def _input_problems(self) -> list[Problem]:
        """Args that have no stack config key, checked against the target they serve."""
        target = self._target()
        kind = target.get("kind", "zonefile") if isinstance(target, dict) else None
        problems = []
        if self.resource_tree not in get_args(ComponentTree):
            problems.append(
                Problem("resource_tree", f"'{self.resource_tree}' is not one of: parts or domain")
            )
        for arg, value, used_by in (
            ("zone_id", self.zone_id, "cloudflare"),
            ("resource_group_name", self.resource_group_name, "azure"),
        ):
            if value is not None and kind is not None and kind != used_by:
                problems.append(Problem(arg, f"is only used by the {used_by} target, not {kind}"))
        if (
            self.resource_group_name is not None
            and isinstance(target, dict)
            and "resourceGroupName" in target
        ):
            problems.append(
                Problem("resource_group_name", "is given, and so is the target's resourceGroupName: keep one")
            )
        return problems


PROVIDER_KINDS = {"cloudflare": "cloudflare", "azure-native": "azure"}
"""The target each provider package publishes to: a provider of another package (``random``,
say) passed for resources of the caller's own is not a mismatch."""

ARG_NAMES = {
    "domains[0]": "domain",
    "target": "target",
    "resourceTree": "resource_tree",
    "production": "production",
    "strict": "strict",
    "tenantFile": "tenant_file",
    TSIG_SECRET: "tsig_secret",
}
"""The ``MailFlowDomainArgs`` field that stands for each key of the stack config it is checked as."""


def arg_problem(problem: Problem) -> Problem:
    """A problem of the config the args are checked as, its path starting with the arg's name
    (``mailflow:domains[0].ttl`` is ``domain.ttl``)."""
    key = problem.path.removeprefix(f"{NAMESPACE}:")
    for config_key, arg in ARG_NAMES.items():
        if key == config_key or key.startswith((f"{config_key}.", f"{config_key}[")):
            return replace(problem, path=arg + key.removeprefix(config_key), config_hint=None)
    return problem


class TopologyPart(pulumi.ComponentResource):
    """One side of the topology and the records that serve it."""

    def __init__(self, part: str, name: str, opts: pulumi.ResourceOptions) -> None:
        super().__init__(PART_TYPES[part], name, None, opts)


def part_name(name: str, part: str) -> str:
    return f"{name}/{part}"


Parent: TypeAlias = pulumi.Resource | pulumi.Output[str] | None
"""A resource's parent in some tree shape: a component registered by this run, else the URN it
would have, or None for the top of the stack."""

Alias: TypeAlias = str | pulumi.Alias


class _Parents:
    """The parents of a domain's resources in each tree shape. ``base`` is the parent of the
    ``MailFlowDomain`` (None: the stack), which is the records' parent in the flat shape.

    A resource's places in the other shapes are its aliases. At the top of the stack (the stack
    program, and most programs) they are URN strings formatted here: an ``Alias(parent=…)`` costs
    the SDK a few Outputs and futures per resource, which thousands of records feel. Under a
    parent of the caller's, whose URN is an Output, they are ``Alias(parent=…)``."""

    def __init__(self, name: str, base: pulumi.Resource | None, component: "MailFlowDomain | None") -> None:
        self.name = name
        self.base = base
        self.component = component
        self.parts: dict[str, pulumi.Resource] = {}
        self._urn_prefix = f"urn:pulumi:{pulumi.get_stack()}::{pulumi.get_project()}::"

    @staticmethod
    def _level(tree: ResourceTree, group_part: str) -> str | None:
        """Where ``tree`` puts a resource serving ``group_part``: None at the top (flat), else
        ``DOMAIN_PART`` (under the ``MailFlowDomain``) or the side whose component holds it."""
        if tree == "flat":
            return None
        return DOMAIN_PART if tree == "domain" else group_part

    def of(self, tree: ResourceTree, group_part: str) -> Parent:
        """The parent in ``tree`` of a resource serving ``group_part``: None in the flat shape,
        else a component, or the URN it would have when this run does not register it."""
        level = self._level(tree, group_part)
        if level is None:
            return self.base
        domain = self.component or pulumi.create_urn(self.name, DOMAIN_TYPE, parent=self.base)
        if level == DOMAIN_PART:
            return domain
        if level in self.parts:
            return self.parts[level]
        return pulumi.create_urn(part_name(self.name, level), PART_TYPES[level], parent=domain)

    def aliases(
        self, tree: ResourceTree, group_part: str, resource_type: str, resource_name: str
    ) -> list[Alias]:
        """The resource's places in the other tree shapes, where its parent differs from this one."""
        if self.base is None:
            here = self._chain(tree, group_part)
            chains = {self._chain(shape, group_part) for shape in RESOURCE_TREES} - {here}
            return [f"{self._urn_prefix}{chain}{resource_type}::{resource_name}" for chain in sorted(chains)]
        current = self.of(tree, group_part)
        others: dict[int, Parent] = {}
        for shape in RESOURCE_TREES:
            parent = self.of(shape, group_part)
            if parent is not current:
                others[id(parent)] = parent
        return [pulumi.Alias(parent=parent) for parent in others.values()]

    @classmethod
    def _chain(cls, tree: ResourceTree, group_part: str) -> str:
        """The parent types in front of a resource's own type in its URN, under the stack."""
        level = cls._level(tree, group_part)
        if level is None:
            return ""
        if level == DOMAIN_PART:
            return f"{DOMAIN_TYPE}$"
        return f"{DOMAIN_TYPE}${PART_TYPES[level]}$"


def pending_records(domain: PlannedDomain, parents: _Parents | None = None) -> list[Pending]:
    """Each record group of the domain, ready to be registered under its parent in the domain's
    tree shape: ``parents`` of its ``MailFlowDomain``, or None for the flat shape, records at the
    top of the stack with no component (each component is an engine step and a state write)."""
    tree = domain.resource_tree
    parents = parents or _Parents(domain.plan.domain, None, None)
    pending = []
    for group in domain.plan.groups:
        parent = parents.of(tree, group.part)
        assert not isinstance(parent, pulumi.Output), "the components of the tree shape are registered"
        options = pulumi.ResourceOptions(
            parent=parent,
            # None inherits the component's own ``protect`` option.
            protect=True if domain.production and group.carries_mail_routing else None,
            import_=domain.plan.place.import_ids.get(group.name),
            aliases=parents.aliases(tree, group.part, domain.target.resource_type, group.name),
            depends_on=[domain.guard] if domain.guard is not None else None,
        )
        pending.append(domain.target.pending(domain.plan, group, options))
    return pending


def _parts(groups: Iterable[RecordGroup]) -> list[str]:
    """The topology sides that hold resources: only those become components."""
    return sorted({group.part for group in groups} - {DOMAIN_PART})


class MailFlowDomain(pulumi.ComponentResource):
    """The DNS records of one mail domain, published to the target its args name.

    Providers come through ``opts`` (``provider=`` or ``providers=``) and reach every record,
    since each is a child of this component or of its sides."""

    topology: str
    spf: str
    """The SPF record's text."""
    spf_lookups: int
    exo_mx_host: str
    """The Exchange Online MX host of the domain."""
    relay_host: str | None
    """Where a third-party service in front relays inbound mail (None without one)."""
    records: list[dict[str, Any]]
    """Every record as ``{name, type, ttl, value}``, as ``mailflow plan --format json`` prints it."""

    def __init__(
        self,
        name: str,
        args: MailFlowDomainArgs | PlannedDomain,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        # Planned before anything is registered, so that bad args leave no component behind.
        warnings: tuple[Problem, ...] = ()
        if isinstance(args, MailFlowDomainArgs):
            mismatch = args.provider_problems(opts)
            if mismatch:
                raise ConfigRunError(mismatch)
            domain = args.planned()
            warnings = domain.plan.warnings
        else:  # the stack program, which logs the warnings of the whole stack itself
            domain = args
        if domain.resource_tree == "flat":
            raise ValueError("the flat tree shape has no MailFlowDomain: use pending_records")
        super().__init__(DOMAIN_TYPE, name, None, opts)
        for warning in warnings:
            pulumi.log.warn(str(warning), resource=self)
        parents = _Parents(name, opts.parent if opts is not None else None, self)
        if domain.resource_tree == "parts":
            for part in _parts(domain.plan.groups):
                parents.parts[part] = TopologyPart(
                    part, part_name(name, part), pulumi.ResourceOptions(parent=self)
                )
        for register in pending_records(domain, parents):
            register()
        outputs = domain_outputs(domain.plan)
        self.topology = outputs["topology"]
        self.spf = outputs["spf"]
        self.spf_lookups = outputs["spfLookups"]
        self.exo_mx_host = outputs["exoMxHost"]
        self.relay_host = outputs["relayHost"]
        self.records = outputs["records"]
        # The record list stays out of state: every step rewrites the whole state file, and a
        # copy per component would double it (the stack exports the records once).
        self.register_outputs({key: value for key, value in outputs.items() if key != "records"})
