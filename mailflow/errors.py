"""Problems found in a stack's config, each tied to the config path it concerns."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Problem:
    """One problem: the config path (e.g. ``mailflow:domains[0].ttl``) and what is wrong."""

    path: str
    message: str
    needs_tenant: bool = field(default=False, compare=False)
    """Only a value read from the tenant can settle it: ``mailflow tenant pull`` does."""
    config_hint: str | None = None
    """How to set the value in a stack's config (``pulumi config set …``), which a component's
    args, checked as config, leave out."""

    def __str__(self) -> str:
        hint = f"; {self.config_hint}" if self.config_hint else ""
        return f"{printable(self.path, MAX_PATH)}: {printable(self.message + hint, MAX_MESSAGE)}"


MAX_REPORTED = 100
MAX_PATH = 200
"""Characters of a config path a problem shows: a mapping key can be any length."""
MAX_MESSAGE = 1000
"""Characters of a message a problem shows, when a message carries what it was given."""


class ConfigError(Exception):
    """Every problem of a config, raised together so that a user can fix them in one pass."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__(self.report())

    def report(self) -> str:
        """Every problem, one per line, up to ``MAX_REPORTED``: a config that repeats one mistake
        (or a YAML alias that multiplies it) gives a report one can read."""
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        lines = [f"mailflow: {count} config {noun}:"]
        lines.extend(f"  {problem}" for problem in self.problems[:MAX_REPORTED])
        if count > MAX_REPORTED:
            lines.append(f"  … and {count - MAX_REPORTED} more; fix these first")
        return "\n".join(lines)


QUOTED_CHARACTERS = 80
"""Messages quote at most this much of a value: a 300-character TXT value or a 64-octet label is
recognised by its start, and a message stays one line."""


def quote(value: str) -> str:
    """``value`` as a message quotes it: in single quotes, control and invisible characters escaped
    (a zero-width space shows as ``\\u200b``), cut with an ellipsis past ``QUOTED_CHARACTERS``."""
    return f"'{printable(value, QUOTED_CHARACTERS)}'"


def printable(text: str, limit: int) -> str:
    """``text`` as one line on a terminal: control and invisible characters escaped (a key or a
    DNS answer holding a newline or an escape sequence cannot forge a line or recolour one), and
    cut with an ellipsis past ``limit`` characters."""
    shown = "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text[:limit])
    return f"{shown}…" if len(text) > limit else shown
