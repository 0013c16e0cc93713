"""The destructive-change guard: a run that would delete or move any MX or SPF record, or more than
a share of the stack's record resources, stops before changing anything unless the run is allowed
with ``MAILFLOW_ALLOW_DESTRUCTIVE=1``.

The guard is a resource that every record resource depends on, so the engine checks it first, in
``pulumi preview`` and ``pulumi up`` alike. Its inputs are the stack's record resources, where
each lives, and which carry mail routing; its ``check`` compares them with the last run's. Its
outputs are only their digest, which is what tells the engine they changed: state keeps inputs
anyway, and every checkpoint rewrites whatever state holds."""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)

from mailflow.phases import PHASES, skipped_phases
from mailflow.places import same_place

ALLOW_VARIABLE = "MAILFLOW_ALLOW_DESTRUCTIVE"
GUARD_NAME = "mailflow-change-guard"
SHOWN = 20
"""Resources listed by name in the refusal; the rest are counted."""


def allowed() -> bool:
    """This run may delete or move what the guard protects: the pipeline set the variable."""
    return os.environ.get(ALLOW_VARIABLE, "").strip().lower() in ("1", "true", "yes")


def _moving(name: str, cutover_mx: list[str]) -> bool:
    """The resource is an MX record (set) named by one of ``cutover_mx`` (``<domain>/MX``)."""
    return any(name == prefix or name.startswith(f"{prefix}/") for prefix in cutover_mx)


def phase_moves(olds: dict[str, Any], news: dict[str, Any]) -> list[str]:
    """The ``<domain>/MX`` names of the domains whose cutover phase this run changes to one that
    may follow the phase the last run applied (``phases.skipped_phases``): their configured phase
    is the explicit yes to moving their MX, only in the run that applies it, and not past a phase
    that must come between. Where the last run had no phase for the domain, any phase is."""
    now: dict[str, str] = news.get("cutoverMx") or {}
    before = olds.get("cutoverMx")
    last: dict[str, str] = before if isinstance(before, dict) else {}
    moves = []
    for prefix, phase in now.items():
        previous = last.get(prefix)
        if previous == phase:
            continue
        if previous in PHASES and phase in PHASES and skipped_phases(previous, phase):
            continue
        moves.append(prefix)
    return moves


def destructive_changes(olds: dict[str, Any], news: dict[str, Any]) -> tuple[list[str], list[str], float]:
    """(resources that would go, those of them carrying MX or SPF, their share of the last run's).
    The MX records of a domain whose cutover phase the run changes are not counted
    (``phase_moves``)."""
    before: dict[str, str] = olds.get("placements") or {}
    after: dict[str, str] = news.get("placements") or {}
    cutover_mx = phase_moves(olds, news)
    going = sorted(
        name
        for name, place in before.items()
        if (name not in after or not same_place(place, after[name])) and not _moving(name, cutover_mx)
    )
    routing = set(olds.get("routing") or ())
    share = len(going) / len(before) if before else 0.0
    return going, [name for name in going if name in routing], share


def refusal(olds: dict[str, Any], news: dict[str, Any]) -> str | None:
    """Why this run may not go ahead, or None."""
    if news.get("allow"):
        return None
    going, routing, share = destructive_changes(olds, news)
    limit = float(news.get("maxDeleteShare", 0.3))
    if not routing and share <= limit:
        return None
    reasons = []
    if routing:
        reasons.append(f"it deletes or moves {len(routing)} MX/SPF record resource(s)")
    if share > limit:
        reasons.append(f"it deletes or moves {share:.0%} of the stack's record resources (limit {limit:.0%})")
    listed = ", ".join(going[:SHOWN]) + (f" and {len(going) - SHOWN} more" if len(going) > SHOWN else "")
    return (
        f"mailflow refuses this run: {' and '.join(reasons)}: {listed}. Nothing was changed. If this is "
        f"intended, run it again with {ALLOW_VARIABLE}=1 (for this run only)"
    )


COMPARED = ("placements", "routing", "maxDeleteShare")
"""The inputs whose change the guard records (``allow`` and ``cutoverMx`` are this run's alone:
state keeps the last run's inputs whatever the outputs)."""


def _spelled_once(place: str) -> str:
    """A zone file inside the project directory (where Pulumi runs providers) as a path relative
    to it, however config spelled it: the two spellings are one place (``same_place``)."""
    if not os.path.isabs(place):
        return place
    relative = os.path.relpath(os.path.realpath(place), os.path.realpath(os.curdir))
    return place if relative.startswith(os.pardir) else relative


def digest(props: dict[str, Any]) -> str:
    """What the guard's outputs hold of its inputs."""
    compared = {key: props.get(key) for key in COMPARED}
    placements: dict[str, str] = compared["placements"] or {}
    compared["placements"] = {name: _spelled_once(place) for name, place in placements.items()}
    return hashlib.sha256(json.dumps(compared, sort_keys=True).encode()).hexdigest()


class GuardProvider(ResourceProvider):
    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """The refusal names no property: the engine prints a property's whole value beside its
        failure, every record resource of the stack for ``placements``."""
        reason = refusal(olds, news) if olds else None
        return CheckResult(news, [CheckFailure("", reason)] if reason else [])

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(id_=GUARD_NAME, outs={"digest": digest(props)})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """``olds`` are the last run's outputs: a digest, or, from a guard created before the
        outputs were a digest, the inputs themselves."""
        if "digest" in olds:
            return DiffResult(changes=olds["digest"] != digest(news), replaces=[])
        before: dict[str, str] = olds.get("placements") or {}
        after: dict[str, str] = news.get("placements") or {}
        moved = before.keys() != after.keys() or not all(same_place(before[k], after[k]) for k in before)
        changes = moved or any(olds.get(k) != news.get(k) for k in ("routing", "maxDeleteShare"))
        return DiffResult(changes=changes, replaces=[])

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(outs={"digest": digest(news)})


class ChangeGuard(Resource):
    """Checked before every record resource of the stack."""

    def __init__(
        self,
        placements: dict[str, str],
        routing: list[str],
        max_delete_share: float,
        cutover_mx: dict[str, str] | None = None,
    ) -> None:
        """``cutover_mx``: the phase of each domain in cutover, by the name (``<domain>/MX``) its
        MX resources start with."""
        props = {
            "placements": placements,
            "routing": sorted(routing),
            "maxDeleteShare": max_delete_share,
            "allow": allowed(),
            "cutoverMx": dict(sorted((cutover_mx or {}).items())),
        }
        super().__init__(GuardProvider(), GUARD_NAME, props, pulumi.ResourceOptions())
