"""Command line: ``mailflow plan`` prints the records a stack plans, ``mailflow connectors`` the
Exchange Online connector script (``connectors export`` the script that reads them back, ``connectors
diff`` compares that export with the plan), ``mailflow check`` compares live DNS with the plan,
``mailflow tenant`` reads the values Microsoft assigned from the tenant, ``mailflow cutover status``
follows a staged MX move on the zone's authoritative servers.

Exit status, the same for every command: 0 done (in sync; warnings allowed), 1 drift (``check``,
``connectors diff``, ``tenant pull --check``, ``cutover status``), 2 config problems (a broken
export file among them), 3 a source could not be read (DNS for ``check`` and ``cutover status``,
the tenant for ``tenant pull``) and nothing else was wrong, 4 usage (a bad argument); ``cutover
status`` adds 5 waiting, 6 not applied yet, 7 a phase went live straight after one it may not
follow (go back to that one), and 8 no domain is in cutover (nothing is ready to advance)."""

from __future__ import annotations

import argparse
import ipaddress
import math
import re
import socket
import sys
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from mailflow import __version__
from mailflow.errors import MAX_MESSAGE, ConfigError, Problem, printable
from mailflow.phases import PHASES
from mailflow.plan import StackPlan, plan_stack, without_gc_pauses
from mailflow.render import plan_json, plan_table, plan_zone
from mailflow.resolvers import LiveResolver, Nameserver
from mailflow.stackfile import read_stack, read_stack_file
from mailflow.tenant import AUTH_METHODS, EXO_EXPORT, TENANT_FILE_KEY

if TYPE_CHECKING:
    from mailflow.live_connectors import LiveTenant

EXIT_OK, EXIT_DRIFT, EXIT_CONFIG, EXIT_UNREADABLE, EXIT_USAGE = 0, 1, 2, 3, 4
MAX_QUERY_SECONDS = 60.0
CHECK_BUDGET_SECONDS = 60.0
"""How long `check` asks DNS by default; a large stack may need a larger --budget."""
CONNECTORS_USAGE = """mailflow connectors STACKFILE [--strict] [--prune]
       mailflow connectors export [--output FILE]
       mailflow connectors diff STACKFILE LIVE.json [--tenant NAME] [--format {table,json}]"""
"""A stack file named ``export`` or ``diff`` is given as ``./export``."""
STRICT_HELP = (
    "refuse values Microsoft assigns that are derived rather than read from the tenant file or set "
    "in config (as mailflow:strict: true does)"
)

RENDERERS: dict[str, Callable[[StackPlan], str]] = {
    "json": plan_json,
    "zone": plan_zone,
}
"""The formats of ``mailflow plan`` besides ``table``, which names the stack file in its steps."""


_HOST_NAME = re.compile(
    r"^(?=.{1,253}\.?$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?\.?$",
    re.IGNORECASE,
)
"""LDH labels; the last starts with a letter, so a mistyped address is no name to look up."""
NAMESERVER_FORMS = "IP, IP:PORT, [IPv6]:PORT or HOST[:PORT]"


def _nameserver(text: str) -> Nameserver:
    """``IP``, ``IP:PORT``, ``[IPv6]``, ``[IPv6]:PORT``, a bare IPv6 address, or a host name with
    an optional port, resolved once here to its addresses."""
    host, port = text, "53"
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise argparse.ArgumentTypeError(f"'{text}' is not {NAMESERVER_FORMS}")
        port = rest[1:] if rest else port
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
    if not port.isascii() or not port.isdigit() or not 0 < int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"'{text}': the port must be a number from 1 to 65535")
    if not host:
        raise argparse.ArgumentTypeError(f"'{text}' names no server; expected {NAMESERVER_FORMS}")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if text.startswith("[") or ":" in host or not _HOST_NAME.match(host):
            raise argparse.ArgumentTypeError(f"'{text}' is not {NAMESERVER_FORMS}") from None
        return Nameserver(_addresses(host, text), int(port))
    return Nameserver((str(address),), int(port))


def _addresses(host: str, text: str) -> tuple[str, ...]:
    try:
        found = socket.getaddrinfo(host, None, type=socket.SOCK_DGRAM)
    except OSError as error:
        raise argparse.ArgumentTypeError(f"'{text}': cannot resolve {host} ({error})") from None
    return tuple(dict.fromkeys(str(sockaddr[0]) for *_, sockaddr in found))


def _seconds(maximum: float = math.inf) -> Callable[[str], float]:
    """An argument type: a finite number of seconds above 0, at most ``maximum``."""

    def seconds(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not (0 < value <= maximum and math.isfinite(value)):
            limit = f" and at most {maximum:g}" if math.isfinite(maximum) else ""
            raise argparse.ArgumentTypeError(f"'{text}' is not a number of seconds above 0{limit}")
        return value

    return seconds


def _timeout_option(parser: argparse.ArgumentParser, when: str = "") -> None:
    parser.add_argument(
        "--timeout",
        type=_seconds(MAX_QUERY_SECONDS),
        default=5.0,
        help=f"{when}seconds per DNS query (at most {MAX_QUERY_SECONDS:g})",
    )


def _budget_option(parser: argparse.ArgumentParser, scope: str) -> None:
    """``--budget``: seconds for ``scope`` (``the whole check; record sets``), what is left unasked
    then being DNS failures."""
    parser.add_argument(
        "--budget",
        type=_seconds(),
        default=CHECK_BUDGET_SECONDS,
        help=f"seconds for {scope} not asked by then are DNS failures (default {CHECK_BUDGET_SECONDS:g})",
    )


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on a bad argument, which mailflow keeps for config problems."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="mailflow", description="Plan the DNS records of Microsoft 365 mail flow.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    plan = commands.add_parser("plan", help="print the records a stack file plans")
    plan.add_argument("stackfile", type=Path, help="stacks/Pulumi.<stack>.yaml")
    plan.add_argument("--format", choices=["table", *RENDERERS], default="table")
    plan.add_argument(
        "--live-spf",
        action="store_true",
        help="count SPF lookups of includes against live DNS instead of the bundled snapshot",
    )
    plan.add_argument(
        "--nameserver",
        type=_nameserver,
        metavar="HOST[:PORT]",
        help=f"with --live-spf: ask this server instead of the system resolver ({NAMESERVER_FORMS})",
    )
    _timeout_option(plan, "with --live-spf: ")
    _budget_option(plan, "all live SPF counts, with --live-spf; includes")
    plan.add_argument("--strict", action="store_true", help=STRICT_HELP)
    plan.add_argument(
        "--phase",
        choices=PHASES,
        help="plan every domain in cutover at this phase instead of its cutover.phase",
    )
    connectors = commands.add_parser(
        "connectors",
        help="print the Exchange Online PowerShell script for the stack's connectors; "
        "`connectors export` and `connectors diff` compare them with the tenant's",
        usage=CONNECTORS_USAGE,
    )
    connectors.add_argument("stackfile", type=Path, help="stacks/Pulumi.<stack>.yaml")
    connectors.set_defaults(action="script")
    connectors.add_argument(
        "--strict",
        action="store_true",
        help="treat missing values (e.g. onPremises.smartHost) as errors, and "
        + STRICT_HELP.removeprefix("refuse "),
    )
    connectors.add_argument(
        "--prune",
        action="store_true",
        help="also remove the connectors named 'mailflow …' that the plan no longer has",
    )
    check = commands.add_parser(
        "check", help="compare live DNS with the plan (exit 1 on drift, 3 on DNS failures)"
    )
    check.add_argument("stackfile", type=Path, help="stacks/Pulumi.<stack>.yaml")
    check.add_argument(
        "--nameserver",
        type=_nameserver,
        metavar="HOST[:PORT]",
        help="ask this server instead of the system resolver; it must answer for the SPF includes "
        f"too ({NAMESERVER_FORMS})",
    )
    check.add_argument("--format", choices=["table", "json"], default="table")
    _timeout_option(check)
    _budget_option(check, "the whole check; record sets")
    check.add_argument("--strict", action="store_true", help=STRICT_HELP)
    check.add_argument(
        "--tenant",
        action="store_true",
        help="also compare with the stack's tenant file: a value Microsoft expects that the stack "
        "does not publish is drift",
    )
    _tenant_parser(commands)
    _fleet_parser(commands)
    _cutover_parser(commands)
    return parser


def _cutover_parser(commands: Any) -> None:
    cutover = commands.add_parser("cutover", help="follow a staged MX cutover on the live DNS servers")
    actions = cutover.add_subparsers(dest="action", required=True)
    status = actions.add_parser(
        "status",
        help="the phase every authoritative server serves, whether the gate to the next phase is open "
        "(exit 0), and the next step; exit 5 waiting, 6 not applied, 1 drift, 3 DNS failure, 7 a phase out "
        "of order, 8 no domain in cutover",
    )
    status.add_argument("stackfile", type=Path, help="stacks/Pulumi.<stack>.yaml")
    status.add_argument(
        "--server",
        type=_nameserver,
        action="append",
        default=[],
        metavar="HOST[:PORT]",
        help="an authoritative server of the zone to ask (repeat for each); default: those its NS "
        f"records name ({NAMESERVER_FORMS})",
    )
    status.add_argument(
        "--nameserver",
        type=_nameserver,
        metavar="HOST[:PORT]",
        help="without --server: find the NS records and their addresses through this server instead "
        "of the system resolver",
    )
    status.add_argument(
        "--journal",
        type=Path,
        help="where first sightings are kept between runs "
        "(default: .mailflow-cutover.<stack>.json beside the stack file)",
    )
    status.add_argument("--format", choices=["table", "json"], default="table")
    _timeout_option(status)
    _budget_option(status, "the whole run; domains")
    status.add_argument("--strict", action="store_true", help=STRICT_HELP)


def _cutover(args: argparse.Namespace, plan: StackPlan) -> int:
    from mailflow.cutover_status import Journal, cutover_status, default_journal, report_json, report_table

    try:
        journal = Journal.load(args.journal or default_journal(args.stackfile))
    except ConfigError as error:
        print(error.report(), file=sys.stderr)
        return EXIT_CONFIG
    report = cutover_status(
        plan, args.stackfile, args.server, args.nameserver, args.timeout, args.budget, journal
    )
    if report.domains:
        try:
            journal.save()
        except OSError as error:
            print(
                f"warning: {journal.path}: not written ({error}); the TTL gate's clock restarts next run",
                file=sys.stderr,
            )
    sys.stdout.write(report_json(report) if args.format == "json" else report_table(report))
    return int(report.verdict)


def _connector_actions_parser() -> argparse.ArgumentParser:
    """``mailflow connectors export`` and ``mailflow connectors diff``, beside the plain
    ``mailflow connectors STACKFILE`` (``main`` tells them apart by the word after ``connectors``)."""
    from mailflow.live_connectors import DEFAULT_EXPORT

    parser = _Parser(prog="mailflow connectors")
    parser.set_defaults(command="connectors", strict=False)
    actions = parser.add_subparsers(dest="action", required=True)
    export = actions.add_parser(
        "export",
        help="print the read-only Exchange Online PowerShell that exports the tenant's connectors, "
        "ARC trusted sealers and accepted domains",
    )
    export.add_argument("--output", default=DEFAULT_EXPORT, help="the file the script writes")
    diff = actions.add_parser("diff", help="compare the export with the stack's connectors (exit 1 on drift)")
    diff.add_argument("stackfile", type=Path, help="stacks/Pulumi.<stack>.yaml")
    diff.add_argument("live", type=Path, metavar="LIVE.json", help="the file the export script wrote")
    diff.add_argument(
        "--tenant",
        metavar="NAME",
        help="the planned tenant (exchangeOnline.tenant) the export is of; needed when the stack "
        "plans several",
    )
    diff.add_argument("--format", choices=["table", "json"], default="table")
    return parser


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["connectors"] and arguments[1:2] in (["export"], ["diff"]):
        return _connector_actions_parser().parse_args(arguments[1:])
    if arguments[:1] == ["fleet"] and "--" in arguments:
        # What follows `--` goes to Pulumi as it is: argparse would read it as more stack files.
        cut = arguments.index("--")
        fleet = parser.parse_args(arguments[:cut])
        fleet.pulumi_args = arguments[cut + 1 :]
        return fleet
    return parser.parse_args(arguments)


def _tenant_parser(commands: Any) -> None:
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
    pull.add_argument("--timeout", type=_seconds(), default=30.0, help="seconds per Graph request")
    script = actions.add_parser(
        "script", help="print the Exchange Online PowerShell that exports DKIM, DNSSEC and domain type"
    )
    script.add_argument("stackfile", type=Path, help="stacks/Pulumi.<stack>.yaml")
    script.add_argument("--output", default=EXO_EXPORT, help="the file the script writes")


def _count(text: str) -> int:
    """An argument type: a whole number above 0."""
    if not text.isascii() or not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number above 0")
    return int(text)


FLEET_UPDATE_USAGE = "mailflow fleet {action} STACKFILE... [--parallel K] [--log-dir DIR] [-- PULUMI ARGS...]"


def _fleet_parser(commands: Any) -> None:
    fleet = commands.add_parser(
        "fleet", help="check, split and run stacks that share an organisation's domains (docs/FLEETS.md)"
    )
    fleet.set_defaults(pulumi_args=[])
    actions = fleet.add_subparsers(dest="action", required=True)
    check = actions.add_parser(
        "check",
        help="plan every stack and refuse a domain, zone file or record set two stacks would write",
    )
    check.add_argument("stackfiles", type=Path, nargs="+", metavar="STACKFILE")
    split = actions.add_parser(
        "split", help="write the domains of a domains file into shards of at most N, a stack file each"
    )
    split.add_argument("domains_file", type=Path, metavar="DOMAINS_FILE", help="a YAML or JSON domain list")
    split.add_argument("--size", type=_count, required=True, metavar="N", help="domains per shard, at most")
    split.add_argument("--out", type=Path, required=True, metavar="DIR", help="where the files go")
    split.add_argument("--prefix", default="fleet", metavar="NAME", help="stacks NAME-1, NAME-2, … (fleet)")
    split.add_argument(
        "--template",
        type=Path,
        metavar="STACKFILE",
        help="copy its mailflow: keys other than the domain list into every stack file",
    )
    split.add_argument("--force", action="store_true", help="overwrite files of an earlier split")
    for action, verb in (("up", "update"), ("preview", "preview")):
        run = actions.add_parser(
            action,
            help=f"`fleet check`, then {verb} the stacks K at a time (Pulumi's Automation API)",
            usage=FLEET_UPDATE_USAGE.format(action=action),
        )
        run.add_argument("stackfiles", type=Path, nargs="+", metavar="STACKFILE")
        run.add_argument(
            "--parallel", type=_count, metavar="K", help="stacks run at once (default: the number of CPUs)"
        )
        run.add_argument(
            "--log-dir",
            type=Path,
            metavar="DIR",
            help="each stack's output, as <stack>.log (default: a new temporary directory)",
        )


def _resolver(args: argparse.Namespace) -> LiveResolver | None:
    return LiveResolver(args.nameserver, args.timeout) if args.live_spf else None


def _connectors(plan: StackPlan, prune: bool) -> int:
    from mailflow.connectors import render_script

    sys.stdout.write(render_script(plan.connectors, prune))
    return EXIT_OK


def _connectors_diff(args: argparse.Namespace, plan: StackPlan, live: LiveTenant) -> int:
    from mailflow.connector_diff import (
        TenantChoiceError,
        diff_tenant,
        planned_tenant,
        report_json,
        report_table,
    )

    try:
        tenant = planned_tenant(plan.connectors, args.tenant)
    except TenantChoiceError as error:
        print(f"mailflow connectors diff: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    diff = diff_tenant(tenant, live)
    sys.stdout.write(report_json(diff) if args.format == "json" else report_table(diff))
    return EXIT_DRIFT if diff.drift else EXIT_OK


def _check(args: argparse.Namespace, plan: StackPlan) -> int:
    # Imported per command: `plan` starts faster without the resolver and connector modules.
    from mailflow.check import Severity, check_stack, report_json, report_table

    report = check_stack(plan, args.nameserver, args.timeout, args.budget, tenant=args.tenant)
    sys.stdout.write(report_json(report) if args.format == "json" else report_table(report))
    exit_codes: dict[str, int] = {Severity.DRIFT: EXIT_DRIFT, Severity.DNS_FAILURE: EXIT_UNREADABLE}
    return exit_codes.get(report.status, EXIT_OK)


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
        return EXIT_UNREADABLE
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
    parser = _parser()
    args = _parse(parser, argv)
    if args.command == "fleet":
        from mailflow.fleet import main as fleet

        return fleet(args)
    if (
        args.command == "plan"
        and not args.live_spf
        and (args.nameserver or args.budget != CHECK_BUDGET_SECONDS)
    ):
        parser.error("plan: --nameserver and --budget are only used with --live-spf")
    if args.command == "connectors" and args.action == "export":
        from mailflow.live_connectors import export_script

        sys.stdout.write(export_script(args.output))
        return EXIT_OK
    live: LiveTenant | None = None
    try:
        if args.command == "tenant":
            return _tenant(args)
        resolver = _resolver(args) if args.command == "plan" else None
        values, notes = read_stack(args.stackfile)
        for note in notes:
            print(f"warning: {printable(note, MAX_MESSAGE)}", file=sys.stderr)
        with without_gc_pauses(freeze=True), resolver.within(args.budget) if resolver else nullcontext():
            plan = plan_stack(
                values,
                resolver,
                strict=True if args.strict else None,
                complete=args.command == "connectors" and args.strict,
                phase=getattr(args, "phase", None),
            )
        if args.command == "check" and args.tenant and plan.tenant_file is None:
            raise ConfigError([Problem(TENANT_FILE_KEY, "is required by check --tenant")])
        if args.command == "connectors" and args.action == "diff":
            from mailflow.live_connectors import read_live_export

            live = read_live_export(args.live)
    except ConfigError as error:
        print(error.report(), file=sys.stderr)
        return EXIT_CONFIG
    # The table lists the plan's warnings itself; every other output keeps them on standard error.
    if args.command != "plan" or args.format != "table":
        for warning in plan.warnings:
            print(f"warning: {warning}", file=sys.stderr)
    if args.command == "check":
        return _check(args, plan)
    if args.command == "cutover":
        return _cutover(args, plan)
    if args.command == "connectors":
        return _connectors(plan, args.prune) if live is None else _connectors_diff(args, plan, live)
    output = plan_table(plan, args.stackfile) if args.format == "table" else RENDERERS[args.format](plan)
    sys.stdout.write(output)
    return EXIT_OK
