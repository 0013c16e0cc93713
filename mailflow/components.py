"""Pulumi components: a ``MailFlowDomain`` per domain, with the third-party front, Exchange
Online middle and on-premises back as child components, so that ``pulumi preview`` shows the
topology as a tree.

``mailflow:resourceTree`` chooses how much of that tree a stack registers (``ResourceTree``):
every resource carries aliases for its place in the other two shapes, so switching an existing
stack between them moves resources in state without recreating a single record."""

from __future__ import annotations

from typing import Any

import pulumi

from mailflow.groups import RecordGroup
from mailflow.plan import DomainPlan
from mailflow.settings import RESOURCE_TREES, ResourceTree
from mailflow.targets import Target
from mailflow.topology import DOMAIN_PART, EXCHANGE_ONLINE_PART, ON_PREMISES_PART, THIRD_PARTY_PART

DOMAIN_TYPE = "mailflow:index:MailFlowDomain"
PART_TYPES = {
    THIRD_PARTY_PART: "mailflow:index:ThirdPartyFront",
    EXCHANGE_ONLINE_PART: "mailflow:index:ExchangeOnline",
    ON_PREMISES_PART: "mailflow:index:OnPremises",
}


class TopologyPart(pulumi.ComponentResource):
    """One side of the topology and the records that serve it."""

    def __init__(self, part: str, domain: str, opts: pulumi.ResourceOptions) -> None:
        super().__init__(PART_TYPES[part], part_name(domain, part), None, opts)


def part_name(domain: str, part: str) -> str:
    return f"{domain}/{part}"


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


class _Parents:
    """A domain's possible parents of a resource in each tree shape: the components this run
    registers, else the URNs they would have (plain text, as aliases take them)."""

    def __init__(self, domain: str, component: pulumi.Resource | None) -> None:
        self.domain_name = domain
        self.stack_prefix = f"urn:pulumi:{pulumi.get_stack()}::{pulumi.get_project()}::"
        self.domain: pulumi.Resource | str = component or f"{self.stack_prefix}{DOMAIN_TYPE}::{domain}"
        self.parts: dict[str, pulumi.Resource | str] = {}

    def part(self, part: str) -> pulumi.Resource | str:
        if part not in self.parts:
            name = part_name(self.domain_name, part)
            self.parts[part] = f"{self.stack_prefix}{DOMAIN_TYPE}${PART_TYPES[part]}::{name}"
        return self.parts[part]

    def of(self, tree: ResourceTree, group_part: str) -> pulumi.Resource | str | None:
        """The parent in ``tree`` of a resource serving ``group_part`` (None: the stack)."""
        if tree == "flat":
            return None
        if tree == "parts" and group_part != DOMAIN_PART:
            return self.part(group_part)
        return self.domain


def _aliases(parents: _Parents, tree: ResourceTree, group_part: str) -> list[pulumi.Alias]:
    """The resource's URNs in the other tree shapes, where its parent differs from this one."""
    current = parents.of(tree, group_part)
    others: dict[int, pulumi.Resource | str | None] = {}
    for shape in RESOURCE_TREES:
        parent = parents.of(shape, group_part)
        if parent is not current:
            others[id(parent)] = parent
    return [pulumi.Alias(parent=parent) for parent in others.values()]


def register_domain(
    plan: DomainPlan,
    target: Target,
    tree: ResourceTree = "parts",
    protect_routing: bool = False,
    guard: pulumi.Resource | None = None,
) -> dict[str, Any]:
    """Register one domain's resources in the ``tree`` shape, each after the ``guard``; return its
    stack outputs."""
    groups = plan.groups
    component = MailFlowDomain(plan) if tree != "flat" else None
    parents = _Parents(plan.domain, component)
    if tree == "parts" and component is not None:
        for part in sorted({group.part for group in groups} - {DOMAIN_PART}):
            parents.parts[part] = TopologyPart(part, plan.domain, pulumi.ResourceOptions(parent=component))
    for group in groups:
        _register_group(plan, target, group, parents, tree, protect_routing, guard)
    outputs = domain_outputs(plan)
    if component is not None:
        component.finish(outputs)
    return outputs


def _register_group(
    plan: DomainPlan,
    target: Target,
    group: RecordGroup,
    parents: _Parents,
    tree: ResourceTree,
    protect_routing: bool,
    guard: pulumi.Resource | None,
) -> None:
    parent = parents.of(tree, group.part)
    options = pulumi.ResourceOptions(
        parent=parent if isinstance(parent, pulumi.Resource) else None,
        protect=protect_routing and group.carries_mail_routing,
        import_=plan.place.import_ids.get(group.name),
        aliases=_aliases(parents, tree, group.part),
        depends_on=[guard] if guard is not None else None,
    )
    target.register(plan, group, options)


class MailFlowDomain(pulumi.ComponentResource):
    """The DNS records of one mail domain, published through the stack's target."""

    def __init__(self, plan: DomainPlan, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(DOMAIN_TYPE, plan.domain, None, opts)

    def finish(self, outputs: dict[str, Any]) -> None:
        """Register the summary outputs. The record list is exported once, by the stack; kept on
        every component too it would double the state that the engine writes after each step."""
        self.register_outputs({key: value for key, value in outputs.items() if key != "records"})
