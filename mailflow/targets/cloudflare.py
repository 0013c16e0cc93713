"""Cloudflare: one ``cloudflare.DnsRecord`` (provider v6) per record value.

TXT content is sent as its quoted character-strings, exactly as Cloudflare stores it, so that a
long SPF record never shows a perpetual diff. The API token is the provider's own
``cloudflare:apiToken`` secret; mailflow never reads it.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import pulumi
import pulumi_cloudflare as cloudflare

from mailflow.groups import RecordGroup
from mailflow.plan import DomainPlan
from mailflow.records import Record, caa_fields
from mailflow.settings import CloudflareSettings, StackSettings
from mailflow.targets import Pending, TargetInputs

COMMENT = "managed by mailflow"


def record_args(record: Record) -> dict[str, Any]:
    """The ``DnsRecord`` inputs of one record, besides the zone."""
    args: dict[str, Any] = {
        "name": record.name.rstrip("."),
        "type": record.type,
        "ttl": record.ttl,
        "comment": COMMENT,
    }
    data = record.data
    if record.type == "MX":
        args["priority"] = data[0]
        args["content"] = str(data[1]).rstrip(".")
    elif record.type == "CNAME":
        args["content"] = str(data[0]).rstrip(".")
    elif record.type == "TXT":
        args["content"] = record.value
    elif record.type == "SRV":
        priority, weight, port, target = data
        args["data"] = {
            "priority": priority,
            "weight": weight,
            "port": port,
            "target": str(target).rstrip("."),
        }
    elif record.type == "CAA":
        args["data"] = caa_fields(record)
    else:
        args["content"] = record.value
    return args


class CloudflareTarget:
    resource_type = "cloudflare:index/dnsRecord:DnsRecord"

    def __init__(self, settings: CloudflareSettings, zone_id: pulumi.Input[str] | None = None) -> None:
        self.settings = settings
        self.given_zone_id = zone_id
        self._zone_ids: dict[str, pulumi.Input[str]] = {}

    def placement(self, domain: DomainPlan) -> str:
        return f"cloudflare zone {domain.place.zone_id or domain.domain}"

    def zone_id(self, domain: DomainPlan, parent: pulumi.Resource | None) -> pulumi.Input[str]:
        """The zone ID the program gave, else the domain's, else the target's, else Cloudflare's
        zone of the domain's name."""
        known = self.given_zone_id if self.given_zone_id is not None else domain.place.zone_id
        if known is not None:
            return known
        if domain.domain not in self._zone_ids:
            zone = cloudflare.get_zone_output(
                filter={"name": domain.domain, "match": "all"},
                opts=pulumi.InvokeOptions(parent=parent),
            )
            self._zone_ids[domain.domain] = zone.zone_id
        return self._zone_ids[domain.domain]

    def pending(self, domain: DomainPlan, group: RecordGroup, opts: pulumi.ResourceOptions) -> Pending:
        (record,) = group.records
        return partial(
            cloudflare.DnsRecord,
            group.name,
            opts=opts,
            zone_id=self.zone_id(domain, opts.parent),
            **record_args(record),
        )


def make_target(settings: StackSettings, inputs: TargetInputs) -> CloudflareTarget:
    assert isinstance(settings.target, CloudflareSettings)
    return CloudflareTarget(settings.target, inputs.zone_id)
