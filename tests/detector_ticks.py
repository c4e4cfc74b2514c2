"""Helpers shared by the detector tests: literal ticks, a replay loop with a TickClock."""

from __future__ import annotations

from typing import Any

from tickstock.clock import TickClock
from tickstock.legacy.detectors import EventDetector
from tickstock.legacy.events import BaseEvent
from tickstock.legacy.stock_data import StockData
from tickstock.legacy.tick import TickData

# Friday 2024-03-15 (EDT, UTC-4)
ET_0935 = 1710509700.0  # 09:35:00 ET, OPENING
ET_0944 = 1710510240.0  # 09:44:00 ET
ET_1030 = 1710513000.0  # 10:30:00 ET, MIDDAY


def tick(price: float, ts: float, volume: int = 1000, ticker: str = "ACME", **kw: Any) -> TickData:
    kw.setdefault("market_status", "REGULAR")
    return TickData(ticker=ticker, price=price, volume=volume, timestamp=ts, **kw)


def replay(
    detect: Any, ticks: list[TickData], clock: TickClock, stock: StockData | None = None
) -> list[list[BaseEvent]]:
    """Run `detect(tick, stock_data)` per tick with the clock at tick time; events per tick.

    Like the legacy pipeline, StockData.last_price is updated after detection.
    """
    stock = stock or StockData(ticker=ticks[0].ticker)
    out = []
    for t in ticks:
        clock.set(t.timestamp)
        out.append(list(detect(t, stock)))
        stock.last_price = t.price
    return out


def event_detector(config: Any) -> tuple[EventDetector, TickClock]:
    clock = TickClock()
    return EventDetector(config, clock), clock
