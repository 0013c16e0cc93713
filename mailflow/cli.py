"""Command line: ``mailflow plan STACKFILE`` prints the records a stack would publish."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from mailflow.config import read_stack_file
from mailflow.errors import ConfigError
from mailflow.plan import StackPlan, plan_stack
from mailflow.render import plan_json, plan_table, plan_zone
from mailflow.resolvers import LiveResolver, Resolver

EXIT_OK, EXIT_DRIFT, EXIT_CONFIG = 0, 1, 2

RENDERERS: dict[str, Callable[[StackPlan], str]] = {
    "table": plan_table,
    "json": plan_json,
    "zone": plan_zone,
}


def _nameserver(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":") if text.count(":") == 1 else (text, "", "53")
    try:
        return host or text, int(port)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not IP[:PORT]") from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mailflow", description="Plan the DNS records of Microsoft 365 mail flow."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    plan = commands.add_parser("plan", help="print the records a stack file plans")
    plan.add_argument("stackfile", type=Path, help="stacks/Pulumi.<stack>.yaml")
    plan.add_argument("--format", choices=sorted(RENDERERS), default="table")
    plan.add_argument(
        "--live-spf",
        action="store_true",
        help="count SPF lookups of includes against live DNS instead of the bundled snapshot",
    )
    plan.add_argument(
        "--nameserver",
        type=_nameserver,
        metavar="IP[:PORT]",
        help="with --live-spf: ask this server instead of the system resolver",
    )
    return parser


def _resolver(args: argparse.Namespace) -> Resolver | None:
    if not args.live_spf:
        return None
    if args.nameserver:
        host, port = args.nameserver
        return LiveResolver([host], port)
    return LiveResolver()


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        plan = plan_stack(read_stack_file(args.stackfile), _resolver(args))
    except ConfigError as error:
        print(error.report(), file=sys.stderr)
        return EXIT_CONFIG
    output = RENDERERS[args.format](plan)
    if args.format != "table":
        for warning in plan.warnings:
            print(f"warning: {warning}", file=sys.stderr)
    sys.stdout.write(output)
    return EXIT_OK
