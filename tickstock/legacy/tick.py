"""TickData: TickStock's tick value (src/core/domain/market/tick.py) and its validation.

`timestamp` is epoch seconds. `__post_init__` fills `tick_close` from `price` and `tick_volume`
from a non-zero `volume`, then validates; a bad tick raises `InvalidTickError` (a ValueError) whose
`reason` is a short, countable code (`bad_price`, `bad_volume`, `bad_ticker`, `bad_timestamp`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

_TICKER_RE = re.compile(r"^[A-Z][A-Z0-9.\-/^]{0,15}$")


class InvalidTickError(ValueError):
    """A tick TickStock would reject; `reason` is the counter key used by MarketDataService."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(slots=True)
class TickData:
    """One market tick as TickStock's pipeline sees it."""

    ticker: str
    price: float
    volume: int
    timestamp: float
    source: str = "unknown"
    event_type: str = "A"
    bid: float | None = None
    ask: float | None = None
    market_status: str = "REGULAR"
    tick_open: float | None = None
    tick_high: float | None = None
    tick_low: float | None = None
    tick_close: float | None = None
    day_high: float | None = None
    day_low: float | None = None
    open_price: float | None = None
    market_open_price: float | None = None
    previous_close: float | None = None
    tick_volume: int | None = None
    tick_trade_size: int | None = None
    accumulated_volume: int | None = None
    tick_vwap: float | None = None
    vwap: float | None = None
    tick_start_timestamp: float | None = None
    tick_end_timestamp: float | None = None
    processed_at: float | None = None
    effective_volume: int | None = None
    effective_vwap: float | None = None

    def __post_init__(self) -> None:
        if self.tick_close is None:
            self.tick_close = self.price
        if self.tick_volume is None and self.volume:
            self.tick_volume = self.volume
        self.validate()

    def validate(self) -> None:
        """Raise InvalidTickError unless ticker, price, volume and timestamp are usable."""
        ticker = self.ticker
        if type(ticker) is not str or not _TICKER_RE.match(ticker):
            raise InvalidTickError("bad_ticker", f"invalid ticker {ticker!r}")
        price = self.price
        if (
            type(price) not in (float, int)
            or isinstance(price, bool)
            or not math.isfinite(price)
            or price <= 0
        ):
            raise InvalidTickError("bad_price", f"{ticker}: invalid price {price!r}")
        volume = self.volume
        if type(volume) is not int or volume < 0:
            raise InvalidTickError("bad_volume", f"{ticker}: invalid volume {volume!r}")
        ts = self.timestamp
        if type(ts) not in (float, int) or isinstance(ts, bool) or not math.isfinite(ts) or ts <= 0:
            raise InvalidTickError("bad_timestamp", f"{ticker}: invalid timestamp {ts!r}")

    def to_dict(self) -> dict[str, Any]:
        """All non-processing fields, as TickStock's `TickData.to_dict()`."""
        skip = {"processed_at", "effective_volume", "effective_vwap"}
        return {name: getattr(self, name) for name in self.__slots__ if name not in skip}  # type: ignore[attr-defined]
