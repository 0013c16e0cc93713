"""Where planned records go: one module per DNS provider kind, imported only when a stack uses it.

A target groups a domain's records into the units its provider manages (a record, a record set,
a whole zone file) and registers one Pulumi resource per group. Logical names derive from the
records, never from config order, so reordering config never replaces a record.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Protocol

import pulumi

from mailflow.plan import DomainPlan
from mailflow.records import Record
from mailflow.settings import StackSettings
from mailflow.topology import DOMAIN_PART


@dataclass(frozen=True)
class RecordGroup:
    """The records one provider resource holds, and that resource's logical name."""

    name: str
    records: tuple[Record, ...]

    @property
    def part(self) -> str:
        """The topology side all its records serve, else the domain as a whole."""
        parts = {record.part for record in self.records}
        return parts.pop() if len(parts) == 1 else DOMAIN_PART

    @property
    def carries_mail_routing(self) -> bool:
        """Holds MX or SPF: what production stacks protect from deletion."""
        return any(r.type == "MX" or r.slot == "spf" for r in self.records)


def stack_owner() -> str:
    """This stack, as the ownership markers of zone files and record sets name it."""
    return f"{pulumi.get_organization()}/{pulumi.get_project()}/{pulumi.get_stack()}"


def owner_label(record: Record) -> str:
    return record.name.rstrip(".")


def per_record(domain: DomainPlan) -> list[RecordGroup]:
    """One group per record value (providers that manage records one by one)."""
    groups = []
    for record in domain.records:
        suffix = f"/{record.slot}" if record.slot else ""
        groups.append(RecordGroup(f"{owner_label(record)}/{record.type}{suffix}", (record,)))
    return groups


def per_record_set(domain: DomainPlan) -> list[RecordGroup]:
    """One group per owner name and type (providers that manage record sets)."""
    grouped: dict[tuple[str, str], list[Record]] = {}
    for record in domain.records:
        grouped.setdefault((record.name, record.type), []).append(record)
    return [
        RecordGroup(f"{owner_label(records[0])}/{rtype}", tuple(records))
        for (_, rtype), records in grouped.items()
    ]


class Target(Protocol):
    """Registers the provider resources of a domain's record groups."""

    def groups(self, domain: DomainPlan) -> list[RecordGroup]: ...

    def placement(self, domain: DomainPlan) -> str:
        """Where the domain's resources live (zone, file): a change moves them, which the
        destructive-change guard counts as deleting them."""
        ...

    def register(self, domain: DomainPlan, group: RecordGroup, opts: pulumi.ResourceOptions) -> None: ...


def load_target(settings: StackSettings) -> Target:
    """The target module of the stack's ``mailflow:target.kind``, imported on demand: a
    Cloudflare stack never imports the Azure SDK, and the reverse."""
    module = importlib.import_module(f"mailflow.targets.{settings.target.kind}")
    target: Target = module.make_target(settings)
    return target
