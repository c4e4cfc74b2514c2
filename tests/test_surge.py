"""SurgeDetector: the volume and price thresholds at their boundaries, the check interval by period."""

from __future__ import annotations

import pytest
from detector_ticks import ET_0935, ET_0944, replay, tick

from tickstock.clock import TickClock
from tickstock.legacy.config import ConfigManager
from tickstock.legacy.detectors import SurgeDetector

# OPENING, STRICT mode; $100 is in the MID band (code default 1.5 % / $1.00); the quality
# gate then needs |Δ| ≥ $1.05 (MID $1.50 × 0.7 in OPENING) and a score ≥ 50
CONFIG = {
    "SURGE_INTERVAL_SECONDS_OPENING": 1,
    "SURGE_MIN_DATA_POINTS_OPENING": 3,
    "SURGE_VOLUME_THRESHOLD_OPENING": 3.0,
    "SURGE_PRICE_THRESHOLD_PERCENT_OPENING": 1.5,
    "SURGE_THRESHOLD_MULTIPLIER_OPENING": 1.0,
}


def surge_after_quiet_start(price: float, volume: int):
    clock = TickClock()
    det = SurgeDetector(CONFIG, clock)
    ticks = [tick(100.0, ET_0935 + 2 * i, volume=1000) for i in range(3)]
    ticks.append(tick(price, ET_0935 + 6, volume=volume))
    return replay(det.detect_surge, ticks, clock)[-1]


@pytest.mark.parametrize(
    ("price", "volume", "fires"),
    [
        pytest.param(102.0, 2999, False, id="volume-just-below-3x"),
        pytest.param(102.0, 3000, True, id="volume-at-3x"),
        pytest.param(101.49, 5000, False, id="price-just-below-1.5pct"),
        pytest.param(101.51, 5000, True, id="price-just-above-1.5pct"),
    ],
)
def test_strict_mode_needs_both_price_and_volume_thresholds(price, volume, fires) -> None:
    events = surge_after_quiet_start(price, volume)
    assert bool(events) is fires


def test_a_surge_event_carries_its_metrics() -> None:
    (e,) = surge_after_quiet_start(102.0, 3000)
    assert e.type == "surge" and e.direction == "up"
    assert e.surge_trigger_type == "price_and_volume"
    assert e.surge_magnitude == pytest.approx(2.0)
    assert e.surge_volume_multiplier == pytest.approx(3.0)
    assert e.surge_score == pytest.approx(100.0) and e.surge_strength == "strong"
    assert e.label == "↑ price & volume"
    assert e.surge_description == "Surge up price/and/volume (2.0%)"
    assert e.time == ET_0935 + 6 and e.surge_expiration == ET_0935 + 36
    assert e.surge_daily_count == 1 and e.count_up == 1


def test_a_downward_surge_is_signed() -> None:
    (e,) = surge_after_quiet_start(98.0, 4000)
    assert e.direction == "down" and e.surge_magnitude == pytest.approx(-2.0)


def test_the_check_interval_follows_the_tick_period_from_opening_to_midday() -> None:
    # Profile 2: OPENING checks every 5 s, MIDDAY every 20 s; ticks every 6 s across 09:45 ET.
    clock = TickClock()
    det = SurgeDetector(ConfigManager(), clock)
    ticks = [tick(100.0, ET_0944 + 6 * i, volume=1000) for i in range(20)]
    from tickstock.legacy.stock_data import StockData

    stock = StockData(ticker="ACME")
    sizes = []
    for t in ticks:
        clock.set(t.timestamp)
        det.detect_surge(t, stock)
        sizes.append(len(stock.surge_data.buffer))
    # 09:44:00 … 09:44:54 (10 ticks, all OPENING) are each buffered
    assert sizes[:10] == list(range(1, 11))
    # from 09:45:00 on only ticks ≥ 20 s after the last check (09:44:54) are buffered:
    # 09:45:18, then 09:45:42
    assert sizes[10:] == [10, 10, 10, 11, 11, 11, 11, 12, 12, 12]


def test_ticks_inside_the_check_interval_are_not_buffered() -> None:
    clock = TickClock()
    det = SurgeDetector(CONFIG, clock)
    ticks = [tick(100.0, ET_0935 + 0.5 * i) for i in range(4)]
    from tickstock.legacy.stock_data import StockData

    stock = StockData(ticker="ACME")
    replay(det.detect_surge, ticks, clock, stock)
    assert [p.timestamp for p in stock.surge_data.buffer] == [ET_0935, ET_0935 + 1.0]


def _spikes(config: dict, start: float, spike_times: list[float], spike=(102.0, 5000)):
    """Quiet $100 / 1000-share ticks every 5 s plus spikes; returns the times of emitted surges."""
    clock = TickClock()
    det = SurgeDetector(config, clock)
    times = sorted({*range(0, int(max(spike_times)) + 1, 5), *spike_times})
    ticks = [
        tick(spike[0], start + t, volume=spike[1]) if t in spike_times else tick(100.0, start + t)
        for t in times
    ]
    out = replay(det.detect_surge, ticks, clock)
    return [t for t, evs in zip(times, out, strict=True) if evs]


def test_the_quality_gate_records_its_pass_even_when_the_cooldown_then_blocks() -> None:
    # cooldown 60 s (interval 1 × 60); OPENING quality cooldown 45 s.
    # 6: emitted. 55: quality passes (49 s ≥ 45) and is recorded, cooldown blocks (49 < 60).
    # 70: cooldown would pass (64 ≥ 60) but the quality gate, recorded at 55, blocks (15 < 45).
    # 101: 46 s after 55 → emitted.
    config = {**CONFIG, "SURGE_COOLDOWN_MULTIPLIER_MARKET": 60}
    assert _spikes(config, ET_0935, [6, 55, 70, 101]) == [6, 101]


def test_the_quality_count_limit_is_a_per_burst_cap() -> None:
    # OPENING allows 5 quality passes; the stored count keeps growing within 30 minutes.
    spikes = [6 + 46 * k for k in range(7)]
    assert _spikes(CONFIG, ET_0935, spikes) == spikes[:5]


def test_afterhours_uses_adaptive_mode_where_strong_price_compensates_for_volume() -> None:
    config = {
        "SURGE_INTERVAL_SECONDS_AFTERHOURS": 1,
        "SURGE_MIN_DATA_POINTS_AFTERHOURS": 3,
        "SURGE_VOLUME_THRESHOLD_AFTERHOURS": 3.0,
        "SURGE_PRICE_THRESHOLD_PERCENT_AFTERHOURS": 1.5,
    }
    clock = TickClock()
    det = SurgeDetector(config, clock)
    et_1630 = ET_0935 + 7 * 3600 - 5 * 60
    ticks = [tick(100.0, et_1630 + 2 * i, market_status="AFTER") for i in range(3)]
    ticks.append(tick(103.0, et_1630 + 6, volume=2200, market_status="AFTER"))
    (e,) = replay(det.detect_surge, ticks, clock)[-1]
    # 3 % ≥ 1.5 × 1.5 % and $3 ≥ 1.5 × $1; volume 2.2× ≥ 0.7 × 3 but < 3 → price_driven
    assert e.surge_trigger_type == "price_driven" and e.label == "↑ price-led"
    assert e.surge_score == pytest.approx(50.0) and e.surge_strength == "weak"
