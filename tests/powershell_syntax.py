"""PowerShell syntax trees of generated scripts (tree-sitter), for the tests that read them."""

from __future__ import annotations

from typing import Any

import tree_sitter_powershell
from tree_sitter import Language, Parser

PARSER = Parser(Language(tree_sitter_powershell.language()))


def powershell_tree(source: str) -> Any:
    return PARSER.parse(source.encode())


def commands(node: Any) -> list[str]:
    """The names of the commands a script runs, in order."""
    found = [node.text.decode()] if node.type == "command_name" else []
    for child in node.children:
        found.extend(commands(child))
    return found
