"""Pulumi components: a ``MailFlowDomain`` per domain, with the third-party front, Exchange
Online middle and on-premises back as child components, so that ``pulumi preview`` shows the
topology as a tree."""

from __future__ import annotations

from typing import Any

import pulumi

from mailflow.plan import DomainPlan
from mailflow.targets import Target
from mailflow.topology import EXCHANGE_ONLINE_PART, ON_PREMISES_PART, THIRD_PARTY_PART

PART_TYPES = {
    THIRD_PARTY_PART: "mailflow:index:ThirdPartyFront",
    EXCHANGE_ONLINE_PART: "mailflow:index:ExchangeOnline",
    ON_PREMISES_PART: "mailflow:index:OnPremises",
}


class TopologyPart(pulumi.ComponentResource):
    """One side of the topology and the records that serve it."""

    def __init__(self, part: str, domain: str, opts: pulumi.ResourceOptions) -> None:
        super().__init__(PART_TYPES[part], f"{domain}/{part}", None, opts)
        self.register_outputs({})


def topology_parts(plan: DomainPlan) -> list[str]:
    """The sides this domain's topology has: the front only with a third party, the back only
    with on-premises servers; Exchange Online always."""
    parts = [THIRD_PARTY_PART] if plan.config.third_party else []
    parts.append(EXCHANGE_ONLINE_PART)
    if plan.config.on_premises:
        parts.append(ON_PREMISES_PART)
    return parts


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


class MailFlowDomain(pulumi.ComponentResource):
    """The DNS records of one mail domain, published through the stack's target."""

    def __init__(
        self,
        plan: DomainPlan,
        target: Target,
        protect_routing: bool = False,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("mailflow:index:MailFlowDomain", plan.domain, None, opts)
        self.parts: dict[str, pulumi.Resource] = {
            part: TopologyPart(part, plan.domain, pulumi.ResourceOptions(parent=self))
            for part in topology_parts(plan)
        }
        import_ids = plan.config.import_ids
        for group in target.groups(plan):
            options = pulumi.ResourceOptions(
                parent=self.parts.get(group.part, self),
                protect=protect_routing and group.carries_mail_routing,
                import_=import_ids.get(group.name),
            )
            target.register(plan, group, options)
        self.outputs = domain_outputs(plan)
        # The record list is exported once, by the stack; kept on every component too it would
        # double the state that the engine writes after each step.
        self.register_outputs({key: value for key, value in self.outputs.items() if key != "records"})
