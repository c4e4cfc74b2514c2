"""TrendDetector: warm-up, up and down trends, emission interval, the None-VWAP fix."""

from __future__ import annotations

from detector_ticks import ET_1030, replay, tick

from tickstock.clock import TickClock
from tickstock.legacy.config import ConfigManager
from tickstock.legacy.detectors import TrendDetector
from tickstock.legacy.detectors.utils import get_price_bucket


def steady(step: float, n: int = 200, vwap: bool = True, **config: object):
    """One tick a second, price × (1 + step) each second from $100 (MIDDAY, Profile 2)."""
    clock = TickClock()
    det = TrendDetector(ConfigManager(dict(config)), clock)
    ticks = []
    price = 100.0
    for i in range(n):
        ticks.append(
            tick(round(price, 4), ET_1030 + i, vwap=round(price * 0.999, 4) if vwap else None)
        )
        price *= 1 + step
    out = replay(det.detect_trend, ticks, clock)
    return det, [(i, e) for i, evs in enumerate(out) for e in evs]


def test_a_steady_rise_is_an_up_trend_once_warm_up_is_over() -> None:
    # MIDDAY: 8 points per window → 24 needed, warm-up 90 s, emission interval 90 s
    _, events = steady(0.001)
    assert [i for i, _ in events] == [90, 180]
    first = events[0][1]
    assert first.direction == "up" and first.trend_strength == "strong"
    assert first.label == "TREND ↑ strong"
    assert first.count == 1 and first.count_up == 1 and first.count_down == 0
    assert first.trend_vwap_position == "above"
    assert 0 < first.trend_score <= 1
    assert first.time == ET_1030 + 90
    assert events[1][1].count_up == 2 and events[1][1].reversal is False


def test_a_steady_fall_is_a_down_trend() -> None:
    _, events = steady(-0.001)
    assert [i for i, _ in events] == [90, 180]
    assert all(e.direction == "down" and e.count_up == 0 for _, e in events)
    assert events[0][1].label == "TREND ↓ strong"


def test_a_flat_price_gives_no_trend() -> None:
    _, events = steady(0.0)
    assert events == []


def test_a_missing_vwap_loses_the_trend_and_counts_the_swallowed_error_as_tickstock_does() -> None:
    # reference §9: `price > vwap` with vwap None raises TypeError, caught inside detect_trend
    det, events = steady(0.001, n=100, vwap=False)
    assert events == []
    assert det.errors_swallowed >= 1 and "NoneType" in (det.last_swallowed or "")
    with_vwap, found = steady(0.001, n=100)
    assert found and with_vwap.errors_swallowed == 0  # the same ticks with a VWAP do trend


def test_the_opt_in_fix_takes_the_price_for_a_missing_vwap() -> None:
    det, events = steady(0.001, n=100, vwap=False, FIX_TREND_MISSING_VWAP=True)
    assert events and events[0][1].trend_vwap_position == "below"
    assert events[0][1].vwap is None and det.errors_swallowed == 0


def test_dynamic_thresholds_take_the_period_then_the_bucket_minimum_then_volatility() -> None:
    det = TrendDetector(ConfigManager(), TickClock())
    th = det.dynamic_thresholds("MIDDAY", get_price_bucket(150.0), "NORMAL")
    # the reference's worked example: min(0.025, 0.015) = 0.015, str 0.035, sens 1.5
    assert (th.direction_threshold, th.strength_threshold) == (0.015, 0.035)
    assert th.global_sensitivity == 1.5 and th.min_data_points_per_window == 8
    opening = det.dynamic_thresholds("OPENING", "MID", "HIGH")
    assert opening.direction_threshold == 0.015 * 0.7 and opening.warmup_period_seconds == 45
    assert det.dynamic_thresholds("MIDDAY", "MID", "NORMAL") is th  # memoised


def test_the_memoised_period_matches_market_hours_around_every_boundary() -> None:
    from tickstock.legacy.detectors.utils import market_period
    from tickstock.legacy.market_hours import get_market_period_detailed

    for hhmm in (400, 930, 945, 1530, 1600, 2000):
        boundary = ET_1030 + ((hhmm // 100) * 3600 + (hhmm % 100) * 60) - (10 * 3600 + 30 * 60)
        for dt in (-60.0, -0.5, -0.001, 0.0, 0.25, 59.9):
            ts = boundary + dt
            assert market_period(ts) == get_market_period_detailed(ts), (hhmm, dt)
