"""Command line: ``mailflow plan`` prints the records a stack plans, ``mailflow connectors`` the
Exchange Online connector script, ``mailflow check`` compares live DNS with the plan, ``mailflow
tenant`` reads the values Microsoft assigned from the tenant."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from mailflow.errors import ConfigError, Problem
from mailflow.plan import StackPlan, plan_stack
from mailflow.render import plan_json, plan_table, plan_zone
from mailflow.resolvers import LiveResolver, Resolver
from mailflow.stackfile import read_stack_file
from mailflow.tenant import TENANT_FILE_KEY

EXIT_OK, EXIT_DRIFT, EXIT_CONFIG, EXIT_TENANT = 0, 1, 2, 3
STRICT_HELP = (
    "refuse values Microsoft assigns that are derived rather than read from the tenant file or set "
    "in config (as mailflow:strict: true does)"
)

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
    plan.add_argument("--strict", action="store_true", help=STRICT_HELP)
    connectors = commands.add_parser(
        "connectors", help="print the Exchange Online PowerShell script for the stack's connectors"
    )
    connectors.add_argument("stackfile", type=Path, help="stacks/Pulumi.<stack>.yaml")
    connectors.add_argument(
        "--strict",
        action="store_true",
        help="treat missing values (e.g. onPremises.smartHost) as errors, and "
        + STRICT_HELP.removeprefix("refuse "),
    )
    check = commands.add_parser("check", help="compare live DNS with the plan (exit 1 on drift)")
    check.add_argument("stackfile", type=Path, help="stacks/Pulumi.<stack>.yaml")
    check.add_argument(
        "--nameserver",
        type=_nameserver,
        metavar="IP[:PORT]",
        help="ask this server (e.g. the authoritative one) instead of the system resolver",
    )
    check.add_argument("--format", choices=["table", "json"], default="table")
    check.add_argument("--timeout", type=float, default=5.0, help="seconds per DNS query")
    check.add_argument("--strict", action="store_true", help=STRICT_HELP)
    check.add_argument(
        "--tenant",
        action="store_true",
        help="also compare with the stack's tenant file: a value Microsoft expects that the stack "
        "does not publish is drift",
    )
    _tenant_parser(commands)
    return parser


def _tenant_parser(commands: Any) -> None:
    from mailflow.exo import DEFAULT_EXPORT
    from mailflow.graph import AUTH_METHODS

    tenant = commands.add_parser("tenant", help="read the values Microsoft assigned from the tenant")
    actions = tenant.add_subparsers(dest="action", required=True)
    pull = actions.add_parser(
        "pull",
        help="read each domain from Microsoft Graph (and an Exchange Online export) into the tenant file",
    )
    pull.add_argument("stackfile", type=Path, help="stacks/Pulumi.<stack>.yaml (names mailflow:tenantFile)")
    pull.add_argument(
        "--exo-json", type=Path, metavar="FILE", help="merge the export `mailflow tenant script` writes"
    )
    pull.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 when the committed tenant file differs from the tenant",
    )
    pull.add_argument(
        "--auth",
        choices=AUTH_METHODS,
        default="default",
        help="how to sign in (default: the pipeline's environment or workload identity, a managed "
        "identity, then the Azure CLI)",
    )
    pull.add_argument("--timeout", type=float, default=30.0, help="seconds per Graph request")
    script = actions.add_parser(
        "script", help="print the Exchange Online PowerShell that exports DKIM, DNSSEC and domain type"
    )
    script.add_argument("stackfile", type=Path, help="stacks/Pulumi.<stack>.yaml")
    script.add_argument("--output", default=DEFAULT_EXPORT, help="the file the script writes")


def _resolver(args: argparse.Namespace) -> Resolver | None:
    if not args.live_spf:
        return None
    if args.nameserver:
        host, port = args.nameserver
        return LiveResolver([host], port)
    return LiveResolver()


def _connectors(plan: StackPlan, strict: bool) -> int:
    from mailflow.connectors import plan_connectors, render_script

    try:
        connector_plan = plan_connectors(plan, strict=strict)
    except ConfigError as error:
        print(error.report(), file=sys.stderr)
        return EXIT_CONFIG
    for warning in connector_plan.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    sys.stdout.write(render_script(connector_plan))
    return EXIT_OK


def _check(args: argparse.Namespace, plan: StackPlan) -> int:
    # Imported per command: `plan` starts faster without the resolver and connector modules.
    import dns.exception

    from mailflow.check import check_stack, report_json, report_table

    try:
        report = check_stack(plan, args.nameserver, args.timeout, tenant=args.tenant)
    except dns.exception.DNSException as error:
        print(f"mailflow check: DNS query failed: {error}", file=sys.stderr)
        return EXIT_DRIFT
    sys.stdout.write(report_json(report) if args.format == "json" else report_table(report))
    return EXIT_DRIFT if report.drift else EXIT_OK


def _tenant(args: argparse.Namespace) -> int:
    from mailflow.exo import export_script
    from mailflow.graph import TenantReadError, credential
    from mailflow.pull import differences, pull, stack_domains, write_tenant

    values = read_stack_file(args.stackfile, tenant=False)
    if args.action == "script":
        sys.stdout.write(export_script((name for name, _ in stack_domains(values)), args.output))
        return EXIT_OK
    try:
        pulled = pull(
            values, args.stackfile, lambda cloud: credential(args.auth, cloud), args.exo_json, args.timeout
        )
    except TenantReadError as error:
        print(f"mailflow tenant pull: could not read the tenant:\n{error}", file=sys.stderr)
        return EXIT_TENANT
    for note in pulled.notes:
        print(f"note: {note}", file=sys.stderr)
    if args.check:
        changes = differences(pulled) if pulled.changed else []
        for change in changes:
            print(change)
        print(f"{pulled.path}: {'differs from the tenant' if changes else 'matches the tenant'}")
        return EXIT_DRIFT if changes else EXIT_OK
    # An unchanged file is left alone: a scheduled pull makes no commit of new read times.
    if pulled.changed:
        write_tenant(pulled)
    print(
        f"{pulled.path}: {'updated' if pulled.changed else 'unchanged'} "
        f"({len(pulled.tenant.domains)} domains)"
    )
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "tenant":
            return _tenant(args)
        plan = plan_stack(
            read_stack_file(args.stackfile),
            _resolver(args) if args.command == "plan" else None,
            strict=getattr(args, "strict", False),
        )
        if args.command == "check" and args.tenant and plan.tenant_file is None:
            raise ConfigError([Problem(TENANT_FILE_KEY, "is required by check --tenant")])
    except ConfigError as error:
        print(error.report(), file=sys.stderr)
        return EXIT_CONFIG
    # The table lists the plan's warnings itself; every other output keeps them on standard error.
    if args.command != "plan" or args.format != "table":
        for warning in plan.warnings:
            print(f"warning: {warning}", file=sys.stderr)
    if args.command == "check":
        return _check(args, plan)
    if args.command == "connectors":
        return _connectors(plan, args.strict)
    output = RENDERERS[args.format](plan)
    sys.stdout.write(output)
    return EXIT_OK
