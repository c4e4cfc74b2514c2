"""PriorityManager: TickStock's queue order, escalations and add_event rejections."""

from __future__ import annotations

from datetime import UTC, datetime

from tickstock.clock import TickClock
from tickstock.legacy.config import ConfigManager
from tickstock.legacy.events import HighLowEvent, SurgeEvent, TrendEvent
from tickstock.legacy.priority import PriorityManager

# 2026-03-10 is a Tuesday in EDT (UTC−4): 14:45 UTC = 10:45 ET, 13:40 UTC = 09:40 ET
MIDDAY = datetime(2026, 3, 10, 14, 45, tzinfo=UTC).timestamp()
OPENING = datetime(2026, 3, 10, 13, 40, tzinfo=UTC).timestamp()


def _high(ticker: str, t: float) -> HighLowEvent:
    return HighLowEvent(ticker=ticker, type="high", price=10.0, time=t, direction="up")


def _trend(ticker: str, t: float) -> TrendEvent:
    return TrendEvent(ticker=ticker, type="trend", price=10.0, time=t, direction="up")


def _surge(ticker: str, t: float) -> SurgeEvent:
    return SurgeEvent(ticker=ticker, type="surge", price=10.0, time=t, direction="up")


def test_lower_priority_number_comes_first_and_ties_stay_fifo() -> None:
    pm = PriorityManager(ConfigManager(), TickClock(MIDDAY))
    for event in (_trend("A", MIDDAY), _surge("B", MIDDAY), _high("C", MIDDAY), _high("D", MIDDAY)):
        assert pm.add_event(event)
    order = [(kind, e.ticker) for kind, e in pm.collect_events(10)]
    assert order == [("high", "C"), ("high", "D"), ("trend", "A"), ("surge", "B")]


def test_index_etfs_jump_the_queue_only_in_the_market_open_window() -> None:
    pm = PriorityManager(ConfigManager(), TickClock(OPENING))
    assert pm.priority_of(_trend("SPY", OPENING)) == 1
    assert pm.priority_of(_trend("AAPL", OPENING)) == 3
    later = PriorityManager(ConfigManager(), TickClock(MIDDAY))
    assert later.priority_of(_trend("SPY", MIDDAY)) == 3


def test_top_and_secondary_tickers_are_escalated() -> None:
    cfg = ConfigManager({"PRIORITY_TOP_TICKERS": ["TSLA"], "PRIORITY_SECONDARY_TICKERS": ["NVDA"]})
    pm = PriorityManager(cfg, TickClock(MIDDAY))
    assert pm.priority_of(_trend("TSLA", MIDDAY)) == 1
    assert pm.priority_of(_trend("NVDA", MIDDAY)) == 2
    assert pm.priority_of(_high("NVDA", MIDDAY)) == 2


def test_non_events_are_rejected_and_counted() -> None:
    pm = PriorityManager(ConfigManager(), TickClock(MIDDAY))
    assert not pm.add_event({"type": "high"})
    assert pm.rejected["not_base_event"] == 1
    assert len(pm) == 0


def test_full_queue_rejects_and_overflow_spares_surges() -> None:
    pm = PriorityManager(ConfigManager({"MAX_QUEUE_SIZE": 100}), TickClock(MIDDAY))
    for i in range(99):
        assert pm.add_event(_high(f"T{i}", MIDDAY))
    assert not pm.add_event(_trend("X", MIDDAY))  # above 98 % with priority 3
    assert pm.rejected["overflow"] == 1
    assert pm.add_event(_surge("S", MIDDAY))  # surge is never throttled
    assert not pm.add_event(_surge("S2", MIDDAY))
    assert pm.rejected["queue_full"] == 1


def test_age_rules_apply_live_but_not_in_replay() -> None:
    clock = TickClock(MIDDAY)
    old = _high("A", MIDDAY - 200)
    replay = PriorityManager(ConfigManager(), clock)
    assert replay.add_event(old)
    live = PriorityManager(ConfigManager(), clock, live=True)
    assert not live.add_event(old)
    assert live.rejected["too_old"] == 1
    assert live.add_event(_high("B", MIDDAY))
    clock.set(MIDDAY + 61)  # queued more than 60 s ago → discarded at collection
    assert live.collect_events(10) == []
    assert live.dropped_stale == 1
