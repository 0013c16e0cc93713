"""Field types of the stack config: DNS names, networks, SPF terms, report URIs, TTLs, and the
model base every config section derives from."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainValidator
from pydantic.alias_generators import to_camel

from mailflow.names import normalize_name
from mailflow.spf import SpfTerm, parse_term


def _hostname(value: str) -> str:
    return normalize_name(value, hostname=True)


def _dns_name(value: str) -> str:
    return normalize_name(value, hostname=False)


def _ip_network(value: str) -> str:
    try:
        network = ipaddress.ip_network(value.strip(), strict=True)
    except ValueError:
        try:
            ipaddress.ip_network(value.strip(), strict=False)
        except ValueError:
            raise ValueError(f"'{value}' is not an IPv4 or IPv6 address or CIDR network") from None
        raise ValueError(f"'{value}' has host bits set; write the network address") from None
    full = 32 if network.version == 4 else 128
    return str(network.network_address) if network.prefixlen == full else str(network)


def _spf_term(value: Any) -> SpfTerm:
    if isinstance(value, SpfTerm):
        return value
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not an SPF term; write it as text, e.g. 'ip4:192.0.2.1'")
    return parse_term(value)


def _report_uri(schemes: tuple[str, ...]) -> Callable[[str], str]:
    def check(value: str) -> str:
        scheme, _, rest = value.partition(":")
        if scheme.lower() not in schemes or not rest:
            raise ValueError(f"'{value}' is not a {' or '.join(s + ':' for s in schemes)} URI")
        if scheme.lower() == "mailto":
            address = rest.split("!", 1)[0]
            local, at, domain = address.rpartition("@")
            if not at or not local:
                raise ValueError(f"'{value}' is not a mailto: URI with an e-mail address")
            _hostname(domain)
        return value

    return check


HostName = Annotated[str, AfterValidator(_hostname)]
DnsName = Annotated[str, AfterValidator(_dns_name)]
IpNetwork = Annotated[str, AfterValidator(_ip_network)]
SpfTermText = Annotated[SpfTerm, PlainValidator(_spf_term)]
Ttl = Annotated[int, Field(ge=60, le=86400)]
MailtoUri = Annotated[str, AfterValidator(_report_uri(("mailto",)))]
TlsRptUri = Annotated[str, AfterValidator(_report_uri(("mailto", "https")))]


class Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


Cloud = Literal["commercial", "gcc-high", "dod", "china"]
