"""The staged MX cutover, planned without DNS: the records of each phase (MX set, TTLs, the side
that forms the base), SPF of both paths checked with pyspf, config problems of ``cutover``, the
DANE and MTA-STS steps, ``plan --phase``, connectors per phase, the guard's exemption, the phase
log, and the Pulumi program under mocks.

The seed cutover moves SEED_DOMAIN (third-party-hybrid) from hybrid-onprem-front, its MX then at
``mail.contoso.com``."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import spf as pyspf
from conftest import OLD_VENDOR, SEED_DOMAIN, config_problems, cutover_domain, from_old_vendor
from pulumi_harness import run_program
from tenant_data import NEW_DOMAIN_TENANT, new_domain, with_tenant
from tenant_data import NEW_MX as TENANT_MX

from mailflow.cli import main
from mailflow.connectors import Connector, render_script
from mailflow.cutover import (
    closing_steps,
    next_phase,
    phase_mx,
    phase_steps,
    policy_id,
)
from mailflow.errors import ConfigError
from mailflow.guard import destructive_changes, phase_moves, refusal
from mailflow.phase_log import APPLIED_AT, LOG_NAME, PhaseLogProvider, stamped
from mailflow.phases import PHASES, skipped_phases
from mailflow.plan import DomainPlan, StackPlan, plan_stack
from mailflow.resolvers import bundled_snapshot
from mailflow.spf import split_strings
from mailflow.topology import MxTarget

APEX = "contoso.com."
OLD_MX = [(10, "mail.contoso.com.")]
NEW_MX = [(10, "mx1.filter.example.net."), (20, "mx2.filter.example.net.")]
BOTH_SPF = "v=spf1 ip4:10.10.10.1 ip4:131.107.21.231 include:spf.protection.outlook.com -all"
LOWERED = ("prepare", "dual", "switch", "rollback")
RESTORED = ("settle", "done")
SERVICE, ON_PREMISES, EXCHANGE_ONLINE = "10.10.10.1", "131.107.21.231", "40.92.0.1"
OUTSIDER = "192.0.2.99"
PARTNER_IN = "mailflow from Example filtering service"
OLD_VENDOR_IN = "mailflow from Old vendor"
ON_PREMISES_IN = "mailflow from on-premises"
ON_PREMISES_OUT = "mailflow to on-premises"
CLOUDFLARE = {"kind": "cloudflare", "zoneId": "zone-1"}
DNS_RECORD = "cloudflare:index/dnsRecord:DnsRecord"


def from_exchange_online(phase: str) -> dict[str, Any]:
    """The seed domain moving from exchange-online: the two sides' autodiscover differ."""
    domain = cutover_domain(phase)
    domain["cutover"]["from"] = {"topology": "exchange-online"}
    return domain


LEGACY_HOST = "contoso-com.mail.protection.outlook.com"
MX_MICROSOFT_HOST = "contoso-com.p-v1.mx.microsoft"


def exo_host_move(phase: str, old: str, new: str) -> dict[str, Any]:
    """An exchange-online domain whose MX moves from the Exchange Online host ``old`` to ``new``,
    through dual."""
    return {
        "name": "contoso.com",
        "topology": "exchange-online",
        "exchangeOnline": {"mxHost": new},
        "dmarc": {"policy": "none"},
        "cutover": {"from": {"exoMxHost": old}, "phase": phase, "dual": True},
    }


def from_protection_host(phase: str) -> dict[str, Any]:
    """An exchange-online domain moving from its mail.protection.outlook.com host to mx.microsoft."""
    return exo_host_move(phase, LEGACY_HOST, MX_MICROSOFT_HOST)


def from_mx_microsoft(phase: str) -> dict[str, Any]:
    """An exchange-online domain whose MX leaves its mx.microsoft host for the legacy host."""
    return exo_host_move(phase, MX_MICROSOFT_HOST, LEGACY_HOST)


def planned(domain: dict[str, Any], phase: str | None = None) -> DomainPlan:
    (plan,) = plan_stack({"domains": [domain]}, phase=phase).domains  # type: ignore[arg-type]
    return plan


def apex_mx(plan: DomainPlan) -> list[tuple[int, str]]:
    return [(int(r.data[0]), str(r.data[1])) for r in plan.records if r.name == APEX and r.type == "MX"]


def ttls(plan: DomainPlan) -> dict[tuple[str, str], set[int]]:
    found: dict[tuple[str, str], set[int]] = {}
    for record in plan.records:
        found.setdefault((record.name, record.type), set()).add(record.ttl)
    return found


def connectors_by_name(plan: StackPlan) -> dict[str, Connector]:
    return {connector.name: connector for connector in plan.connectors.connectors}


def parameters(connector: Connector) -> dict[str, Any]:
    return {p.name: p.value for p in connector.parameters}


# The records of each phase.


@pytest.mark.parametrize(
    ("phase", "mx"),
    [
        ("prepare", OLD_MX),
        ("dual", [*NEW_MX, (30, "mail.contoso.com.")]),
        ("switch", NEW_MX),
        ("settle", NEW_MX),
        ("done", NEW_MX),
        ("rollback", OLD_MX),
    ],
)
def test_each_phase_publishes_its_apex_mx_set(phase: str, mx: list[tuple[int, str]]) -> None:
    assert apex_mx(planned(cutover_domain(phase))) == mx


@pytest.mark.parametrize("phase", PHASES)
def test_the_ttl_of_apex_mx_and_txt_is_lowered_while_mail_may_go_either_way(phase: str) -> None:
    expected = 300 if phase in LOWERED else 3600
    found = ttls(planned(cutover_domain(phase)))
    assert found[APEX, "MX"] == found[APEX, "TXT"] == {expected}


@pytest.mark.parametrize("phase", PHASES)
def test_the_other_record_sets_keep_the_domain_ttl(phase: str) -> None:
    found = ttls(planned(cutover_domain(phase)))
    others = {key: value for key, value in found.items() if key[0] != APEX}
    assert others == {
        ("_dmarc.contoso.com.", "TXT"): {3600},
        ("autodiscover.contoso.com.", "CNAME"): {3600},
    }


def test_the_seed_at_prepare_publishes_exactly_the_old_side_with_lowered_apex_ttls() -> None:
    plan = planned(cutover_domain("prepare"))
    assert [(r.name, r.type, r.ttl, r.value) for r in plan.records] == [
        (APEX, "MX", 300, "10 mail.contoso.com."),
        (APEX, "TXT", 300, '"MS=ms12345678"'),
        (APEX, "TXT", 300, f'"{BOTH_SPF}"'),
        ("_dmarc.contoso.com.", "TXT", 3600, '"v=DMARC1; p=quarantine; rua=mailto:dmarc@contoso.com"'),
        ("autodiscover.contoso.com.", "CNAME", 3600, "mail.contoso.com."),
    ]
    assert plan.topology == "hybrid-onprem-front"


def test_the_seed_at_done_publishes_the_new_side_at_the_domain_ttl() -> None:
    plan = planned(cutover_domain("done"))
    assert [(r.name, r.type, r.ttl, r.value) for r in plan.records] == [
        (APEX, "MX", 3600, "10 mx1.filter.example.net."),
        (APEX, "MX", 3600, "20 mx2.filter.example.net."),
        (APEX, "TXT", 3600, '"MS=ms12345678"'),
        (APEX, "TXT", 3600, f'"{BOTH_SPF}"'),
        ("_dmarc.contoso.com.", "TXT", 3600, '"v=DMARC1; p=quarantine; rua=mailto:dmarc@contoso.com"'),
        ("autodiscover.contoso.com.", "CNAME", 3600, "mail.contoso.com."),
    ]
    assert plan.topology == "third-party-hybrid"


@pytest.mark.parametrize(
    ("phase", "topology", "autodiscover"),
    [
        ("prepare", "exchange-online", "autodiscover.outlook.com."),
        ("dual", "third-party-hybrid", "mail.contoso.com."),
        ("switch", "third-party-hybrid", "mail.contoso.com."),
        ("settle", "third-party-hybrid", "mail.contoso.com."),
        ("done", "third-party-hybrid", "mail.contoso.com."),
        ("rollback", "exchange-online", "autodiscover.outlook.com."),
    ],
)
def test_prepare_and_rollback_publish_the_old_sides_records_the_others_the_new_sides(
    phase: str, topology: str, autodiscover: str
) -> None:
    plan = planned(from_exchange_online(phase))
    (cname,) = [r for r in plan.records if r.name == "autodiscover.contoso.com."]
    assert (plan.topology, cname.value, cname.ttl) == (topology, autodiscover, 3600)


def test_dual_prefers_the_new_mx_and_demotes_the_old_after_it() -> None:
    old = [MxTarget(10, "old-a.example"), MxTarget(20, "old-b.example")]
    new = [MxTarget(0, "new.example")]
    assert phase_mx("dual", old, new) == (
        MxTarget(0, "new.example"),
        MxTarget(10, "old-a.example"),
        MxTarget(20, "old-b.example"),
    )


def test_dual_drops_an_old_host_the_new_set_lists_and_caps_priorities() -> None:
    old = [MxTarget(0, "shared.example"), MxTarget(65000, "far.example")]
    new = [MxTarget(60000, "shared.example")]
    assert phase_mx("dual", old, new) == (MxTarget(60000, "shared.example"), MxTarget(65535, "far.example"))


@pytest.mark.parametrize(("phase", "side"), [("prepare", "old"), ("rollback", "old"), ("switch", "new")])
def test_phases_other_than_dual_publish_one_side(phase: str, side: str) -> None:
    old, new = [MxTarget(10, "old.example")], [MxTarget(10, "new.example")]
    assert phase_mx(phase, old, new) == tuple(old if side == "old" else new)  # type: ignore[arg-type]


@pytest.mark.parametrize(("phase", "ttl"), [("prepare", 120), ("dual", 120), ("settle", 3600)])
def test_the_cutover_ttl_is_the_lowered_ttl(phase: str, ttl: int) -> None:
    found = ttls(planned(cutover_domain(phase, ttl=120)))
    assert found[APEX, "MX"] == found[APEX, "TXT"] == {ttl}


def test_the_domain_ttl_is_what_settle_restores() -> None:
    domain = cutover_domain("settle")
    domain["ttl"] = 7200
    found = ttls(planned(domain))
    assert found[APEX, "MX"] == found[APEX, "TXT"] == found["_dmarc.contoso.com.", "TXT"] == {7200}


def test_the_phases_follow_one_another() -> None:
    plain = planned(cutover_domain("prepare")).cutover
    with_dual = planned(cutover_domain("prepare", dual=True)).cutover
    assert plain is not None and with_dual is not None
    assert [next_phase(plain.cutover.model_copy(update={"phase": p})) for p in PHASES] == [
        "switch",
        "switch",
        "settle",
        "done",
        None,
        None,
    ]
    assert next_phase(with_dual.cutover) == "dual"


@pytest.mark.parametrize(
    ("previous", "phase", "skipped"),
    [
        ("prepare", "dual", ()),
        ("prepare", "switch", ()),  # dual may be left out
        ("dual", "switch", ()),
        ("switch", "settle", ()),
        ("settle", "done", ()),
        ("prepare", "settle", ("switch",)),
        ("dual", "settle", ("switch",)),
        ("prepare", "done", ("switch", "settle")),
        ("switch", "done", ("settle",)),
        ("done", "rollback", ()),
        ("prepare", "rollback", ()),
        ("settle", "prepare", ()),  # going back
        ("done", "switch", ()),
        ("rollback", "prepare", ()),
        ("rollback", "switch", ()),  # rollback publishes what prepare does
        ("rollback", "settle", ("switch",)),
        ("switch", "switch", ()),
    ],
)
def test_a_phase_may_follow_the_next_one_an_earlier_one_or_rollback(
    previous: str, phase: str, skipped: tuple[str, ...]
) -> None:
    assert skipped_phases(previous, phase) == skipped  # type: ignore[arg-type]


def test_the_cutover_state_names_both_sides() -> None:
    state = planned(cutover_domain("switch")).cutover
    assert state is not None
    assert (state.phase, state.source, state.destination, state.spf) == (
        "switch",
        "hybrid-onprem-front",
        "third-party-hybrid",
        BOTH_SPF,
    )


# SPF of both paths, checked by pyspf against the records of the phase.


def spf_verdicts(plan: DomainPlan, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """pyspf's verdict for each sender, every TXT lookup answered from the phase's records and
    the bundled snapshot."""
    texts: dict[str, list[str]] = {
        name: list(rrsets.get("TXT", [])) for name, rrsets in bundled_snapshot().records.items()
    }
    texts["contoso.com"] = [plan.spf]

    def lookup(name: str, qtype: str, *args: Any, **kwargs: Any) -> list[Any]:
        if qtype != "TXT":
            return []
        found = texts.get(name.lower().rstrip("."), [])
        return [((name, qtype), tuple(s.encode() for s in split_strings(text))) for text in found]

    monkeypatch.setattr(pyspf, "DNSLookup", lookup)
    return {
        sender: pyspf.check2(i=sender, s="postmaster@contoso.com", h="mail.contoso.com")[0]
        for sender in (OLD_VENDOR, SERVICE, ON_PREMISES, EXCHANGE_ONLINE, OUTSIDER)
    }


@pytest.mark.parametrize("phase", ["prepare", "dual", "switch", "settle", "rollback"])
def test_spf_passes_the_senders_of_both_paths_until_done(phase: str, monkeypatch: pytest.MonkeyPatch) -> None:
    plan = planned(from_old_vendor(phase))
    assert plan.spf == (
        f"v=spf1 ip4:{SERVICE} ip4:{ON_PREMISES} ip4:{OLD_VENDOR} include:spf.protection.outlook.com -all"
    )
    assert spf_verdicts(plan, monkeypatch) == {
        OLD_VENDOR: "pass",
        SERVICE: "pass",
        ON_PREMISES: "pass",
        EXCHANGE_ONLINE: "pass",
        OUTSIDER: "fail",
    }


def test_spf_at_done_passes_only_the_new_paths_senders(monkeypatch: pytest.MonkeyPatch) -> None:
    plan = planned(from_old_vendor("done"))
    assert plan.spf == BOTH_SPF  # the seed's own record: the old vendor is gone
    assert spf_verdicts(plan, monkeypatch) == {
        OLD_VENDOR: "fail",
        SERVICE: "pass",
        ON_PREMISES: "pass",
        EXCHANGE_ONLINE: "pass",
        OUTSIDER: "fail",
    }


def test_the_union_spf_is_kept_in_the_cutover_state_at_done() -> None:
    state = planned(from_old_vendor("done")).cutover
    assert state is not None
    assert state.spf == (
        f"v=spf1 ip4:{SERVICE} ip4:{ON_PREMISES} ip4:{OLD_VENDOR} include:spf.protection.outlook.com -all"
    )


def over_the_limit_together(phase: str) -> dict[str, Any]:
    """Each side within 10 lookups (6 and 8), both paths together 13."""
    domain = from_old_vendor(phase)
    domain["cutover"]["from"]["thirdParty"]["spf"] = [
        f"include:{region}._netblocks.mimecast.com" for region in ("eu", "us", "za", "de", "au")
    ]
    domain["thirdParty"]["spf"] = ["include:_netblocks.mimecast.com"]
    return domain


@pytest.mark.parametrize("phase", PHASES)
def test_an_spf_of_both_paths_over_10_lookups_is_refused_at_every_phase(phase: str) -> None:
    assert config_problems({"domains": [over_the_limit_together(phase)]}) == [
        "mailflow:domains[0].cutover: the SPF record of both paths needs more than 10 DNS lookups, the "
        "limit (RFC 7208 §4.6.4): include:_netblocks.mimecast.com (7), include:au._netblocks.mimecast.com "
        "(1), include:de._netblocks.mimecast.com (1), include:eu._netblocks.mimecast.com (1), "
        "include:spf.protection.outlook.com (1), include:us._netblocks.mimecast.com (1), "
        "include:za._netblocks.mimecast.com (1); use a regional vendor include or list IPs instead"
    ]


def test_each_side_of_the_refused_union_is_within_the_limit_alone() -> None:
    domain = over_the_limit_together("prepare")
    new_side = copy.deepcopy(domain)
    del new_side["cutover"]
    old_side = copy.deepcopy(domain)
    del old_side["cutover"]
    old_side.update(topology="third-party-front", thirdParty=domain["cutover"]["from"]["thirdParty"])
    del old_side["onPremises"]
    old_side["exchangeOnline"]["autodiscover"] = True
    (new_plan,) = plan_stack({"domains": [new_side]}).domains
    (old_plan,) = plan_stack({"domains": [old_side]}).domains
    assert (new_plan.spf_lookups.total, old_plan.spf_lookups.total) == (8, 6)


def leaving_on_premises(phase: str, **before: Any) -> dict[str, Any]:
    """The last mailboxes moved: from hybrid-onprem-front to exchange-online, autodiscover on the
    on-premises servers until then."""
    domain = cutover_domain(phase)
    domain["topology"] = "exchange-online"
    del domain["thirdParty"]
    on_premises = domain.pop("onPremises")
    domain["exchangeOnline"]["autodiscover"] = True
    domain["cutover"]["from"] = {
        "topology": "hybrid-onprem-front",
        "onPremises": on_premises,
        "exchangeOnline": {"autodiscover": {"target": "on-premises", "host": "mail.contoso.com"}, **before},
    }
    return domain


@pytest.mark.parametrize(
    ("phase", "target"),
    [
        ("prepare", "mail.contoso.com."),
        ("rollback", "mail.contoso.com."),
        ("switch", "autodiscover.outlook.com."),
    ],
)
def test_the_old_sides_autodiscover_is_published_while_its_records_are(phase: str, target: str) -> None:
    records = planned(leaving_on_premises(phase)).records
    assert [r.value for r in records if r.name == "autodiscover.contoso.com."] == [target]


def test_the_old_sides_directory_sync_sets_its_accepted_domain() -> None:
    plan = plan_stack({"domains": [leaving_on_premises("prepare", directorySync=False)]})
    (accepted,) = plan.connectors.tenants[0].accepted_domains
    assert accepted.domain_type == "InternalRelay"


def test_the_old_sides_settings_are_checked_against_its_topology() -> None:
    domain = cutover_domain("prepare")
    domain["cutover"]["from"] = {
        "topology": "exchange-online",
        "exchangeOnline": {"autodiscover": {"target": "on-premises"}, "directorySync": False},
    }
    assert config_problems({"domains": [domain]}) == [
        "mailflow:domains[0].cutover.from.exchangeOnline.autodiscover.host: is required by target "
        "on-premises: the Exchange server's host name",
        "mailflow:domains[0].cutover.from.exchangeOnline.directorySync: is for the hybrid topologies, "
        "not exchange-online",
    ]


# Config problems of the cutover block.


def test_a_cutover_ttl_above_the_domains_is_refused() -> None:
    domain = cutover_domain("prepare", ttl=7200)
    assert config_problems({"domains": [domain]}) == [
        "mailflow:domains[0].cutover.ttl: 7200 s is above the domain's ttl (3600 s); a cutover lowers the TTL"
    ]


def test_the_dual_phase_needs_a_cutover_through_it() -> None:
    domain = cutover_domain("dual", dual=False)
    assert config_problems({"domains": [domain]}) == [
        "mailflow:domains[0].cutover.phase: dual is a phase of a cutover with dual: true; set it, or use switch"
    ]


def test_a_from_that_names_nothing_is_refused() -> None:
    domain = cutover_domain("prepare")
    domain["cutover"]["from"] = {}
    assert config_problems({"domains": [domain]}) == [
        "mailflow:domains[0].cutover.from: names no change: set the topology, thirdParty or exoMxHost "
        "that inbound mail goes through today"
    ]


def test_from_third_party_on_a_topology_without_one_is_refused() -> None:
    domain = cutover_domain("prepare")
    domain["cutover"]["from"]["thirdParty"] = {"name": "X", "mx": [{"host": "mx.x.example"}]}
    assert config_problems({"domains": [domain]}) == [
        "mailflow:domains[0].cutover.from.thirdParty: is only used when mail flows through a third party "
        "today, not hybrid-onprem-front"
    ]


def test_an_old_third_party_topology_without_any_third_party_is_refused() -> None:
    domain = cutover_domain("prepare")
    domain.update(topology="hybrid-exo-front")
    del domain["thirdParty"]
    domain["cutover"]["from"] = {"topology": "third-party-front"}
    assert config_problems({"domains": [domain]}) == [
        "mailflow:domains[0].cutover.from.thirdParty: is required by third-party-front, the topology mail "
        "flows through today"
    ]


def test_an_old_hybrid_onprem_front_without_an_mx_host_is_refused() -> None:
    domain = cutover_domain("prepare")
    del domain["onPremises"]["mxHost"]
    assert config_problems({"domains": [domain]}) == [
        "mailflow:domains[0].onPremises.mxHost: is required by hybrid-onprem-front, the topology mail "
        "flows through today"
    ]


def test_an_old_hybrid_onprem_front_from_its_own_on_premises_needs_their_mx_host() -> None:
    domain = cutover_domain("prepare")
    domain["cutover"]["from"]["onPremises"] = {"ips": ["192.0.2.1"]}
    assert config_problems({"domains": [domain]}) == [
        "mailflow:domains[0].cutover.from.onPremises.mxHost: is required by hybrid-onprem-front, the "
        "topology mail flows through today"
    ]


def test_from_on_premises_on_a_topology_without_them_is_refused() -> None:
    domain = cutover_domain("prepare")
    domain["cutover"]["from"] = {"topology": "exchange-online", "onPremises": {"ips": ["192.0.2.1"]}}
    assert config_problems({"domains": [domain]}) == [
        "mailflow:domains[0].cutover.from.onPremises: is only used when mail flows through on-premises "
        "today, not exchange-online"
    ]


def test_an_unknown_phase_is_refused() -> None:
    assert config_problems({"domains": [cutover_domain("later")]}) == [
        "mailflow:domains[0].cutover.phase: 'later' is not one of: prepare, dual, switch, settle, done or "
        "rollback"
    ]


def test_a_missing_phase_is_refused() -> None:
    domain = cutover_domain("prepare")
    del domain["cutover"]["phase"]
    assert config_problems({"domains": [domain]}) == ["mailflow:domains[0].cutover.phase: is required"]


def test_a_cutover_ttl_below_60_is_refused() -> None:
    assert config_problems({"domains": [cutover_domain("prepare", ttl=59)]}) == [
        "mailflow:domains[0].cutover.ttl: Input should be greater than or equal to 60 (got 59)"
    ]


def test_an_unknown_key_under_cutover_is_refused() -> None:
    assert config_problems({"domains": [cutover_domain("prepare", wat=1)]}) == [
        "mailflow:domains[0].cutover.wat: is not a known setting (check its spelling and camelCase)"
    ]


@pytest.mark.parametrize(
    "source",
    [{"topology": "third-party-hybrid"}, {"exoMxHost": "contoso-com.mail.protection.outlook.com"}],
)
def test_a_cutover_whose_sides_publish_the_same_mx_moves_no_mx(source: dict[str, str]) -> None:
    domain = cutover_domain("prepare")
    domain["cutover"]["from"] = source
    assert config_problems({"domains": [domain]}) == [
        "mailflow:domains[0].cutover.from: moves no MX: both sides publish MX 10 mx1.filter.example.net, "
        "20 mx2.filter.example.net"
    ]


def test_a_move_to_a_hybrid_topology_without_directory_sync_plans_before_settle() -> None:
    domain = from_exchange_online("prepare")
    domain["exchangeOnline"]["directorySync"] = False
    assert plan_stack({"domains": [domain]}).connectors.tenants[0].accepted_domains


def test_a_move_to_a_hybrid_topology_with_centralized_transport_plans_before_settle() -> None:
    domain = from_exchange_online("switch")
    domain["exchangeOnline"]["centralizedMailTransport"] = True
    assert plan_stack({"domains": [domain]}).domains


@pytest.mark.parametrize("phase", RESTORED)
def test_the_same_hybrid_settings_plan_from_settle_on(phase: str) -> None:
    domain = from_exchange_online(phase)
    domain["exchangeOnline"]["directorySync"] = False
    (accepted,) = plan_stack({"domains": [domain]}).connectors.tenants[0].accepted_domains
    assert accepted.domain_type == "InternalRelay"


# Inbound SMTP DANE: the move to an mx.microsoft host.


def test_a_move_to_an_mx_microsoft_host_is_a_dane_move() -> None:
    plan = planned(from_protection_host("prepare"))
    assert plan.cutover is not None and plan.cutover.dane is True
    assert (plan.cutover.source, plan.cutover.destination) == (
        "contoso-com.mail.protection.outlook.com",
        "contoso-com.p-v1.mx.microsoft",
    )
    assert apex_mx(plan) == [(0, "contoso-com.mail.protection.outlook.com.")]


def test_from_exo_mx_host_outranks_the_tenant_files_host_on_the_old_side() -> None:
    domain = new_domain()
    domain["cutover"] = {
        "from": {"exoMxHost": "new-domain-example.mail.protection.outlook.com"},
        "phase": "prepare",
        "dual": True,
    }
    values = with_tenant([domain], {"new-domain.example": NEW_DOMAIN_TENANT})
    (prepared,) = plan_stack(values).domains
    assert [r.value for r in prepared.records if r.type == "MX"] == [
        "0 new-domain-example.mail.protection.outlook.com."
    ]
    assert prepared.sources["exoMxHost"] == "config: mailflow:domains[0].cutover.from.exoMxHost"
    assert prepared.cutover is not None and prepared.cutover.dane is True
    (switched,) = plan_stack(values, phase="switch").domains
    assert [r.value for r in switched.records if r.type == "MX"] == [f"0 {TENANT_MX}."]
    assert switched.sources["exoMxHost"] == "tenant file: Microsoft Graph, read 2026-11-28"


def test_the_dane_move_switches_to_the_mx_microsoft_host() -> None:
    assert apex_mx(planned(from_protection_host("switch"))) == [(0, "contoso-com.p-v1.mx.microsoft.")]


def test_dual_of_a_dane_move_publishes_the_new_host_below_the_legacy_one() -> None:
    """Microsoft's order: the mx.microsoft host added after the legacy MX, tested, then promoted."""
    assert apex_mx(planned(from_protection_host("dual"))) == [
        (0, "contoso-com.mail.protection.outlook.com."),
        (10, "contoso-com.p-v1.mx.microsoft."),
    ]


def test_dual_orders_the_new_set_after_the_old_for_a_move_onto_mx_microsoft() -> None:
    old = [MxTarget(10, "contoso-com.mail.protection.outlook.com")]
    new = [MxTarget(0, "contoso-com.p-v1.mx.microsoft")]
    assert phase_mx("dual", old, new) == (
        MxTarget(10, "contoso-com.mail.protection.outlook.com"),
        MxTarget(20, "contoso-com.p-v1.mx.microsoft"),
    )


def test_a_dane_move_without_dual_is_refused() -> None:
    domain = from_protection_host("prepare")
    domain["cutover"]["dual"] = False
    assert config_problems({"domains": [domain]}) == [
        "mailflow:domains[0].cutover.dual: must be true for a move to contoso-com.p-v1.mx.microsoft: "
        "Microsoft's inbound SMTP DANE steps publish it below the legacy MX and test it before it takes "
        "the mail"
    ]


def test_a_dane_move_tests_the_new_host_in_dual_before_the_switch() -> None:
    state = planned(from_protection_host("dual")).cutover
    assert state is not None and next_phase(state.cutover.model_copy(update={"phase": "prepare"})) == "dual"
    assert phase_steps(state, "dual", "S.yaml")[1][-1] == (
        "test the new MX, published below the legacy one, with the Remote Connectivity Analyzer's "
        "Inbound SMTP Email test: https://testconnectivity.microsoft.com/tests/O365InboundSmtp/input"
    )
    assert phase_steps(state, "switch", "S.yaml")[0] == [
        "the new MX passed the Remote Connectivity Analyzer's Inbound SMTP Email test in dual "
        "(https://testconnectivity.microsoft.com/tests/O365InboundSmtp/input): the switch removes the "
        "legacy MX"
    ]


def test_a_rollback_of_a_dane_move_disables_dane_first_and_dnssec_at_the_end() -> None:
    state = planned(from_protection_host("rollback")).cutover
    assert state is not None
    assert phase_steps(state, "rollback", "S.yaml")[0] == [
        "if Enable-SmtpDaneInbound ran: Exchange Online PowerShell: Disable-SmtpDaneInbound -DomainName "
        "contoso.com, then Get-SmtpDaneInboundStatus -DomainName contoso.com until it reports it "
        "disabled: inbound DANE goes before the legacy MX comes back"
    ]
    assert closing_steps(state) == [
        "Exchange Online PowerShell: Disable-DnssecForVerifiedDomain -DomainName contoso.com: the legacy "
        "MX takes the mail again"
    ]


def test_a_move_off_mx_microsoft_disables_inbound_dane_before_prepare() -> None:
    state = planned(from_mx_microsoft("prepare")).cutover
    assert state is not None and (state.dane, state.leaves_mx_microsoft) == (False, True)
    assert phase_steps(state, "prepare", "S.yaml")[0] == [
        "Exchange Online PowerShell: Disable-SmtpDaneInbound -DomainName contoso.com, then "
        "Get-SmtpDaneInboundStatus -DomainName contoso.com until it reports it disabled: inbound DANE "
        "goes before the MX leaves the mx.microsoft host"
    ]


def test_a_move_off_mx_microsoft_prefers_the_new_mx_in_dual_as_other_moves_do() -> None:
    assert apex_mx(planned(from_mx_microsoft("dual"))) == [
        (0, "contoso-com.mail.protection.outlook.com."),
        (10, "contoso-com.p-v1.mx.microsoft."),
    ]


@pytest.mark.parametrize(
    ("phase", "closing"),
    [
        (
            "done",
            "Exchange Online PowerShell: Disable-DnssecForVerifiedDomain -DomainName contoso.com: no MX "
            "names the mx.microsoft host any more",
        ),
        (
            "rollback",
            "Exchange Online PowerShell: Enable-SmtpDaneInbound -DomainName contoso.com, if inbound DANE "
            "was enabled before the move: the MX names the mx.microsoft host again",
        ),
    ],
)
def test_a_move_off_mx_microsoft_ends_with_its_undo_steps(phase: str, closing: str) -> None:
    state = planned(from_mx_microsoft(phase)).cutover
    assert state is not None and closing_steps(state) == [closing]


def test_a_move_to_a_filter_in_front_of_mx_microsoft_keeps_dnssec_for_the_domain() -> None:
    """Exchange Online still receives at its mx.microsoft host, from the filtering service."""
    domain = cutover_domain("done")
    domain["exchangeOnline"] = {"mxHost": "contoso-com.p-v1.mx.microsoft"}
    domain["cutover"]["from"] = {"topology": "exchange-online"}
    state = planned(domain).cutover
    assert state is not None and state.leaves_mx_microsoft and closing_steps(state) == []


def test_the_seed_cutover_has_no_closing_steps() -> None:
    for phase in ("done", "rollback"):
        state = planned(cutover_domain(phase)).cutover
        assert state is not None and closing_steps(state) == []


def test_the_seed_cutover_is_not_a_dane_move() -> None:
    state = planned(cutover_domain("prepare")).cutover
    assert state is not None and state.dane is False
    assert phase_steps(state, "prepare", "S.yaml") == (
        [],
        ["run the connector script of the phase: mailflow connectors S.yaml"],
    )
    assert phase_steps(state, "done", "S.yaml") == (
        [],
        ["run the connector script of the phase: mailflow connectors S.yaml"],
    )


def test_dnssec_for_the_domain_is_enabled_before_prepare() -> None:
    state = planned(from_protection_host("prepare")).cutover
    assert state is not None
    assert phase_steps(state, "prepare", "S.yaml") == (
        [
            "sign the zone of contoso.com with DNSSEC at its DNS provider (inbound DANE needs it)",
            "Exchange Online PowerShell: Enable-DnssecForVerifiedDomain -DomainName contoso.com (its "
            "DnssecMxValue is the new MX host; `mailflow tenant pull` records it)",
        ],
        ["run the connector script of the phase: mailflow connectors S.yaml"],
    )


def test_inbound_dane_is_enabled_after_done() -> None:
    state = planned(from_protection_host("done")).cutover
    assert state is not None
    before, after = phase_steps(state, "done", "S.yaml")
    assert before == []
    assert after == [
        "run the connector script of the phase: mailflow connectors S.yaml",
        "Exchange Online PowerShell: Enable-SmtpDaneInbound -DomainName contoso.com",
        "Exchange Online PowerShell: Get-SmtpDaneInboundStatus -DomainName contoso.com, until it reports "
        "it enabled; then the Remote Connectivity Analyzer's DANE validation test: "
        "https://testconnectivity.microsoft.com/tests/O365DaneValidation/input",
    ]


def test_switch_of_a_dane_move_says_there_is_no_fallback_mx() -> None:
    state = planned(from_protection_host("switch")).cutover
    assert state is not None
    assert phase_steps(state, "switch", "S.yaml")[1][-1] == (
        "no fallback MX: the mx.microsoft host is now the domain's only MX, as inbound DANE requires"
    )


def test_settle_says_the_new_front_now_turns_other_senders_away() -> None:
    state = planned(cutover_domain("settle")).cutover
    assert state is not None
    assert phase_steps(state, "settle", "S.yaml") == (
        [],
        [
            "run the connector script of the phase: mailflow connectors S.yaml (the new front's inbound "
            "connector now turns other senders away)"
        ],
    )


# MTA-STS during the cutover.


def with_mta_sts(phase: str, mode: str = "enforce") -> dict[str, Any]:
    domain = cutover_domain(phase)
    domain["mtaSts"] = {"id": "20261128", "mode": mode}
    return domain


def policy(mode: str, *hosts: str) -> str:
    lines = ["version: STSv1", f"mode: {mode}", *(f"mx: {host}" for host in hosts), "max_age: 604800"]
    return "\r\n".join(lines) + "\r\n"


def published_id(plan: DomainPlan) -> str:
    (record,) = [r for r in plan.records if r.slot == "mta-sts"]
    assert (record.name, record.ttl) == ("_mta-sts.contoso.com.", 3600)
    return record.value.split("id=", 1)[1].split(";", 1)[0]


@pytest.mark.parametrize("phase", ["prepare", "dual", "switch", "settle", "rollback"])
def test_mta_sts_is_testing_and_names_both_mx_sets_until_done(phase: str) -> None:
    assert planned(with_mta_sts(phase)).mta_sts_policy == policy(
        "testing", "mail.contoso.com", "mx1.filter.example.net", "mx2.filter.example.net"
    )


def test_mta_sts_at_done_is_as_configured() -> None:
    done = planned(with_mta_sts("done"))
    assert done.mta_sts_policy == policy("enforce", "mx1.filter.example.net", "mx2.filter.example.net")
    plain = copy.deepcopy(with_mta_sts("done"))
    del plain["cutover"]
    assert planned(plain).mta_sts_policy == done.mta_sts_policy


def test_the_published_mta_sts_id_is_not_the_configured_one() -> None:
    for phase in PHASES:
        plan = planned(with_mta_sts(phase))
        assert plan.mta_sts_policy is not None
        assert published_id(plan) == policy_id("20261128", plan.mta_sts_policy) != "20261128"


def test_the_published_mta_sts_id_changes_with_the_policy_text() -> None:
    ids = {phase: published_id(planned(with_mta_sts(phase))) for phase in PHASES}
    assert len({ids[p] for p in ("prepare", "dual", "switch", "settle", "rollback")}) == 1
    assert ids["done"] != ids["prepare"]
    assert ids["prepare"].startswith("20261128") and len(ids["prepare"]) == 16


def test_policy_id_keeps_the_configured_start_and_fits_32_characters() -> None:
    configured = "A" * 32
    first, second = policy_id(configured, "one"), policy_id(configured, "two")
    assert first != second
    assert first.startswith("A" * 24) and len(first) == len(second) == 32
    assert policy_id(configured, "one") == first


@pytest.mark.parametrize("phase", PHASES)
def test_mta_sts_mode_none_stays_none(phase: str) -> None:
    policy_text = planned(with_mta_sts(phase, mode="none")).mta_sts_policy
    assert policy_text is not None and "mode: none\r\n" in policy_text


def test_the_mta_sts_policy_is_served_before_prepare_and_done() -> None:
    state = planned(with_mta_sts("prepare")).cutover
    assert state is not None
    assert phase_steps(state, "prepare", "S.yaml")[0] == [
        "serve the MTA-STS policy that `mailflow plan S.yaml --phase prepare` prints (testing, naming "
        "both MX sets) at https://mta-sts.contoso.com/.well-known/mta-sts.txt"
    ]
    assert phase_steps(state, "done", "S.yaml")[0] == [
        "serve the MTA-STS policy that `mailflow plan S.yaml --phase done` prints (as configured, naming "
        "the new MX) at https://mta-sts.contoso.com/.well-known/mta-sts.txt"
    ]
    assert phase_steps(state, "switch", "S.yaml")[0] == []


# plan_stack(phase=...) and `mailflow plan --phase`.


def test_the_phase_argument_overrides_the_configured_phase() -> None:
    plan = planned(cutover_domain("prepare"), phase="switch")
    assert plan.cutover is not None and plan.cutover.phase == "switch"
    assert apex_mx(plan) == NEW_MX


def test_the_phase_argument_leaves_domains_without_a_cutover_alone() -> None:
    other = copy.deepcopy(SEED_DOMAIN)
    other["name"] = "fabrikam.com"
    plans = plan_stack({"domains": [cutover_domain("prepare"), other]}, phase="switch").domains
    assert [p.cutover.phase if p.cutover else None for p in plans] == ["switch", None]
    assert [r.value for r in plans[1].records if r.type == "MX"] == [
        "10 mx1.filter.example.net.",
        "20 mx2.filter.example.net.",
    ]


def test_a_phase_for_a_stack_without_a_cutover_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as caught:
        plan_stack({"domains": [SEED_DOMAIN]}, phase="switch")
    assert [str(p) for p in caught.value.problems] == [
        "mailflow:domains: no domain has a cutover to plan at phase switch"
    ]


def write_stack(tmp_path: Path, *domains: dict[str, Any]) -> Path:
    stack = tmp_path / "Pulumi.test.yaml"
    stack.write_text(json.dumps({"config": {"mailflow:domains": list(domains)}}), "utf-8")
    return stack


def test_plan_with_phase_prints_the_records_of_that_phase(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = write_stack(tmp_path, cutover_domain("prepare"))
    assert main(["plan", str(stack), "--phase", "switch", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["name"], r["type"], r["ttl"], r["value"]) for r in rows if r["name"] == APEX] == [
        (APEX, "MX", 300, "10 mx1.filter.example.net."),
        (APEX, "MX", 300, "20 mx2.filter.example.net."),
        (APEX, "TXT", 300, '"MS=ms12345678"'),
        (APEX, "TXT", 300, f'"{BOTH_SPF}"'),
    ]


def test_plan_table_shows_the_phase_and_its_steps(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stack = write_stack(tmp_path, cutover_domain("prepare"))
    assert main(["plan", str(stack), "--phase", "settle"]) == 0
    out = capsys.readouterr().out
    assert (
        "  cutover: hybrid-onprem-front -> third-party-hybrid, phase settle (next: done; "
        f"`mailflow cutover status {stack}` says when)\n"
        f"    after pulumi up: run the connector script of the phase: mailflow connectors {stack} (the "
        "new front's inbound connector now turns other senders away)\n"
    ) in out


def test_plan_json_says_which_phase_of_which_move_the_records_are(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = copy.deepcopy(SEED_DOMAIN)
    other["name"] = "fabrikam.com"
    stack = write_stack(tmp_path, cutover_domain("prepare"), other)
    assert main(["plan", str(stack), "--phase", "settle", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    move = {"phase": "settle", "from": "hybrid-onprem-front", "to": "third-party-hybrid", "next": "done"}
    assert {json.dumps(r.get("cutover")) for r in rows if r["name"].endswith("contoso.com.")} == {
        json.dumps(move)
    }
    assert all("cutover" not in r for r in rows if r["name"].endswith("fabrikam.com."))


def test_plan_json_names_no_next_phase_once_done(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stack = write_stack(tmp_path, cutover_domain("done"))
    assert main(["plan", str(stack), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["cutover"]["next"] is None


def test_the_phase_argument_dual_is_refused_for_a_cutover_without_dual() -> None:
    with pytest.raises(ConfigError) as caught:
        plan_stack({"domains": [cutover_domain("prepare")]}, phase="dual")
    assert [str(p) for p in caught.value.problems] == [
        "mailflow:domains[0].cutover.dual: is false, so the cutover has no dual phase to plan (--phase "
        "dual); set it to true, or plan --phase switch"
    ]


def test_plan_with_phase_dual_for_a_cutover_without_dual_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = write_stack(tmp_path, cutover_domain("prepare"))
    assert main(["plan", str(stack), "--phase", "dual"]) == 2
    assert "mailflow:domains[0].cutover.dual: is false" in capsys.readouterr().err


def test_the_phase_argument_dual_plans_a_cutover_with_dual() -> None:
    plan = planned(cutover_domain("prepare", dual=True), phase="dual")
    assert apex_mx(plan) == [*NEW_MX, (30, "mail.contoso.com.")]


def test_plan_with_an_unknown_phase_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = write_stack(tmp_path, cutover_domain("prepare"))
    with pytest.raises(SystemExit) as caught:
        main(["plan", str(stack), "--phase", "later"])
    assert caught.value.code == 4
    assert "argument --phase: invalid choice: 'later'" in capsys.readouterr().err


def test_plan_with_a_phase_for_a_stack_without_a_cutover_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = write_stack(tmp_path, SEED_DOMAIN)
    assert main(["plan", str(stack), "--phase", "switch"]) == 2
    assert "mailflow:domains: no domain has a cutover to plan at phase switch" in capsys.readouterr().err


# Connectors per phase.


@pytest.mark.parametrize("phase", PHASES)
def test_the_new_fronts_partner_connector_is_locked_down_only_from_settle(phase: str) -> None:
    connectors = connectors_by_name(plan_stack({"domains": [cutover_domain(phase)]}))
    partner = parameters(connectors[PARTNER_IN])
    assert partner["ConnectorType"] == "Partner"
    assert partner["SenderIPAddresses"] == (SERVICE,)
    assert partner["RestrictDomainsToIPAddresses"] is (phase in RESTORED)


@pytest.mark.parametrize("phase", PHASES)
def test_the_old_sides_on_premises_connector_keeps_enhanced_filtering_until_settle(phase: str) -> None:
    connectors = connectors_by_name(plan_stack({"domains": [cutover_domain(phase)]}))
    inbound = parameters(connectors[ON_PREMISES_IN])
    expected = {
        "ConnectorType": "OnPremises",
        "CloudServicesMailEnabled": True,
        "SenderDomains": ("*",),
        "SenderIPAddresses": (ON_PREMISES,),
    }
    if phase not in RESTORED:
        expected |= {"EFSkipLastIP": True, "EFUsers": None}
    assert inbound == expected


def test_rollback_keeps_the_old_connectors_and_the_unlocked_partner_connector() -> None:
    plan = plan_stack({"domains": [cutover_domain("rollback")]})
    assert {
        c.name: (c.direction, parameters(c).get("RestrictDomainsToIPAddresses"))
        for c in plan.connectors.connectors
    } == {
        ON_PREMISES_OUT: ("Outbound", None),
        ON_PREMISES_IN: ("Inbound", None),
        PARTNER_IN: ("Inbound", False),
    }
    assert parameters(connectors_by_name(plan)[ON_PREMISES_IN])["EFSkipLastIP"] is True


@pytest.mark.parametrize(
    ("phase", "restricted"), [("prepare", "$false"), ("switch", "$false"), ("settle", "$true")]
)
def test_the_connector_script_sets_the_lock_down_of_the_phase(phase: str, restricted: str) -> None:
    script = render_script(plan_stack({"domains": [cutover_domain(phase)]}).connectors)
    assert (
        f"New-InboundConnector -Name '{PARTNER_IN}' -ConnectorType Partner -SenderDomains @('*') "
        f"-RestrictDomainsToIPAddresses {restricted} -SenderIPAddresses @('{SERVICE}')"
    ) in script


def test_the_unlocked_connector_says_why_in_the_script() -> None:
    script = render_script(plan_stack({"domains": [cutover_domain("switch")]}).connectors)
    assert "#   -RestrictDomainsToIPAddresses: during the cutover: mail may come by either MX" in script


@pytest.mark.parametrize(
    ("phase", "expected"),
    [
        ("prepare", {OLD_VENDOR_IN: True, PARTNER_IN: False}),
        ("dual", {OLD_VENDOR_IN: False, PARTNER_IN: False}),
        ("switch", {OLD_VENDOR_IN: False, PARTNER_IN: False}),
        ("rollback", {OLD_VENDOR_IN: False, PARTNER_IN: False}),
        ("settle", {PARTNER_IN: True, OLD_VENDOR_IN: False}),
        ("done", {PARTNER_IN: True, OLD_VENDOR_IN: False}),
    ],
)
def test_no_vendor_connector_turns_mail_away_while_it_may_come_by_either_mx(
    phase: str, expected: dict[str, bool]
) -> None:
    """The old vendor's connector, locked down, would reject the mail the new MX brings in; from
    settle it is left in the tenant (unless pruned) turning nothing away."""
    connectors = connectors_by_name(plan_stack({"domains": [from_old_vendor(phase)]}))
    partners = {
        name: parameters(c)["RestrictDomainsToIPAddresses"]
        for name, c in connectors.items()
        if c.connector_type == "Partner" and c.direction == "Inbound"
    }
    assert partners == expected


def test_the_old_vendors_connector_left_after_settle_says_how_to_remove_it() -> None:
    script = render_script(plan_stack({"domains": [from_old_vendor("settle")]}).connectors)
    assert "turns no mail away now (`mailflow connectors --prune` removes it)" in script


def test_a_connector_both_sides_name_alike_takes_the_sender_ips_of_both() -> None:
    """The same service in another region: its connector accepts both regions' senders."""
    domain = from_old_vendor("switch")
    old = domain["cutover"]["from"]["thirdParty"]
    old["name"] = domain["thirdParty"]["name"]
    connectors = connectors_by_name(plan_stack({"domains": [domain]}))
    settings = parameters(connectors[PARTNER_IN])
    assert settings["SenderIPAddresses"] == (OLD_VENDOR, SERVICE)
    assert settings["RestrictDomainsToIPAddresses"] is False


def test_the_connector_from_on_premises_filters_when_either_side_needs_it() -> None:
    """hybrid-exo-front to hybrid-onprem-front: internet mail starts coming through on-premises,
    so Enhanced Filtering is on from the first phase that can bring it."""
    domain = cutover_domain("switch")
    domain["topology"] = "hybrid-onprem-front"
    del domain["thirdParty"]
    domain["cutover"]["from"] = {"topology": "hybrid-exo-front"}
    connectors = connectors_by_name(plan_stack({"domains": [domain]}))
    assert parameters(connectors[ON_PREMISES_IN])["EFSkipLastIP"] is True


def with_outbound_relays(phase: str) -> dict[str, Any]:
    """The change of vendor, each service relaying the tenant's internet mail."""
    domain = from_old_vendor(phase)
    domain["thirdParty"]["outboundSmartHosts"] = ["smtp.filter.example.net"]
    domain["cutover"]["from"]["thirdParty"]["outboundSmartHosts"] = ["smtp.oldvendor.example"]
    return domain


@pytest.mark.parametrize(
    ("phase", "relay"),
    [
        ("prepare", "mailflow to Old vendor"),
        ("dual", "mailflow to Example filtering service"),
        ("switch", "mailflow to Example filtering service"),
        ("settle", "mailflow to Example filtering service"),
        ("done", "mailflow to Example filtering service"),
        ("rollback", "mailflow to Old vendor"),
    ],
)
def test_internet_mail_leaves_by_one_partner_connector_in_each_phase(phase: str, relay: str) -> None:
    plan = plan_stack({"domains": [with_outbound_relays(phase)]})
    partners_out = [
        (c.name, parameters(c)["RecipientDomains"], parameters(c)["SmartHosts"])
        for c in plan.connectors.connectors
        if c.direction == "Outbound" and c.connector_type == "Partner"
    ]
    hosts = ("smtp.oldvendor.example",) if "Old" in relay else ("smtp.filter.example.net",)
    assert partners_out == [(relay, ("*",), hosts)]


@pytest.mark.parametrize("phase", PHASES)
def test_the_connector_to_on_premises_is_kept_in_every_phase(phase: str) -> None:
    connectors = connectors_by_name(plan_stack({"domains": [with_outbound_relays(phase)]}))
    assert parameters(connectors[ON_PREMISES_OUT])["SmartHosts"] == ("mail.contoso.com",)


# The guard: a cutover phase may move its domain's MX.

GUARD_PLACEMENTS = {
    "contoso.com/MX/mail.contoso.com": "zone a",
    "contoso.com/TXT/spf": "zone a",
    "fabrikam.com/MX/mx.fabrikam.com": "zone a",
    **{f"d{i}.example/TXT": "zone a" for i in range(7)},
}
GUARD_BEFORE: dict[str, Any] = {
    "placements": GUARD_PLACEMENTS,
    "routing": ["contoso.com/MX/mail.contoso.com", "contoso.com/TXT/spf", "fabrikam.com/MX/mx.fabrikam.com"],
    "maxDeleteShare": 0.3,
}


def guard_after(*dropped: str, cutover_mx: dict[str, str] | None = None) -> dict[str, Any]:
    """The inputs of a run that applies phase switch to contoso.com (``cutover_mx`` otherwise)."""
    placements = {k: v for k, v in GUARD_PLACEMENTS.items() if k not in dropped}
    placements["contoso.com/MX/mx1.filter.example.net"] = "zone a"
    phases = {"contoso.com/MX": "switch"} if cutover_mx is None else cutover_mx
    return {**GUARD_BEFORE, "placements": placements, "allow": False, "cutoverMx": phases}


def test_the_guard_lets_a_cutover_move_its_domains_mx() -> None:
    assert refusal(GUARD_BEFORE, guard_after("contoso.com/MX/mail.contoso.com")) is None


def test_the_guard_refuses_the_same_move_without_the_cutover() -> None:
    message = refusal(GUARD_BEFORE, guard_after("contoso.com/MX/mail.contoso.com", cutover_mx={}))
    assert message is not None
    assert "deletes or moves 1 MX/SPF record resource(s): contoso.com/MX/mail.contoso.com." in message


def test_the_guard_refuses_moving_the_mx_in_a_run_that_keeps_the_phase() -> None:
    """A slip in an MX host during a cutover is no phase's doing."""
    olds = {**GUARD_BEFORE, "cutoverMx": {"contoso.com/MX": "switch"}}
    message = refusal(olds, guard_after("contoso.com/MX/mail.contoso.com"))
    assert message is not None and "contoso.com/MX/mail.contoso.com" in message


def test_the_guard_lets_the_run_that_changes_the_phase_move_the_mx() -> None:
    olds = {**GUARD_BEFORE, "cutoverMx": {"contoso.com/MX": "prepare"}}
    assert refusal(olds, guard_after("contoso.com/MX/mail.contoso.com")) is None


@pytest.mark.parametrize(("last", "phase"), [("prepare", "settle"), ("prepare", "done"), ("dual", "settle")])
def test_the_guard_refuses_a_phase_that_skips_one_that_must_come_between(last: str, phase: str) -> None:
    olds = {**GUARD_BEFORE, "cutoverMx": {"contoso.com/MX": last}}
    news = guard_after("contoso.com/MX/mail.contoso.com", cutover_mx={"contoso.com/MX": phase})
    assert phase_moves(olds, news) == []
    message = refusal(olds, news)
    assert message is not None and "contoso.com/MX/mail.contoso.com" in message


@pytest.mark.parametrize(
    ("last", "phase"),
    [("prepare", "dual"), ("dual", "switch"), ("switch", "rollback"), ("settle", "prepare")],
)
def test_the_guard_lets_a_phase_that_may_follow_the_last_one_move_the_mx(last: str, phase: str) -> None:
    olds = {**GUARD_BEFORE, "cutoverMx": {"contoso.com/MX": last}}
    news = guard_after("contoso.com/MX/mail.contoso.com", cutover_mx={"contoso.com/MX": phase})
    assert phase_moves(olds, news) == ["contoso.com/MX"]
    assert refusal(olds, news) is None


def test_the_guard_lets_any_phase_move_the_mx_of_a_domain_new_to_cutover() -> None:
    news = guard_after("contoso.com/MX/mail.contoso.com", cutover_mx={"contoso.com/MX": "settle"})
    assert phase_moves(GUARD_BEFORE, news) == ["contoso.com/MX"]


def test_the_guard_still_refuses_another_domains_mx() -> None:
    message = refusal(GUARD_BEFORE, guard_after("fabrikam.com/MX/mx.fabrikam.com"))
    assert message is not None
    assert "deletes or moves 1 MX/SPF record resource(s): fabrikam.com/MX/mx.fabrikam.com." in message


def test_the_guard_still_refuses_the_cutover_domains_spf() -> None:
    going, routing, _ = destructive_changes(GUARD_BEFORE, guard_after("contoso.com/TXT/spf"))
    assert going == routing == ["contoso.com/TXT/spf"]


def test_the_exempt_mx_does_not_count_in_the_share() -> None:
    # 4 of 10 going would be 40%, over the 30% limit; without the exempt MX it is 30%.
    dropped = ("contoso.com/MX/mail.contoso.com", "d0.example/TXT", "d1.example/TXT", "d2.example/TXT")
    going, routing, share = destructive_changes(GUARD_BEFORE, guard_after(*dropped))
    assert (going, routing, share) == (["d0.example/TXT", "d1.example/TXT", "d2.example/TXT"], [], 0.3)
    assert refusal(GUARD_BEFORE, guard_after(*dropped)) is None


def test_a_domain_whose_name_starts_like_the_cutover_domain_is_not_exempt() -> None:
    olds = {**GUARD_BEFORE, "placements": {"contoso.com.au/MX/mx.example": "zone a"}, "routing": []}
    olds["routing"] = ["contoso.com.au/MX/mx.example"]
    news = {**olds, "placements": {}, "allow": False, "cutoverMx": {"contoso.com/MX": "switch"}}
    assert destructive_changes(olds, news)[1] == ["contoso.com.au/MX/mx.example"]


def test_a_whole_mx_record_set_of_the_cutover_domain_is_exempt() -> None:
    olds = {
        "placements": {"contoso.com/MX": "zone a", "contoso.com/TXT": "zone a"},
        "routing": ["contoso.com/MX"],
    }
    news = {
        **olds,
        "placements": {"contoso.com/MX": "zone b", "contoso.com/TXT": "zone a"},
        "cutoverMx": {"contoso.com/MX": "switch"},
    }
    assert destructive_changes(olds, news) == ([], [], 0.0)


# The phase log.

MOVE = {"phase": "prepare", "from": "hybrid-onprem-front", "to": "third-party-hybrid"}
EARLIER = "2026-11-28T09:00:00Z"
LATER = "2026-11-28T10:00:00Z"


def test_the_same_phase_keeps_the_time_it_was_first_applied() -> None:
    assert stamped({"contoso.com": {**MOVE, APPLIED_AT: EARLIER}}, {"contoso.com": MOVE}, LATER) == {
        "contoso.com": {**MOVE, APPLIED_AT: EARLIER}
    }


def test_a_new_phase_takes_the_time_of_this_run() -> None:
    switched = {**MOVE, "phase": "switch"}
    assert stamped({"contoso.com": {**MOVE, APPLIED_AT: EARLIER}}, {"contoso.com": switched}, LATER) == {
        "contoso.com": {**switched, APPLIED_AT: LATER}
    }


@pytest.mark.parametrize("changed", [{"from": "exchange-online"}, {"to": "third-party-front"}])
def test_the_same_phase_of_another_move_takes_the_time_of_this_run(changed: dict[str, str]) -> None:
    moved = {**MOVE, **changed}
    assert stamped({"contoso.com": {**MOVE, APPLIED_AT: EARLIER}}, {"contoso.com": moved}, LATER) == {
        "contoso.com": {**moved, APPLIED_AT: LATER}
    }


def test_a_domain_new_to_the_log_takes_the_time_and_a_domain_gone_is_dropped() -> None:
    before = {"fabrikam.com": {**MOVE, APPLIED_AT: EARLIER}}
    assert stamped(before, {"contoso.com": MOVE}, LATER) == {"contoso.com": {**MOVE, APPLIED_AT: LATER}}


def test_an_entry_without_a_time_takes_the_time_of_this_run() -> None:
    assert stamped({"contoso.com": dict(MOVE)}, {"contoso.com": MOVE}, LATER) == {
        "contoso.com": {**MOVE, APPLIED_AT: LATER}
    }


def test_the_phase_log_diff_ignores_the_applied_time() -> None:
    provider = PhaseLogProvider()
    olds = {"phases": {"contoso.com": {**MOVE, APPLIED_AT: EARLIER}}}
    assert not provider.diff("log", olds, {"phases": {"contoso.com": MOVE}}).changes
    assert provider.diff("log", olds, {"phases": {"contoso.com": {**MOVE, "phase": "switch"}}}).changes
    assert provider.diff("log", {}, {"phases": {"contoso.com": MOVE}}).changes


def test_the_phase_log_update_keeps_the_time_of_an_unchanged_phase() -> None:
    provider = PhaseLogProvider()
    olds = {"phases": {"contoso.com": {**MOVE, APPLIED_AT: EARLIER}}}
    outs = provider.update("log", olds, {"phases": {"contoso.com": MOVE}}).outs
    assert outs == {"phases": {"contoso.com": {**MOVE, APPLIED_AT: EARLIER}}}


def test_the_phase_log_create_stamps_each_domain() -> None:
    result = PhaseLogProvider().create({"phases": {"contoso.com": MOVE}})
    assert result.outs is not None
    entry = result.outs["phases"]["contoso.com"]
    assert {k: v for k, v in entry.items() if k != APPLIED_AT} == MOVE
    assert entry[APPLIED_AT].endswith("Z") and len(entry[APPLIED_AT]) == len(EARLIER)


# The Pulumi program under mocks.


def test_the_program_exports_the_cutover_phase() -> None:
    run = run_program({"domains": [cutover_domain("switch")], "target": CLOUDFLARE})
    assert run.outputs["cutover"] == {
        "contoso.com": {"phase": "switch", "from": "hybrid-onprem-front", "to": "third-party-hybrid"}
    }


@pytest.mark.parametrize("tree", ["flat", "domain", "parts"])
def test_the_phase_log_waits_for_every_record_of_the_domains_in_cutover(tree: str) -> None:
    """A run whose record changes fail must not log the new phase and its time."""
    other = copy.deepcopy(SEED_DOMAIN)
    other["name"] = "fabrikam.com"
    values = {"domains": [cutover_domain("switch"), other], "target": CLOUDFLARE, "resourceTree": tree}
    in_cutover = {group.name for group in plan_stack(values).domains[0].groups}
    run = run_program(values)
    records = {r.urn: r.name for r in run.of_type(DNS_RECORD)}
    waited = {records[urn] for urn in run.named(LOG_NAME).dependencies if urn in records}
    assert waited == in_cutover


def test_a_stack_without_a_cutover_exports_none() -> None:
    run = run_program({"domains": [SEED_DOMAIN], "target": CLOUDFLARE})
    assert "cutover" not in run.outputs
    assert run.guard.inputs["cutoverMx"] == {}


def test_the_program_registers_the_mx_records_of_the_phase() -> None:
    run = run_program({"domains": [cutover_domain("dual")], "target": CLOUDFLARE})
    records = {
        r.name: (r.inputs["content"], r.inputs["priority"], r.inputs["ttl"])
        for r in run.of_type(DNS_RECORD)
        if r.inputs["type"] == "MX"
    }
    assert records == {
        "contoso.com/MX/mx1.filter.example.net": ("mx1.filter.example.net", 10, 300),
        "contoso.com/MX/mx2.filter.example.net": ("mx2.filter.example.net", 20, 300),
        "contoso.com/MX/mail.contoso.com": ("mail.contoso.com", 30, 300),
    }


def test_the_program_registers_the_spf_of_both_paths_at_the_lowered_ttl() -> None:
    run = run_program({"domains": [cutover_domain("prepare")], "target": CLOUDFLARE})
    spf_record = run.named("contoso.com/TXT/spf")
    assert (spf_record.inputs["content"], spf_record.inputs["ttl"]) == (f'"{BOTH_SPF}"', 300)


def test_the_program_tells_the_guard_which_mx_may_move() -> None:
    run = run_program({"domains": [cutover_domain("switch")], "target": CLOUDFLARE})
    assert run.guard.inputs["cutoverMx"] == {"contoso.com/MX": "switch"}
