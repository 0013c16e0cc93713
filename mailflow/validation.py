"""Config paths, and pydantic's validation errors translated into path-named problems."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from mailflow.errors import Problem, quote

if TYPE_CHECKING:
    from pydantic import ValidationError

NAMESPACE = "mailflow"
UNION_TAGS = frozenset({"switch", "setting"})
"""Names the config model gives the members of its tagged unions; pydantic puts them in error
locations, but no config path has them."""


def format_loc(prefix: str, loc: Sequence[str | int]) -> str:
    path = prefix
    for part in loc:
        if part not in UNION_TAGS:
            path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def problem_message(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    given = error.get("input")
    # Text in quotes; numbers, lists and such as their repr, unquoted; both cut short.
    value = quote(given) if isinstance(given, str) else quote(repr(given))[1:-1]
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a known setting (check its spelling and camelCase)"
    if kind == "value_error":
        return str(error["msg"]).removeprefix("Value error, ")
    if kind in ("literal_error", "enum"):
        expected = str(error["ctx"]["expected"]).replace("'", "")
        return f"{value} is not one of: {expected}"
    if kind == "too_short":
        minimum = error["ctx"]["min_length"]
        return f"must list at least {minimum} {'entry' if minimum == 1 else 'entries'}"
    if kind == "union_tag_not_found":
        return f"needs {error['ctx']['discriminator'].strip(chr(39))} to tell which settings these are"
    if kind == "union_tag_invalid":
        return f"{quote(str(error['ctx']['tag']))} is not one of: {_tags(error)}"
    if kind == "string_pattern_mismatch":
        return f"{value} does not match the expected form {error['ctx']['pattern']}"
    return f"{error['msg']} (got {value})"


def _tags(error: Mapping[str, Any]) -> str:
    return str(error["ctx"].get("expected_tags", "")).replace("'", "")


def problems_from(error: ValidationError, prefix: str) -> list[Problem]:
    """Pydantic's errors as path-named problems (``prefix`` is the config path of the model)."""
    return [
        Problem(format_loc(prefix, e["loc"]), problem_message(e)) for e in error.errors(include_url=False)
    ]


def path_order(problem: Problem) -> tuple[int, str]:
    """Problems in config order: domain index numerically, then path text."""
    _, sep, rest = problem.path.partition("[")
    index = rest.split("]", 1)[0]
    return (int(index) if sep and index.isdigit() else -1, problem.path)
