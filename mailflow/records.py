"""DNS records of a mail domain, as dnspython rdata: MX, SPF, DMARC, DKIM, autodiscover and extras."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property, lru_cache
from typing import Any

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.tokenizer

from mailflow.assigned import Assigned
from mailflow.config import Dmarc, Domain, ExtraRecord, MtaSts, TlsRpt
from mailflow.errors import quote
from mailflow.names import IDNA_2008, MAX_LABEL_OCTETS, MAX_NAME_OCTETS, fqdn, normalize_name
from mailflow.spf import is_spf_record, split_strings
from mailflow.topology import DOMAIN_PART, EXCHANGE_ONLINE_PART, MxTarget

_IN = dns.rdataclass.IN
RECORD_TYPE_ORDER = ("MX", "TXT", "CNAME", "SRV", "A", "AAAA", "CAA")
_TYPE_RANK = {rtype: rank for rank, rtype in enumerate(RECORD_TYPE_ORDER)}
MAX_RDATA_OCTETS = 65535
"""RFC 1035 §3.2.1: RDLENGTH is 16 bits."""
MDM_CNAMES = {
    "enterpriseregistration": "enterpriseregistration.windows.net",
    "enterpriseenrollment": "enterpriseenrollment-s.manage.microsoft.com",
}


@cache
def dns_name(text: str) -> dns.name.Name:
    """A dnspython name, built once per distinct text (targets repeat across domains)."""
    return dns.name.from_text(text)


def _rdata(rtype: str, data: tuple[str | int, ...]) -> dns.rdata.Rdata:
    """dnspython rdata from a record's fields; types mailflow does not build keep their text
    (absolute: it holds no names, or names completed when the value was parsed). The rdata
    classes come from dnspython's registry, which imports each on first use: most values are
    written without them (see ``_plain_text``)."""
    rdtype = dns.rdatatype.from_text(rtype)
    if rtype not in ("MX", "TXT", "CNAME", "SRV"):
        return dns.rdata.from_text(_IN, rdtype, str(data[0]))
    fields: tuple[Any, ...]
    if rtype == "MX":
        fields = (data[0], dns_name(str(data[1])))
    elif rtype == "TXT":
        fields = ([str(s).encode("ascii") for s in data],)
    elif rtype == "CNAME":
        fields = (dns_name(str(data[0])),)
    else:
        priority, weight, port, target = data
        fields = (priority, weight, port, dns_name(str(target)))
    rdata: dns.rdata.Rdata = dns.rdata.get_rdata_class(_IN, rdtype)(_IN, rdtype, *fields)
    return rdata


# Values that presentation format writes as they are: absolute names of letters, digits, '-', '_'
# and '*' within DNS's limits (63-octet labels, 255-octet names: RFC 1035 §2.3.4), and
# character-strings of at most 255 printable ASCII characters other than '"' and '\'. Anything
# else, hostile text included, is dnspython's to quote and escape.
_PLAIN_NAME = re.compile(r"(?=.{1,254}\Z)(?:\.|(?:[A-Za-z0-9_*-]{1,63}\.)+)\Z")
_PLAIN_STRING = re.compile(r"[ !#-\[\]-~]{0,255}\Z")


def _uint16(value: str | int) -> bool:
    return type(value) is int and 0 <= value <= 65535


def _name(value: str | int) -> bool:
    return isinstance(value, str) and _PLAIN_NAME.match(value) is not None


def _plain_text(rtype: str, data: tuple[str | int, ...]) -> str | None:
    """The presentation format of a value whose fields need no quoting or escaping: the text
    dnspython writes for it, without building its rdata. None for any other value."""
    if rtype == "TXT":
        if data and all(isinstance(s, str) and _PLAIN_STRING.match(s) for s in data):
            return " ".join(f'"{s}"' for s in data)
    elif rtype == "MX":
        if len(data) == 2 and _uint16(data[0]) and _name(data[1]):
            return f"{data[0]} {data[1]}"
    elif rtype == "CNAME":
        if len(data) == 1 and _name(data[0]):
            return str(data[0])
    elif rtype == "SRV" and len(data) == 4 and all(_uint16(n) for n in data[:3]) and _name(data[3]):
        return " ".join(str(field) for field in data)
    return None


def _presentation(rtype: str, data: tuple[str | int, ...]) -> str:
    """RFC 1035 presentation format of a value, as dnspython writes it."""
    plain = _plain_text(rtype, data)
    return plain if plain is not None else _rendered(rtype, data)


@lru_cache(maxsize=65536)
def _rendered(rtype: str, data: tuple[str | int, ...]) -> str:
    """dnspython's presentation format, rendered once per distinct value: extra records repeat
    across the domains of a stack."""
    return _rdata(rtype, data).to_text()


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
        return _rdata(self.type, self.data)

    @property
    def value(self) -> str:
        """RFC 1035 presentation format, e.g. ``10 mx1.example.net.`` or ``"v=spf1 … -all"``."""
        return _presentation(self.type, self.data)

    def relative_name(self) -> str:
        """``@`` for the apex, else the labels left of the zone (``selector1._domainkey``)."""
        apex = fqdn(self.zone)
        return "@" if self.name == apex else _relative_text(self.name[: -len(apex) - 1])


@lru_cache(maxsize=65536)
def _relative_text(relative: str) -> str:
    """A relative name as dnspython writes it, so that a zone file reads back this very name and
    nothing else; rendered once, as the same labels (``autodiscover``, ``_dmarc``) recur across
    the domains of a stack."""
    return dns.name.from_text(relative, origin=None, idna_codec=IDNA_2008).to_text()


def caa_fields(record: Record) -> dict[str, int | str]:
    """A CAA record's flags, tag and value, unescaped: providers take them as separate fields."""
    rdata: Any = record.rdata
    return {
        "flags": rdata.flags,
        "tag": rdata.tag.decode("ascii"),
        "value": rdata.value.decode("utf-8", "replace"),
    }


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


def verification_records(domain: Domain) -> list[Record]:
    """The MS= TXT record that proves to Microsoft 365 that the tenant holds the domain."""
    verification = domain.exchange_online.verification
    if not verification:
        return []
    return [txt(domain.name, "@", domain.ttl, verification, "verification", EXCHANGE_ONLINE_PART)]


def exchange_online_records(domain: Domain, assigned: Assigned) -> list[Record]:
    """Ownership TXT, autodiscover and DKIM CNAMEs that Microsoft 365 asks for."""
    zone, ttl = domain.name, domain.ttl
    records = verification_records(domain)
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
    """A record from ``extraRecords``; raise ``ValueError`` saying why its value cannot be published.

    A TXT value is the text to publish (see ``_txt_text``); other values are the type's RFC 1035
    presentation format, parsed by dnspython, relative names completed with the domain.
    """
    name = owner(domain.name, extra.relative_name)
    _refuse_control_characters(extra.value)
    data: tuple[str | int, ...]
    if extra.type == "TXT":
        text = _txt_text(extra.value)
        if name == fqdn(domain.name) and is_spf_record(text):
            raise ValueError(
                "a second SPF record at the apex is a permerror (RFC 7208 §3.2); "
                "add its terms to spf.extra instead"
            )
        data = split_strings(text)
        size = sum(len(string.encode()) + 1 for string in data)
        if size > MAX_RDATA_OCTETS:
            raise ValueError(
                f"is {size} octets as TXT data; a DNS record holds at most {MAX_RDATA_OCTETS} "
                "(RFC 1035 §3.2.1)"
            )
    else:
        data = _value_fields(extra.type, extra.value, domain.name)
    slot = _extra_slot(extra.type, _presentation(extra.type, data))
    return Record(name, extra.type, extra.ttl or domain.ttl, data, domain.name, slot)


def _txt_text(value: str) -> str:
    """The text a TXT value of ``extraRecords`` publishes: the value itself; or, when it starts
    with a double quote, the character-strings it writes in presentation format (as copied from a
    zone file: ``"v=DKIM1; k=rsa; " "p=MIIB…"``), joined. Either way mailflow splits the text into
    255-byte character-strings, and no quote of the presentation format ends up inside it.
    Printable ASCII only: receivers of verification tokens, SPF, DKIM and DMARC expect no other."""
    text = _quoted_text(value) if value.startswith('"') else value
    wrong = next((c for c in text if not (c.isascii() and c.isprintable())), None)
    if wrong is not None:
        raise ValueError(
            f"{quote(value)} holds {quote(wrong)}, which is not printable ASCII: TXT text here is "
            "ASCII (write it as the service asking for the record shows it)"
        )
    return text


_COMMENT = (
    "holds ';' outside quotes, which starts a comment in presentation format: what follows it "
    "would be dropped; quote the text that holds it"
)


def _quoted_text(value: str) -> str:
    tokens = dns.tokenizer.Tokenizer(value)
    strings: list[bytes] = []
    try:
        while not (token := tokens.get(want_comment=True)).is_eol_or_eof():
            if token.is_comment():
                raise ValueError(f"{quote(value)} {_COMMENT}")
            strings.append(token.unescape_to_bytes().value)
    except dns.exception.DNSException as error:
        raise ValueError(
            f"{quote(value)} is not TXT character-strings in presentation format ({error})"
        ) from None
    return b"".join(strings).decode("utf-8", "replace")


def _refuse_control_characters(value: str) -> None:
    """A line break would end the value for dnspython's parser, which would drop the rest unseen."""
    wrong = next((c for c in value if not c.isprintable()), None)
    if wrong is not None:
        raise ValueError(
            f"{quote(value)} holds {quote(wrong)}, a control or invisible character; a value is one line"
        )


def _value_fields(rtype: str, value: str, zone: str) -> tuple[str | int, ...]:
    """The fields of a value of another type than TXT (see ``Record.data``)."""
    try:
        rdata = dns.rdata.from_text(
            _IN,
            dns.rdatatype.from_text(rtype),
            value,
            origin=dns_name(fqdn(zone)),
            relativize=False,
            idna_codec=IDNA_2008,
        )
    except (dns.exception.DNSException, ValueError) as error:
        raise ValueError(f"{quote(value)} is not a valid {rtype} value ({_reason(error)})") from None
    if rdata.rdcomment is not None:
        raise ValueError(f"{quote(value)} {_COMMENT}")
    try:
        return _fields(rdata)
    except ValueError as error:
        raise ValueError(f"{quote(value)}: the name it points to {error}") from None


def _reason(error: Exception) -> str:
    """dnspython's reason, with the limits of names spelled out (it wraps them in SyntaxError)."""
    cause = error.__cause__ or error
    if isinstance(cause, dns.name.LabelTooLong):
        return f"a label of a name is over {MAX_LABEL_OCTETS} octets (RFC 1035 §2.3.4)"
    if isinstance(cause, dns.name.NameTooLong):
        return f"a name is over {MAX_NAME_OCTETS} octets once completed with the domain (RFC 1035 §2.3.4)"
    return str(error)


def _extra_slot(rtype: str, value: str) -> str:
    """The value itself when short enough for a resource name, else a digest of it."""
    if rtype == "CNAME":
        return ""
    if len(value) <= 64 and " " not in value and '"' not in value:
        return value
    return "v" + hashlib.sha256(value.encode()).hexdigest()[:12]


def _fields(rdata: Any) -> tuple[str | int, ...]:
    """The fields of a parsed MX, CNAME or SRV rdata, names checked and in lower case; the
    presentation text of other types."""
    if rdata.rdtype == dns.rdatatype.MX:
        return (rdata.preference, _target(rdata.exchange))
    if rdata.rdtype == dns.rdatatype.CNAME:
        return (_target(rdata.target),)
    if rdata.rdtype == dns.rdatatype.SRV:
        return (rdata.priority, rdata.weight, rdata.port, _target(rdata.target))
    text: str = rdata.to_text()
    return (text,)


def _target(name: dns.name.Name) -> str:
    """A name a record points to: letters, digits, hyphens and underscores, as providers take it;
    the root stands for "no service" (RFC 7505 null MX, RFC 2782 SRV)."""
    return "." if name == dns.name.root else fqdn(normalize_name(name.to_text(), hostname=False))


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
