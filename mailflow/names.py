"""DNS name checks shared by the config model and the SPF parser (dnspython does the parsing)."""

from __future__ import annotations

import re

import dns.exception
import dns.name

_LDH_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
# The common case, a lowercase host name of LDH labels within 253 characters, is settled without
# building a dns.name.Name; anything else goes through dnspython, which also words the error.
_PLAIN_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"
)
# The same with underscores in the labels left of the last (``selector1._domainkey.…`` and the
# CNAME targets Microsoft gives for them).
_SERVICE_NAME = re.compile(
    r"^(?=.{1,253}$)(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)+[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"
)


def normalize_name(text: str, *, hostname: bool) -> str:
    """Lowercase ``text`` without its trailing dot, or raise ``ValueError`` saying why it is no name.

    ``hostname`` demands letters, digits and hyphens only (RFC 1123), as MX targets and zone
    apexes need; otherwise underscores are allowed, as in ``selector1._domainkey``.
    """
    candidate = text.strip().lower().rstrip(".")
    if _PLAIN_HOSTNAME.match(candidate) or (not hostname and _SERVICE_NAME.match(candidate)):
        return candidate
    if not candidate:
        raise ValueError("is empty; expected a DNS name such as 'contoso.com'")
    try:
        name = dns.name.from_text(candidate)
    except dns.exception.DNSException as error:
        raise ValueError(f"'{text}' is not a valid DNS name ({error})") from None
    labels = [label.decode("ascii", "replace") for label in name.labels if label]
    if len(labels) < 2:
        raise ValueError(f"'{text}' is not a fully qualified name (it needs at least two labels)")
    if hostname:
        bad = next((label for label in labels if not _LDH_LABEL.match(label)), None)
        if bad is not None:
            raise ValueError(
                f"'{text}' is not a valid host name: label '{bad}' may hold only letters, "
                "digits and inner hyphens"
            )
    return candidate


def fqdn(name: str) -> str:
    """The absolute form with a trailing dot, as zone files and the plan's JSON write it."""
    return name if name.endswith(".") else f"{name}."


def service_name(text: str) -> str:
    """A name of letters, digits, '-' and '_' only, such as the DKIM CNAME targets Microsoft
    assigns; raise ``ValueError`` otherwise."""
    name = normalize_name(text, hostname=False)
    if not _SERVICE_NAME.match(name):
        raise ValueError(f"'{text}' is not a DNS name of letters, digits, '-' and '_'")
    return name
