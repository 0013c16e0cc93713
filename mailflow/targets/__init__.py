"""Where planned records go: one module per DNS provider kind, imported only when a stack uses it.

A target registers one Pulumi resource per record group of a domain (``mailflow.groups``: a
record, a record set or a whole zone file, as its provider manages them).
"""

from __future__ import annotations

import importlib
from typing import Protocol

import pulumi

from mailflow.groups import RecordGroup
from mailflow.plan import DomainPlan
from mailflow.settings import StackSettings


def stack_owner() -> str:
    """This stack, as the ownership markers of zone files and record sets name it."""
    return f"{pulumi.get_organization()}/{pulumi.get_project()}/{pulumi.get_stack()}"


class Target(Protocol):
    """Registers the provider resources of a domain's record groups."""

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
