"""How each target kind groups a domain's records into the units its provider manages (a record,
a record set, a whole zone file), and those units' logical names. Names derive from the records,
never from config order, so reordering config never replaces a record."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from mailflow.records import Record
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


def _owner_label(record: Record) -> str:
    return record.name.rstrip(".")


def per_record(domain: str, records: Sequence[Record]) -> list[RecordGroup]:
    """One group per record value (providers that manage records one by one)."""
    groups = []
    for record in records:
        suffix = f"/{record.slot}" if record.slot else ""
        groups.append(RecordGroup(f"{_owner_label(record)}/{record.type}{suffix}", (record,)))
    return groups


def per_record_set(domain: str, records: Sequence[Record]) -> list[RecordGroup]:
    """One group per owner name and type (providers that manage record sets)."""
    grouped: dict[tuple[str, str], list[Record]] = {}
    for record in records:
        grouped.setdefault((record.name, record.type), []).append(record)
    return [
        RecordGroup(f"{_owner_label(records[0])}/{rtype}", tuple(records))
        for (_, rtype), records in grouped.items()
    ]


def per_zone(domain: str, records: Sequence[Record]) -> list[RecordGroup]:
    """One group holding every record (a zone file per domain)."""
    return [RecordGroup(f"{domain}/zone", tuple(records))]


GROUPINGS: dict[str, Callable[[str, Sequence[Record]], list[RecordGroup]]] = {
    "zonefile": per_zone,
    "cloudflare": per_record,
    "azure": per_record_set,
    "rfc2136": per_record_set,
}
"""Each target kind's grouping, by ``mailflow:target.kind``."""
