"""The Pulumi program: stack config -> validated plan -> one ``MailFlowDomain`` per domain."""

from __future__ import annotations

import json
from typing import Any

import pulumi

from mailflow.components import MailFlowDomain
from mailflow.config import NAMESPACE
from mailflow.errors import ConfigError, Problem
from mailflow.plan import StackPlan, plan_stack
from mailflow.targets import Target, load_target

OBJECT_KEYS = ("domains", "target")


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
    production = config.get("production")
    if production is not None:
        values["production"] = production
    return values


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


def run() -> dict[str, Any]:
    """Register every domain's resources and export their outputs (also returned, for tests).

    A config problem raises ``pulumi.RunError`` before any resource is registered."""
    try:
        plan = plan_stack(config_values(pulumi.Config(NAMESPACE)))
        target = load_target(plan.settings)
        check_import_ids(plan, target)
    except ConfigError as error:
        raise pulumi.RunError(error.report()) from None
    for warning in plan.warnings:
        pulumi.log.warn(str(warning))
    outputs = {}
    for domain in plan.domains:
        component = MailFlowDomain(domain, target, protect_routing=plan.settings.production)
        outputs[domain.domain] = component.outputs
    pulumi.export("domains", outputs)
    return outputs
