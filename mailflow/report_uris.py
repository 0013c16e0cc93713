"""Report URIs of DMARC (RFC 7489 §6.2) and TLS-RPT (RFC 8460 §3): checked so that none can end
its tag and start another, and put in the one form the record publishes."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from mailflow.errors import quote
from mailflow.names import normalize_name

# RFC 3986 §2: what a URI may hold unencoded (non-ASCII host names are converted, not refused here).
_NOT_URI_CHARACTER = re.compile(r"[^A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]")
# The characters to look at: those a URI holds unencoded are fine, but for ';' and ','.
_SUSPECT_CHARACTER = re.compile(r"[;,]|" + _NOT_URI_CHARACTER.pattern)
# RFC 5322 §3.2.3 atext that RFC 6068 lets a mailto: URI hold unencoded, and percent-encodings.
_MAILTO_LOCAL_PART = re.compile(r"(?:[A-Za-z0-9._~'*+=$&/-]|%[0-9A-Fa-f]{2})+")
_SIZE_LIMIT = re.compile(r"[0-9]+[kmgt]?", re.IGNORECASE)
_HTTPS = re.compile(r"https://(?P<host>[^/?#:@]+)(?::(?P<port>[0-9]{1,5}))?(?P<rest>[/?#].*)?", re.IGNORECASE)


def _unsafe_character(value: str, tag: str) -> str | None:
    """Why a character of ``value`` cannot stand in a report URI, or None. A ``;`` would end the
    tag, so that what follows is read as another tag (``pct=0``, a second ``ruf``)."""
    for suspect in _SUSPECT_CHARACTER.finditer(value):
        character = suspect.group()
        if character == ";":
            return (
                f"holds ';', which ends the {tag} tag: what follows would be read as another tag. "
                "Percent-encode it as %3B if the address really holds it"
            )
        if character == ",":
            return (
                f"holds ',', which separates the URIs of the {tag} tag: list each URI as its own "
                "entry, or percent-encode it as %2C if the address really holds it"
            )
        if character.isspace() or not character.isprintable():
            return f"holds {quote(character)}, which no URI holds (RFC 3986 §2); percent-encode it"
        if character.isascii():
            return f"holds {quote(character)}, which no URI holds unencoded (RFC 3986 §2); percent-encode it"
    return None


def _mailto(address: str, value: str) -> str:
    local, at, host = address.partition("@")
    if not at or not local or "@" in host:
        raise ValueError(f"{quote(value)} is not a mailto: URI with one e-mail address (local-part@domain)")
    if not _MAILTO_LOCAL_PART.fullmatch(local):
        raise ValueError(
            f"{quote(value)}: the local part {quote(local)} holds a character a mailto: URI must "
            "percent-encode (RFC 6068 §2)"
        )
    if local.startswith(".") or local.endswith(".") or ".." in local:
        raise ValueError(
            f"{quote(value)}: the local part {quote(local)} starts or ends with a dot, or has two in a row "
            "(RFC 5322 §3.4.1)"
        )
    try:
        return f"mailto:{local}@{normalize_name(host, hostname=True)}"
    except ValueError as error:
        raise ValueError(f"{quote(value)}: the domain {error}") from None


def mail_address(value: str) -> str:
    """An e-mail address (``local-part@domain``), held to the rules of a mailto: URI's address;
    returns it with the domain as an A-label. Raises ``ValueError`` saying what is wrong."""
    return _mailto(value.strip(), value).removeprefix("mailto:")


def _https(value: str) -> str:
    parts = _HTTPS.fullmatch(value)
    if parts is None:
        raise ValueError(f"{quote(value)} is not an https: URI with a host name (https://host/path)")
    try:
        host = normalize_name(parts["host"], hostname=True)
    except ValueError as error:
        raise ValueError(f"{quote(value)}: the host {error}") from None
    port = parts["port"]
    if port is not None and not 0 < int(port) < 65536:
        raise ValueError(f"{quote(value)}: port {port} is not between 1 and 65535")
    return f"https://{host}{f':{port}' if port else ''}{parts['rest'] or ''}"


def dmarc_uri(value: str) -> str:
    """A DMARC ``rua``/``ruf`` URI: ``mailto:`` an address, with an optional size limit
    (``!10m``); ``,`` and ``!`` in the address percent-encoded (RFC 7489 §6.2). Returns its
    published form (lowercase scheme, host as A-label); raises ``ValueError`` saying what is wrong."""
    scheme, colon, rest = value.partition(":")
    if scheme.lower() != "mailto" or not colon or not rest:
        raise ValueError(f"{quote(value)} is not a mailto: URI")
    problem = _unsafe_character(rest, "rua/ruf")
    if problem is not None:
        raise ValueError(f"{quote(value)} {problem} (RFC 7489 §6.2, §6.4)")
    address, bang, size = rest.partition("!")
    if bang and not _SIZE_LIMIT.fullmatch(size):
        raise ValueError(
            f"{quote(value)}: the size limit after '!' is digits and an optional unit k, m, g or t "
            "(RFC 7489 §6.2), e.g. '!10m'; a '!' of the address itself is written %21"
        )
    return _mailto(address, value) + (f"!{size.lower()}" if bang else "")


def tls_rpt_uri(value: str) -> str:
    """A TLS-RPT ``rua`` URI: ``mailto:`` an address or ``https:`` a host (RFC 8460 §3). Returns
    its published form; raises ``ValueError`` saying what is wrong."""
    scheme, colon, rest = value.partition(":")
    if scheme.lower() not in ("mailto", "https") or not colon or not rest:
        raise ValueError(f"{quote(value)} is not a mailto: or https: URI")
    problem = _unsafe_character(rest, "rua")
    if problem is not None:
        raise ValueError(f"{quote(value)} {problem} (RFC 8460 §3)")
    if scheme.lower() == "https":
        return _https(value)
    if "!" in rest:
        raise ValueError(
            f"{quote(value)} holds '!': TLS-RPT URIs take no size limit (RFC 8460 §3); a '!' of the "
            "address itself is written %21"
        )
    return _mailto(rest, value)


def report_host(uri: str) -> str:
    """The host that receives reports sent to ``uri``, a URI in its published form."""
    if uri.startswith("https:"):
        return urlsplit(uri).hostname or ""
    return uri.split("!", 1)[0].rpartition("@")[2]
