"""Staged MX cutover: what each phase of a domain's move publishes, and which phase comes next.

A cutover moves a domain's inbound mail from the side ``cutover.from`` names to the domain's own
settings: ``prepare`` lowers the TTL of the MX and apex TXT record sets, ``dual`` (optional)
publishes both MX sets, ``switch`` publishes the new MX alone, ``settle`` restores the TTL,
``done`` drops the old path from SPF; ``rollback`` goes back to the old MX from any phase. SPF
authorises the senders of both paths until ``done``."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mailflow.assigned import is_mx_microsoft
from mailflow.config import Cutover
from mailflow.errors import Problem
from mailflow.phases import FORWARD, CutoverPhase
from mailflow.topology import MxTarget

if TYPE_CHECKING:
    from mailflow.plan import DomainPlan

LOWERED_TTL: frozenset[CutoverPhase] = frozenset({"prepare", "dual", "switch", "rollback"})
"""Phases whose MX and apex TXT record sets carry the cutover's TTL: caches must forget them soon."""
OLD_SIDE: frozenset[CutoverPhase] = frozenset({"prepare", "rollback"})
"""Phases that publish the old side's records (its MX, autodiscover, …), the others the new side's."""


def next_phase(cutover: Cutover) -> CutoverPhase | None:
    """The phase after the configured one; None when what is left is to end the cutover (remove the
    ``cutover`` block: after ``done``, and after ``rollback`` with the old settings back)."""
    if cutover.phase == "rollback":
        return None
    ahead = FORWARD[FORWARD.index(cutover.phase) + 1 :]
    return next((phase for phase in ahead if phase != "dual" or cutover.dual), None)


def to_mx_microsoft(old: Iterable[MxTarget], new: Iterable[MxTarget]) -> bool:
    """The move brings the MX onto an ``mx.microsoft`` host that the old MX does not name."""
    return any(is_mx_microsoft(t.host) for t in new) and not any(is_mx_microsoft(t.host) for t in old)


def untested_move_problems(
    cutover: Cutover, old: Iterable[MxTarget], new: Iterable[MxTarget], key: str
) -> list[Problem]:
    """A move onto an ``mx.microsoft`` host goes through ``dual``: Microsoft's inbound SMTP DANE
    steps publish the new host below the legacy MX and test it before it takes the mail."""
    new = tuple(new)
    if cutover.dual or not to_mx_microsoft(old, new):
        return []
    host = next(target.host for target in new if is_mx_microsoft(target.host))
    return [
        Problem(
            f"{key}.dual",
            f"must be true for a move to {host}: Microsoft's inbound SMTP DANE steps publish it below "
            "the legacy MX and test it before it takes the mail",
        )
    ]


def phase_mx(phase: CutoverPhase, old: Iterable[MxTarget], new: Iterable[MxTarget]) -> tuple[MxTarget, ...]:
    """The MX targets a phase publishes. In ``dual`` the old targets follow the new ones, so that
    senders try the new front first and the old one only when it does not answer; for a move onto
    an ``mx.microsoft`` host the new targets follow the old ones instead, as Microsoft's inbound
    SMTP DANE steps add the new host (below the legacy MX, to be tested before the switch)."""
    old, new = tuple(old), tuple(new)
    if phase in OLD_SIDE:
        return old
    if phase != "dual":
        return new
    return _followed(old, new) if to_mx_microsoft(old, new) else _followed(new, old)


def _followed(first: tuple[MxTarget, ...], then: tuple[MxTarget, ...]) -> tuple[MxTarget, ...]:
    """``first`` as it is, then the targets of ``then`` that ``first`` does not name, at
    preferences past all of ``first``'s, in their own order."""
    lowest = min(target.priority for target in then)
    after = max(target.priority for target in first) + 10
    moved = {MxTarget(min(65535, after + target.priority - lowest), target.host) for target in then}
    hosts = {target.host for target in first}
    return (*first, *sorted((t for t in moved if t.host not in hosts), key=lambda t: (t.priority, t.host)))


def policy_id(configured: str, policy: str) -> str:
    """The MTA-STS policy id published during a cutover: the configured id's start and a digest of
    the policy, so that every change of the policy changes the id (RFC 8461 §3.1) and senders
    fetch it again, and no id in use before the cutover comes back with other content."""
    digest = hashlib.sha256(policy.encode("ascii")).hexdigest()[:8]
    return f"{configured[:24]}{digest}"


@dataclass(frozen=True)
class CutoverState:
    """A domain's cutover as planned: the phase, and both sides planned on their own."""

    cutover: Cutover
    before: DomainPlan
    """The domain as it is before the cutover (``cutover.from``), without the cutover."""
    after: DomainPlan
    """The domain as it is once the cutover is over, without the cutover."""
    spf: str
    """The SPF record that authorises the senders of both paths."""

    @property
    def phase(self) -> CutoverPhase:
        return self.cutover.phase

    @property
    def next_phase(self) -> CutoverPhase | None:
        return next_phase(self.cutover)

    @property
    def source(self) -> str:
        """The old side in a few words: its topology, or its Exchange Online MX host."""
        return describe(self.before, self.after)

    @property
    def destination(self) -> str:
        return describe(self.after, self.before)

    @property
    def dane(self) -> bool:
        """The move is to an ``mx.microsoft`` host from one that is not: Microsoft's inbound SMTP
        DANE steps apply."""
        return is_mx_microsoft(self.after.exo_mx_host) and not is_mx_microsoft(self.before.exo_mx_host)

    @property
    def leaves_mx_microsoft(self) -> bool:
        """The move takes the MX off an ``mx.microsoft`` host: inbound DANE, which rests on it,
        is turned off first."""
        assert self.before.routing is not None and self.after.routing is not None
        return to_mx_microsoft(self.after.routing.mx, self.before.routing.mx)


def describe(side: DomainPlan, other: DomainPlan) -> str:
    """A side by what sets it apart from the other: its topology, else its Exchange Online host."""
    if side.topology != other.topology:
        return str(side.topology)
    return side.exo_mx_host


RCA_INBOUND = "https://testconnectivity.microsoft.com/tests/O365InboundSmtp/input"
RCA_DANE = "https://testconnectivity.microsoft.com/tests/O365DaneValidation/input"
EXO_SHELL = "Exchange Online PowerShell: "


def phase_steps(state: CutoverState, phase: CutoverPhase, stackfile: str) -> tuple[list[str], list[str]]:
    """What a person does with the phase's ``pulumi up``: (before it, after it). Microsoft's
    inbound SMTP DANE steps where the move is to an ``mx.microsoft`` host (the new host tested in
    ``dual`` before the switch, DANE enabled after ``done``, disabled again before a rollback puts
    the legacy MX back) or away from one (DANE disabled before ``prepare``); the MTA-STS policy
    file where the domain publishes one, served before its id changes (RFC 8461 §8.1 wants the new
    policy in place first)."""
    domain = state.after.domain
    before: list[str] = []
    after = [f"run the connector script of the phase: mailflow connectors {stackfile}"]
    if state.after.config.mta_sts is not None and phase in ("prepare", "done", "rollback"):
        mode = "as configured, naming the new MX" if phase == "done" else "testing, naming both MX sets"
        before.append(
            f"serve the MTA-STS policy that `mailflow plan {stackfile} --phase {phase}` prints "
            f"({mode}) at https://mta-sts.{domain}/.well-known/mta-sts.txt"
        )
    disable_dane = (
        f"{EXO_SHELL}Disable-SmtpDaneInbound -DomainName {domain}, then Get-SmtpDaneInboundStatus "
        f"-DomainName {domain} until it reports it disabled"
    )
    if state.leaves_mx_microsoft and phase == "prepare":
        before.append(f"{disable_dane}: inbound DANE goes before the MX leaves the mx.microsoft host")
    if state.dane and phase == "prepare":
        before.extend(
            [
                f"sign the zone of {domain} with DNSSEC at its DNS provider (inbound DANE needs it)",
                f"{EXO_SHELL}Enable-DnssecForVerifiedDomain -DomainName {domain} "
                "(its DnssecMxValue is the new MX host; `mailflow tenant pull` records it)",
            ]
        )
    if state.dane and phase == "dual":
        after.append(
            "test the new MX, published below the legacy one, with the Remote Connectivity Analyzer's "
            f"Inbound SMTP Email test: {RCA_INBOUND}"
        )
    if state.dane and phase == "switch":
        before.append(
            "the new MX passed the Remote Connectivity Analyzer's Inbound SMTP Email test in dual "
            f"({RCA_INBOUND}): the switch removes the legacy MX"
        )
        after.append(
            "no fallback MX: the mx.microsoft host is now the domain's only MX, as inbound DANE requires"
        )
    if state.dane and phase == "done":
        after.extend(
            [
                f"{EXO_SHELL}Enable-SmtpDaneInbound -DomainName {domain}",
                f"{EXO_SHELL}Get-SmtpDaneInboundStatus -DomainName {domain}, until it reports it "
                f"enabled; then the Remote Connectivity Analyzer's DANE validation test: {RCA_DANE}",
            ]
        )
    if state.dane and phase == "rollback":
        before.append(
            f"if Enable-SmtpDaneInbound ran: {disable_dane}: inbound DANE goes before the legacy MX "
            "comes back"
        )
    if phase == "settle":
        after[0] += " (the new front's inbound connector now turns other senders away)"
    return before, after


def closing_steps(state: CutoverState) -> list[str]:
    """What a person undoes in Exchange Online once the last phase (``done`` or ``rollback``) is
    over and its gate open: what the side that no longer takes the mail needed."""
    domain = state.after.domain
    leaves = state.leaves_mx_microsoft
    if state.phase == "rollback" and state.dane:
        return [
            f"{EXO_SHELL}Disable-DnssecForVerifiedDomain -DomainName {domain}: the legacy MX takes the "
            "mail again"
        ]
    if state.phase == "rollback" and leaves:
        return [
            f"{EXO_SHELL}Enable-SmtpDaneInbound -DomainName {domain}, if inbound DANE was enabled before "
            "the move: the MX names the mx.microsoft host again"
        ]
    if state.phase == "done" and leaves and not is_mx_microsoft(state.after.exo_mx_host):
        return [
            f"{EXO_SHELL}Disable-DnssecForVerifiedDomain -DomainName {domain}: no MX names the "
            "mx.microsoft host any more"
        ]
    return []
