#!/usr/bin/env python3
"""Rebuild tests/data/exo_cmdlets.json, the reference of the Exchange Online cmdlets that mailflow's
PowerShell scripts call, from Microsoft's cmdlet documentation.

The source is Microsoft's own reference, the repository github.com/MicrosoftDocs/office-docs-powershell
(one Markdown file per cmdlet under exchange/exchange-ps/ExchangePowerShell/). Clone it, or point this
script at a bare mirror of it, and run:

    .venv/bin/python scripts/cmdlet-reference.py PATH/TO/office-docs-powershell

It reads only the repository's HEAD commit (``git show``), writes that commit into the JSON, and fails
when a page is not shaped as expected (a parameter in the syntax block but not described, an enum
type without its valid values), so that a change in the documentation is noticed rather than
half-read. tests/test_cmdlet_reference.py checks every command of every generated script against
the table: add a cmdlet to CMDLETS here when a script starts calling it, and run this again.

For each cmdlet and parameter the table holds the type, what kind of value it takes (``switch``,
``boolean``, ``enum`` with its valid values, ``string``, ``multivalued``, ``integer``,
``unlimited``), whether it is required, its position, its aliases, where it applies (the
"Applicable:" line: ``exchange-online``, ``on-premises`` or ``both``) and whether Microsoft reserves
it for internal use; and, where the page says so, the enum values only on-premises Exchange takes
(``onPremisesValues``), that ``$null`` makes a Get- cmdlet return every object (``nullMeansAll``),
that ``$true`` needs a connector type (``requiresConnectorType``), and that a parameter "applies
only to Partner type connectors" (``notedForConnectorType``).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DOCS_REPOSITORY = "MicrosoftDocs/office-docs-powershell"
DOCS_FOLDER = "exchange/exchange-ps/ExchangePowerShell"
DEFAULT_OUTPUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "exo_cmdlets.json"

CMDLETS = (
    # The connector script (mailflow/connectors.py render_script).
    "New-InboundConnector",
    "Set-InboundConnector",
    "Get-InboundConnector",
    "Remove-InboundConnector",
    "New-OutboundConnector",
    "Set-OutboundConnector",
    "Get-OutboundConnector",
    "Remove-OutboundConnector",
    "Set-ArcConfig",
    "Get-ArcConfig",
    "Set-AcceptedDomain",
    "Get-AcceptedDomain",
    # The read-only export of `mailflow tenant script` (mailflow/exo.py export_script), and the
    # DKIM cmdlets mailflow's messages tell users to run.
    "Get-DkimSigningConfig",
    "New-DkimSigningConfig",
    "Set-DkimSigningConfig",
    "Get-DnssecStatusForVerifiedDomain",
)

ACTION_PREFERENCE = ("Break", "Continue", "Ignore", "Inquire", "SilentlyContinue", "Stop", "Suspend")
COMMON_PARAMETERS: dict[str, dict[str, Any]] = {
    # Every page ends in "This cmdlet supports the common parameters" and links to PowerShell's
    # about_CommonParameters, which is not part of this repository; these are its parameters.
    "Debug": {"type": "SwitchParameter", "kind": "switch", "aliases": ["db"]},
    "ErrorAction": {
        "type": "ActionPreference",
        "kind": "enum",
        "values": ACTION_PREFERENCE,
        "aliases": ["ea"],
    },
    "ErrorVariable": {"type": "String", "kind": "string", "aliases": ["ev"]},
    "InformationAction": {
        "type": "ActionPreference",
        "kind": "enum",
        "values": ACTION_PREFERENCE,
        "aliases": ["infa"],
    },
    "InformationVariable": {"type": "String", "kind": "string", "aliases": ["iv"]},
    "OutBuffer": {"type": "Int32", "kind": "integer", "aliases": ["ob"]},
    "OutVariable": {"type": "String", "kind": "string", "aliases": ["ov"]},
    "PipelineVariable": {"type": "String", "kind": "string", "aliases": ["pv"]},
    "Verbose": {"type": "SwitchParameter", "kind": "switch", "aliases": ["vb"]},
    "WarningAction": {
        "type": "ActionPreference",
        "kind": "enum",
        "values": ACTION_PREFERENCE,
        "aliases": ["wa"],
    },
    "WarningVariable": {"type": "String", "kind": "string", "aliases": ["wv"]},
}

# Types whose values are text to PowerShell: identities, host and domain names, GUIDs, dates.
STRING_TYPES = frozenset({"String", "Fqdn", "Guid", "DateTime", "TlsCertificate", "SmtpDomainWithSubdomains"})
INTEGER_TYPES = frozenset({"Int32", "UInt16", "UInt32", "Int64"})

SYNTAX_PARAMETER = re.compile(r"(?:^|(?<=[\s\[]))-(?P<name>[A-Za-z][A-Za-z0-9]*)\]?(?: <(?P<type>[^>]+)>)?")
VALUES_INTRODUCTION = re.compile(r"(?i)valid values|following values")
SERVER_PRODUCT = re.compile(r"^Exchange Server\b")
ON_PREMISES_VALUE = re.compile(r"(?i)only in on-premises")
# "$true: ... This setting requires OnPremises for the ConnectorType value."
REQUIRES_CONNECTOR_TYPE = re.compile(r"requires (?P<type>Partner|OnPremises) for the ConnectorType value")
# "**Note**: This parameter applies only to Partner type connectors."
PARTNER_ONLY = re.compile(r"applies (?:only )?to Partner type connectors")


class DocsError(Exception):
    """A page is not shaped as this script expects."""


@dataclass(frozen=True)
class Section:
    name: str
    lines: list[str]


def git_show(repository: Path, revision: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repository), "show", revision],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def head_commit(repository: Path) -> tuple[str, str]:
    """The commit this table is built from, and its commit date."""
    output = subprocess.run(
        ["git", "-C", str(repository), "log", "-1", "--format=%H %cI", "HEAD"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return output[0], output[1]


def availability(products: list[str]) -> str:
    """``exchange-online``, ``on-premises`` or ``both``, from an "Applicable:" product list. The
    built-in security add-on and Exchange Online Protection are cloud services."""
    on_premises = any(SERVER_PRODUCT.match(product) for product in products)
    cloud = any(not SERVER_PRODUCT.match(product) for product in products)
    if on_premises and cloud:
        return "both"
    return "on-premises" if on_premises else "exchange-online"


def split_products(text: str) -> list[str]:
    return [product.strip() for product in text.split(",") if product.strip()]


def front_matter(page: str, cmdlet: str) -> dict[str, str]:
    match = re.match(r"---\n(.*?)\n---\n", page, re.S)
    if match is None:
        raise DocsError(f"{cmdlet}: no front matter")
    fields: dict[str, str] = {}
    for line in match.group(1).splitlines():
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    return fields


def chapter(page: str, title: str, cmdlet: str) -> list[str]:
    """The lines of a ``## TITLE`` chapter."""
    match = re.search(rf"^## {title}\n(.*?)(?=^## |\Z)", page, re.S | re.M)
    if match is None:
        raise DocsError(f"{cmdlet}: no '## {title}' chapter")
    return match.group(1).splitlines()


def syntax_parameters(page: str, cmdlet: str) -> dict[str, str | None]:
    """Every parameter of every parameter set in the syntax block(s), with its type (``None``
    for a switch)."""
    parameters: dict[str, str | None] = {}
    in_block = False
    for line in chapter(page, "SYNTAX", cmdlet):
        if line.startswith("```"):
            in_block = not in_block
            continue
        if not in_block:
            continue
        for match in SYNTAX_PARAMETER.finditer(line):
            parameters.setdefault(match["name"], match["type"])
    return parameters


def parameter_sections(page: str, cmdlet: str) -> list[Section]:
    sections: list[Section] = []
    for line in chapter(page, "PARAMETERS", cmdlet):
        if line.startswith("### "):
            sections.append(Section(line[4:].strip().removeprefix("-"), []))
        elif sections:
            sections[-1].lines.append(line)
    return [section for section in sections if section.name != "CommonParameters"]


def yaml_blocks(section: Section, cmdlet: str) -> list[dict[str, str]]:
    blocks: list[dict[str, str]] = []
    current: dict[str, str] | None = None
    for line in section.lines:
        if line.strip() == "```yaml":
            current = {}
        elif line.strip() == "```" and current is not None:
            blocks.append(current)
            current = None
        elif current is not None and ":" in line:
            key, _, value = line.partition(":")
            current[key.strip()] = value.strip()
    if not blocks:
        raise DocsError(f"{cmdlet} -{section.name}: no yaml block")
    return blocks


def valid_values(section: Section) -> list[tuple[str, str]]:
    """The values listed after "Valid values are:" (``- Partner: External partners…``,
    ``- 2048``, ``- $null (blank): …``) as PowerShell writes them, each with its description."""
    values: list[tuple[str, str]] = []
    introduced = False
    for line in section.lines:
        if line.startswith("```"):
            break
        if not introduced:
            introduced = bool(VALUES_INTRODUCTION.search(line))
            continue
        if line.startswith("- "):
            item, _, description = line[2:].partition(":")
            item = re.sub(r"\s*\(.*?\)\s*$", "", item).strip().strip("`*")
            values.append((item, description))
        elif values and line.strip() and not line.startswith((" ", "\t")):
            break
    return values


def kind_of(type_name: str) -> str:
    if type_name == "SwitchParameter":
        return "switch"
    if type_name == "Boolean":
        return "boolean"
    if type_name == "MultiValuedProperty" or type_name.endswith("[]"):
        return "multivalued"
    if type_name in INTEGER_TYPES:
        return "integer"
    if type_name == "Unlimited":
        return "unlimited"
    if type_name in STRING_TYPES or type_name.endswith("IdParameter"):
        return "string"
    return "enum"


def parameter_entry(section: Section, syntax_type: str | None, cmdlet: str) -> dict[str, Any]:
    blocks = yaml_blocks(section, cmdlet)
    first = blocks[0]
    type_name = first["Type"]
    if syntax_type is not None and syntax_type != type_name:
        raise DocsError(f"{cmdlet} -{section.name}: type {syntax_type} in SYNTAX, {type_name} below")
    applicable = next(
        (line.removeprefix("> Applicable:") for line in section.lines if line.startswith("> Applicable:")),
        None,
    )
    if applicable is None:
        raise DocsError(f"{cmdlet} -{section.name}: no 'Applicable:' line")
    products = split_products(applicable)
    text = " ".join(section.lines)
    entry: dict[str, Any] = {
        "type": type_name,
        "kind": kind_of(type_name),
        # A parameter is required only where every parameter set requires it.
        "required": all(block.get("Required") == "True" for block in blocks),
        "position": int(first["Position"]) if first.get("Position", "").isdigit() else None,
        "aliases": [alias.strip() for alias in first.get("Aliases", "").split(",") if alias.strip()],
        "applicable": products,
        "availability": availability(products),
        "internal": "reserved for internal Microsoft use" in text,
        # "The value $null or a non-existent value for the Identity parameter returns *all* objects".
        "nullMeansAll": "returns *all* objects" in text,
    }
    requirement = REQUIRES_CONNECTOR_TYPE.search(text)
    if requirement:
        entry["requiresConnectorType"] = requirement["type"]
    if PARTNER_ONLY.search(text):
        # Informational: Microsoft's own hybrid examples set RequireTls and
        # RestrictDomainsToCertificate on OnPremises connectors too.
        entry["notedForConnectorType"] = "Partner"
    values = valid_values(section)
    if entry["kind"] == "enum":
        if not values:
            raise DocsError(f"{cmdlet} -{section.name}: {type_name} lists no valid values")
        entry["values"] = [value for value, _ in values]
        # AcceptedDomainType's ExternalRelay: "available only in on-premises Exchange organizations".
        entry["onPremisesValues"] = [
            value for value, description in values if ON_PREMISES_VALUE.search(description)
        ]
    elif entry["kind"] == "integer" and values:
        entry["values"] = [int(value) for value, _ in values]
    return entry


def cmdlet_entry(page: str, cmdlet: str, path: str) -> dict[str, Any]:
    products = split_products(front_matter(page, cmdlet).get("applicable", ""))
    syntax = syntax_parameters(page, cmdlet)
    sections = parameter_sections(page, cmdlet)
    described = {section.name for section in sections}
    if set(syntax) != described:
        raise DocsError(
            f"{cmdlet}: SYNTAX and PARAMETERS differ: only in SYNTAX {sorted(set(syntax) - described)}, "
            f"only in PARAMETERS {sorted(described - set(syntax))}"
        )
    return {
        "file": path,
        "applicable": products,
        "availability": availability(products),
        "commonParameters": "<CommonParameters>" in "\n".join(chapter(page, "SYNTAX", cmdlet)),
        "parameters": {
            section.name: parameter_entry(section, syntax[section.name], cmdlet) for section in sections
        },
    }


def build(repository: Path) -> dict[str, Any]:
    commit, date = head_commit(repository)
    cmdlets: dict[str, Any] = {}
    for cmdlet in CMDLETS:
        path = f"{DOCS_FOLDER}/{cmdlet}.md"
        cmdlets[cmdlet] = cmdlet_entry(git_show(repository, f"{commit}:{path}"), cmdlet, path)
    return {
        "generatedBy": "scripts/cmdlet-reference.py",
        "source": {"repository": DOCS_REPOSITORY, "commit": commit, "committed": date},
        "commonParameters": COMMON_PARAMETERS,
        "cmdlets": cmdlets,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("docs", type=Path, help="a clone or bare mirror of " + DOCS_REPOSITORY)
    parser.add_argument("-o", "--output", type=Path, default=DEFAULT_OUTPUT)
    arguments = parser.parse_args(argv)
    try:
        table = build(arguments.docs)
    except (DocsError, subprocess.CalledProcessError) as error:
        detail = error.stderr.strip() if isinstance(error, subprocess.CalledProcessError) else error
        print(f"cmdlet-reference: {detail}", file=sys.stderr)
        return 1
    arguments.output.write_text(json.dumps(table, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {arguments.output} ({len(table['cmdlets'])} cmdlets, {table['source']['commit']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
