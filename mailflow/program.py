"""The Pulumi program: stack config -> validated plan -> each domain's resources, in the stack's
``mailflow:resourceTree`` shape."""

from __future__ import annotations

import base64
import binascii
import json
from pathlib import Path
from typing import Any

import pulumi

from mailflow.components import register_domain
from mailflow.connectors import plan_connectors, render_script
from mailflow.errors import ConfigError, Problem
from mailflow.guard import ChangeGuard
from mailflow.plan import StackPlan, plan_stack
from mailflow.stackfile import with_files
from mailflow.targets import Target, load_target
from mailflow.validation import NAMESPACE

OBJECT_KEYS = ("domains", "target")
SCALAR_KEYS = ("production", "resourceTree", "domainsFile", "tenantFile", "strict", "maxDeleteShare")


def config_values(config: pulumi.Config) -> dict[str, Any]:
    """The ``mailflow`` namespace as plain values. Pulumi hands objects over as JSON text; text
    that is not JSON stays a string, which validation then reports with its path."""
    values: dict[str, Any] = {}
    for key in OBJECT_KEYS:
        raw = config.get(key)
        if raw is not None:
            try:
                values[key] = json.loads(raw)
            except json.JSONDecodeError:
                values[key] = raw
    for key in SCALAR_KEYS:
        value = config.get(key)
        if value is not None:
            values[key] = value
    return values


def check_secrets(plan: StackPlan, config: pulumi.Config) -> None:
    """The rfc2136 target's TSIG secret: present, base64, and stored as a Pulumi secret."""
    if plan.settings.target.kind != "rfc2136":
        return
    path = f"{NAMESPACE}:tsigSecret"
    hint = f"set it with `pulumi config set --secret {path} <base64 secret>`"
    value = config.get("tsigSecret")
    problem = None
    if value is None:
        problem = f"is required by the rfc2136 target; {hint}"
    elif not pulumi.runtime.config.is_config_secret(path):
        problem = f"must be a Pulumi secret, not plain text in the stack file; {hint}"
    else:
        try:
            base64.b64decode(value, validate=True)
        except binascii.Error:
            problem = "is not valid base64 (the form tsig-keygen and dnssec-keygen print)"
    if problem:
        raise ConfigError([Problem(path, problem)])


def check_import_ids(plan: StackPlan, target: Target) -> None:
    """Every ``importIds`` key must name a resource the domain registers."""
    problems = []
    for domain in plan.domains:
        names = {group.name for group in target.groups(domain)}
        for key in domain.config.import_ids:
            if key not in names:
                known = ", ".join(sorted(names))
                problems.append(
                    Problem(
                        f"{domain.config_path}.importIds.{key}",
                        f"is not a resource of this domain; its resources: {known}",
                    )
                )
    if problems:
        raise ConfigError(problems)


def change_guard(plan: StackPlan, target: Target) -> ChangeGuard:
    """The guard every record resource waits for: it refuses a run that deletes or moves MX or SPF
    records, or too many records, unless the run is allowed."""
    placements: dict[str, str] = {}
    routing: list[str] = []
    for domain in plan.domains:
        place = target.placement(domain)
        for group in target.groups(domain):
            placements[group.name] = place
            if group.carries_mail_routing:
                routing.append(group.name)
    return ChangeGuard(placements, routing, plan.settings.max_delete_share)


def run() -> dict[str, Any]:
    """Register every domain's resources and export their outputs (the per-domain ones are also
    returned, for tests) and the Exchange Online connector script.

    A config problem raises ``pulumi.RunError`` before any resource is registered."""
    try:
        config = pulumi.Config(NAMESPACE)
        plan = plan_stack(with_files(config_values(config), Path.cwd()))
        check_secrets(plan, config)
        connector_plan = plan_connectors(plan)
        target = load_target(plan.settings)
        check_import_ids(plan, target)
    except ConfigError as error:
        raise pulumi.RunError(error.report()) from None
    for warning in (*plan.warnings, *connector_plan.warnings):
        pulumi.log.warn(str(warning))
    settings = plan.settings
    guard = change_guard(plan, target)
    outputs = {
        domain.domain: register_domain(domain, target, settings.resource_tree, settings.production, guard)
        for domain in plan.domains
    }
    pulumi.export("domains", outputs)
    pulumi.export("connectorScript", render_script(connector_plan))
    return outputs
