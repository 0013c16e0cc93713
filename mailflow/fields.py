"""Field types of the stack config: DNS names, networks, SPF terms, report URIs, TTLs, and the
model base every config section derives from."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainValidator
from pydantic.alias_generators import to_camel

from mailflow.errors import quote
from mailflow.names import normalize_name, relative_name
from mailflow.report_uris import dmarc_uri, mail_address, tls_rpt_uri
from mailflow.spf import SpfTerm, parse_term


def _hostname(value: str) -> str:
    return normalize_name(value, hostname=True)


def _dns_name(value: str) -> str:
    return normalize_name(value, hostname=False)


def _certificate_name(value: str) -> str:
    """A certificate's subject name: a host name, or a wildcard one (``*.pphosted.com``), as the
    connectors' ``TlsSenderCertificateName`` and ``TlsDomain`` take them."""
    wildcard = value.strip().startswith("*.")
    name = normalize_name(value.strip()[2:] if wildcard else value, hostname=True)
    return f"*.{name}" if wildcard else name


def _relative_name(value: str) -> str:
    """Checked, but kept as written: a name that differs from its published form only in case is
    worth naming when it meets a name mailflow plans."""
    relative_name(value)
    return value


_IPV4_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
# An IPv4 address in dotted decimal without leading zeros is already in the form published; any
# other text is parsed by ipaddress, which also says what is wrong with it.
_PLAIN_IPV4 = re.compile(rf"{_IPV4_OCTET}(?:\.{_IPV4_OCTET}){{3}}")


def _ip_network(value: str) -> str:
    text = value.strip()
    if _PLAIN_IPV4.fullmatch(text):
        return text
    try:
        network = ipaddress.ip_network(text, strict=True)
    except ValueError:
        try:
            ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise ValueError(f"{quote(value)} is not an IPv4 or IPv6 address or CIDR network") from None
        raise ValueError(f"{quote(value)} has host bits set; write the network address") from None
    if network.prefixlen == 0:
        raise ValueError(
            f"{quote(value)} is every IPv{network.version} address: it would trust any sender on the "
            "internet (as SPF +all would); list the servers' addresses or networks"
        )
    full = 32 if network.version == 4 else 128
    return str(network.network_address) if network.prefixlen == full else str(network)


def _spf_term(value: Any) -> SpfTerm:
    if isinstance(value, SpfTerm):
        return value
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not an SPF term; write it as text, e.g. 'ip4:192.0.2.1'")
    return parse_term(value)


HostName = Annotated[str, AfterValidator(_hostname)]
CertificateName = Annotated[str, AfterValidator(_certificate_name)]
MailAddress = Annotated[str, AfterValidator(mail_address)]


def _distinct(values: Sequence[str]) -> Sequence[str]:
    """A list whose entries must differ as Exchange Online compares them (without case): it
    refuses a connector parameter that names one value twice."""
    seen: dict[str, int] = {}
    for index, value in enumerate(values):
        first = seen.setdefault(value.casefold(), index)
        if first != index:
            raise ValueError(f"lists {quote(value)} twice (entries {first} and {index})")
    return values


TenantLabel = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")]
DnsName = Annotated[str, AfterValidator(_dns_name)]
IpNetwork = Annotated[str, AfterValidator(_ip_network)]
SpfTermText = Annotated[SpfTerm, PlainValidator(_spf_term)]
Ttl = Annotated[int, Field(ge=60, le=86400)]
RelativeName = Annotated[str, AfterValidator(_relative_name)]
DmarcUri = Annotated[str, AfterValidator(dmarc_uri)]
TlsRptUri = Annotated[str, AfterValidator(tls_rpt_uri)]


class Model(BaseModel):
    # Validators are built when first used, not at import: a run uses few of the models (a stack
    # without a tenant file never validates one), and each costs start-up time.
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True, defer_build=True
    )


Cloud = Literal["commercial", "gcc-high", "dod", "china"]

Distinct = AfterValidator(_distinct)
"""For lists of connector values: each entry once."""
