"""Staged MX cutover: what each phase of a domain's move publishes, and which phase comes next.

A cutover moves a domain's inbound mail from the side ``cutover.from`` names to the domain's own
settings: ``prepare`` lowers the TTL of the MX and apex TXT record sets, ``dual`` (optional)
publishes both MX sets with the new one preferred, ``switch`` publishes the new MX alone,
``settle`` restores the TTL, ``done`` drops the old path from SPF; ``rollback`` goes back to the
old MX from any phase. SPF authorises the senders of both paths until ``done``."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mailflow.assigned import is_mx_microsoft
from mailflow.config import Cutover, CutoverPhase
from mailflow.topology import MxTarget

if TYPE_CHECKING:
    from mailflow.plan import DomainPlan

PHASES: tuple[CutoverPhase, ...] = ("prepare", "dual", "switch", "settle", "done", "rollback")
LOWERED_TTL: frozenset[CutoverPhase] = frozenset({"prepare", "dual", "switch", "rollback"})
"""Phases whose MX and apex TXT record sets carry the cutover's TTL: caches must forget them soon."""
OLD_SIDE: frozenset[CutoverPhase] = frozenset({"prepare", "rollback"})
"""Phases that publish the old side's records (its MX, autodiscover, …), the others the new side's."""


def next_phase(cutover: Cutover) -> CutoverPhase | None:
    """The phase after the configured one; None when what is left is to end the cutover (remove the
    ``cutover`` block: after ``done``, and after ``rollback`` with the old settings back)."""
    following: dict[CutoverPhase, CutoverPhase | None] = {
        "prepare": "dual" if cutover.dual else "switch",
        "dual": "switch",
        "switch": "settle",
        "settle": "done",
        "done": None,
        "rollback": None,
    }
    return following[cutover.phase]


def phase_mx(phase: CutoverPhase, old: Iterable[MxTarget], new: Iterable[MxTarget]) -> tuple[MxTarget, ...]:
    """The MX targets a phase publishes. In ``dual`` the old targets follow the new ones, so that
    senders try the new front first and the old one only when it does not answer."""
    old, new = tuple(old), tuple(new)
    if phase in OLD_SIDE:
        return old
    if phase != "dual":
        return new
    first_old = min(target.priority for target in old)
    after = max(target.priority for target in new) + 10
    demoted = {MxTarget(min(65535, after + target.priority - first_old), target.host) for target in old}
    hosts = {target.host for target in new}
    return (*new, *sorted((t for t in demoted if t.host not in hosts), key=lambda t: (t.priority, t.host)))


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


def describe(side: DomainPlan, other: DomainPlan) -> str:
    """A side by what sets it apart from the other: its topology, else its Exchange Online host."""
    if side.topology != other.topology:
        return str(side.topology)
    return side.exo_mx_host


RCA_INBOUND = "https://testconnectivity.microsoft.com/tests/O365InboundSmtp/input"
RCA_DANE = "https://testconnectivity.microsoft.com/tests/O365DaneValidation/input"


def phase_steps(state: CutoverState, phase: CutoverPhase, stackfile: str) -> tuple[list[str], list[str]]:
    """What a person does with the phase's ``pulumi up``: (before it, after it). Microsoft's
    inbound SMTP DANE steps where the move is to an ``mx.microsoft`` host; the MTA-STS policy file
    where the domain publishes one, served before its id changes (RFC 8461 §8.1 wants the new
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
    if state.dane and phase == "prepare":
        before.extend(
            [
                f"sign the zone of {domain} with DNSSEC at its DNS provider (inbound DANE needs it)",
                f"Exchange Online PowerShell: Enable-DnssecForVerifiedDomain -DomainName {domain} "
                "(its DnssecMxValue is the new MX host; `mailflow tenant pull` records it)",
            ]
        )
    if state.dane and phase in ("dual", "switch"):
        after.append(
            f"test the new MX with the Remote Connectivity Analyzer's Inbound SMTP Email test: {RCA_INBOUND}"
        )
    if state.dane and phase == "switch":
        after.append(
            "no fallback MX: the mx.microsoft host is now the domain's only MX, as inbound DANE requires"
        )
    if state.dane and phase == "done":
        after.extend(
            [
                f"Exchange Online PowerShell: Enable-SmtpDaneInbound -DomainName {domain}",
                f"Exchange Online PowerShell: Get-SmtpDaneInboundStatus -DomainName {domain}, until it "
                "reports it enabled; then the Remote Connectivity Analyzer's DANE validation test: "
                + RCA_DANE,
            ]
        )
    if phase == "settle":
        after[0] += " (the new front's inbound connector now turns other senders away)"
    return before, after
