"""EventProcessor: TickStock's legacy `handle_tick` — tick checks, detection, per-event updates.

Reference §2.2. `TickProcessor.process_tick` validates and fills `effective_volume` /
`effective_vwap`; the ticker must be in the core universe (CORE_UNIVERSE; empty = every ticker);
its StockData (in the shared `stock_details`) is created on first sight; `EventDetector` runs
HighLow → Trend → Surge; per event: trend copies direction/strength/score into StockData, every
event goes to `priority_manager.add_event`; finally `_update_stock_details_typed` refreshes the
StockData summary. High/low counters are advanced by `StockData.add_event` in the worker (doing it
here as well would count each high/low twice).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import MutableMapping
from typing import Any

from tickstock.clock import Clock
from tickstock.legacy.detectors.event_detector import EventDetector
from tickstock.legacy.events import BaseEvent, TrendEvent
from tickstock.legacy.priority import PriorityManager
from tickstock.legacy.stock_data import StockData
from tickstock.legacy.tick import InvalidTickError, TickData


class TickProcessor:
    """Per-tick validation and effective fields (`src/processing/pipeline/tick_processor.py`)."""

    __slots__ = ()

    def process_tick(self, tick: TickData) -> TickData:
        """Raise InvalidTickError for a tick the pipeline must not see; fill effective fields."""
        if not tick.ticker:
            raise InvalidTickError("bad_ticker", "tick without ticker")
        if not tick.price > 0:
            raise InvalidTickError("bad_price", f"{tick.ticker}: price {tick.price!r} <= 0")
        if not tick.timestamp > 0:
            raise InvalidTickError("bad_timestamp", f"{tick.ticker}: no timestamp")
        tv = tick.tick_volume
        tick.effective_volume = tv if tv else (tick.volume or 0)
        tick.effective_vwap = tick.tick_vwap or tick.vwap or tick.price
        return tick


class EventProcessor:
    """Runs one tick through detection and hands the events to the priority queue."""

    def __init__(
        self,
        config: Any,
        clock: Clock,
        stock_details: MutableMapping[str, StockData],
        priority_manager: PriorityManager,
        detector: EventDetector | Any = None,
    ) -> None:
        self._clock = clock
        self.stock_details = stock_details
        self.priority_manager = priority_manager
        self.detector = detector if detector is not None else EventDetector(config, clock)
        #: TickStock never copies the market open price into StockData (§9): opt-in fix only
        self.copy_open_price = bool(config.get("FIX_STORE_MARKET_OPEN_PRICE", False))
        core = config.get("CORE_UNIVERSE")
        self.core_universe: frozenset[str] | None = frozenset(core) if core else None
        self.tick_processor = TickProcessor()
        self.ticks_processed = 0
        self.ticks_outside_universe = 0
        self.events_detected: Counter[str] = Counter()
        self.events_queued = 0

    def handle_tick(self, tick: TickData) -> int:
        """Process one validated tick; returns how many events were queued."""
        tick = self.tick_processor.process_tick(tick)
        ticker = tick.ticker
        core = self.core_universe
        if core is not None and ticker not in core:
            self.ticks_outside_universe += 1
            return 0
        self.ticks_processed += 1
        stock = self.stock_details.get(ticker)
        if stock is None:
            stock = self.stock_details[ticker] = StockData(ticker=ticker)
        events = self.detector.detect_events(tick, stock)
        queued = 0
        if events:
            queued = self._process_events(events, stock)
        self._update_stock_details_typed(stock, tick, self.copy_open_price)
        return queued

    def _process_events(self, events: list[BaseEvent], stock: StockData) -> int:
        add = self.priority_manager.add_event
        counts = self.events_detected
        queued = 0
        for event in events:
            counts[event.type] += 1
            if isinstance(event, TrendEvent):
                stock.trend_direction = event.direction
                stock.trend_strength = event.trend_strength
                stock.trend_score = event.trend_score
            if add(event):
                queued += 1
        self.events_queued += queued
        return queued

    @staticmethod
    def _update_stock_details_typed(
        stock: StockData, tick: TickData, copy_open_price: bool = False
    ) -> None:
        """StockData summary after detection: price, vwap, volume, session range, % and vwap stats.

        The % change is against the tick's market open price, but (as in TickStock) the open
        price itself is not stored on StockData unless `copy_open_price` (FIX_STORE_MARKET_OPEN_PRICE)."""
        price = tick.price
        stock.last_price = price
        stock.last_update = tick.timestamp
        stock.market_status = tick.market_status
        vwap = tick.effective_vwap
        stock.vwap = vwap
        stock.volume = tick.effective_volume or 0
        hi = stock.session_high
        if hi is None or price > hi:
            stock.session_high = price
        lo = stock.session_low
        if lo is None or price < lo:
            stock.session_low = price
        open_price = tick.market_open_price
        if open_price and open_price > 0:
            if copy_open_price:
                stock.market_open_price = open_price
            stock.percent_change = (price - open_price) / open_price * 100
        if vwap and vwap > 0:
            stock.vwap_divergence = (price - vwap) / vwap * 100
            stock.vwap_position = "above" if price > vwap else "below"
