"""mailflow: the DNS side of Microsoft 365 mail flow, planned from typed config and applied by Pulumi.

The public API, imported on first use so that ``import mailflow`` (and the command line) loads
neither Pulumi nor the planning modules before they are needed."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "ConfigError": "mailflow.errors",
    "Problem": "mailflow.errors",
    "read_stack_file": "mailflow.stackfile",
    "plan_stack": "mailflow.plan",
    "StackPlan": "mailflow.plan",
    "DomainPlan": "mailflow.plan",
    "render_script": "mailflow.connectors",
    "MailFlowDomain": "mailflow.components",
    "MailFlowDomainArgs": "mailflow.components",
}
__all__ = [
    "ConfigError",
    "DomainPlan",
    "MailFlowDomain",
    "MailFlowDomainArgs",
    "Problem",
    "StackPlan",
    "__version__",
    "plan_stack",
    "read_stack_file",
    "render_script",
]

if TYPE_CHECKING:
    from mailflow.components import MailFlowDomain, MailFlowDomainArgs
    from mailflow.connectors import render_script
    from mailflow.errors import ConfigError, Problem
    from mailflow.plan import DomainPlan, StackPlan, plan_stack
    from mailflow.stackfile import read_stack_file


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'mailflow' has no attribute {name!r}")
