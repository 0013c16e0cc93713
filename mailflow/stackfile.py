"""Reading a stack: the ``mailflow`` namespace of a stack file, and the files it names."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml_rs

from mailflow.errors import ConfigError, Problem
from mailflow.validation import NAMESPACE


def namespace_values(stack_config: Mapping[str, Any]) -> dict[str, Any]:
    """The ``mailflow:*`` entries of a stack file's ``config:`` block, keyed without the prefix."""
    values: dict[str, Any] = {}
    for key, value in stack_config.items():
        namespace, sep, name = str(key).partition(":")
        if sep and namespace == NAMESPACE:
            values[name] = value
    return values


def read_yaml(path: Path, label: str) -> Any:
    try:
        # yaml-rs reads YAML 1.2, as Pulumi's own Go loader does, and large stack files about
        # twenty times faster than PyYAML.
        return yaml_rs.loads(path.read_text("utf-8-sig"))
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


def read_stack_file(path: Path, tenant: bool = True) -> dict[str, Any]:
    """The ``mailflow`` namespace of ``stacks/Pulumi.<stack>.yaml`` with the files it names read
    (the tenant file too, unless ``tenant`` is false); raise ``ConfigError`` if unreadable."""
    document = read_yaml(path, str(path))
    if not isinstance(document, dict) or not isinstance(document.get("config", {}), dict):
        raise ConfigError([Problem(str(path), "is not a Pulumi stack file (no config: mapping)")])
    values = namespace_values(document.get("config") or {})
    return with_files(values, project_directory(path), tenant)


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
