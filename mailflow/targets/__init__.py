"""Where planned records go: one module per DNS provider kind, imported only when a stack uses it.

A target registers one Pulumi resource per record group of a domain (``mailflow.groups``: a
record, a record set or a whole zone file, as its provider manages them).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
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


@dataclass(frozen=True)
class TargetInputs:
    """What a target takes besides its settings, as Pulumi Inputs: values a program may hold as
    Outputs of its own resources, and the secret it must keep secret."""

    zone_id: pulumi.Input[str] | None = None
    """cloudflare: the zone of every record, over any ``zoneId`` in config."""
    resource_group_name: pulumi.Input[str] | None = None
    """azure: the resource group of the zone, over the settings' ``resourceGroupName``."""
    tsig_secret: pulumi.Input[str] | None = None
    """rfc2136: the TSIG secret (base64)."""


def load_target(settings: StackSettings, inputs: TargetInputs) -> Target:
    """The target module of the stack's ``mailflow:target.kind``, imported on demand: a
    Cloudflare stack never imports the Azure SDK, and the reverse."""
    module = importlib.import_module(f"mailflow.targets.{settings.target.kind}")
    target: Target = module.make_target(settings, inputs)
    return target
