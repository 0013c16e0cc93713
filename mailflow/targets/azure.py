"""Azure DNS: one ``azure-native.dns.RecordSet`` (provider v3) per owner name and type, holding
all its values, in an existing zone. Credentials are the provider's own (``azure-native:*``
config, environment or managed identity); mailflow never reads them."""

from __future__ import annotations

from functools import partial
from typing import Any

import pulumi
from pulumi_azure_native import dns

from mailflow.groups import RecordGroup
from mailflow.names import fqdn
from mailflow.plan import DomainPlan
from mailflow.records import Record, caa_fields
from mailflow.settings import AzureSettings, StackSettings
from mailflow.targets import Pending, TargetInputs

METADATA = {"managedBy": "mailflow"}


def _host(value: str | int) -> str:
    return str(value).rstrip(".")


def record_set_values(rtype: str, records: tuple[Record, ...]) -> dict[str, Any]:
    """The typed value list of a record set, e.g. ``mx_records`` or ``txt_records``."""
    if rtype == "MX":
        return {"mx_records": [{"preference": r.data[0], "exchange": _host(r.data[1])} for r in records]}
    if rtype == "TXT":
        return {"txt_records": [{"value": [str(s) for s in r.data]} for r in records]}
    if rtype == "CNAME":
        return {"cname_record": {"cname": _host(records[0].data[0])}}
    if rtype == "SRV":
        return {
            "srv_records": [
                {"priority": r.data[0], "weight": r.data[1], "port": r.data[2], "target": _host(r.data[3])}
                for r in records
            ]
        }
    if rtype == "A":
        return {"a_records": [{"ipv4_address": r.value} for r in records]}
    if rtype == "AAAA":
        return {"aaaa_records": [{"ipv6_address": r.value} for r in records]}
    return {"caa_records": [caa_fields(r) for r in records]}


def relative_to(zone: str, name: str) -> str:
    """The record set name inside ``zone`` (``@`` at the apex)."""
    apex = fqdn(zone)
    return "@" if name == apex else name[: -len(apex) - 1]


class AzureTarget:
    resource_type = "azure-native:dns:RecordSet"

    def __init__(self, settings: AzureSettings, resource_group_name: pulumi.Input[str]) -> None:
        self.settings = settings
        self.resource_group_name = resource_group_name

    def placement(self, domain: DomainPlan) -> str:
        return f"azure {self.settings.resource_group_name}/{domain.place.zone}"

    def pending(self, domain: DomainPlan, group: RecordGroup, opts: pulumi.ResourceOptions) -> Pending:
        first = group.records[0]
        zone = domain.place.zone
        return partial(
            dns.RecordSet,
            group.name,
            opts=opts,
            resource_group_name=self.resource_group_name,
            zone_name=zone,
            relative_record_set_name=relative_to(zone, first.name),
            record_type=first.type,
            ttl=first.ttl,
            metadata=METADATA,
            **record_set_values(first.type, group.records),
        )


def make_target(settings: StackSettings, inputs: TargetInputs) -> AzureTarget:
    assert isinstance(settings.target, AzureSettings)
    given = inputs.resource_group_name
    return AzureTarget(settings.target, settings.target.resource_group_name if given is None else given)
