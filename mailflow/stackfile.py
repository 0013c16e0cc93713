"""Reading a stack: the ``mailflow`` namespace of a stack file, and the files it names."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml_rs

from mailflow.errors import ConfigError, Problem, quote
from mailflow.validation import NAMESPACE

OBJECT_KEYS = frozenset({"domains", "target"})
"""Settings whose values are objects or lists: Pulumi hands them to a program as JSON text."""
_DECLARATION_KEYS = frozenset({"type", "default", "value", "description", "secret", "items"})


@dataclass(frozen=True)
class Secret:
    """A value stored as a Pulumi secret; ``text`` is None where it is still encrypted (read from a
    stack file rather than handed over by Pulumi)."""

    text: str | None = None


def pulumi_value(value: Any, key: str) -> Any:
    """A stack or project file's value as Pulumi hands it to the program: scalars as text (an empty
    string for null), ``secure:`` values as secrets, objects and lists as JSON (kept as structures
    for ``domains`` and ``target``, which ``decoded`` would parse back from JSON anyway)."""
    if isinstance(value, dict) and set(value) == {"secure"}:
        return Secret()
    if isinstance(value, dict | list):
        return (
            value
            if key in OBJECT_KEYS
            else json.dumps(_text_keys(value), sort_keys=True, separators=(",", ":"))
        )
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _text_keys(value: Any) -> Any:
    """Mapping keys as text at every level, as in Pulumi's config (YAML may read a key as a number)."""
    if isinstance(value, dict):
        return {str(key): _text_keys(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_text_keys(item) for item in value]
    return value


def decoded(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The namespace as plain values, the same for a stack file and for the values Pulumi hands a
    program: ``domains`` and ``target`` given as JSON text are parsed (text that is not JSON stays
    a string, which validation reports with its path)."""
    values = dict(raw)
    for key in OBJECT_KEYS & values.keys():
        value = values[key]
        if isinstance(value, str) and value:
            with contextlib.suppress(json.JSONDecodeError):
                values[key] = json.loads(value)
    return values


def namespace_values(config: Mapping[str, Any], project_name: str | None = None) -> dict[str, Any]:
    """The ``mailflow:*`` entries of a ``config:`` block, keyed without the prefix, in the form
    Pulumi hands them over. Keys without a namespace belong to the project (Pulumi's rule), so
    they are mailflow's when the project is named ``mailflow``."""
    values: dict[str, Any] = {}
    for key, value in config.items():
        namespace, sep, name = str(key).partition(":")
        if not sep:
            namespace, name = project_name or "", str(key)
        if namespace == NAMESPACE:
            values[name] = pulumi_value(value, name)
    return values


def project_settings(project: Path) -> tuple[str | None, dict[str, Any]]:
    """The project's name (the namespace of keys written without one) and the ``mailflow``
    settings of ``Pulumi.yaml``'s ``config:`` block: plain values, and the ``value:`` or
    ``default:`` of type declarations. Stack files override them, as in Pulumi."""
    path = project / "Pulumi.yaml"
    if not path.is_file():
        return None, {}
    document = read_yaml(path, str(path))
    if not isinstance(document, dict) or not isinstance(document.get("config") or {}, dict):
        raise ConfigError([Problem(str(path), "is not a Pulumi project file (config: is not a mapping)")])
    config: dict[str, Any] = {}
    for key, spec in (document.get("config") or {}).items():
        if not isinstance(spec, dict):
            config[key] = spec
            continue
        unknown = sorted(str(k) for k in spec if k not in _DECLARATION_KEYS)
        if unknown:
            raise ConfigError(
                [
                    Problem(
                        f"{path}: config {key}",
                        f"declares a setting, so it may not hold {', '.join(unknown)}; "
                        "put an object value under value:",
                    )
                ]
            )
        if "value" in spec or "default" in spec:
            config[key] = spec.get("value", spec.get("default"))
    name = document.get("name") if isinstance(document.get("name"), str) else None
    return name, namespace_values(config, name)


def read_yaml(path: Path, label: str) -> Any:
    try:
        # yaml-rs reads YAML 1.2, as Pulumi's own Go loader does, and large stack files about
        # twenty times faster than PyYAML. Dates stay text, as Pulumi hands them to the program.
        return yaml_rs.loads(path.read_text("utf-8-sig"), parse_datetime=False)
    except OSError as error:
        raise ConfigError([Problem(label, f"cannot be read ({error.strerror})")]) from None
    except UnicodeDecodeError as error:
        raise ConfigError(
            [Problem(label, f"is not UTF-8 text ({error.reason} at byte {error.start})")]
        ) from None
    except yaml_rs.YAMLDecodeError as error:
        raise ConfigError([Problem(label, f"is not valid YAML ({error})")]) from None


def project_path(name: str, project: Path) -> Path:
    """A file a stack names (``domainsFile``, ``tenantFile``): relative to the project directory."""
    return Path(name) if Path(name).is_absolute() else project / name


def project_directory(stack_file: Path) -> Path:
    """The directory holding ``Pulumi.yaml`` above a stack file (else the stack file's own)."""
    resolved = stack_file.resolve()
    for directory in resolved.parents:
        if (directory / "Pulumi.yaml").is_file():
            return directory
    return resolved.parent


STACK_FILE = re.compile(r"^Pulumi\.(?P<name>[^/]+)\.ya?ml$")


def stack_name(path: Path) -> str | None:
    """``fleet-1`` for ``Pulumi.fleet-1.yaml``; None for a file not named as Pulumi names them."""
    match = STACK_FILE.match(path.name)
    return match["name"] if match else None


def read_stack_file(path: Path, tenant: bool = True) -> dict[str, Any]:
    """The ``mailflow`` namespace of ``stacks/Pulumi.<stack>.yaml`` as Pulumi resolves it (over the
    project's ``Pulumi.yaml`` config) with the files it names read (the tenant file too, unless
    ``tenant`` is false); raise ``ConfigError`` if unreadable."""
    return read_stack(path, tenant)[0]


def read_stack(path: Path, tenant: bool = True) -> tuple[dict[str, Any], list[str]]:
    """``read_stack_file``'s values, and what they may lack: a stack file that imports Pulumi ESC
    environments gets config from them, which only Pulumi Cloud can resolve."""
    document = read_yaml(path, str(path))
    if not isinstance(document, dict) or not isinstance(document.get("config") or {}, dict):
        raise ConfigError([Problem(str(path), "is not a Pulumi stack file (no config: mapping)")])
    project = project_directory(path)
    name, project_config = project_settings(project)
    stack_config = namespace_values(document.get("config") or {}, name)
    values = with_files(decoded({**project_config, **stack_config}), project, tenant)
    environments = document.get("environment") or []
    if not isinstance(environments, list):
        environments = [environments]
    notes = [
        f"{path}: imports the Pulumi ESC environment {quote(str(environment))}, which mailflow cannot "
        "read: config it holds is seen by `pulumi preview` and `up`, not here; keep the mailflow:* "
        "keys in the stack file, or check the result with `pulumi preview`"
        for environment in environments
    ]
    return values, notes


def with_files(values: dict[str, Any], project: Path, tenant: bool = True) -> dict[str, Any]:
    """The files a stack names, read: ``domainsFile`` into ``domains``, ``tenantFile`` into
    ``tenant`` (a ``TenantFile``)."""
    if "tenant" in values:
        raise ConfigError(
            [Problem(f"{NAMESPACE}:tenant", "is not a known setting; did you mean tenantFile?")]
        )
    values = with_domains_file(values, project)
    if not tenant or values.get("tenantFile") is None:
        return values
    from mailflow.tenant import read_tenant_file

    return {**values, "tenant": read_tenant_file(values["tenantFile"], project)}


def with_domains_file(values: dict[str, Any], project: Path) -> dict[str, Any]:
    """``mailflow:domainsFile``, a YAML or JSON file (relative to the project directory) holding
    the domain list, read into ``domains``. Large stacks need it: Pulumi hands a program its whole
    config in one environment variable, which Linux caps at 128 KiB (a few hundred domains)."""
    name = values.get("domainsFile")
    if name is None:
        return values
    key = f"{NAMESPACE}:domainsFile"
    if not isinstance(name, str) or not name:
        raise ConfigError([Problem(key, "must be the path of a YAML or JSON file holding the domain list")])
    if values.get("domains") is not None:
        raise ConfigError([Problem(key, f"and {NAMESPACE}:domains are both set; keep one of them")])
    path = project_path(name, project)
    domains = read_yaml(path, f"{key} ({path})")
    if not isinstance(domains, list):
        raise ConfigError(
            [Problem(f"{key} ({path})", "must hold a list of domains, as mailflow:domains does")]
        )
    return {**values, "domains": domains, "domainsFile": name}
