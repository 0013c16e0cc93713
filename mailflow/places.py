"""Where a zone file lives, as state spells it: absolute, or relative to the project directory."""

from __future__ import annotations

import os


def same_place(old: str, new: str) -> bool:
    """Whether two placements are one: equal, or the same file spelled once absolute and once
    relative to the project directory, where Pulumi runs providers (zone files were placed by
    absolute path before they were placed relative to the project)."""
    if old == new:
        return True
    if os.path.isabs(old) == os.path.isabs(new):
        return False
    return os.path.realpath(old) == os.path.realpath(new)
