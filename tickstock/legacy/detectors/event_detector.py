"""EventDetector: runs HighLow → Trend → Surge on the same tick and returns their typed events.

As in TickStock, a detector that raises loses only its own events for that tick; the error is
counted (`stats["detection_errors"]`, `last_error`) so a replay can surface it instead of hiding it.
"""

from __future__ import annotations

from typing import Any

from tickstock.clock import Clock
from tickstock.legacy.detectors.highlow import HighLowDetector
from tickstock.legacy.detectors.surge import SurgeDetector
from tickstock.legacy.detectors.trend import TrendDetector
from tickstock.legacy.events import BaseEvent
from tickstock.legacy.stock_data import StockData
from tickstock.legacy.tick import TickData

_STAT_KEYS = {
    "high": "highs_detected",
    "low": "lows_detected",
    "trend": "trends_detected",
    "surge": "surges_detected",
}


class EventDetector:
    """The three detectors sharing one config and one clock."""

    def __init__(self, config: Any, clock: Clock) -> None:
        self.config = config
        self.clock = clock
        self.highlow_detector = HighLowDetector(config, clock)
        self.trend_detector = TrendDetector(config, clock)
        self.surge_detector = SurgeDetector(config, clock)
        self.stats: dict[str, int] = {
            "ticks_analyzed": 0,
            "events_detected": 0,
            "highs_detected": 0,
            "lows_detected": 0,
            "trends_detected": 0,
            "surges_detected": 0,
            "detection_errors": 0,
        }
        self.last_error: str | None = None

    def detect_events(self, tick: TickData, stock_data: StockData) -> list[BaseEvent]:
        self.stats["ticks_analyzed"] += 1
        try:
            events: list[BaseEvent] = list(self.highlow_detector.detect_highlow(tick, stock_data))
        except Exception as exc:  # TickStock logs and carries on with the next detector
            events = []
            self._failed("highlow", tick, exc)
        try:
            events += self.trend_detector.detect_trend(tick, stock_data)
        except Exception as exc:
            self._failed("trend", tick, exc)
        try:
            events += self.surge_detector.detect_surge(tick, stock_data)
        except Exception as exc:
            self._failed("surge", tick, exc)
        if events:
            stats = self.stats
            stats["events_detected"] += len(events)
            for event in events:
                stats[_STAT_KEYS[event.type]] += 1
        return events

    def _failed(self, name: str, tick: TickData, exc: Exception) -> None:
        self.stats["detection_errors"] += 1
        self.last_error = f"{name} {tick.ticker}: {type(exc).__name__}: {exc}"

    def get_stats(self) -> dict[str, Any]:
        """Counters for the stack's stats() (JSON-serialisable)."""
        trend = self.trend_detector
        return {
            **self.stats,
            "last_error": self.last_error,
            # errors the trend detector catches itself, as TickStock's logs would show them
            "trend_errors_swallowed": trend.errors_swallowed,
            "trend_last_swallowed": trend.last_swallowed,
        }
