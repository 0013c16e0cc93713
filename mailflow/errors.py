"""Problems found in a stack's config, each tied to the config path it concerns."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One problem: the config path (e.g. ``mailflow:domains[0].ttl``) and what is wrong."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class ConfigError(Exception):
    """Every problem of a config, raised together so that a user can fix them in one pass."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__(self.report())

    def report(self) -> str:
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        lines = [f"mailflow: {count} config {noun}:"]
        lines.extend(f"  {problem}" for problem in self.problems)
        return "\n".join(lines)
