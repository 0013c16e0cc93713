"""The phases of a staged MX cutover and their order (``mailflow.cutover`` says what each one
publishes). The destructive-change guard reads them in the provider process, so this module
imports nothing of the planning modules."""

from __future__ import annotations

from typing import Literal

CutoverPhase = Literal["prepare", "dual", "switch", "settle", "done", "rollback"]

FORWARD: tuple[CutoverPhase, ...] = ("prepare", "dual", "switch", "settle", "done")
"""The phases of a move in their order; ``dual`` is the one that may be left out."""
PHASES: tuple[CutoverPhase, ...] = (*FORWARD, "rollback")


def skipped_phases(previous: CutoverPhase, phase: CutoverPhase) -> tuple[CutoverPhase, ...]:
    """The phases that must go live between ``previous`` and ``phase``; none when ``phase`` may
    follow it: the next phase (``dual`` may be left out), one already passed (going back), or
    ``rollback`` from any. After ``rollback``, which publishes what ``prepare`` does, the move
    goes on as after ``prepare``."""
    if phase == "rollback":
        return ()
    start = FORWARD.index("prepare" if previous == "rollback" else previous)
    return tuple(between for between in FORWARD[start + 1 : FORWARD.index(phase)] if between != "dual")
