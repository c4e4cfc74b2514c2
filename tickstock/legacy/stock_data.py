"""StockData: the per-ticker state the legacy pipeline, the detectors and the workers share.

Follows TickStock's `transport_models.StockData`: only high/low events are stored (trend and
surge events only update tracking fields); Trend keeps its `price_history` here and Surge its
`surge_data`. Replay fixes: `last_update` starts at 0.0 instead of the wall clock, and the
high/low bar percentages (commented out in TickStock, so its `to_dict` would crash) exist;
only the high/low events `to_transport_dict` reads are kept (TickStock's lists grew all day).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from tickstock.legacy.events import BaseEvent, HighLowEvent, SurgeEvent, TrendEvent
from tickstock.legacy.price_history import PriceHistory, PricePoint

__all__ = [
    "EventCounts", "HighLowBar", "PriceHistory", "PricePoint", "StockData", "SurgeData", "SurgePoint",
]  # fmt: skip

SURGE_BUFFER_MAX = 20
RECENT_HIGHLOWS = 10
SURGE_HISTORY_MAX = 15


class SurgePoint(NamedTuple):
    """One Surge buffer point; `timestamp` is the detector clock's now when it was buffered."""

    price: float
    volume: float
    timestamp: float
    vwap: float | None
    trade_size: float | None


@dataclass(slots=True)
class SurgeData:
    """Surge's per-ticker state (`StockData.surge_data` in TickStock)."""

    buffer: deque[SurgePoint] = field(default_factory=lambda: deque(maxlen=SURGE_BUFFER_MAX))
    last_check_time: float = 0.0
    last_surge_time: float = 0.0
    surge_history: deque[dict[str, Any]] = field(
        default_factory=lambda: deque(maxlen=SURGE_HISTORY_MAX)
    )
    surge_count: int = 0
    daily_surge_count: int = 0


@dataclass(slots=True)
class EventCounts:
    """Event counts by type."""

    highs: int = 0
    lows: int = 0
    trends: int = 0
    surges: int = 0

    def to_dict(self) -> dict[str, int]:
        return {
            "highs": self.highs,
            "lows": self.lows,
            "trends": self.trends,
            "surges": self.surges,
        }


@dataclass(slots=True)
class HighLowBar:
    """High/low counts and their shares (50/50 when there are none)."""

    high_count: int = 0
    low_count: int = 0

    def to_dict(self) -> dict[str, Any]:
        total = self.high_count + self.low_count
        return {
            "high_count": self.high_count,
            "low_count": self.low_count,
            "high_percentage": self.high_count / total * 100 if total else 50.0,
            "low_percentage": self.low_count / total * 100 if total else 50.0,
        }


@dataclass(slots=True)
class StockData:
    """Everything TickStock keeps about one ticker between ticks."""

    ticker: str
    last_price: float = 0.0
    last_update: float = 0.0
    # TickStock appended every high/low to lists that grew all day; only the last 10 of each are
    # ever read (`to_transport_dict`), so only those are kept (and the last 20 of both).
    highs: deque[HighLowEvent] = field(default_factory=lambda: deque(maxlen=RECENT_HIGHLOWS))
    lows: deque[HighLowEvent] = field(default_factory=lambda: deque(maxlen=RECENT_HIGHLOWS))
    events: deque[BaseEvent] = field(default_factory=lambda: deque(maxlen=2 * RECENT_HIGHLOWS))
    event_counts: EventCounts = field(default_factory=EventCounts)
    highlow_bar: HighLowBar = field(default_factory=HighLowBar)
    vwap: float | None = None
    volume: float = 0
    rel_volume: float = 0.0
    momentum: float = 0.0
    volatility: float = 0.0
    market_status: str = "REGULAR"
    session_high: float | None = None
    session_low: float | None = None
    trend_direction: str = "->"
    trend_strength: str = "neutral"
    trend_score: float = 0.0
    trend_count: int = 0
    trend_count_up: int = 0
    trend_count_down: int = 0
    short_trend: float = 0.0
    medium_trend: float = 0.0
    long_trend: float = 0.0
    surge_active: bool = False
    surge_last_magnitude: float = 0.0
    surge_last_direction: str = "->"
    surge_count: int = 0
    surge_count_up: int = 0
    surge_count_down: int = 0
    high_count: int = 0
    low_count: int = 0
    percent_change: float = 0.0
    vwap_divergence: float = 0.0
    vwap_position: str = "unknown"
    price_history: PriceHistory = field(default_factory=PriceHistory)
    surge_data: SurgeData | None = None
    market_open_price: float | None = None

    def add_event(self, event: BaseEvent) -> None:
        """Store a high/low event; a trend or surge only updates the tracking fields."""
        if isinstance(event, HighLowEvent):
            if event.type == "high":
                self.highs.append(event)
                self.events.append(event)
                self.highlow_bar.high_count += 1
                self.high_count += 1
                self.event_counts.highs += 1
            elif event.type == "low":
                self.lows.append(event)
                self.events.append(event)
                self.highlow_bar.low_count += 1
                self.low_count += 1
                self.event_counts.lows += 1
        elif isinstance(event, TrendEvent):
            self.trend_direction = event.direction
            self.trend_strength = event.trend_strength
            self.trend_score = event.trend_score
            self.trend_count = event.count
            self.trend_count_up = event.count_up
            self.trend_count_down = event.count_down
            self.event_counts.trends += 1
        elif isinstance(event, SurgeEvent):
            self.surge_active = True
            self.surge_last_magnitude = event.surge_magnitude
            self.surge_last_direction = event.direction
            self.surge_count = event.count
            self.surge_count_up = event.count_up
            self.surge_count_down = event.count_down
            self.event_counts.surges += 1
        self.last_price = event.price
        self.last_update = event.time
        if self.market_open_price and self.market_open_price > 0:
            self.percent_change = (
                (event.price - self.market_open_price) / self.market_open_price * 100
            )
        if event.vwap and event.vwap > 0:
            self.vwap = event.vwap
            self.vwap_divergence = event.vwap_divergence
            self.vwap_position = "above" if event.price > event.vwap else "below"

    def to_transport_dict(self) -> dict[str, Any]:
        """The ticker summary TickStock sends (last 10 highs and lows)."""
        return {
            "ticker": self.ticker,
            "last_price": self.last_price,
            "last_update": self.last_update,
            "highs": [h.to_transport_dict() for h in self.highs],
            "lows": [lo.to_transport_dict() for lo in self.lows],
            "event_counts": self.event_counts.to_dict(),
            "highlow_bar": self.highlow_bar.to_dict(),
            "vwap": self.vwap,
            "volume": self.volume,
            "rel_volume": self.rel_volume,
            "momentum": self.momentum,
            "volatility": self.volatility,
            "market_status": self.market_status,
            "session_high": self.session_high,
            "session_low": self.session_low,
            "percent_change": self.percent_change,
            "vwap_divergence": self.vwap_divergence,
            "vwap_position": self.vwap_position,
            "trend_direction": self.trend_direction,
            "trend_strength": self.trend_strength,
            "trend_score": self.trend_score,
            "trend_count": self.trend_count,
            "trend_count_up": self.trend_count_up,
            "trend_count_down": self.trend_count_down,
            "surge_active": self.surge_active,
            "surge_last_magnitude": self.surge_last_magnitude,
            "surge_last_direction": self.surge_last_direction,
            "surge_count": self.surge_count,
            "surge_count_up": self.surge_count_up,
            "surge_count_down": self.surge_count_down,
        }

    def to_dict(self) -> dict[str, Any]:
        return self.to_transport_dict()
