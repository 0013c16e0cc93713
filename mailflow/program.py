"""The Pulumi program: stack config -> the plan (the same gate as the command line) -> each
domain's records, at the top of the stack (``mailflow:resourceTree: flat``, the default) or under
a ``MailFlowDomain`` per domain, and the stack outputs ``mailflow:stackOutputs`` asks for."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config

from mailflow.components import (
    ConfigRunError,
    MailFlowDomain,
    PlannedDomain,
    domain_outputs,
    pending_records,
)
from mailflow.connectors import render_script
from mailflow.errors import ConfigError
from mailflow.guard import ChangeGuard
from mailflow.phase_log import PhaseLog
from mailflow.plan import StackPlan, plan_stack, tune_gc_for_registration, without_gc_pauses
from mailflow.settings import TSIG_SECRET, StackSettings
from mailflow.stackfile import Secret, decoded, with_files
from mailflow.targets import Target, TargetInputs, load_target
from mailflow.validation import NAMESPACE


def config_values() -> dict[str, Any]:
    """The ``mailflow`` namespace as Pulumi hands it over (text; objects as JSON; secrets
    marked), decoded as ``mailflow.stackfile`` decodes a stack file."""
    prefix = f"{NAMESPACE}:"
    keys = {*runtime_config.CONFIG.get(), *runtime_config.get_config_env()}
    raw: dict[str, Any] = {}
    for key in sorted(k for k in keys if k.startswith(prefix)):
        value = runtime_config.get_config(key)
        raw[key.removeprefix(prefix)] = Secret(value) if runtime_config.is_config_secret(key) else value
    return decoded(raw)


def change_guard(plan: StackPlan, target: Target) -> ChangeGuard:
    """The guard every record resource waits for: it refuses a run that deletes or moves MX or SPF
    records, or too many records, unless the run is allowed."""
    placements: dict[str, str] = {}
    routing: list[str] = []
    for domain in plan.domains:
        place = target.placement(domain)
        for group in domain.groups:
            placements[group.name] = place
            if group.carries_mail_routing:
                routing.append(group.name)
    cutover_mx: dict[str, str] = {
        f"{domain.domain}/MX": domain.cutover.phase for domain in plan.domains if domain.cutover
    }
    return ChangeGuard(placements, routing, plan.settings.max_delete_share, cutover_mx)


def target_inputs(settings: StackSettings) -> TargetInputs:
    """The stack's TSIG secret, which only the rfc2136 target takes (the gate checked it)."""
    if settings.target.kind != "rfc2136":
        return TargetInputs()
    return TargetInputs(tsig_secret=pulumi.Config(NAMESPACE).require_secret(TSIG_SECRET))


def stack_outputs(plan: StackPlan) -> dict[str, Any]:
    """The stack's exports, as much as ``mailflow:stackOutputs`` asks for."""
    level = plan.settings.stack_outputs
    exported: dict[str, Any] = {
        "summary": {
            "domains": len(plan.domains),
            "records": sum(len(domain.records) for domain in plan.domains),
            "warnings": len(plan.warnings),
        }
    }
    if level != "summary":
        domains = {domain.domain: domain_outputs(domain) for domain in plan.domains}
        if level == "domains":
            for outputs in domains.values():
                del outputs["records"]
        exported["domains"] = domains
    if level == "full":
        exported["connectorScript"] = render_script(plan.connectors)
    return exported


def run(owned_process: bool = False) -> dict[str, Any]:
    """Register every domain's resources and export what ``mailflow:stackOutputs`` asks for, and
    the cutover phases the stack applies (``cutover``), which it returns. ``owned_process``: the
    process is mailflow's own and ends with the run (``__main__.py``), so the collector is tuned
    for it; a caller's is left as it is.

    A config problem raises ``pulumi.RunError`` before any resource is registered."""
    if owned_process:
        tune_gc_for_registration()
    try:
        with without_gc_pauses(freeze=owned_process):
            plan = plan_stack(with_files(config_values(), Path.cwd()))
        target = load_target(plan.settings, target_inputs(plan.settings))
    except ConfigError as error:
        raise ConfigRunError(error.problems) from None
    for warning in plan.warnings:
        pulumi.log.warn(str(warning))
    settings = plan.settings
    guard = change_guard(plan, target)
    # Per domain, what its records are registered as: the records, or the component holding them.
    pending: dict[str, Sequence[Callable[[], pulumi.Resource]]] = {}
    for domain in plan.domains:
        planned = PlannedDomain(domain, target, settings.resource_tree, settings.production, guard)
        if settings.resource_tree == "flat":
            pending[domain.domain] = pending_records(planned)
        else:
            pending[domain.domain] = [partial(MailFlowDomain, domain.domain, planned)]
    # Registered here, one call below the program (``mailflow.targets.Pending``): not from a
    # helper, nor from a comprehension, which is a frame of its own.
    registered: dict[str, list[pulumi.Resource]] = {name: [] for name in pending}
    for name, resources in pending.items():
        for register in resources:
            registered[name].append(register())
    exported = stack_outputs(plan)
    phases = {
        domain.domain: {
            "phase": domain.cutover.phase,
            "from": domain.cutover.source,
            "to": domain.cutover.destination,
        }
        for domain in plan.domains
        if domain.cutover
    }
    if phases:
        # Depending on a component is depending on every resource under it.
        records = [resource for domain in phases for resource in registered[domain]]
        exported["cutover"] = PhaseLog(phases, records).phases
    for key, value in exported.items():
        pulumi.export(key, value)
    return exported
