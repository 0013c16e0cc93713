"""Where planned records go: one module per DNS provider kind, imported only when a stack uses it.

A target registers one Pulumi resource per record group of a domain (``mailflow.groups``: a
record, a record set or a whole zone file, as its provider manages them).
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeAlias

import pulumi
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.settings import get_monitor

from mailflow.errors import ConfigError, Problem
from mailflow.validation import NAMESPACE

if TYPE_CHECKING:
    from mailflow.groups import RecordGroup
    from mailflow.plan import DomainPlan
    from mailflow.settings import StackSettings

Pending: TypeAlias = Callable[[], pulumi.CustomResource]
"""A resource ready to be registered: calling it registers it and returns it. The stack program
makes these calls itself, one call below the program as a hand-written one would: the engine keeps
the stack trace of every registration in state and rewrites the state on every checkpoint, so each
call between the program and a resource's constructor costs every resource a frame of state."""

PROVIDER_SDKS = {"cloudflare": "pulumi_cloudflare", "azure": "pulumi_azure_native"}
"""The Python SDK of the provider plugin each target needs (the others need none)."""


def stack_owner(owner_id: str | None = None) -> str:
    """This stack, as the ownership markers of zone files and record sets name it: its
    ``mailflow:ownerId``, else ``<organization>/<project>/<stack>`` (on a self-managed backend the
    organization is always ``organization``, so two installs may share that one)."""
    return owner_id or f"{pulumi.get_organization()}/{pulumi.get_project()}/{pulumi.get_stack()}"


class Target(Protocol):
    """Registers the provider resources of a domain's record groups."""

    resource_type: str
    """The Pulumi type of the resources it registers, as their URNs (and aliases) spell it."""

    def placement(self, domain: DomainPlan) -> str:
        """Where the domain's resources live (zone, file): a change moves them, which the
        destructive-change guard counts as deleting them."""
        ...

    def pending(self, domain: DomainPlan, group: RecordGroup, opts: pulumi.ResourceOptions) -> Pending:
        """The group's resource, ready to be registered (the stack's cutover log waits for it)."""
        ...


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


def missing_plugin(sdk: str) -> str | None:
    """What to do when the provider plugin the SDK ``sdk`` names is neither installed nor on
    PATH and the engine will not download it (``PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION``):
    without this, the engine stops at the first record with a Python traceback."""
    if os.environ.get("PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION", "").lower() not in ("1", "true"):
        return None
    spec = importlib.util.find_spec(sdk)
    if spec is None or not spec.submodule_search_locations:
        return None  # importing the target reports the missing SDK
    (location,) = spec.submodule_search_locations
    plugin = json.loads((Path(location) / "pulumi-plugin.json").read_text())
    name, version = plugin["name"], plugin["version"]
    plugins = Path(os.environ.get("PULUMI_HOME") or Path.home() / ".pulumi") / "plugins"
    installed = plugins / f"resource-{name}-v{version}"
    if installed.is_dir() and not installed.with_name(f"{installed.name}.partial").exists():
        return None
    if shutil.which(f"pulumi-resource-{name}"):
        return None
    return (
        f"needs the Pulumi plugin pulumi-resource-{name} v{version}, which is not installed, and automatic"
        f" plugin downloads are off (PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION): install it with"
        f" `pulumi plugin install resource {name} v{version}`"
    )


def load_target(settings: StackSettings, inputs: TargetInputs) -> Target:
    """The target module of the stack's ``mailflow:target.kind``, imported on demand: a
    Cloudflare stack never imports the Azure SDK, and the reverse.

    Under the engine, a missing provider plugin the engine will not download is a ``ConfigError``
    saying how to install it, raised before anything is registered."""
    kind = settings.target.kind
    monitor = get_monitor()  # None outside Pulumi; a MockMonitor under Pulumi's mocks
    if kind in PROVIDER_SDKS and monitor is not None and not isinstance(monitor, MockMonitor):
        missing = missing_plugin(PROVIDER_SDKS[kind])
        if missing:
            raise ConfigError([Problem(f"{NAMESPACE}:target.kind", f"the {kind} target {missing}")])
    module = importlib.import_module(f"mailflow.targets.{kind}")
    target: Target = module.make_target(settings, inputs)
    return target
