"""Event classes: validation, type normalisation and the transport dicts the workers emit."""

from __future__ import annotations

import pytest

from tickstock.legacy.events import (
    HighLowEvent,
    SurgeEvent,
    TrendEvent,
    make_event_id,
)
from tickstock.legacy.stock_data import StockData

# 2024-03-15 14:30:05 UTC = 10:30:05 US/Eastern (EDT)
T = 1710513005.0

COMMON = {
    "ticker",
    "type",
    "price",
    "time",
    "event_id",
    "direction",
    "reversal",
    "count",
    "count_up",
    "count_down",
    "percent_change",
    "vwap",
    "vwap_divergence",
    "volume",
    "rel_volume",
    "label",
    "event_specific_data",
}


def test_event_ids_are_deterministic_and_distinguish_the_counter() -> None:
    assert make_event_id("AAPL", "high", T, 3) == make_event_id("AAPL", "high", T, 3)
    assert make_event_id("AAPL", "high", T, 3) != make_event_id("AAPL", "high", T, 4)
    assert make_event_id("AAPL", "high", T, 3) == "AAPL_high_1710513005.000000_3"


def test_highlow_type_is_normalised_from_session_names_and_direction() -> None:
    assert HighLowEvent(ticker="A", type="session_high", price=1.0, time=T).type == "high"
    assert HighLowEvent(ticker="A", type="session_low", price=1.0, time=T).type == "low"
    assert HighLowEvent(ticker="A", type="x", price=1.0, time=T, direction="↑").type == "high"
    assert HighLowEvent(ticker="A", type="x", price=1.0, time=T, direction="down").type == "low"


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(
            lambda: HighLowEvent(ticker="A", type="high", price=0.0, time=T), id="zero-price"
        ),
        pytest.param(
            lambda: HighLowEvent(ticker="", type="high", price=1.0, time=T), id="no-ticker"
        ),
        pytest.param(
            lambda: HighLowEvent(ticker="A", type="high", price=1.0, time=T, period="week"),
            id="bad-period",
        ),
        pytest.param(
            lambda: TrendEvent(ticker="A", type="trend", price=1.0, time=T, trend_strength="huge"),
            id="bad-trend-strength",
        ),
        pytest.param(
            lambda: TrendEvent(ticker="A", type="trend", price=1.0, time=T, trend_score=100.5),
            id="trend-score-out-of-range",
        ),
        pytest.param(
            lambda: TrendEvent(ticker="A", type="t", price=1.0, time=T, trend_vwap_position="at"),
            id="bad-vwap-position",
        ),
        pytest.param(
            lambda: SurgeEvent(
                ticker="A", type="surge", price=1.0, time=T, surge_strength="neutral"
            ),
            id="bad-surge-strength",
        ),
        pytest.param(
            lambda: SurgeEvent(ticker="A", type="s", price=1.0, time=T, surge_trigger_type="gap"),
            id="bad-trigger",
        ),
    ],
)
def test_invalid_events_raise_value_error(make) -> None:
    with pytest.raises(ValueError):
        make()


def test_highlow_transport_dict_has_the_converter_keys_and_an_eastern_time_string() -> None:
    e = HighLowEvent(
        ticker="AAPL",
        type="high",
        price=101.0,
        time=T,
        event_id="id1",
        direction="up",
        session_high=101.0,
        session_low=99.0,
        last_update=T - 0.5,
        significance_score=12.5,
    )
    d = e.to_transport_dict()
    expected = COMMON | {
        "current_high",
        "current_low",
        "previous_high",
        "previous_low",
        "session_high",
        "session_low",
        "period",
        "is_initial",
        "last_update",
        "trend_flag",
        "surge_flag",
        "significance_score",
        "reversal_info",
    }
    assert set(d) == expected
    assert d["time"] == "10:30:05"
    assert "timestamp" not in d  # TickStock's transport dict has none (reference §9)
    assert e.to_transport_dict(with_timestamp=True)["timestamp"] == T  # EVENT_TIMESTAMP_FIELD
    assert d["last_update"] == T - 0.5
    assert d["event_id"] == "id1"
    assert d["event_specific_data"]["highlow_session_high"] == 101.0


def test_trend_transport_dict_keeps_the_float_time_as_last_trend_update() -> None:
    e = TrendEvent(
        ticker="MSFT",
        type="whatever",
        price=400.0,
        time=T,
        trend_strength="strong",
        trend_score=0.5,
        trend_vwap_position="above",
    )
    d = e.to_transport_dict()
    assert e.type == "trend"
    assert set(d) == COMMON | {
        "trend_strength",
        "trend_score",
        "trend_short_score",
        "trend_medium_score",
        "trend_long_score",
        "trend_vwap_position",
        "trend_age",
        "last_trend_update",
    }
    assert d["last_trend_update"] == T
    assert d["time"] == "10:30:05"


def test_surge_transport_dict_maps_fields_and_computes_age_from_the_given_now() -> None:
    e = SurgeEvent(
        ticker="TSLA",
        type="surge",
        price=200.0,
        time=T,
        direction="up",
        surge_magnitude=-2.5,
        surge_score=81.0,
        surge_strength="strong",
        surge_trigger_type="price_and_volume",
        surge_volume_multiplier=3.2,
        surge_expiration=T + 30,
        surge_daily_count=2,
    )
    d = e.to_transport_dict()
    assert set(d) == COMMON | {
        "magnitude",
        "score",
        "strength",
        "trigger_type",
        "description",
        "volume_multiplier",
        "event_key",
        "surge_age",
        "expiration",
        "daily_surge_count",
        "last_surge_timestamp",
    }
    assert d["magnitude"] == -2.5
    assert d["event_key"] == f"TSLA_up_{T}"
    assert d["surge_age"] == 0.0
    assert e.to_transport_dict(now=T + 4.0)["surge_age"] == 4.0
    assert d["last_surge_timestamp"] == T
    assert d["expiration"] == T + 30


def test_stock_data_stores_only_highlow_events_and_tracks_the_rest() -> None:
    sd = StockData(ticker="AAPL", market_open_price=100.0)
    sd.add_event(
        HighLowEvent(
            ticker="AAPL", type="high", price=102.0, time=T, vwap=101.0, vwap_divergence=0.99
        )
    )
    sd.add_event(
        TrendEvent(
            ticker="AAPL",
            type="trend",
            price=103.0,
            time=T + 1,
            direction="up",
            trend_strength="weak",
            trend_score=0.2,
            count=1,
        )
    )
    sd.add_event(
        SurgeEvent(
            ticker="AAPL",
            type="surge",
            price=99.0,
            time=T + 2,
            direction="down",
            surge_magnitude=-3.0,
        )
    )
    assert [e.type for e in sd.events] == ["high"]
    assert sd.event_counts.to_dict() == {"highs": 1, "lows": 0, "trends": 1, "surges": 1}
    assert sd.trend_direction == "up" and sd.trend_score == 0.2
    assert sd.surge_active and sd.surge_last_magnitude == -3.0
    assert sd.last_price == 99.0 and sd.last_update == T + 2
    assert sd.percent_change == pytest.approx(-1.0)
    assert sd.vwap_position == "above" and sd.vwap == 101.0
    summary = sd.to_transport_dict()
    assert summary["highlow_bar"] == {
        "high_count": 1,
        "low_count": 0,
        "high_percentage": 100.0,
        "low_percentage": 0.0,
    }


def _random_day(seed: int):
    import random

    from detector_ticks import ET_0935, tick

    rng = random.Random(seed)
    prices = {"AAA": 20.0, "BBB": 150.0, "CCC": 600.0}
    ticks = []
    for i in range(900):
        name = ["AAA", "BBB", "CCC"][i % 3]
        prices[name] *= 1 + rng.gauss(0.0003, 0.004)
        ticks.append(
            tick(round(prices[name], 2), ET_0935 + i / 3, volume=rng.randint(100, 9000),
                 ticker=name, vwap=round(prices[name] * 0.998, 2), market_open_price=None)
        )  # fmt: skip
    return ticks


def _replay_transport(seed: int) -> list[dict]:
    from detector_ticks import event_detector

    from tickstock.legacy.config import ConfigManager

    det, clock = event_detector(ConfigManager())
    stocks = {t: StockData(ticker=t) for t in ("AAA", "BBB", "CCC")}
    out = []
    for t in _random_day(seed):
        clock.set(t.timestamp)
        out.extend(e.to_transport_dict() for e in det.detect_events(t, stocks[t.ticker]))
        stocks[t.ticker].last_price = t.price
    assert det.stats["detection_errors"] == 0, det.last_error
    return out


def test_the_same_ticks_give_byte_identical_events() -> None:
    import json

    first, second = _replay_transport(7), _replay_transport(7)
    assert len({e["type"] for e in first}) >= 2
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)
    assert len({e["event_id"] for e in first}) == len(first)


def test_computing_highlow_flags_on_every_tick_changes_nothing() -> None:
    """TickStock ran the flag checks on every tick; we run them only for emitted highs/lows."""
    import json

    from detector_ticks import event_detector

    from tickstock.legacy.config import ConfigManager

    def replay(eager: bool) -> str:
        det, clock = event_detector(ConfigManager())
        checks = det.highlow_detector.checks
        stocks = {t: StockData(ticker=t) for t in ("AAA", "BBB", "CCC")}
        out = []
        for t in _random_day(11):
            clock.set(t.timestamp)
            stock = stocks[t.ticker]
            if eager:
                checks.trend_flag(stock, t.price, t.vwap, t.volume, clock.now())
                checks.surge_flag(stock, t.price, t.volume, t.tick_volume, clock.now())
            out.extend(e.to_transport_dict() for e in det.detect_events(t, stock))
            stock.last_price = t.price
        return json.dumps(out, sort_keys=True)

    assert replay(eager=True) == replay(eager=False)
