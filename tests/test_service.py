"""MarketDataService: validation, sessions and the replay pipeline down to per-user emission."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import pytest

from tickstock.legacy.config import ConfigManager
from tickstock.legacy.events import BaseEvent, HighLowEvent, SurgeEvent, TrendEvent
from tickstock.legacy.publishing import RecordingWebSocketManager
from tickstock.legacy.service import MarketDataService, determine_session
from tickstock.legacy.stock_data import StockData
from tickstock.legacy.tick import TickData
from tickstock.legacy.users import parse_subscriptions

T0 = datetime(2026, 3, 10, 14, 45, tzinfo=UTC).timestamp()  # Tuesday 10:45 ET


class _ResetRecorder:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def reset_for_new_market_session(self, session: str) -> None:
        self.calls.append(session)

    def reset_daily_counts(self) -> None:
        self.calls.append("daily")


class ScriptedDetector:
    """Emits the events scripted for a tick's (ticker, timestamp); records session resets."""

    def __init__(self, script: dict[tuple[str, float], list[str]] | None = None) -> None:
        self.script = script or {}
        self.seen: list[tuple[str, float]] = []
        self.highlow_detector = _ResetRecorder()
        self.surge_detector = _ResetRecorder()

    def detect_events(self, tick: TickData, stock: StockData) -> list[BaseEvent]:
        self.seen.append((tick.ticker, tick.timestamp))
        out: list[BaseEvent] = []
        for spec in self.script.get((tick.ticker, tick.timestamp), []):
            kind, direction = spec.split(":")
            common: dict[str, Any] = dict(
                ticker=tick.ticker, price=tick.price, time=tick.timestamp, direction=direction
            )
            if kind in ("high", "low"):
                count = stock.low_count + 1 if kind == "low" else stock.high_count + 1
                out.append(HighLowEvent(type=kind, count=count, **common))
            elif kind == "trend":
                out.append(
                    TrendEvent(type="trend", trend_strength="strong", trend_score=0.5, **common)
                )
            else:
                out.append(SurgeEvent(type="surge", **common))
        return out


def _tick(ticker: str, t: float, price: float = 100.0, **kw: Any) -> TickData:
    return TickData(ticker=ticker, price=price, volume=100, timestamp=t, **kw)


USERS = {
    "alice": {"universes": {"market": ["tech"], "highlow": []}},
    "bob": {
        "universes": {"market": ["tech"], "highlow": ["etf"]},
        "event_types": ["high", "low", "surge"],
        "low_event_filtering": {"enabled": True, "min_low_count": 2},
    },
}
UNIVERSES = {"tech": ["AAPL", "MSFT"], "etf": ["SPY"]}


def _service(
    script: dict[tuple[str, float], list[str]] | None = None, **cfg: Any
) -> tuple[MarketDataService, ScriptedDetector, RecordingWebSocketManager]:
    subs = parse_subscriptions(USERS, UNIVERSES)
    ws = RecordingWebSocketManager(["alice", "bob"], keep_payloads=True)
    det = ScriptedDetector(script)
    svc = MarketDataService(ConfigManager(cfg), websocket_mgr=ws, subscriptions=subs, detector=det)
    return svc, det, ws


def test_events_reach_each_user_filtered_by_universe_type_and_low_count() -> None:
    script = {
        ("AAPL", T0): ["high:up"],
        ("SPY", T0 + 0.2): ["low:down"],  # SPY low #1: bob filters lows below count 2
        ("MSFT", T0 + 0.4): ["trend:up", "surge:down"],
        ("SPY", T0 + 0.6): ["low:down"],  # SPY low #2: passes bob's filter
        ("TSLA", T0 + 0.8): ["high:up"],  # in nobody's universe
    }
    svc, _, ws = _service(script)
    for ticker, t in sorted(script, key=lambda k: k[1]):
        assert svc.handle_websocket_tick(_tick(ticker, t))
    svc.handle_websocket_tick(_tick("AAPL", T0 + 1.5))  # tick time passes the emission interval
    svc.flush()
    got = {uid: [] for uid in ("alice", "bob")}
    for uid, name, payload in ws.emits:
        assert name == "stock_data"
        for e in payload["highs"] + payload["lows"]:
            got[uid].append((e["type"], e["ticker"], e["count"]))
        for direction in ("up", "down"):
            for e in payload["trending"][direction] + payload["surging"][direction]:
                got[uid].append((e["type"], e["ticker"], direction))
    assert sorted(got["alice"]) == [
        ("high", "AAPL", 1),
        ("surge", "MSFT", "down"),
        ("trend", "MSFT", "up"),
    ]
    assert sorted(got["bob"]) == [("high", "AAPL", 1), ("low", "SPY", 2), ("surge", "MSFT", "down")]
    assert svc.stock_details["SPY"].low_count == 2  # the worker stored the lows on StockData
    assert svc.stats()["publisher"]["emitted_events"] == {"alice": 3, "bob": 3}


def test_emission_cycles_follow_tick_time_not_wall_time() -> None:
    script = {("AAPL", T0 + i): ["high:up"] for i in range(5)}
    svc, _, ws = _service(script)
    for i in range(5):
        svc.handle_websocket_tick(_tick("AAPL", T0 + i))
    # one cycle per second of tick time: the first tick's event goes out at once, the rest one by one
    assert len([e for e in ws.emits if e[0] == "alice"]) == 5
    assert [p["timestamp"] for uid, _, p in ws.emits if uid == "alice"] == [
        T0 + i for i in range(5)
    ]


def _bad_ticks() -> list[tuple[str, Any, str]]:
    ok = dict(ticker="AAPL", price=100.0, volume=10, timestamp=T0 + 10)
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("nan-price", {"price": math.nan}, "bad_price"),
        ("inf-price", {"price": math.inf}, "bad_price"),
        ("zero-price", {"price": 0.0}, "bad_price"),
        ("negative-price", {"price": -1.0}, "bad_price"),
        ("string-price", {"price": "100"}, "bad_price"),
        ("negative-volume", {"volume": -5}, "bad_volume"),
        ("float-volume", {"volume": 1.5}, "bad_volume"),
        ("empty-ticker", {"ticker": ""}, "bad_ticker"),
        ("lowercase-ticker", {"ticker": "aapl"}, "bad_ticker"),
        ("none-ticker", {"ticker": None}, "bad_ticker"),
        ("zero-timestamp", {"timestamp": 0}, "bad_timestamp"),
        ("none-timestamp", {"timestamp": None}, "bad_timestamp"),
        ("backwards-timestamp", {"timestamp": T0 - 5}, "non_monotonic_timestamp"),
        ("absurd-timestamp", {"timestamp": 1e300}, "bad_timestamp"),
    ]
    out = []
    for name, change, reason in cases:
        tick = TickData(**ok)
        for k, v in change.items():  # bypass construction-time validation, as a buggy feed would
            setattr(tick, k, v)
        out.append((name, tick, reason))
    out.append(("not-a-tick", {"ticker": "AAPL", "price": 1.0}, "not_tick_data"))
    return out


@pytest.mark.parametrize(("name", "tick", "reason"), _bad_ticks(), ids=[c[0] for c in _bad_ticks()])
def test_bad_tick_returns_false_is_counted_and_changes_no_state(
    name: str, tick: Any, reason: str
) -> None:
    svc, det, _ = _service()
    assert svc.handle_websocket_tick(_tick("AAPL", T0, price=50.0))
    before = (
        dict(svc._last_ts),
        svc.stock_details["AAPL"].last_price,
        len(det.seen),
        svc.clock.now(),
    )
    assert svc.handle_websocket_tick(tick) is False
    assert svc.invalid == {reason: 1}
    assert (
        dict(svc._last_ts),
        svc.stock_details["AAPL"].last_price,
        len(det.seen),
        svc.clock.now(),
    ) == before
    assert svc.handle_websocket_tick(_tick("AAPL", T0 + 1, price=51.0))  # the service carries on
    assert svc.stock_details["AAPL"].last_price == 51.0


def test_a_detector_crash_is_counted_not_raised() -> None:
    class Crashing(ScriptedDetector):
        def detect_events(self, tick: TickData, stock: StockData) -> list[BaseEvent]:
            raise ZeroDivisionError("boom")

    svc = MarketDataService(ConfigManager(), detector=Crashing())
    assert svc.handle_websocket_tick(_tick("AAPL", T0)) is False
    assert svc.invalid == {"processing_error": 1}
    assert svc.api_health["failures"] == 1


def test_session_bounds_follow_eastern_time_without_weekday_check() -> None:
    saturday_10am = datetime(2026, 3, 14, 14, 0, tzinfo=UTC).timestamp()
    assert determine_session(saturday_10am)[0] == "REGULAR"
    name, start, end = determine_session(T0)
    assert name == "REGULAR"
    assert start == datetime(2026, 3, 10, 13, 30, tzinfo=UTC).timestamp()
    assert end == datetime(2026, 3, 10, 20, 0, tzinfo=UTC).timestamp()


def test_pre_to_regular_and_closed_to_pre_reset_counters_but_regular_to_after_does_not() -> None:
    day = datetime(2026, 3, 10, tzinfo=UTC).timestamp()
    pre = day + 12 * 3600  # 08:00 ET
    script = {("AAPL", pre): ["high:up"]}
    svc, det, ws = _service(script)
    svc.handle_websocket_tick(
        _tick("AAPL", day + 7 * 3600)
    )  # 03:00 ET, CLOSED: establishes session
    svc.handle_websocket_tick(_tick("AAPL", pre))  # CLOSED → PRE: reset (before detection)
    assert svc.session_resets == 1
    assert svc.stock_details["AAPL"].event_counts.highs == 1
    assert svc.stock_details["AAPL"].highlow_bar.high_count == 1
    svc.handle_websocket_tick(_tick("AAPL", day + 13.5 * 3600 + 1))  # 09:30:01 ET: PRE → REGULAR
    assert svc.session_resets == 2
    assert svc.stock_details["AAPL"].event_counts.highs == 0
    assert svc.stock_details["AAPL"].highlow_bar.high_count == 0
    assert det.highlow_detector.calls == ["PRE", "REGULAR"]
    assert det.surge_detector.calls == ["daily", "daily"]
    svc.handle_websocket_tick(_tick("AAPL", day + 20.5 * 3600))  # 16:30 ET: REGULAR → AFTER
    assert svc.session_resets == 2
    assert svc.current_session == "AFTER"
    assert [b[1]["new_session"] for b in ws.broadcasts] == ["PRE", "REGULAR"]


def test_a_late_tick_from_another_ticker_does_not_move_the_session_back() -> None:
    day = datetime(2026, 3, 10, tzinfo=UTC).timestamp()
    svc, _, _ = _service()
    svc.handle_websocket_tick(_tick("AAPL", day + 13.5 * 3600 - 1))  # 09:29:59 PRE
    svc.handle_websocket_tick(_tick("AAPL", day + 13.5 * 3600 + 1))  # REGULAR (reset 1)
    svc.handle_websocket_tick(_tick("MSFT", day + 13.5 * 3600 - 0.5))  # late PRE tick
    svc.handle_websocket_tick(_tick("AAPL", day + 13.5 * 3600 + 2))
    assert svc.current_session == "REGULAR"
    assert svc.session_resets == 1


def test_core_universe_filter_drops_other_tickers_before_detection() -> None:
    svc, det, _ = _service(CORE_UNIVERSE=["AAPL"])
    assert svc.handle_websocket_tick(_tick("AAPL", T0))
    assert svc.handle_websocket_tick(_tick("MSFT", T0))
    assert det.seen == [("AAPL", T0)]
    assert svc.stats()["ticks_outside_core_universe"] == 1


def test_session_reset_works_on_the_real_detectors() -> None:
    day = datetime(2026, 3, 10, tzinfo=UTC).timestamp()
    svc = MarketDataService(ConfigManager())
    for i in range(30):  # 09:29:30 … 09:29:59 ET (PRE), prices rising
        assert svc.handle_websocket_tick(
            _tick("AAPL", day + 13.5 * 3600 - 30 + i, price=100.0 + i * 0.1)
        )
    highlow = svc.event_processor.detector.highlow_detector
    assert highlow.ticker_data["AAPL"].session_high > 100.0
    assert svc.handle_websocket_tick(_tick("AAPL", day + 13.5 * 3600 + 1, price=101.0))  # REGULAR
    assert svc.session_resets == 1
    assert highlow.ticker_data["AAPL"].session_high == 101.0  # bounds started over at the bell
    assert svc.invalid == {}
    assert svc.event_processor.detector.get_stats()["detection_errors"] == 0
