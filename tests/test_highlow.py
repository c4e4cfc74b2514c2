"""HighLowDetector on hand-built ticks: gate, cooldown, bounds that move only on emission, lows."""

from __future__ import annotations

import pytest
from detector_ticks import ET_1030, replay, tick

from tickstock.clock import TickClock
from tickstock.legacy.detectors import HighLowDetector
from tickstock.legacy.stock_data import StockData


def run(prices_and_times, config=None, **kw):
    clock = TickClock()
    det = HighLowDetector(config or {}, clock)
    ticks = [tick(p, ET_1030 + dt, market_open_price=50.0, **kw) for p, dt in prices_and_times]
    return det, replay(det.detect_highlow, ticks, clock)


def test_a_new_high_needs_the_minimum_percent_change_from_the_open() -> None:
    # $50 band: min 0.08 % (0.1 × 0.8) or $0.05 — but last_price is overwritten before the gate,
    # so only |%chg from the open (50.00)| can open it.
    _, out = run([(50.00, 0), (50.03, 2), (50.05, 4)])
    assert out[0] == [] and out[1] == []  # 50.03 is above the session high but only +0.06 %
    (high,) = out[2]
    assert high.type == "high" and high.direction == "up"
    assert high.label == "HIGH #1" and high.count == 1 and high.count_up == 1
    assert high.previous_high == 50.0 and high.session_high == 50.05
    assert high.percent_change == pytest.approx(0.1)
    assert high.time == ET_1030 + 4 and high.last_update == ET_1030 + 4
    assert not high.is_initial


def test_cooldown_blocks_and_session_bounds_move_only_on_emission() -> None:
    _, out = run([(50.05, 0), (50.10, 0.5), (50.08, 1.5)])
    assert [e.price for e in out[0]] == [50.05]
    assert out[1] == []  # 0.5 s after the last event: inside the 1 s cooldown
    (second,) = out[2]  # 50.08 < 50.10 but the bound never moved to 50.10
    assert second.label == "HIGH #2" and second.previous_high == 50.05


def test_a_low_after_a_high_is_a_v_top_reversal() -> None:
    _, out = run([(50.05, 0), (49.90, 3)])
    (low,) = out[1]
    assert low.type == "low" and low.direction == "down" and low.label == " LOW #1"
    assert low.count == 2 and low.count_up == 1 and low.count_down == 1
    assert low.reversal is True
    assert low.reversal_info["type"] == "V-top" and low.reversal_info["time_span"] == 3.0
    assert low.reversal_info["is_rapid"] is True
    assert low.session_low == 49.90 and low.session_high == 50.05


def test_significance_tops_out_at_fifty() -> None:
    # 10 % move → price score capped at 50; no volume average yet → volume score 0 → 25
    _, out = run([(55.0, 0)])
    assert out[0][0].significance_score == 25.0
    det, out = run([(50.0, 0), (50.0, 2), (50.0, 4), (50.0, 6), (50.0, 8), (60.0, 10)],
                   volume=1000)  # fmt: skip
    # average volume over 6 equal volumes → ratio 1 → 25; (50 + 25) / 2
    assert out[5][0].significance_score == 37.5


def test_a_market_status_change_resets_the_bounds_to_the_price() -> None:
    clock = TickClock()
    det = HighLowDetector({}, clock)
    ticks = [
        tick(50.0, ET_1030, market_status="PRE"),
        tick(51.0, ET_1030 + 5, market_status="REGULAR", market_open_price=50.0),
        tick(51.2, ET_1030 + 10, market_status="REGULAR", market_open_price=50.0),
    ]
    out = replay(det.detect_highlow, ticks, clock)
    assert out[1] == []  # bounds reset to 51.0 on the status change: not above them
    assert [e.label for e in out[2]] == ["HIGH #1"]
    assert out[2][0].previous_high == 51.0


def test_outside_regular_hours_the_base_is_the_previous_price() -> None:
    clock = TickClock()
    det = HighLowDetector({}, clock)
    ticks = [
        tick(50.0, ET_1030, market_status="AFTER"),
        tick(50.2, ET_1030 + 5, market_status="AFTER"),
    ]
    out = replay(det.detect_highlow, ticks, clock)
    assert out[1][0].percent_change == pytest.approx(0.4)


def test_highs_carry_the_trend_flag_once_the_lightweight_check_is_warm() -> None:
    from detector_ticks import event_detector

    from tickstock.legacy.stock_data import StockData

    # base thresholds lowered so a +0.1 %/s rise counts; warm-up 180 s, 30 points
    det, clock = event_detector(
        {"TREND_DIRECTION_THRESHOLD": 0.05, "TREND_STRENGTH_THRESHOLD": 0.1}
    )
    stock = StockData(ticker="ACME")
    flags = {}
    price = 50.0
    for i in range(200):
        t = tick(round(price, 4), ET_1030 + i, market_open_price=50.0, vwap=round(price * 0.999, 4))
        clock.set(t.timestamp)
        for e in det.detect_events(t, stock):
            if e.type == "high":
                flags[i] = e.trend_flag
        stock.last_price = t.price
        price *= 1.001
    assert flags[179] is None and flags[180] == "up" and flags[199] == "up"
    assert det.stats["detection_errors"] == 0


def test_alternating_extremes_form_a_w_bottom() -> None:
    # low, high, low, then high again within the reversal window → V-bottom with a W-bottom pattern
    _, out = run([(49.90, 0), (50.10, 2), (49.80, 4), (50.20, 6)])
    kinds = [e.type for evs in out for e in evs]
    assert kinds == ["low", "high", "low", "high"]
    last = out[3][0]
    assert last.reversal_info["type"] == "V-bottom"
    assert last.reversal_info["pattern"] == "W-bottom"
    assert last.reversal_info["previous_price"] == 49.80


def test_after_a_session_reset_the_next_qualifying_tick_is_an_initial_high() -> None:
    clock = TickClock()
    det = HighLowDetector({}, clock)
    stock_ticks = [tick(50.0, ET_1030, market_open_price=50.0)]
    replay(det.detect_highlow, stock_ticks, clock)
    det.reset_for_new_market_session("REGULAR")
    out = replay(det.detect_highlow, [tick(50.06, ET_1030 + 5, market_open_price=50.0)], clock)
    (e,) = out[0]
    assert e.is_initial and e.previous_high is None and e.type == "high"


def test_pipeline_seeding_sets_the_bounds_before_the_first_tick() -> None:
    clock = TickClock()
    det = HighLowDetector({}, clock)
    det.initialize_highlow_event_data(
        "ACME", session_high=50.0, session_low=50.0, market_status="REGULAR", last_price=50.0,
        market_open_price=50.0,
    )  # fmt: skip
    out = replay(det.detect_highlow, [tick(50.05, ET_1030, market_open_price=50.0)], clock)
    (e,) = out[0]
    # TickStock's current_low starts as None and a high reads it as it is (reference §9)
    assert e.previous_high == 50.0 and e.current_low is None and not e.is_initial
    fixed = HighLowDetector({"FIX_HIGHLOW_CURRENT_LOW": True}, clock)
    fixed.initialize_highlow_event_data(
        "ACME", session_high=50.0, session_low=50.0, market_status="REGULAR", last_price=50.0,
        market_open_price=50.0,
    )  # fmt: skip
    (f,) = replay(fixed.detect_highlow, [tick(50.05, ET_1030, market_open_price=50.0)], clock)[0]
    assert f.current_low == 50.0


def test_the_running_volume_total_gives_the_average_of_the_last_20_volumes_exactly() -> None:
    import random

    rng = random.Random(3)
    volumes = [rng.choice([0, rng.randint(1, 10**9)]) for _ in range(300)]
    clock = TickClock()
    det = HighLowDetector({}, clock)
    stock = StockData(ticker="ACME")
    for i, v in enumerate(volumes):
        clock.set(ET_1030 + i)
        det.detect_highlow(tick(50.0, ET_1030 + i, volume=v, market_open_price=50.0), stock)
        state = det.ticker_data["ACME"]
        kept = [x for x in volumes[: i + 1] if x > 0][-20:]
        assert state.volume_history == kept
        assert state.volume_total == sum(kept)
        assert state.average_volume == (sum(kept) / len(kept) if len(kept) >= 5 else None)
