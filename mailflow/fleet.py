"""Fleets: the domains of one organisation split across several stacks (per tenant, or per N
domains), checked together and run in parallel. ``mailflow fleet split`` writes the initial
shards, ``fleet check`` plans every stack through the one gate and refuses a domain, zone file or
record set claimed by two stacks, ``fleet up`` and ``fleet preview`` run the stacks K at a time
through Pulumi's Automation API. The recipe is in docs/FLEETS.md."""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import yaml_rs
from pulumi import automation as auto

from mailflow.cli import EXIT_CONFIG, EXIT_OK, EXIT_USAGE
from mailflow.config import parse_domains
from mailflow.errors import ConfigError, Problem, quote
from mailflow.plan import DomainPlan, StackPlan, plan_stack, without_gc_pauses
from mailflow.settings import (
    AzureSettings,
    CloudflareSettings,
    Rfc2136Settings,
    TargetSettings,
    ZoneFileSettings,
)
from mailflow.stackfile import (
    namespace_values,
    project_directory,
    project_path,
    project_settings,
    read_stack_file,
    read_yaml,
    stack_name,
    with_domains_file,
)
from mailflow.validation import NAMESPACE

EXIT_FAILED = 1
"""``fleet up``/``preview``: a stack's run failed (the others ran to the end)."""
EXIT_INTERRUPTED = 128
"""Plus the signal's number (130 for Ctrl-C, 143 for SIGTERM), as shells report it."""
STACK_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
"""The characters Pulumi allows in a stack name."""
STACK_CHOOSING_ARGS = frozenset({"--stack", "-s", "--cwd", "-C"})
"""Pulumi arguments fleet sets itself, per stack."""
RECORDS_LISTED = 3
"""Record sets two stacks share, listed by name per pair of domains; the rest are counted."""
CHANGE_ORDER = ("create", "update", "replace", "delete", "same")


@dataclass(frozen=True)
class FleetStack:
    """One stack of the fleet: its stack file as given, the stack's name, its project directory
    (where Pulumi runs it) and its plan."""

    path: Path
    name: str
    project: Path
    plan: StackPlan


def _in_stack(path: Path, problem: Problem) -> Problem:
    """A problem of one stack, named with its stack file (once: YAML problems already are)."""
    if problem.path.startswith(str(path)):
        return problem
    return Problem(f"{path}: {problem.path}", problem.message, problem.needs_tenant, problem.config_hint)


def plan_fleet(paths: Sequence[Path]) -> list[FleetStack]:
    """Every stack planned as ``mailflow plan`` plans it (``read_stack_file``, ``plan_stack``);
    raise one ``ConfigError`` holding every stack's problems, each named with its stack file."""
    stacks: list[FleetStack] = []
    problems: list[Problem] = []
    with without_gc_pauses(freeze=True):
        for path in paths:
            try:
                plan = plan_stack(read_stack_file(path))
            except ConfigError as error:
                problems.extend(_in_stack(path, problem) for problem in error.problems)
                continue
            stacks.append(FleetStack(path, stack_name(path) or path.stem, project_directory(path), plan))
    if problems:
        raise ConfigError(problems)
    return stacks


def zone_of(target: TargetSettings, domain: DomainPlan, project: Path) -> str:
    """The zone a domain's records go to, named so that two stacks writing to one zone name it
    alike: a zone file by its resolved path, a provider's zone by what identifies it there."""
    if isinstance(target, ZoneFileSettings):
        return (
            f"the zone file {(project_path(target.directory, project) / f'{domain.domain}.zone').resolve()}"
        )
    if isinstance(target, CloudflareSettings):
        return f"cloudflare zone {domain.place.zone_id or domain.place.zone}"
    if isinstance(target, AzureSettings):
        return f"azure zone {target.resource_group_name}/{domain.place.zone}"
    assert isinstance(target, Rfc2136Settings)
    return f"rfc2136 zone {domain.place.zone} on {target.server} port {target.port}"


def _places(stack: FleetStack, domain: DomainPlan) -> Iterator[tuple[str, str]]:
    """What a domain writes that no other stack may: (zone, what in it). A zone file is written
    whole; a provider's zone is shared, so each record set in it is one place."""
    target = stack.plan.settings.target
    zone = zone_of(target, domain, stack.project)
    if isinstance(target, ZoneFileSettings):
        yield zone, ""
        return
    for owner, rtype in dict.fromkeys((record.name, record.type) for record in domain.records):
        yield zone, f"{rtype} {owner}"


@dataclass
class _Clash:
    """What one domain of a later stack shares with one domain of an earlier stack."""

    first: tuple[FleetStack, DomainPlan]
    second: tuple[FleetStack, DomainPlan]
    zone: str = ""
    records: list[str] = field(default_factory=list)


def _clash_problem(clash: _Clash) -> Problem:
    (first, one), (second, other) = clash.first, clash.second
    if one.domain == other.domain:
        also = f"; both would write {clash.zone}" if clash.zone.startswith("the zone file") else ""
        return Problem(
            f"{second.path}: {other.config_path}.name",
            f"{quote(other.domain)} is also planned by {first.path} at {one.config_path}.name: "
            f"a domain belongs to one stack{also}",
        )
    shared = clash.zone
    if clash.records:
        listed = ", ".join(clash.records[:RECORDS_LISTED])
        more = len(clash.records) - RECORDS_LISTED
        shared = f"{listed}{f' and {more} more' if more > 0 else ''} in {clash.zone}"
    return Problem(
        f"{second.path}: {other.config_path}",
        f"writes {shared}, as {first.path} does for {quote(one.domain)} at {one.config_path}: "
        "a zone file or record set belongs to one stack",
    )


def overlaps(stacks: Sequence[FleetStack]) -> list[Problem]:
    """Every domain planned by two stacks, and every zone file or record set (owner and type in
    one zone) two stacks would write; each named at the later stack, with the earlier one."""
    domains: dict[str, tuple[FleetStack, DomainPlan]] = {}
    places: dict[tuple[str, str], tuple[FleetStack, DomainPlan]] = {}
    clashes: dict[tuple[int, str, int, str], _Clash] = {}

    def clash(first: tuple[FleetStack, DomainPlan], second: tuple[FleetStack, DomainPlan]) -> _Clash:
        key = (id(first[0]), first[1].domain, id(second[0]), second[1].domain)
        return clashes.setdefault(key, _Clash(first, second))

    for stack in stacks:
        for domain in stack.plan.domains:
            claim = (stack, domain)
            earlier = domains.setdefault(domain.domain, claim)
            if earlier[0] is not stack:
                clash(earlier, claim)
            for place in _places(stack, domain):
                owner = places.setdefault(place, claim)
                if owner[0] is stack:
                    continue
                found = clash(owner, claim)
                found.zone = place[0]
                if place[1]:
                    found.records.append(place[1])
    return [_clash_problem(found) for found in clashes.values()]


def tenant_warnings(stacks: Sequence[FleetStack]) -> list[str]:
    """A tenant whose domains are in several stacks: connectors are the tenant's, and each stack's
    connector script holds only its own domains. A tenant is known by its tenant file and label;
    without a tenant file the ``default`` label means "this stack's tenant", so says nothing."""
    seen: dict[tuple[str | None, str], FleetStack] = {}
    warnings = []
    for stack in stacks:
        tenant_file = stack.plan.tenant_file
        resolved = str(project_path(tenant_file, stack.project).resolve()) if tenant_file else None
        for tenant in stack.plan.connectors.tenants:
            if not tenant.connectors or (resolved is None and tenant.tenant == "default"):
                continue
            first = seen.setdefault((resolved, tenant.tenant), stack)
            if first is not stack:
                warnings.append(
                    f"{stack.path}: tenant {quote(tenant.tenant)} has domains in {first.path} too: each "
                    "stack's connector script covers only its own domains (a connector's "
                    "RecipientDomains among them), so write the tenant's connectors from one stack "
                    "file that lists all of them (docs/FLEETS.md)"
                )
    return warnings


def check_fleet(paths: Sequence[Path]) -> list[FleetStack]:
    """The stacks, planned and checked against each other; raise ``ConfigError`` on any problem."""
    stacks = plan_fleet(paths)
    problems = overlaps(stacks)
    if problems:
        raise ConfigError(problems)
    return stacks


def summary_line(stack: FleetStack) -> str:
    """What ``fleet check`` prints for a stack that passed."""
    plan = stack.plan
    target = plan.settings.target
    where = f" ({target.directory})" if isinstance(target, ZoneFileSettings) else ""
    return (
        f"{stack.path}: stack {stack.name}, {_count(len(plan.domains), 'domain')}, "
        f"{_count(len(plan.records), 'record')}, "
        f"{target.kind} target{where}"
    )


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _given_twice(paths: Sequence[Path]) -> str | None:
    seen: dict[Path, Path] = {}
    for path in paths:
        first = seen.setdefault(path.resolve(), path)
        if first is not path:
            return f"{path} is given twice" + ("" if str(first) == str(path) else f" (as {first})")
    return None


def _checked(command: str, paths: Sequence[Path]) -> list[FleetStack] | int:
    """The checked stacks, their warnings printed; or the exit status, the problems printed."""
    twice = _given_twice(paths)
    if twice:
        print(f"mailflow fleet {command}: error: {twice}", file=sys.stderr)
        return EXIT_USAGE
    try:
        stacks = check_fleet(paths)
    except ConfigError as error:
        print(error.report(), file=sys.stderr)
        return EXIT_CONFIG
    for stack in stacks:
        for warning in stack.plan.warnings:
            print(f"warning: {stack.path}: {warning}", file=sys.stderr)
    for shared in tenant_warnings(stacks):
        print(f"warning: {shared}", file=sys.stderr)
    return stacks


# `fleet split` ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SplitFile:
    """A file ``fleet split`` writes, and its text."""

    path: Path
    text: str


def _shard_text(domains: list[Any], json_format: bool, stack_file: Path) -> str:
    if json_format:
        return json.dumps(domains, indent=2, ensure_ascii=False) + "\n"
    return f"# The domains of stack {stack_name(stack_file)} ({stack_file.name}).\n{_yaml(domains)}"


def _yaml(value: Any) -> str:
    """YAML as Pulumi's loader reads it (1.2), ending in one newline."""
    return yaml_rs.dumps(value).removeprefix("---\n").rstrip("\n") + "\n"


def template_config(template: Path) -> tuple[dict[str, Any], list[str]]:
    """The ``mailflow:`` keys of a template stack file other than the domain list, as written
    there, and notes on those left out: a secret is encrypted for the template's stack alone."""
    document = read_yaml(template, str(template))
    config = document.get("config") if isinstance(document, dict) else None
    if not isinstance(config, dict):
        raise ConfigError([Problem(str(template), "is not a Pulumi stack file (no config: mapping)")])
    project_name, _ = project_settings(project_directory(template))
    copied: dict[str, Any] = {}
    notes = []
    for key, value in config.items():
        # namespace_values decides, as for planning, which keys are mailflow's.
        names = list(namespace_values({key: value}, project_name))
        if not names or names[0] in ("domains", "domainsFile"):
            continue
        if isinstance(value, dict) and set(value) == {"secure"}:
            notes.append(
                f"{key} is a secret of the template's stack and was not copied: set it on each stack "
                f"with `pulumi config set --secret {NAMESPACE}:{names[0]} …`"
            )
            continue
        if names[0] == "ownerId":
            # Shards sharing one owner id would be one owner: one could take another's records.
            notes.append(
                f"{key} names the template's stack alone and was not copied: give each stack its own"
            )
            continue
        copied[str(key)] = value
    return copied, notes


def split_files(
    domains_file: Path, size: int, out: Path, prefix: str, template: Path | None = None
) -> tuple[list[SplitFile], list[str]]:
    """The shard files and stack files ``fleet split`` writes (shards of at most ``size`` domains,
    in the order of the domains' names), and notes; raise ``ConfigError`` if a domain is invalid
    or given twice (two shards would then plan it)."""
    # Read as a stack's domainsFile is read, from the working directory.
    raw = with_domains_file({"domainsFile": str(domains_file)}, Path.cwd())["domains"]
    parsed, problems = parse_domains(raw, str(domains_file))
    if problems:
        raise ConfigError(problems)
    config, notes = template_config(template) if template else ({}, [])
    names = [domain.name for _, domain in parsed]
    ordered = [item for _, item in sorted(zip(names, raw, strict=True), key=lambda pair: pair[0])]
    json_format = domains_file.suffix.lower() == ".json"
    shards = [ordered[start : start + size] for start in range(0, len(ordered), size)]
    files = []
    for number, shard in enumerate(shards, start=1):
        name = f"{prefix}-{number}"
        stack_file = out / f"Pulumi.{name}.yaml"
        shard_file = out / f"{name}.domains{'.json' if json_format else '.yaml'}"
        relative = os.path.relpath(shard_file.resolve(), project_directory(stack_file))
        stack_config = {f"{NAMESPACE}:domainsFile": Path(relative).as_posix(), **config}
        header = (
            f"# Shard {number} of {len(shards)} of {domains_file.name}, from `mailflow fleet split`: add\n"
            f"# domains to {shard_file.name}; to move one to another stack, see docs/FLEETS.md.\n"
        )
        stack_text = header + _yaml({"config": stack_config})
        files += [
            SplitFile(shard_file, _shard_text(shard, json_format, stack_file)),
            SplitFile(stack_file, stack_text),
        ]
    return files, notes


def _earlier_shards(out: Path, prefix: str, count: int) -> list[Path]:
    """Stack files of an earlier split into more shards, which a new split does not overwrite."""
    pattern = re.compile(rf"^Pulumi\.{re.escape(prefix)}-(\d+)\.yaml$")
    numbered = ((path, pattern.match(path.name)) for path in out.glob(f"Pulumi.{prefix}-*.yaml"))
    return sorted(path for path, match in numbered if match and int(match[1]) > count)


def split(args: argparse.Namespace) -> int:
    """``fleet split``: nothing is written when a domain is invalid or a file is in the way."""
    if not STACK_NAME.match(args.prefix):
        print(
            f"mailflow fleet split: error: --prefix {args.prefix!r} is no stack name: letters, digits, "
            "'-', '_' and '.' only",
            file=sys.stderr,
        )
        return EXIT_USAGE
    try:
        files, notes = split_files(args.domains_file, args.size, args.out, args.prefix, args.template)
    except ConfigError as error:
        print(error.report(), file=sys.stderr)
        return EXIT_CONFIG
    existing = [str(file.path) for file in files if file.path.exists()]
    if existing and not args.force:
        print(
            f"mailflow fleet split: error: {', '.join(existing)} exist{'s' if len(existing) == 1 else ''}; "
            "nothing was written (--force overwrites them)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    try:
        args.out.mkdir(parents=True, exist_ok=True)
        for file in files:
            file.path.write_text(file.text, encoding="utf-8")
    except OSError as error:
        print(f"mailflow fleet split: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    stack_files = [file.path for file in files if stack_name(file.path)]
    for path in _earlier_shards(args.out, args.prefix, len(stack_files)):
        notes.append(
            f"{path} is from an earlier split and was left as it is: its domains are in the new shards "
            "(`fleet check` refuses the two together)"
        )
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    for path in stack_files:
        print(path)
    return EXIT_OK


# `fleet up` and `fleet preview` ----------------------------------------------------------------


class _Interrupted(Exception):
    """The run was interrupted before this stack's update started."""


class FleetCommand(auto.PulumiCommand):
    """The Pulumi CLI as the Automation API runs it, with two differences: ``up`` and ``preview``
    take the fleet's extra arguments, and each process starts in a session of its own, so that a
    terminal's Ctrl-C reaches mailflow alone, which passes each process exactly one interrupt:
    Pulumi's clean cancel (a second one would stop it at once)."""

    def __init__(self, extra_args: Sequence[str]) -> None:
        super().__init__()
        self.extra_args = list(extra_args)
        self.interrupted = False
        self._lock = threading.Lock()
        self._running: set[subprocess.Popen[str]] = set()

    def interrupt(self) -> None:
        """Cancel every update running, as Ctrl-C does, and start no other."""
        with self._lock:
            self.interrupted = True
            for process in self._running:
                process.send_signal(signal.SIGINT)

    def run(
        self,
        args: list[str],
        cwd: str,
        additional_env: Mapping[str, str],
        on_output: auto.OnOutput | None = None,
        on_error: auto.OnOutput | None = None,
    ) -> auto.CommandResult:
        updates = args[:1] in (["up"], ["preview"])
        if updates:
            args = [args[0], *self.extra_args, *args[1:]]
        if "--non-interactive" not in args:
            args = ["--non-interactive", *args]
        env = {**os.environ, **additional_env, "PULUMI_AUTOMATION_API": "true"}
        with self._lock:
            if updates and self.interrupted:
                raise _Interrupted
            process = subprocess.Popen(
                [self.command, *args],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=cwd,
                env=env,
                encoding="utf-8",
                start_new_session=True,
            )
            self._running.add(process)
        try:
            streams = [
                _Reader(process.stdout, on_output),
                _Reader(process.stderr, on_error),
            ]
            for reader in streams:
                reader.join()
            code = process.wait()
        finally:
            with self._lock:
                self._running.discard(process)
        result = auto.CommandResult(stdout=streams[0].text, stderr=streams[1].text, code=code)
        if code != 0:
            raise auto.errors.create_command_error(result)
        return result


class _Reader(threading.Thread):
    """One output stream of a process, line by line, to its callback and kept."""

    def __init__(self, stream: Any, callback: Callable[[str], Any] | None) -> None:
        super().__init__(daemon=True)
        self.stream, self.callback = stream, callback
        self.lines: list[str] = []
        self.start()

    def run(self) -> None:
        for line in iter(self.stream.readline, ""):
            stripped = line.rstrip()
            if self.callback is not None:
                self.callback(stripped)
            self.lines.append(stripped)
        self.stream.close()

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@dataclass(frozen=True)
class StackRun:
    """How one stack's run ended: ``succeeded``, ``failed``, ``cancelled`` or ``not started``."""

    stack: FleetStack
    outcome: str
    changes: Mapping[str, int]
    seconds: float
    log: Path
    reason: str = ""

    def line(self) -> str:
        if self.outcome == "not started":
            return f"{self.stack.name}: not started"
        text = f"{self.stack.name}: {self.outcome} in {self.seconds:.1f} s"
        if self.outcome == "succeeded":
            ops = sorted(self.changes.items(), key=lambda item: _change_rank(item[0]))
            return f"{text} ({', '.join(f'{op} {n}' for op, n in ops if n) or 'no resources'})"
        return f"{text}; {self.reason + '; ' if self.reason else ''}log: {self.log}"


def _changes(summary: Mapping[Any, int]) -> dict[str, int]:
    """Resource changes by operation name (the Automation API keys them by ``OpType``)."""
    return {str(getattr(op, "value", op)): count for op, count in summary.items()}


def _change_rank(op: str) -> tuple[int, str]:
    return (CHANGE_ORDER.index(op) if op in CHANGE_ORDER else len(CHANGE_ORDER), op)


_SELECTING = threading.Lock()
"""`pulumi stack select` records the selected stack in one workspace file per project: one at a
time. (Each update names its stack itself, so the selection does not matter to the runs.)"""


def run_stack(stack: FleetStack, action: str, command: FleetCommand, log: Path) -> StackRun:
    """``pulumi up`` (or ``preview``) of one stack through the Automation API, its output in
    ``log``; every failure is the result, never an exception."""
    started = time.perf_counter()
    if command.interrupted:
        return StackRun(stack, "not started", {}, 0.0, log)
    lock = threading.Lock()
    with log.open("w", encoding="utf-8") as handle:

        def write(line: str) -> None:
            with lock:
                handle.write(line + "\n")
                handle.flush()

        write(f"$ pulumi {action} --stack {stack.name}  (in {stack.project})")
        outcome, reason = "failed", ""
        changes: dict[str, int] = {}
        try:
            with _SELECTING:
                options = auto.LocalWorkspaceOptions(pulumi_command=command)
                selected = auto.select_stack(stack.name, work_dir=str(stack.project), opts=options)
            if action == "up":
                result = selected.up(on_output=write, on_error=write, color="never")
                changes = _changes(result.summary.resource_changes or {})
            else:
                preview = selected.preview(on_output=write, on_error=write, color="never")
                changes = _changes(preview.change_summary)
            outcome = "succeeded"
        except _Interrupted:
            outcome = "not started"
        except auto.StackNotFoundError:
            reason = (
                f"no stack {stack.name}: create it with `pulumi stack init {stack.name}` in {stack.project}"
            )
        except auto.ConcurrentUpdateError:
            reason = "another update holds the stack's lock"
        except auto.CommandError:
            # The process's own output is in the log already.
            outcome = "cancelled" if command.interrupted else "failed"
        except Exception as error:
            write(f"error: {error}")
            outcome = "cancelled" if command.interrupted else "failed"
        if reason:
            write(f"error: {reason}")
    return StackRun(stack, outcome, changes, time.perf_counter() - started, log, reason)


def _log_paths(stacks: Sequence[FleetStack], directory: Path) -> list[Path]:
    """``<stack>.log``; stacks of different projects may share a name, then the project's comes first."""
    names = [stack.name for stack in stacks]
    return [
        directory / (f"{s.project.name}-{s.name}.log" if names.count(s.name) > 1 else f"{s.name}.log")
        for s in stacks
    ]


def runnable_problems(stacks: Sequence[FleetStack]) -> list[Problem]:
    """A stack file that is not the one Pulumi reads for its stack (Pulumi.yaml's stackConfigDir)
    would run a config other than the one checked."""
    problems = []
    for stack in stacks:
        project_file = stack.project / "Pulumi.yaml"
        if stack_name(stack.path) is None or not STACK_NAME.match(stack.name):
            problems.append(Problem(str(stack.path), "is not named Pulumi.<stack>.yaml"))
            continue
        if not project_file.is_file():
            problems.append(Problem(str(stack.path), "is in no Pulumi project (no Pulumi.yaml above it)"))
            continue
        document = read_yaml(project_file, str(project_file))
        config_dir = document.get("stackConfigDir") if isinstance(document, dict) else None
        # Pulumi names a stack's file after the project file: Pulumi.yaml, so Pulumi.<stack>.yaml.
        expected = stack.project / str(config_dir or "") / f"Pulumi.{stack.name}.yaml"
        if expected.resolve() != stack.path.resolve():
            problems.append(
                Problem(
                    str(stack.path),
                    f"is not the file Pulumi reads for stack {stack.name} of {project_file} ({expected})",
                )
            )
    return problems


def _signals(handler: Callable[[int, FrameType | None], None]) -> Callable[[], None]:
    """Install ``handler`` for SIGINT and SIGTERM; return what puts the old ones back."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None  # only the main thread may handle signals
    previous = {number: signal.signal(number, handler) for number in (signal.SIGINT, signal.SIGTERM)}

    def restore() -> None:
        for number, old in previous.items():
            signal.signal(number, signal.SIG_DFL if old is None else old)

    return restore


def run_fleet(
    stacks: Sequence[FleetStack],
    action: str,
    command: FleetCommand,
    parallel: int,
    logs: Sequence[Path],
    report: Callable[[StackRun], None],
) -> list[StackRun]:
    """Run the stacks ``parallel`` at a time, reporting each as it ends; one that fails does not
    stop the others. Results in the stacks' order."""
    with ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="fleet") as pool:
        futures: dict[Future[StackRun], int] = {
            pool.submit(run_stack, stack, action, command, log): index
            for index, (stack, log) in enumerate(zip(stacks, logs, strict=True))
        }
        results: dict[int, StackRun] = {}
        pending = set(futures)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                results[futures[future]] = future.result()
                report(results[futures[future]])
    return [results[index] for index in range(len(stacks))]


def default_parallel() -> int:
    """The CPUs this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def update(args: argparse.Namespace) -> int:
    """``fleet up`` / ``fleet preview``: check, then run; nothing runs unless every check passes."""
    command_name = f"mailflow fleet {args.action}"
    chosen = [arg for arg in args.pulumi_args if arg.split("=", 1)[0] in STACK_CHOOSING_ARGS]
    if chosen:
        print(f"{command_name}: error: {chosen[0]} is fleet's to set, per stack", file=sys.stderr)
        return EXIT_USAGE
    received: list[int] = []
    fleet_command: FleetCommand | None = None

    def on_signal(number: int, _frame: FrameType | None) -> None:
        received.append(number)
        if fleet_command is None:
            raise KeyboardInterrupt  # still checking: nothing to cancel
        fleet_command.interrupt()

    restore = _signals(on_signal)
    try:
        checked = _checked(args.action, args.stackfiles)
        if isinstance(checked, int):
            return checked
        problems = runnable_problems(checked)
        if problems:
            print(ConfigError(problems).report(), file=sys.stderr)
            return EXIT_CONFIG
        try:
            fleet_command = FleetCommand(args.pulumi_args)
        except (OSError, subprocess.CalledProcessError, auto.InvalidVersionError) as error:
            print(f"{command_name}: error: the Pulumi CLI cannot be run: {error}", file=sys.stderr)
            return EXIT_FAILED
        if received:
            raise KeyboardInterrupt
        log_dir = args.log_dir or Path(tempfile.mkdtemp(prefix="mailflow-fleet-"))
        log_dir.mkdir(parents=True, exist_ok=True)
        parallel = min(args.parallel or default_parallel(), len(checked))
        print(
            f"{command_name}: {_count(len(checked), 'stack')}, {parallel} at a time; logs in {log_dir}",
            flush=True,
        )
        results = run_fleet(
            checked,
            args.action,
            fleet_command,
            parallel,
            _log_paths(checked, log_dir),
            lambda run: print(run.line(), flush=True),
        )
    except KeyboardInterrupt:
        print(f"{command_name}: interrupted before any stack ran", file=sys.stderr)
        return EXIT_INTERRUPTED + (received[0] if received else signal.SIGINT)
    finally:
        restore()
    if received:
        stopped = [run.stack.name for run in results if run.outcome != "succeeded"]
        print(
            f"{command_name}: interrupted; did not succeed: {', '.join(stopped) or 'none'} "
            "(each running update was cancelled as Ctrl-C cancels `pulumi up`)",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED + received[0]
    failed = [run for run in results if run.outcome != "succeeded"]
    if failed:
        listed = ", ".join(f"{run.stack.name} (log: {run.log})" for run in failed)
        print(f"{command_name}: {len(failed)} of {len(results)} stacks failed: {listed}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def main(args: argparse.Namespace) -> int:
    """``mailflow fleet …`` as the command line parsed it."""
    if args.pulumi_args and args.action not in ("up", "preview"):
        print(
            f"mailflow fleet {args.action}: error: arguments after -- are for up and preview", file=sys.stderr
        )
        return EXIT_USAGE
    if args.action == "split":
        return split(args)
    if args.action == "check":
        checked = _checked("check", args.stackfiles)
        if isinstance(checked, int):
            return checked
        for stack in checked:
            print(summary_line(stack))
        return EXIT_OK
    return update(args)
