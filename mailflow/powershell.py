"""PowerShell text that nothing can break out of: single-quoted strings and one-line comments."""

from __future__ import annotations

# PowerShell also ends a single-quoted string at the typographic single quotes.
_QUOTES = frozenset("'\u2018\u2019\u201a\u201b")


def quote(text: str) -> str:
    """A single-quoted PowerShell string: nothing inside is expanded, quotes are doubled."""
    return "'" + "".join(char * 2 if char in _QUOTES else char for char in text) + "'"


def comment(text: str) -> str:
    """``text`` on one line: a line break in a name would end a comment and run the rest as code."""
    return " ".join(text.split())
