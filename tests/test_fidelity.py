"""Golden tests: the legacy stack reproduces the real TickStock pipeline where the earlier reading
of it was wrong (tickstock-reference.md §9), and each opt-in fix (docs/tickstock-semantics.md,
"Opt-in fixes") gives back the behaviour it names. Hand-made ticks through the whole stack
(MarketDataService → EventProcessor → detectors → workers), as a user would run it."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tickstock.generated import GeneratedTick
from tickstock.stacks import legacy

ET = ZoneInfo("America/New_York")
T1030 = int(datetime(2026, 3, 10, 10, 30, tzinfo=ET).timestamp()) * 10**9


def run(ticks: list[GeneratedTick], **fixes: bool) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    stack = legacy({"environment": False, "tickstock": dict(fixes)})
    events = [e for t in ticks for e in stack.process(t)]
    events += stack.flush()
    stats = stack.stats()
    stack.close()
    return events, stats


def rising(n: int = 200, vwap: bool = True, open_price: float = 95.0) -> list[GeneratedTick]:
    """One tick a second, +0.1 %/s from $100, in the regular session (10:30 ET on)."""
    out, price = [], 100.0
    for i in range(n):
        p = round(price, 4)
        out.append(
            GeneratedTick(
                i, T1030 + i * 10**9, "ACME", p, 1000, vwap=round(p * 0.999, 4) if vwap else None,
                market_open_price=open_price,
            )
        )  # fmt: skip
        price *= 1.001
    return out


def trends(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == "trend"]


def test_trend_percent_change_is_measured_from_the_previous_price_not_the_open():
    ticks = rising()
    by_seq = {t.seq: t for t in ticks}
    found = trends(run(ticks)[0])
    assert len(found) == 2
    for e in found:
        price, previous = by_seq[e["tick_seq"]].price, by_seq[e["tick_seq"] - 1].price
        # StockData never holds the open: the base falls back to the previous last_price
        assert e["percent_change"] == pytest.approx((price - previous) / previous * 100)
        assert abs(e["percent_change"]) < 0.2
    fixed = trends(run(ticks, FIX_STORE_MARKET_OPEN_PRICE=True)[0])
    assert [e["tick_seq"] for e in fixed] == [e["tick_seq"] for e in found]
    for e in fixed:
        price = by_seq[e["tick_seq"]].price
        assert e["percent_change"] == pytest.approx((price - 95.0) / 95.0 * 100)


def test_a_high_before_any_low_carries_current_low_none():
    ticks = rising(30)
    highs = [e for e in run(ticks)[0] if e["type"] == "high"]
    assert highs and all(e["type"] == "high" for e in highs)
    for e in highs:  # no low has been set on this rising day
        assert e["current_low"] is None
        assert e["event_specific_data"]["highlow_current_low"] is None
    fixed = [e for e in run(ticks, FIX_HIGHLOW_CURRENT_LOW=True)[0] if e["type"] == "high"]
    assert [e["current_low"] for e in fixed] == [95.0] * len(fixed)  # the seeded session low


def test_a_day_without_vwap_has_no_trends_and_counts_the_swallowed_errors():
    ticks = rising(vwap=False)
    events, stats = run(ticks)
    assert trends(events) == []
    detector = stats["detector"]
    assert detector["trend_errors_swallowed"] >= 2 and detector["detection_errors"] == 0
    assert "NoneType" in detector["trend_last_swallowed"]
    assert [e for e in events if e["type"] == "high"]  # highs and lows are unaffected
    fixed, fixed_stats = run(ticks, FIX_TREND_MISSING_VWAP=True)
    assert len(trends(fixed)) == 2 and fixed_stats["detector"]["trend_errors_swallowed"] == 0
    assert {e["trend_vwap_position"] for e in trends(fixed)} == {"below"}


def test_transport_dicts_have_no_top_level_timestamp_unless_asked():
    ticks = rising(30)
    events = run(ticks)[0]
    assert events and all("timestamp" not in e for e in events)
    by_seq = {t.seq: t for t in ticks}
    with_ts = run(ticks, EVENT_TIMESTAMP_FIELD=True)[0]
    assert [e["timestamp"] for e in with_ts] == [by_seq[e["tick_seq"]].ts / 1e9 for e in with_ts]
