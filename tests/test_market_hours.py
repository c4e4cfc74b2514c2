"""Sessions and periods come from the tick's own UTC time converted to US/Eastern."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tickstock.legacy.market_hours import (
    detect_market_status,
    format_et_hms,
    get_market_period_detailed,
)

ET = ZoneInfo("America/New_York")


def et(y, mo, d, h, mi, s=0):
    return datetime(y, mo, d, h, mi, s, tzinfo=ET).timestamp()


@pytest.mark.parametrize(
    ("hms", "status", "period"),
    [
        ((3, 59, 59), "CLOSED", "CLOSED"),
        ((4, 0, 0), "PRE", "PREMARKET"),
        ((9, 29, 59), "PRE", "PREMARKET"),
        ((9, 30, 0), "REGULAR", "OPENING"),
        ((9, 44, 59), "REGULAR", "OPENING"),
        ((9, 45, 0), "REGULAR", "MIDDAY"),
        ((15, 29, 59), "REGULAR", "MIDDAY"),
        ((15, 30, 0), "REGULAR", "CLOSING"),
        ((16, 0, 0), "AFTER", "AFTERHOURS"),
        ((19, 59, 59), "AFTER", "AFTERHOURS"),
        ((20, 0, 0), "CLOSED", "CLOSED"),
    ],
    ids=lambda v: str(v),
)
def test_boundaries_on_a_winter_and_a_summer_weekday(hms, status, period):
    for day in [(2026, 1, 13), (2026, 7, 14)]:  # EST and EDT Tuesdays
        ts = et(*day, *hms)
        assert detect_market_status(ts) == status
        assert get_market_period_detailed(ts) == period
        assert format_et_hms(ts) == "{:02d}:{:02d}:{:02d}".format(*hms)


def test_weekend_is_closed_but_period_has_no_weekday_check():
    saturday_noon = et(2026, 3, 14, 12, 0)
    assert detect_market_status(saturday_noon) == "CLOSED"
    assert get_market_period_detailed(saturday_noon) == "MIDDAY"


def test_dst_switch_day_uses_the_right_offset():
    # 2026-03-09 is the Monday after the US switch to EDT (UTC-4): 13:30 UTC is 09:30 ET
    ts = datetime(2026, 3, 9, 13, 30, tzinfo=ZoneInfo("UTC")).timestamp()
    assert detect_market_status(ts) == "REGULAR"
    assert format_et_hms(ts) == "09:30:00"
