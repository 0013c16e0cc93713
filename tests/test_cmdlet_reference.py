"""Every command of the PowerShell mailflow writes, checked against Microsoft's Exchange cmdlet
reference (tests/data/exo_cmdlets.json, built by scripts/cmdlet-reference.py from
MicrosoftDocs/office-docs-powershell): each script parses, each command is a cmdlet the reference
describes (or PowerShell's own, or a function the script defines), and each parameter is one of
that cmdlet's, given a value of its kind: $true or $false for a Boolean, one of the documented
values for an enum, a string (quoted, or a bare word, which PowerShell reads as one) for text, a
string or an array of strings for a multi-valued property, $null to clear text. A variable or an
expression is known only when the script runs and passes unchecked."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import pytest
from conftest import EXAMPLES, ROOT, SEED_DOMAIN, example_values
from powershell_syntax import PARSER
from tree_sitter import Node

from mailflow.connectors import render_script
from mailflow.exo import export_script
from mailflow.live_connectors import export_script as connectors_export_script
from mailflow.plan import plan_stack
from mailflow.stackfile import read_stack_file

REFERENCE_FILE = "tests/data/exo_cmdlets.json"
REFERENCE: dict[str, Any] = json.loads((ROOT / REFERENCE_FILE).read_text(encoding="utf-8"))
CMDLETS: dict[str, tuple[str, dict[str, Any]]] = {
    name.casefold(): (name, entry) for name, entry in REFERENCE["cmdlets"].items()
}
POWERSHELL_CMDLETS = frozenset(
    name.casefold()
    for name in (
        # PowerShell's own, which the scripts use around the Exchange cmdlets; Exchange's reference
        # does not describe them, so their parameters go unchecked.
        "ConvertTo-Json",
        "ForEach-Object",
        "Get-Date",
        "Out-File",
        "Select-Object",
        "Set-Content",
        "Sort-Object",
        "Where-Object",
        "Write-Host",
        "Write-Warning",
    )
)

# Nodes that only wrap the one expression inside them (``'a'`` in ``@('a')`` sits under a dozen).
WRAPPERS = frozenset(
    {
        "statement_list",
        "pipeline",
        "pipeline_chain",
        "logical_expression",
        "bitwise_expression",
        "comparison_expression",
        "additive_expression",
        "multiplicative_expression",
        "format_expression",
        "range_expression",
        "array_literal_expression",
        "unary_expression",
    }
)
RUNTIME = frozenset(
    {"parenthesized_expression", "sub_expression", "member_access", "element_access", "invocation_expression"}
)
REDIRECTION = re.compile(r"^[0-9*]?>")
DOUBLED_QUOTE = re.compile("(['\u2018\u2019\u201a\u201b])\\1")


@dataclass(frozen=True)
class Argument:
    """A command argument as PowerShell reads it: ``word`` (bare), ``string``, ``array``,
    ``boolean``, ``null``, ``integer``, ``runtime`` (a variable or expression, known only when the
    script runs) or ``other`` (a script block, a hashtable…)."""

    form: str
    written: str
    texts: tuple[str, ...] = ()
    """The text of a word or string, the strings of an array."""


@dataclass(frozen=True)
class Element:
    parameter: str | None
    """``-Name`` as written, or ``None`` for an argument."""
    argument: Argument | None
    joined: bool = False
    """An argument joined to the parameter before it by a colon (``-Confirm:$false``)."""


@dataclass(frozen=True)
class Invocation:
    name: str
    line: int
    elements: tuple[Element, ...]


def parse(script: str) -> Node:
    return PARSER.parse(script.encode("utf-8")).root_node


def syntax_problems(root: Node) -> list[str]:
    problems = [
        f"line {node.start_point.row + 1}: "
        + (f"missing {node.type}" if node.is_missing else f"cannot parse {text(node)[:60]!r}")
        for node in walk(root)
        if node.is_error or node.is_missing
    ]
    if root.has_error and not problems:
        problems.append("the script does not parse")
    return problems


def walk(node: Node) -> Iterator[Node]:
    yield node
    for child in node.children:
        yield from walk(child)


def text(node: Node) -> str:
    return (node.text or b"").decode("utf-8")


def invocations(root: Node) -> list[Invocation]:
    found = []
    for node in walk(root):
        if node.type != "command":
            continue
        name = next((child for child in node.named_children if child.type == "command_name"), None)
        if name is None:
            continue
        elements = next((child for child in node.named_children if child.type == "command_elements"), None)
        found.append(
            Invocation(text(name), name.start_point.row + 1, command_elements(elements) if elements else ())
        )
    return found


def command_elements(node: Node) -> tuple[Element, ...]:
    elements: list[Element] = []
    joined = False
    for child in node.named_children:
        if child.type == "command_argument_sep":
            joined = ":" in text(child)
            continue
        if child.type == "command_parameter":
            elements.append(Element(text(child), None))
        elif not (child.type == "generic_token" and REDIRECTION.match(text(child))):
            elements.append(Element(None, argument(child), joined))
        joined = False
    return tuple(elements)


def argument(node: Node) -> Argument:
    if node.type == "generic_token":
        return Argument("word", text(node), (text(node),))
    members = listed(node)
    return array(node, members) if len(members) > 1 else members[0]


def unwrap(node: Node) -> Node:
    while node.type in WRAPPERS and len(node.named_children) == 1:
        node = node.named_children[0]
    return node


def value(node: Node) -> Argument:
    node = unwrap(node)
    written = text(node)
    if node.type == "string_literal":
        return string(node)
    if node.type == "variable":
        constant = {"$true": "boolean", "$false": "boolean", "$null": "null"}
        return Argument(constant.get(written.casefold(), "runtime"), written)
    if node.type == "integer_literal":
        return Argument("integer", written, (written,))
    if node.type == "array_expression":
        return array(node, [member for statement in statements(node) for member in listed(statement)])
    if node.type in RUNTIME:
        return Argument("runtime", written)
    return Argument("other", written)


def statements(array_expression: Node) -> list[Node]:
    """The statements of ``@(...)``: one per line or ``;``."""
    return [
        statement
        for child in array_expression.named_children
        if child.type == "statement_list"
        for statement in child.named_children
        if statement.type != "empty_statement"
    ]


def listed(node: Node) -> list[Argument]:
    """The values of ``'a', 'b'``, or the one value of anything else."""
    node = unwrap(node)
    items = [child for child in node.named_children if child.type == "unary_expression"]
    if node.type == "array_literal_expression" and len(items) > 1:
        return [value(item) for item in items]
    return [value(node)]


def string(node: Node) -> Argument:
    literal = node.named_children[0]
    inner = text(literal)[1:-1]
    if literal.type == "verbatim_string_characters":
        return Argument("string", text(node), (DOUBLED_QUOTE.sub(r"\1", inner),))
    if literal.type == "expandable_string_literal" and not literal.named_children and "`" not in inner:
        return Argument("string", text(node), (inner.replace('""', '"'),))
    return Argument("runtime", text(node))


def array(node: Node, members: list[Argument]) -> Argument:
    if any(member.form == "runtime" for member in members):
        return Argument("runtime", text(node))
    if all(member.form in ("string", "word") for member in members):
        return Argument("array", text(node), tuple(t for member in members for t in member.texts))
    return Argument("other", text(node))


def describe(spec: dict[str, Any]) -> str:
    kind = spec["kind"]
    if kind == "enum":
        return "one of " + ", ".join(spec["values"])
    if kind == "integer" and "values" in spec:
        return "one of " + ", ".join(str(number) for number in spec["values"])
    return {
        "switch": "no value, or :$true or :$false",
        "boolean": "$true or $false",
        "string": "a string",
        "multivalued": "a string or an array of strings",
        "integer": "an integer",
        "unlimited": "an integer or Unlimited",
    }[kind]


def value_problem(spec: dict[str, Any], given: Argument) -> str | None:
    """Why ``given`` is not a value the parameter takes, or ``None``."""
    kind, form = spec["kind"], given.form
    if form == "runtime":
        return None
    if form == "null":
        if spec.get("nullMeansAll"):
            return "is $null, which makes the cmdlet return every object (the reference's caution)"
        if kind in ("string", "multivalued") or "$null" in spec.get("values", ()):
            return None
    single = given.texts[0] if form in ("word", "string") else None
    if kind == "enum" and single is not None:
        matched = next((v for v in spec["values"] if v.casefold() == single.casefold()), None)
        if matched in spec.get("onPremisesValues", ()):
            return f"is {matched}, which only on-premises Exchange takes"
        valid = matched is not None and matched != "$null"
    elif kind in ("boolean", "switch"):
        valid = form == "boolean"
    elif kind == "string":
        valid = form in ("string", "word")
    elif kind == "multivalued":
        valid = form in ("string", "word", "array")
    elif kind == "integer":
        valid = form == "integer" and int(given.written) in spec.get("values", [int(given.written)])
    elif kind == "unlimited":
        valid = form == "integer" or (single is not None and single.casefold() == "unlimited")
    else:
        valid = False
    return None if valid else f"takes {describe(spec)}"


def parameter_index(entry: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    """The cmdlet's parameters (and the common ones) by name and alias, as PowerShell matches
    them: without regard to case."""
    parameters = dict(entry["parameters"])
    if entry["commonParameters"]:
        parameters.update(REFERENCE["commonParameters"])
    index = {}
    for name, spec in parameters.items():
        for key in (name, *spec.get("aliases", ())):
            index[key.casefold()] = (name, spec)
    return index


def invocation_problems(invocation: Invocation) -> list[str]:
    where = f"line {invocation.line}: {invocation.name}"
    if invocation.name.casefold() in POWERSHELL_CMDLETS:
        return []
    if invocation.name.casefold() not in CMDLETS:
        return [
            f"{where}: is not in {REFERENCE_FILE}; add it to CMDLETS in scripts/cmdlet-reference.py and "
            "run that script (PowerShell's own cmdlets go in POWERSHELL_CMDLETS of this test)"
        ]
    cmdlet, entry = CMDLETS[invocation.name.casefold()]
    where = f"line {invocation.line}: {cmdlet}"
    index = parameter_index(entry)
    problems = []
    if entry["availability"] == "on-premises":
        problems.append(f"{where}: is for on-premises Exchange only")
    bound: dict[str, Argument | None] = {}
    positional: list[Argument] = []
    elements = list(invocation.elements)
    while elements:
        element = elements.pop(0)
        if element.parameter is None:
            assert element.argument is not None
            positional.append(element.argument)
            continue
        written = element.parameter.removeprefix("-")
        following = elements[0] if elements and elements[0].parameter is None else None
        name, spec = index.get(written.casefold(), (written, None))
        if spec is None:
            problems.append(f"{where} -{written}: is not a parameter of {cmdlet} ({entry['file']})")
            if following is not None:
                elements.pop(0)
            continue
        given: Argument | None = None
        if following is not None and (spec["kind"] != "switch" or following.joined):
            given = elements.pop(0).argument
        elif spec["kind"] != "switch":
            problems.append(f"{where} -{name}: has no value; it takes {describe(spec)}")
            continue
        if name in bound:
            problems.append(f"{where} -{name}: is given twice")
        bound[name] = given
        problems.extend(f"{where} -{name} {reason}" for reason in spec_problems(spec, given))
    positions = sorted(
        (spec["position"], name)
        for name, spec in entry["parameters"].items()
        if spec["position"] is not None and name not in bound
    )
    for given in positional:
        if not positions:
            problems.append(f"{where}: no parameter takes the positional argument {given.written}")
            continue
        _, name = positions.pop(0)
        bound[name] = given
        problems.extend(
            f"{where} (position of -{name}) {reason}"
            for reason in spec_problems(entry["parameters"][name], given)
        )
    problems.extend(
        f"{where}: lacks -{name}, which it requires"
        for name, spec in entry["parameters"].items()
        if spec["required"] and name not in bound
    )
    problems.extend(connector_type_problems(where, entry, bound))
    return problems


def spec_problems(spec: dict[str, Any], given: Argument | None) -> list[str]:
    problems = []
    if spec.get("availability") == "on-premises":
        problems.append(
            "is for on-premises Exchange only (Applicable: " + ", ".join(spec["applicable"]) + ")"
        )
    if spec.get("internal"):
        problems.append("is reserved for internal Microsoft use")
    reason = value_problem(spec, given) if given is not None else None
    if reason is not None:
        assert given is not None
        problems.append(f"{given.written}: {reason}")
    return problems


def connector_type_problems(
    where: str, entry: dict[str, Any], bound: dict[str, Argument | None]
) -> list[str]:
    """``RouteAllMessagesViaOnPremises $true`` and the like need an OnPremises connector."""
    connector_type = bound.get("ConnectorType")
    if connector_type is None or not connector_type.texts:
        return []
    given_type = connector_type.texts[0]
    return [
        f"{where} -{name} $true: needs -ConnectorType {required}, not {given_type}"
        for name, given in bound.items()
        if (required := entry["parameters"].get(name, {}).get("requiresConnectorType"))
        and given is not None
        and given.written.casefold() == "$true"
        and given_type.casefold() != required.casefold()
    ]


def script_problems(script: str) -> list[str]:
    root = parse(script)
    problems = syntax_problems(root)
    own_functions = {text(node).casefold() for node in walk(root) if node.type == "function_name"}
    for invocation in invocations(root):
        if invocation.name.casefold() not in own_functions:
            problems.extend(invocation_problems(invocation))
    return problems


def seed(**changes: dict[str, Any]) -> dict[str, Any]:
    """The seed domain with its hybrid connectors' hosts, and ``changes`` merged into its sections."""
    domain = copy.deepcopy(SEED_DOMAIN)
    domain["onPremises"].update(smartHost="mail.contoso.com", certificateName="mail.contoso.com")
    for section, values in changes.items():
        domain.setdefault(section, {}).update(values)
    return domain


def onprem_front_pilot() -> dict[str, Any]:
    values = example_values("hybrid-onprem-front")
    values["domains"][0]["onPremises"]["enhancedFilteringUsers"] = ["pilot@adatum.com"]
    return values


def two_tenants() -> dict[str, Any]:
    fabrikam = seed(
        exchangeOnline={"tenant": "fabrikam", "mxHost": "fabrikam-com.mail.protection.outlook.com"},
        onPremises={"hybridWizard": True},
    )
    fabrikam["name"] = "fabrikam.com"
    return {"domains": [seed(), fabrikam]}


CONFIGS: dict[str, Callable[[], dict[str, Any]]] = {
    "partner by certificate": lambda: {
        "domains": [seed(thirdParty={"certificateName": "relay.filter.example.net"})]
    },
    "partner by wildcard certificate": lambda: {
        "domains": [seed(thirdParty={"certificateName": "*.filter.example.net"})]
    },
    "enhanced filtering skip list": lambda: {
        "domains": [seed(thirdParty={"enhancedFilteringSkipIps": ["198.51.100.1", "203.0.113.0/24"]})]
    },
    "enhanced filtering off": lambda: {"domains": [seed(thirdParty={"enhancedFiltering": False})]},
    "centralized mail transport": lambda: {
        "domains": [
            seed(exchangeOnline={"centralizedMailTransport": True}, thirdParty={"enhancedFiltering": False})
        ]
    },
    "outbound relay, ARC sealer, pilot users, no directory sync": lambda: {
        "domains": [
            seed(
                thirdParty={
                    "enhancedFilteringUsers": ["pilot@contoso.com"],
                    "outboundSmartHosts": ["relay.filter.example.net"],
                    "arcSealer": "filter.example.net",
                },
                exchangeOnline={"directorySync": False},
            )
        ]
    },
    "hybrid-onprem-front pilot users": onprem_front_pilot,
    "hybrid wizard keeps the on-premises connectors": lambda: {
        "domains": [seed(onPremises={"hybridWizard": True})]
    },
    "two tenants": two_tenants,
}
STACK_FILES = sorted([*EXAMPLES.glob("*.yaml"), *(ROOT / "stacks").glob("Pulumi.*.yaml")])


def connectors_of(values: Callable[[], dict[str, Any]]) -> Callable[[], str]:
    return lambda: render_script(plan_stack(values()).connectors)


SCRIPTS: dict[str, Callable[[], str]] = {
    **{
        f"connectors of {path.relative_to(ROOT)}": connectors_of(partial(read_stack_file, path))
        for path in STACK_FILES
    },
    **{f"connectors of {name}": connectors_of(values) for name, values in CONFIGS.items()},
    "tenant script": partial(export_script, ["contoso.com", "new-domain.example"]),
    "connectors export": connectors_export_script,
}


@pytest.mark.parametrize("name", SCRIPTS)
def test_generated_script_uses_only_documented_cmdlets_parameters_and_values(name: str) -> None:
    assert script_problems(SCRIPTS[name]()) == []


def test_the_scripts_reach_every_cmdlet_they_are_for() -> None:
    """The check has something to check: together the scripts call each of these."""
    called = {invocation.name for script in SCRIPTS.values() for invocation in invocations(parse(script()))}
    assert {
        "Get-InboundConnector",
        "New-InboundConnector",
        "Set-InboundConnector",
        "Get-OutboundConnector",
        "New-OutboundConnector",
        "Set-OutboundConnector",
        "Get-ArcConfig",
        "Set-ArcConfig",
        "Get-AcceptedDomain",
        "Set-AcceptedDomain",
        "Get-DkimSigningConfig",
        "Get-DnssecStatusForVerifiedDomain",
    } <= called


def test_a_mistake_inside_a_generated_script_is_caught() -> None:
    script = SCRIPTS["connectors of partner by certificate"]().replace(
        "-ConnectorType Partner", "-ConnectorType Partners"
    )
    problems = script_problems(script)
    assert len(problems) == 2
    assert all(
        problem.endswith("-ConnectorType Partners: takes one of Partner, OnPremises") for problem in problems
    )


def test_the_reference_names_the_docs_commit_it_was_built_from() -> None:
    assert REFERENCE["source"]["repository"] == "MicrosoftDocs/office-docs-powershell"
    assert re.fullmatch("[0-9a-f]{40}", REFERENCE["source"]["commit"])


def test_documented_forms_pass() -> None:
    script = """\
Get-InboundConnector 'Inbound from a3e87a2d' | Select-Object Name
Set-OutboundConnector -Identity "mailflow to on-premises" -TlsSettings $null -SmartHosts 'a.example', 'b.example'
Remove-InboundConnector -Identity $name -Confirm:$false
New-DkimSigningConfig contoso.com $false -KeySize 2048 -ErrorAction Stop
Set-ArcConfig -Identity Default -ArcTrustedSealers $sealers
Set-InboundConnector -Identity 'x' -EFUsers @() -SenderDomains @('contoso.com'; 'fabrikam.com')
Get-AcceptedDomain -ResultSize Unlimited
"""
    assert script_problems(script) == []


MISTAKES: list[tuple[str, str, str]] = [
    (
        "made-up parameter",
        "Set-InboundConnector -Identity 'x' -EnhancedFiltering $true",
        "line 1: Set-InboundConnector -EnhancedFiltering: is not a parameter of Set-InboundConnector "
        "(exchange/exchange-ps/ExchangePowerShell/Set-InboundConnector.md)",
    ),
    (
        "wrong enum value",
        "New-OutboundConnector -Name 'x' -ConnectorType OnPremise",
        "line 1: New-OutboundConnector -ConnectorType OnPremise: takes one of Partner, OnPremises",
    ),
    (
        "enum value quoted but wrong",
        "Set-OutboundConnector -Identity 'x' -TlsSettings 'DomainValidated'",
        "line 1: Set-OutboundConnector -TlsSettings 'DomainValidated': takes one of EncryptionOnly, "
        "CertificateValidation, DomainValidation, $null",
    ),
    (
        "boolean given as text",
        "Set-InboundConnector -Identity 'x' -EFSkipLastIP 'true'",
        "line 1: Set-InboundConnector -EFSkipLastIP 'true': takes $true or $false",
    ),
    (
        "array for a single string",
        "Set-OutboundConnector -Identity 'x' -TlsDomain @('a.example', 'b.example')",
        "line 1: Set-OutboundConnector -TlsDomain @('a.example', 'b.example'): takes a string",
    ),
    (
        "$null for a boolean",
        "Set-InboundConnector -Identity 'x' -RequireTls $null",
        "line 1: Set-InboundConnector -RequireTls $null: takes $true or $false",
    ),
    (
        "parameter without its value",
        "Set-InboundConnector -Identity 'x' -SenderDomains",
        "line 1: Set-InboundConnector -SenderDomains: has no value; it takes a string or an array of strings",
    ),
    (
        "required parameter left out",
        "New-InboundConnector -Name 'x' -ConnectorType Partner",
        "line 1: New-InboundConnector: lacks -SenderDomains, which it requires",
    ),
    (
        "on-premises-only parameter",
        "Set-AcceptedDomain -Identity 'contoso.com' -MakeDefault $true",
        "line 1: Set-AcceptedDomain -MakeDefault is for on-premises Exchange only (Applicable: Exchange "
        "Server 2010, Exchange Server 2013, Exchange Server 2016, Exchange Server 2019, Exchange Server SE)",
    ),
    (
        "on-premises-only value",
        "Set-AcceptedDomain -Identity 'contoso.com' -DomainType ExternalRelay",
        "line 1: Set-AcceptedDomain -DomainType ExternalRelay: is ExternalRelay, which only on-premises "
        "Exchange takes",
    ),
    (
        "parameter reserved for Microsoft",
        "Set-InboundConnector -Identity 'x' -EFTestMode $true",
        "line 1: Set-InboundConnector -EFTestMode is reserved for internal Microsoft use",
    ),
    (
        "identity $null acts on everything",
        "Get-InboundConnector -Identity $null",
        "line 1: Get-InboundConnector -Identity $null: is $null, which makes the cmdlet return every "
        "object (the reference's caution)",
    ),
    (
        "centralized transport on a Partner connector",
        "New-OutboundConnector -Name 'x' -ConnectorType Partner -RouteAllMessagesViaOnPremises $true",
        "line 1: New-OutboundConnector -RouteAllMessagesViaOnPremises $true: needs -ConnectorType "
        "OnPremises, not Partner",
    ),
    (
        "cmdlet missing from the reference",
        "New-TransportRule -Name 'x'",
        "line 1: New-TransportRule: is not in tests/data/exo_cmdlets.json; add it to CMDLETS in "
        "scripts/cmdlet-reference.py and run that script (PowerShell's own cmdlets go in "
        "POWERSHELL_CMDLETS of this test)",
    ),
    ("script that does not parse", "if ($x) { Get-ArcConfig", "line 1: missing }"),
]


@pytest.mark.parametrize(
    ("script", "expected"), [case[1:] for case in MISTAKES], ids=[case[0] for case in MISTAKES]
)
def test_a_mistake_in_a_hand_written_call_is_caught(script: str, expected: str) -> None:
    assert script_problems(script) == [expected]
