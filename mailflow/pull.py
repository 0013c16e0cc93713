"""``mailflow tenant pull``: read each domain of a stack from the tenant and write the tenant file."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mailflow.config import parse_domains
from mailflow.errors import ConfigError, Problem
from mailflow.exo import CMDLETS, exchange_values, read_export
from mailflow.fields import Cloud
from mailflow.graph import read_domains
from mailflow.names import folded
from mailflow.plan import plan_stack
from mailflow.stackfile import project_directory, project_path
from mailflow.tenant import (
    TENANT_FILE_KEY,
    ExchangeValues,
    TenantDomain,
    TenantFile,
    read_tenant_file,
    render_tenant,
    values_only,
)

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential


@dataclass(frozen=True)
class Pulled:
    tenant: TenantFile
    path: Path
    previous: TenantFile | None
    notes: list[str]

    @property
    def changed(self) -> bool:
        return self.previous is None or values_only(self.previous) != values_only(self.tenant)


def stack_domains(values: dict[str, Any]) -> list[tuple[str, Cloud]]:
    """The stack's domains and their clouds, through the gate every command goes through (raise
    ``ConfigError``), with strict mode off: a tenant file is what strict mode asks for, and
    pulling is how one is made."""
    try:
        plan = plan_stack(values, strict=False)
    except ConfigError as error:
        blocking = [problem for problem in error.problems if not problem.needs_tenant]
        if blocking:
            raise ConfigError(blocking) from None
        parsed, _ = parse_domains(values.get("domains"), values.get("domainsFile"))
        return [(domain.name, domain.exchange_online.cloud) for _, domain in parsed]
    return [(domain.domain, domain.config.exchange_online.cloud) for domain in plan.domains]


def _exchange(
    exo_json: Path | None, names: list[str], previous: TenantFile | None, notes: list[str]
) -> dict[str, ExchangeValues]:
    """Each domain's Exchange Online values: from the export where it has the domain, else as the
    tenant file already held them (a pull of Graph alone, or a partial export, loses nothing)."""
    kept = {
        name: domain.exchange_online
        for name, domain in (previous.domains.items() if previous else ())
        if name in names and domain.exchange_online is not None
    }
    if exo_json is None:
        return kept
    export = read_export(exo_json)
    label = f"--exo-json ({exo_json})"
    source = f"Exchange Online PowerShell export {exo_json.name} ({CMDLETS})"
    entries: dict[str, int] = {}
    problems: list[Problem] = []
    for index, entry in enumerate(export.domains):
        name = folded(entry.name)
        if name in entries:
            problems.append(
                Problem(f"{label} domains[{index}]", f"'{entry.name}' is also domains[{entries[name]}]")
            )
        entries[name] = index
    values: dict[str, ExchangeValues] = {}
    for name in names:
        if name not in entries:
            kept_note = "; its earlier values are kept" if name in kept else ""
            notes.append(f"{name}: not in {exo_json.name}{kept_note}")
            if name in kept:
                values[name] = kept[name]
            continue
        index = entries[name]
        try:
            values[name], lacking = exchange_values(export.domains[index], export, source)
        except ValueError as error:
            problems.append(Problem(f"{label} domains[{index}]", str(error)))
            continue
        notes.extend(f"{name}: {note}" for note in lacking)
    if problems:
        raise ConfigError(problems)
    return values


def pull(
    values: dict[str, Any],
    stack_file: Path,
    token_for: Callable[[Cloud], TokenCredential],
    exo_json: Path | None = None,
    timeout: float = 30.0,
) -> Pulled:
    """Read the stack's domains from the tenant; raise ``ConfigError`` for config problems and
    ``TenantReadError`` when the tenant cannot be read. Nothing is written here."""
    name = values.get("tenantFile")
    if not isinstance(name, str) or not name:
        raise ConfigError(
            [
                Problem(
                    TENANT_FILE_KEY,
                    "is not set: name the file the tenant's values go to, e.g. "
                    f"`{TENANT_FILE_KEY}: tenant/{stack_file.stem.removeprefix('Pulumi.')}.yaml`",
                )
            ]
        )
    project = project_directory(stack_file)
    path = project_path(name, project)
    domains = stack_domains(values)
    previous = read_tenant_file(name, project) if path.exists() else None
    notes: list[str] = []
    exchange = _exchange(exo_json, [d for d, _ in domains], previous, notes)
    graph = read_domains(domains, token_for, timeout)
    # Several stacks of one tenant may share its file: their domains stay as they are.
    others = {
        name: domain for name, domain in (previous.domains.items() if previous else ()) if name not in graph
    }
    pulled = {
        domain: TenantDomain(cloud=cloud, graph=graph[domain], exchange_online=exchange.get(domain))
        for domain, cloud in domains
    }
    return Pulled(TenantFile(domains={**others, **pulled}), path, previous, notes)


def write_tenant(pulled: Pulled) -> None:
    """Replace the tenant file in one step: a run killed halfway leaves the old file."""
    pulled.path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=pulled.path.parent, prefix=f".{pulled.path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(render_tenant(pulled.tenant))
        mode = pulled.path.stat().st_mode if pulled.path.exists() else 0o666 & ~_umask()
        os.chmod(temporary, mode)
        os.replace(temporary, pulled.path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def differences(pulled: Pulled) -> list[str]:
    """What differs between the committed tenant file and the tenant, per domain and value."""
    if pulled.previous is None:
        return [f"{pulled.path} does not exist yet"]
    old = values_only(pulled.previous)["domains"]
    new = values_only(pulled.tenant)["domains"]
    lines = []
    for domain in sorted(new):
        if domain not in old:
            lines.append(f"{domain}: not in the file")
        else:
            lines.extend(f"{domain}: {change}" for change in _changes(old[domain], new[domain], ""))
    return lines


def _changes(old: Any, new: Any, path: str) -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        changes = []
        for key in sorted(set(old) | set(new)):
            changes.extend(_changes(old.get(key), new.get(key), f"{path}.{key}" if path else key))
        return changes
    return [] if old == new else [f"{path}: file {old!r}, tenant {new!r}"]
