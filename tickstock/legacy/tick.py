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
_INF = float("inf")
_new = object.__new__
# Tickers that passed the pattern (a set lookup instead of a regex match per tick), bounded.
_valid_tickers: set[str] = set()
_VALID_TICKERS_MAX = 100_000


def _valid_ticker(ticker: str) -> bool:
    if not _TICKER_RE.match(ticker):
        return False
    if len(_valid_tickers) >= _VALID_TICKERS_MAX:
        _valid_tickers.clear()
    _valid_tickers.add(ticker)
    return True


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
        if type(ticker) is not str or (ticker not in _valid_tickers and not _valid_ticker(ticker)):
            raise InvalidTickError("bad_ticker", f"invalid ticker {ticker!r}")
        price = self.price
        if type(price) is float:  # finite and > 0 (NaN fails both comparisons)
            if not 0.0 < price < _INF:
                raise InvalidTickError("bad_price", f"{ticker}: invalid price {price!r}")
        elif type(price) is not int or not math.isfinite(price) or price <= 0:
            raise InvalidTickError("bad_price", f"{ticker}: invalid price {price!r}")
        volume = self.volume
        if type(volume) is not int or volume < 0:
            raise InvalidTickError("bad_volume", f"{ticker}: invalid volume {volume!r}")
        ts = self.timestamp
        if type(ts) is float:
            if not 0.0 < ts < _INF:
                raise InvalidTickError("bad_timestamp", f"{ticker}: invalid timestamp {ts!r}")
        elif type(ts) is not int or not math.isfinite(ts) or ts <= 0:
            raise InvalidTickError("bad_timestamp", f"{ticker}: invalid timestamp {ts!r}")

    def __copy__(self) -> TickData:
        """Shallow copy without re-validation (the channel adapter copies every tick; the
        generic reduce-based copy costs ten times as much)."""
        new: TickData = _new(type(self))
        new.ticker = self.ticker
        new.price = self.price
        new.volume = self.volume
        new.timestamp = self.timestamp
        new.source = self.source
        new.event_type = self.event_type
        new.bid = self.bid
        new.ask = self.ask
        new.market_status = self.market_status
        new.tick_open = self.tick_open
        new.tick_high = self.tick_high
        new.tick_low = self.tick_low
        new.tick_close = self.tick_close
        new.day_high = self.day_high
        new.day_low = self.day_low
        new.open_price = self.open_price
        new.market_open_price = self.market_open_price
        new.previous_close = self.previous_close
        new.tick_volume = self.tick_volume
        new.tick_trade_size = self.tick_trade_size
        new.accumulated_volume = self.accumulated_volume
        new.tick_vwap = self.tick_vwap
        new.vwap = self.vwap
        new.tick_start_timestamp = self.tick_start_timestamp
        new.tick_end_timestamp = self.tick_end_timestamp
        new.processed_at = self.processed_at
        new.effective_volume = self.effective_volume
        new.effective_vwap = self.effective_vwap
        return new

    def to_dict(self) -> dict[str, Any]:
        """All non-processing fields, as TickStock's `TickData.to_dict()`."""
        skip = {"processed_at", "effective_volume", "effective_vwap"}
        return {name: getattr(self, name) for name in self.__slots__ if name not in skip}  # type: ignore[attr-defined]
