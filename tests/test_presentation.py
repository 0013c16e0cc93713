"""Record values in presentation format: a value whose fields need no escaping is written without
building its rdata, and must read exactly as dnspython writes that rdata; any other value, hostile
text included, is dnspython's to quote and escape (property tests over generated fields)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailflow.records import Record

# Letters, digits and the characters that decide between writing a value as it is and escaping
# it: quotes, backslashes, zone-file syntax, whitespace, control and non-ASCII characters.
CHARACTERS = st.sampled_from(list("aZ09-_*.") + list('"\\();@$ \t\n\r\x00\x7f~!#[]`') + ["é", "\u200b"])
TEXT = (
    st.text(CHARACTERS, max_size=70)
    | st.text(max_size=20)
    | st.text(CHARACTERS, min_size=250, max_size=260)
    | st.text(st.sampled_from("a= "), min_size=254, max_size=257)
)
LABEL = st.text(CHARACTERS, min_size=1, max_size=8) | st.sampled_from(
    ["mx1", "_domainkey", "*", "x" * 63, "x" * 64]
)
# Names around the 255-octet limit: three 63-octet labels and one of 57 to 65.
LONG_NAME = st.integers(250, 258).map(lambda length: ("x" * 63 + ".") * 3 + "y" * (length - 193) + ".")
NAME = (
    st.lists(LABEL, min_size=1, max_size=5).map(lambda labels: ".".join(labels) + ".")
    | LONG_NAME
    | TEXT
    | st.just(".")
)
NUMBER = st.integers(-2, 70000) | st.sampled_from([0, 65535, 65536])


def _record(rtype: str, data: tuple[Any, ...]) -> Record:
    return Record("x.contoso.com.", rtype, 3600, data, "contoso.com")


def _written_as_dnspython_writes_it(record: Record) -> None:
    try:
        expected = record.rdata.to_text()
    except Exception as error:
        with pytest.raises(type(error)):
            _ = record.value
    else:
        assert record.value == expected


@given(strings=st.lists(TEXT, max_size=3).map(tuple))
def test_txt_values_read_as_dnspython_writes_them(strings: tuple[str, ...]) -> None:
    _written_as_dnspython_writes_it(_record("TXT", strings))


@given(priority=NUMBER, host=NAME)
def test_mx_values_read_as_dnspython_writes_them(priority: int, host: str) -> None:
    _written_as_dnspython_writes_it(_record("MX", (priority, host)))


@given(target=NAME)
def test_cname_values_read_as_dnspython_writes_them(target: str) -> None:
    _written_as_dnspython_writes_it(_record("CNAME", (target,)))


@given(priority=NUMBER, weight=NUMBER, port=NUMBER, target=NAME)
def test_srv_values_read_as_dnspython_writes_them(priority: int, weight: int, port: int, target: str) -> None:
    _written_as_dnspython_writes_it(_record("SRV", (priority, weight, port, target)))


@pytest.mark.parametrize(
    ("rtype", "data", "value"),
    [
        (
            "TXT",
            ('x" 60 IN NS evil.example. ; $INCLUDE /etc/passwd',),
            '"x\\" 60 IN NS evil.example. ; $INCLUDE /etc/passwd"',
        ),
        ("TXT", ("a\\b", "line\nbreak"), '"a\\\\b" "line\\010break"'),
        (
            "CNAME",
            ("evil.example.\n@ IN NS evil.example.",),
            "evil.example.\\010\\@\\032IN\\032NS\\032evil.example.",
        ),
        ("MX", (10, "x;y.example."), "10 x\\;y.example."),
        ("SRV", (0, 1, 443, "$INCLUDE.example."), "0 1 443 \\$INCLUDE.example."),
    ],
)
def test_hostile_text_in_a_value_is_escaped(rtype: str, data: tuple[Any, ...], value: str) -> None:
    assert _record(rtype, data).value == value


def test_a_value_that_needs_no_escaping_is_written_without_building_its_rdata(monkeypatch) -> None:
    def refuse(*_: object) -> None:
        raise AssertionError("rdata built")

    monkeypatch.setattr("mailflow.records._rdata", refuse)
    assert _record("MX", (10, "mx1.filter.example.net.")).value == "10 mx1.filter.example.net."
    assert _record("TXT", ("v=spf1 -all", "x" * 255)).value == f'"v=spf1 -all" "{"x" * 255}"'
    assert _record("CNAME", ("selector1-x._domainkey.t.onmicrosoft.com.",)).value.startswith("selector1-x.")
    assert (
        _record("SRV", (100, 1, 443, "sipdir.online.lync.com.")).value == "100 1 443 sipdir.online.lync.com."
    )
