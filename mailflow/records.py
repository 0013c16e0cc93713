"""DNS records of a mail domain, as dnspython rdata: MX, SPF, DMARC, DKIM, autodiscover and extras."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property, lru_cache
from typing import Any

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.CNAME
import dns.rdtypes.ANY.MX
import dns.rdtypes.ANY.TXT
import dns.rdtypes.IN.SRV

from mailflow.assigned import Assigned
from mailflow.config import Dmarc, Domain, ExtraRecord, MtaSts, TlsRpt
from mailflow.names import fqdn
from mailflow.spf import split_strings
from mailflow.topology import DOMAIN_PART, EXCHANGE_ONLINE_PART, MxTarget

_IN = dns.rdataclass.IN
RECORD_TYPE_ORDER = ("MX", "TXT", "CNAME", "SRV", "A", "AAAA", "CAA")
_STRUCTURED_TYPES = frozenset({"MX", "TXT", "CNAME", "SRV"})
_TYPE_RANK = {rtype: rank for rank, rtype in enumerate(RECORD_TYPE_ORDER)}
MDM_CNAMES = {
    "enterpriseregistration": "enterpriseregistration.windows.net",
    "enterpriseenrollment": "enterpriseenrollment-s.manage.microsoft.com",
}


@cache
def dns_name(text: str) -> dns.name.Name:
    """A dnspython name, built once per distinct text (targets repeat across domains)."""
    return dns.name.from_text(text)


def _rdata(rtype: str, data: tuple[str | int, ...], origin: str) -> dns.rdata.Rdata:
    """dnspython rdata from a record's fields; types mailflow does not build keep their text."""
    if rtype == "MX":
        return dns.rdtypes.ANY.MX.MX(_IN, dns.rdatatype.MX, data[0], dns_name(str(data[1])))
    if rtype == "TXT":
        return dns.rdtypes.ANY.TXT.TXT(_IN, dns.rdatatype.TXT, [str(s).encode("ascii") for s in data])
    if rtype == "CNAME":
        return dns.rdtypes.ANY.CNAME.CNAME(_IN, dns.rdatatype.CNAME, dns_name(str(data[0])))
    if rtype == "SRV":
        priority, weight, port, target = data
        return dns.rdtypes.IN.SRV.SRV(_IN, dns.rdatatype.SRV, priority, weight, port, dns_name(str(target)))
    return dns.rdata.from_text(_IN, dns.rdatatype.from_text(rtype), str(data[0]), origin=dns_name(origin))


@lru_cache(maxsize=65536)
def _presentation(rtype: str, data: tuple[str | int, ...], origin: str) -> str:
    """dnspython's presentation format, rendered once per distinct value: MX hosts, autodiscover
    and other targets repeat across the domains of a stack."""
    return _rdata(rtype, data, origin).to_text()


@dataclass(frozen=True)
class Record:
    """One value of one record set: owner name (absolute), type, TTL and the value's fields.

    ``data`` holds what providers need field by field: MX ``(priority, host.)``, TXT its
    character-strings, CNAME ``(target.)``, SRV ``(priority, weight, port, target.)``, other
    types their presentation text. The dnspython rdata is built on first use and kept.
    """

    name: str
    type: str
    ttl: int
    data: tuple[str | int, ...]
    zone: str = field(compare=False)
    slot: str = ""
    """Tells apart values of one record set that are managed one by one (the MX host, ``spf``
    or ``verification`` at the apex): stable when the value changes, so targets update in place."""
    part: str = field(default=DOMAIN_PART, compare=False)
    """The side of the topology the record serves (third-party front, Exchange Online, …)."""

    @cached_property
    def rdata(self) -> dns.rdata.Rdata:
        return _rdata(self.type, self.data, self.zone)

    @cached_property
    def value(self) -> str:
        """RFC 1035 presentation format, e.g. ``10 mx1.example.net.`` or ``"v=spf1 … -all"``."""
        # Only values kept as text need their zone to resolve relative names.
        origin = "" if self.type in _STRUCTURED_TYPES else self.zone
        return _presentation(self.type, self.data, origin)

    def relative_name(self) -> str:
        """``@`` for the apex, else the labels left of the zone (``selector1._domainkey``)."""
        apex = fqdn(self.zone)
        return "@" if self.name == apex else self.name[: -len(apex) - 1]


def owner(zone: str, relative: str) -> str:
    return fqdn(zone) if relative == "@" else f"{relative}.{fqdn(zone)}"


def txt(zone: str, relative: str, ttl: int, text: str, slot: str, part: str = DOMAIN_PART) -> Record:
    return Record(owner(zone, relative), "TXT", ttl, split_strings(text), zone, slot, part)


def cname(zone: str, relative: str, ttl: int, target: str, part: str = EXCHANGE_ONLINE_PART) -> Record:
    return Record(owner(zone, relative), "CNAME", ttl, (fqdn(target),), zone, "", part)


def mx_records(zone: str, ttl: int, targets: Iterable[MxTarget], part: str) -> list[Record]:
    return [Record(fqdn(zone), "MX", ttl, (t.priority, fqdn(t.host)), zone, t.host, part) for t in targets]


def srv(zone: str, relative: str, ttl: int, priority: int, weight: int, port: int, target: str) -> Record:
    data = (priority, weight, port, fqdn(target))
    return Record(owner(zone, relative), "SRV", ttl, data, zone, target, EXCHANGE_ONLINE_PART)


def dmarc_text(dmarc: Dmarc) -> str:
    """``v=DMARC1; p=…`` with only the tags that are set, in RFC 7489's order."""
    tags = [("v", "DMARC1"), ("p", dmarc.policy)]
    optional = [
        ("sp", dmarc.sp),
        ("pct", None if dmarc.pct is None else str(dmarc.pct)),
        ("rua", ",".join(dmarc.rua) or None),
        ("ruf", ",".join(dmarc.ruf) or None),
        ("adkim", dmarc.adkim),
        ("aspf", dmarc.aspf),
        ("fo", ":".join(dmarc.fo) or None),
        ("ri", None if dmarc.ri is None else str(dmarc.ri)),
    ]
    tags.extend((tag, value) for tag, value in optional if value is not None)
    return "; ".join(f"{tag}={value}" for tag, value in tags)


def mta_sts_text(mta_sts: MtaSts) -> str:
    return f"v=STSv1; id={mta_sts.id};"


def mta_sts_policy(mta_sts: MtaSts, mx: Iterable[MxTarget]) -> str:
    """The policy file to serve at ``https://mta-sts.<domain>/.well-known/mta-sts.txt``."""
    lines = ["version: STSv1", f"mode: {mta_sts.mode}"]
    lines.extend(f"mx: {host}" for host in dict.fromkeys(m.host for m in mx))
    lines.append(f"max_age: {mta_sts.max_age}")
    return "\r\n".join(lines) + "\r\n"


def tls_rpt_text(tls_rpt: TlsRpt) -> str:
    return f"v=TLSRPTv1; rua={','.join(tls_rpt.rua)}"


def exchange_online_records(domain: Domain, assigned: Assigned) -> list[Record]:
    """Ownership TXT, autodiscover and DKIM CNAMEs that Microsoft 365 asks for."""
    zone, ttl, exo = domain.name, domain.ttl, domain.exchange_online
    records: list[Record] = []
    if exo.verification:
        records.append(txt(zone, "@", ttl, exo.verification, "verification", EXCHANGE_ONLINE_PART))
    if assigned.autodiscover is not None:
        records.append(cname(zone, "autodiscover", ttl, assigned.autodiscover))
    records.extend(
        cname(zone, f"{selector}._domainkey", ttl, target) for selector, target in assigned.dkim.items()
    )
    return records


def optional_records(domain: Domain, tenant_cnames: Mapping[str, str]) -> list[Record]:
    """DMARC, MTA-STS, TLS-RPT, device management and Skype for Business records when asked for;
    device management CNAMEs go where the tenant says, else to Microsoft's documented hosts."""
    zone, ttl = domain.name, domain.ttl
    records: list[Record] = []
    if domain.dmarc:
        records.append(txt(zone, "_dmarc", ttl, dmarc_text(domain.dmarc), "dmarc"))
    if domain.mta_sts:
        records.append(txt(zone, "_mta-sts", ttl, mta_sts_text(domain.mta_sts), "mta-sts"))
        if domain.mta_sts.policy_host:
            records.append(cname(zone, "mta-sts", ttl, domain.mta_sts.policy_host, DOMAIN_PART))
    if domain.tls_rpt:
        records.append(txt(zone, "_smtp._tls", ttl, tls_rpt_text(domain.tls_rpt), "tls-rpt"))
    if domain.mdm:
        for relative, target in MDM_CNAMES.items():
            records.append(cname(zone, relative, ttl, tenant_cnames.get(relative, target)))
    if domain.skype_for_business:
        records.append(srv(zone, "_sipfederationtls._tcp", ttl, 100, 1, 5061, "sipfed.online.lync.com"))
        records.append(srv(zone, "_sip._tls", ttl, 100, 1, 443, "sipdir.online.lync.com"))
        records.append(cname(zone, "sip", ttl, "sipdir.online.lync.com"))
        records.append(cname(zone, "lyncdiscover", ttl, "webdir.online.lync.com"))
    return records


def extra_record(domain: Domain, extra: ExtraRecord) -> Record:
    """A record from ``extraRecords``, its value normalised to presentation format."""
    rdtype = dns.rdatatype.from_text(extra.type)
    rdata = dns.rdata.from_text(_IN, rdtype, extra.value, origin=dns_name(fqdn(domain.name)))
    data = _fields(rdata) if extra.type in _STRUCTURED_TYPES else (rdata.to_text(),)
    name = owner(domain.name, extra.name.lower())
    return Record(name, extra.type, extra.ttl or domain.ttl, data, domain.name, _extra_slot(rdata))


def _extra_slot(rdata: dns.rdata.Rdata) -> str:
    """The value itself when short enough for a resource name, else a digest of it."""
    text = rdata.to_text()
    if rdata.rdtype == dns.rdatatype.CNAME:
        return ""
    if len(text) <= 64 and " " not in text and '"' not in text:
        return text
    return "v" + hashlib.sha256(text.encode()).hexdigest()[:12]


def _fields(rdata: Any) -> tuple[str | int, ...]:
    """The fields of an MX, TXT, CNAME or SRV rdata parsed from text."""
    if isinstance(rdata, dns.rdtypes.ANY.MX.MX):
        return (rdata.preference, rdata.exchange.to_text())
    if isinstance(rdata, dns.rdtypes.ANY.TXT.TXT):
        return tuple(s.decode("utf-8", "replace") for s in rdata.strings)
    if isinstance(rdata, dns.rdtypes.ANY.CNAME.CNAME):
        return (rdata.target.to_text(),)
    return (rdata.priority, rdata.weight, rdata.port, rdata.target.to_text())


def sort_records(zone: str, records: Iterable[Record]) -> tuple[Record, ...]:
    """Deterministic order: the apex first, then owner names, record types, values."""
    apex = fqdn(zone)
    return tuple(
        sorted(
            records,
            # Records of one type share the shape of their data, so data tuples compare field by field.
            key=lambda r: (r.name != apex, r.name, _TYPE_RANK[r.type], r.data),
        )
    )
