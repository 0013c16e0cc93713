"""Zone-file serials in RFC 1982 arithmetic: every write comes after what state and disk hold."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from mailflow.targets.zonefile import next_serial, serial_after

SERIALS = st.integers(min_value=0, max_value=2**32 - 1)
TODAY = datetime(2026, 11, 28, tzinfo=UTC)


@given(st.one_of(st.none(), SERIALS), st.one_of(st.none(), SERIALS))
def test_the_next_serial_comes_after_the_file_on_disk(previous: int | None, on_disk: int | None) -> None:
    """Secondaries compare with the serial they hold, the one on disk; without a file, with the
    one mailflow last wrote."""
    serial = next_serial(previous, on_disk, TODAY)
    assert 0 <= serial < 2**32
    if on_disk is not None:
        assert serial_after(serial, on_disk)
    elif previous is not None:
        assert serial_after(serial, previous)


def test_a_new_file_starts_at_todays_serial() -> None:
    assert next_serial(None, None, TODAY) == 2026112801


def test_a_serial_ahead_of_the_date_is_followed_not_reset() -> None:
    assert next_serial(2026112801, 2099010101, TODAY) == 2099010102


def test_serials_wrap_around_at_2_to_the_32() -> None:
    assert next_serial(2**32 - 1, None, TODAY) == 2026112801  # today's comes after the wrap
    assert serial_after(0, 2**32 - 1)
    assert not serial_after(2**32 - 1, 0)
    assert not serial_after(2**31, 0) and not serial_after(0, 2**31)  # undefined: half the space apart
