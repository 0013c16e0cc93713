"""The stack's record of its cutovers: the phase each domain in cutover was last applied at, and
when that phase was first applied (the ``cutover`` stack output).

A resource, so that the time survives in state from one run to the next: a run that applies the
same phase again keeps its time, one that applies another phase takes the time of that run."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, Resource, ResourceProvider, UpdateResult

LOG_NAME = "mailflow-cutover"
APPLIED_AT = "appliedAt"


def stamped(before: dict[str, Any], phases: dict[str, dict[str, str]], now: str) -> dict[str, Any]:
    """``phases`` with the time each was applied: from ``before`` where it is the same phase of the
    same move, else ``now``."""
    logged = {}
    for domain, entry in phases.items():
        prior = before.get(domain) or {}
        same = {key: value for key, value in prior.items() if key != APPLIED_AT} == entry
        logged[domain] = {**entry, APPLIED_AT: prior.get(APPLIED_AT) if same and APPLIED_AT in prior else now}
    return logged


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class PhaseLogProvider(ResourceProvider):
    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(id_=LOG_NAME, outs={"phases": stamped({}, props["phases"], _now())})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """``olds`` are the last run's outputs, the times included."""
        logged = olds.get("phases") or {}
        unstamped = {
            domain: {key: value for key, value in entry.items() if key != APPLIED_AT}
            for domain, entry in logged.items()
        }
        return DiffResult(changes=unstamped != news["phases"], replaces=[])

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(outs={"phases": stamped(olds.get("phases") or {}, news["phases"], _now())})


class PhaseLog(Resource):
    """``phases``: per domain in cutover, ``{phase, from, to, appliedAt}``."""

    phases: pulumi.Output[dict[str, Any]]

    def __init__(self, phases: dict[str, dict[str, str]], records: Sequence[pulumi.Resource]) -> None:
        """``records``: the record resources of the domains in cutover. The log waits for them,
        so that a run whose record changes fail logs no new phase, nor its time."""
        options = pulumi.ResourceOptions(depends_on=list(records))
        super().__init__(PhaseLogProvider(), LOG_NAME, {"phases": phases}, options)
