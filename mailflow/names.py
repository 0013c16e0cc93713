"""DNS name checks shared by the config model, the SPF parser and extra records: labels, lengths,
internationalised names (IDNA 2008) and names relative to a domain."""

from __future__ import annotations

import re
import unicodedata

import dns.name
import idna

from mailflow.errors import quote

MAX_LABEL_OCTETS = 63
MAX_NAME_OCTETS = 255
"""RFC 1035 §2.3.4, counted in wire format: each label with its length octet, and the root."""

_NOT_HOST_LABEL = re.compile(r"[^a-z0-9-]")
_NOT_SERVICE_LABEL = re.compile(r"[^a-z0-9_-]")
# The common case, a lowercase host name of LDH labels within 253 characters, is settled by one
# regular expression; anything else is taken apart label by label, which also words the error.
_PLAIN_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"
)
# The same with underscores in the labels left of the last (``selector1._domainkey.…`` and the
# CNAME targets Microsoft gives for them).
_SERVICE_NAME = re.compile(
    r"^(?=.{1,253}$)(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)+[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"
)


def a_label(label: str) -> str:
    """The IDNA 2008 A-label of one label (RFC 5891 §4), an ASCII label as it is; raise
    ``ValueError`` saying why the label is not a valid internationalised label.

    The label is lowercased and put in NFC first (names are case-insensitive, and NFC is what
    text copied from another system may lack), but not mapped by UTS #46: that mapping drops
    invisible characters such as a zero-width space or a soft hyphen and folds look-alikes, so
    that differently written config would name one domain without anyone seeing it. Such
    characters are refused instead, as IDNA 2008 itself does.
    """
    if label.isascii():
        return label
    unicode = unicodedata.normalize("NFC", label.lower())
    if unicode.isascii():
        return unicode
    encoded = "xn--" + unicode.encode("punycode").decode("ascii")
    _check_label_length(encoded, label)
    try:
        idna.check_label(unicode)
    except idna.IDNABidiError:
        raise ValueError(
            f"label {quote(label)} mixes right-to-left and left-to-right characters in a way the "
            "Bidi rule refuses (IDNA 2008, RFC 5893)"
        ) from None
    except idna.IDNAError as error:
        if error.codepoint is None:
            raise ValueError(
                f"label {quote(label)} is not a valid internationalised label (IDNA 2008, RFC 5891): {error}"
            ) from None
        character = f"U+{error.codepoint:04X} {unicodedata.name(chr(error.codepoint), '')}".rstrip()
        raise ValueError(
            f"label {quote(label)} holds {character}, which IDNA 2008 does not allow there (RFC 5892); "
            "write the name without it"
        ) from None
    return encoded


def _check_label_length(label: str, written: str) -> None:
    if len(label) > MAX_LABEL_OCTETS:
        shown = quote(written) if label == written else f"{quote(written)} (A-label {quote(label)})"
        raise ValueError(f"label {shown} is {len(label)} octets, over {MAX_LABEL_OCTETS} (RFC 1035 §2.3.4)")


def _label(written: str, *, hostname: bool) -> str:
    """One label in its published form (lowercase, A-label); raise ``ValueError`` saying why not."""
    if not written:
        raise ValueError("has an empty label (two dots in a row, or a dot at the start)")
    label = a_label(written.lower())
    wrong = (_NOT_HOST_LABEL if hostname else _NOT_SERVICE_LABEL).search(label)
    if wrong is not None:
        allowed = "letters, digits and hyphens" if hostname else "letters, digits, hyphens and underscores"
        raise ValueError(f"label {quote(written)} holds {quote(wrong.group())}; a label holds only {allowed}")
    if label.startswith("-") or label.endswith("-"):
        raise ValueError(f"label {quote(written)} starts or ends with a hyphen")
    _check_label_length(label, written)
    return label


def name_octets(name: str) -> int:
    """The wire-format length of an absolute ASCII name: its text with a length octet in place of
    each dot, one more before the first label, and the root's zero octet."""
    text = name.removesuffix(".")
    return len(text) + 2 if text else 1


def too_long(name: str) -> str | None:
    """Why ``name`` (absolute, ASCII) is too long for DNS, or None when it fits."""
    octets = name_octets(name)
    if octets <= MAX_NAME_OCTETS:
        return None
    return f"{quote(name)} is {octets} octets, over {MAX_NAME_OCTETS} (RFC 1035 §2.3.4)"


def normalize_name(text: str, *, hostname: bool) -> str:
    """Lowercase ``text`` without its trailing dot, internationalised labels as A-labels, or raise
    ``ValueError`` saying why it is no name.

    ``hostname`` demands letters, digits and hyphens only (RFC 1123), as MX targets and zone
    apexes need; otherwise underscores are allowed, as in ``selector1._domainkey``.
    """
    candidate = text.strip().lower().removesuffix(".")
    if _PLAIN_HOSTNAME.match(candidate) or (not hostname and _SERVICE_NAME.match(candidate)):
        return candidate
    if not candidate:
        raise ValueError("is empty; expected a DNS name such as 'contoso.com'")
    written = candidate.split(".")
    if len(written) < 2:
        raise ValueError(f"{quote(text)} is not a fully qualified name (it needs at least two labels)")
    kind = "host name" if hostname else "DNS name"
    try:
        name = ".".join(_label(label, hostname=hostname) for label in written)
    except ValueError as error:
        raise ValueError(f"{quote(text)} is not a valid {kind}: {error}") from None
    reason = too_long(name)
    if reason is not None:
        raise ValueError(f"is not a valid {kind}: {reason}")
    return name


def relative_name(text: str) -> str:
    """A name relative to a domain, as ``extraRecords`` write it, in its published form: ``@`` for
    the apex, else lowercase labels of letters, digits, hyphens and underscores (internationalised
    ones as A-labels), the first of them possibly the wildcard ``*``. Raise ``ValueError`` saying
    why ``text`` is not one."""
    if text == "@":
        return text
    if text.endswith("."):
        raise ValueError(
            f"{quote(text)} ends with a dot, but names here are relative to the domain: leave the dot "
            "out ('@' is the domain itself)"
        )
    first, *rest = text.split(".")
    wildcard = ["*"] if first == "*" else []
    labels = rest if wildcard else [first, *rest]
    try:
        if any("*" in label for label in labels):
            raise ValueError("a wildcard '*' is a whole label, and only the first one")
        return ".".join([*wildcard, *(_label(label, hostname=False) for label in labels)])
    except ValueError as error:
        raise ValueError(
            f"{quote(text)} is not a name relative to the domain ('@', or labels such as 'mail' or "
            f"'_sip._tcp'): {error}"
        ) from None


def folded(text: str) -> str:
    """What two spellings of one name have in common, case and a trailing dot aside: the key
    under which names written by people and by Microsoft's tools are compared."""
    return text.strip().lower().rstrip(".")


def fqdn(name: str) -> str:
    """The absolute form with a trailing dot, as zone files and the plan's JSON write it."""
    return name if name.endswith(".") else f"{name}."


def service_name(text: str) -> str:
    """A name of letters, digits, '-' and '_' only, such as the DKIM CNAME targets Microsoft
    assigns; raise ``ValueError`` otherwise."""
    name = normalize_name(text, hostname=False)
    if not _SERVICE_NAME.match(name):
        raise ValueError(f"{quote(text)} is not a DNS name of letters, digits, '-' and '_'")
    return name


class Idna2008Codec(dns.name.IDNACodec):
    """dnspython's codec for names inside record values: ASCII labels as written, others through
    ``a_label``, so that values follow the same IDNA 2008 rule as config names."""

    def encode(self, label: str) -> bytes:
        return a_label(label).encode("ascii")


IDNA_2008 = Idna2008Codec()  # type: ignore[no-untyped-call]  # dnspython's IDNACodec.__init__ is untyped
