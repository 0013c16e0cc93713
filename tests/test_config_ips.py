"""IPs in config are published in the form ``ipaddress`` gives them, however they are written: an
address as it is, a network with its prefix; what ``ipaddress`` refuses is a config problem
(property tests over generated text)."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from mailflow.config import OnPremises

OCTET = st.integers(0, 300).map(str) | st.sampled_from(["00", "01", "007", "1e1", "+1", "\u0663", ""])
ADDRESS = st.lists(OCTET, min_size=3, max_size=5).map(".".join)
TEXT = st.tuples(
    st.sampled_from(["", " ", "\t"]),
    ADDRESS | st.sampled_from(["::1", "2001:db8::", "2001:DB8::1/128"]),
    st.sampled_from(["", "/32", "/24", "/0", "/33", "/", " ", "\n"]),
).map("".join)


@given(text=TEXT)
def test_an_ip_is_published_as_ipaddress_writes_it(text: str) -> None:
    try:
        network = ipaddress.ip_network(text.strip(), strict=True)
    except ValueError:
        network = None
    if network is None or network.prefixlen == 0:
        with pytest.raises(ValidationError):
            OnPremises.model_validate({"ips": [text]})
        return
    full = network.prefixlen == network.max_prefixlen
    published = str(network.network_address) if full else str(network)
    assert OnPremises.model_validate({"ips": [text]}).ips == [published]
