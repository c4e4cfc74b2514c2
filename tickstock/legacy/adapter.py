"""Tick → TickData: the adapter both stacks use to turn a harness tick into TickStock's own tick.

Reads the tick by attribute (design.md §4; no harness import): `ts` is integer nanoseconds UTC and
becomes `timestamp = ts / 1e9` (also the bar end, `tick_end_timestamp`); `market_status` comes
from `detect_market_status` on that time, as TickStock's Polygon client does; `event_type` is
'A'; absent optional attributes are None. numpy scalars in the required fields become Python
numbers; anything else of the wrong type is left for TickData's validation to reject with its
reason. Building the TickData validates it, so callers hand it to
`MarketDataService.handle_constructed_tick` rather than validating twice.

    adapter = TickAdapter()
    tick_data = adapter(tick)          # InvalidTickError(reason) for an unusable tick
"""

from __future__ import annotations

import operator
from typing import Any

from tickstock.legacy.market_hours import detect_market_status
from tickstock.legacy.tick import InvalidTickError, TickData

_OPTIONAL = (
    "bid", "ask", "tick_open", "tick_high", "tick_low", "tick_close", "tick_vwap", "vwap",
    "market_open_price", "tick_volume", "accumulated_volume", "source",
)  # fmt: skip


def _num(value: Any) -> Any:
    """Python float for float subclasses (numpy.float64); other values unchanged."""
    if type(value) is not float and isinstance(value, float):
        return float(value)
    return value


def _int(value: Any) -> Any:
    """Python int for integer-like scalars (numpy.int64, not bool or float); others unchanged."""
    if type(value) is int or value is None or isinstance(value, bool | float | str):
        return value
    try:
        return operator.index(value)
    except TypeError:
        return value


class TickAdapter:
    """Callable Tick → TickData; caches the market status per UTC minute (sessions change only
    on minute boundaries), since ticks arrive in time order and the lookup is per tick."""

    __slots__ = ("_minute", "_status")

    def __init__(self) -> None:
        self._minute = -1
        self._status = ""

    def market_status(self, seconds: float) -> str:
        minute = int(seconds) // 60
        if minute != self._minute:
            self._status = detect_market_status(seconds)
            self._minute = minute
        return self._status

    def __call__(self, tick: Any) -> TickData:
        try:
            ts, ticker, price, volume = tick.ts, tick.ticker, tick.price, tick.volume
            (bid, ask, t_open, t_high, t_low, t_close, t_vwap, vwap, op, t_vol, acc, source) = (
                tick.bid, tick.ask, tick.tick_open, tick.tick_high, tick.tick_low, tick.tick_close,
                tick.tick_vwap, tick.vwap, tick.market_open_price, tick.tick_volume,
                tick.accumulated_volume, tick.source,
            )  # fmt: skip
        except AttributeError:
            ts, ticker, price, volume = (
                getattr(tick, n, None) for n in ("ts", "ticker", "price", "volume")
            )
            (bid, ask, t_open, t_high, t_low, t_close, t_vwap, vwap, op, t_vol, acc, source) = (
                getattr(tick, n, None) for n in _OPTIONAL
            )
        if type(ts) is not int:
            ts = _int(ts)
            if type(ts) is not int:
                raise InvalidTickError(
                    "bad_timestamp", f"tick {getattr(tick, 'seq', '?')}: invalid ts {ts!r}"
                )
        if ts <= 0:
            raise InvalidTickError(
                "bad_timestamp", f"tick {getattr(tick, 'seq', '?')}: invalid ts {ts!r}"
            )
        if type(price) is not float:
            price = _num(price)
        if type(volume) is not int:
            volume = _int(volume)
        seconds = ts / 1e9
        try:
            if int(seconds) // 60 == self._minute:
                status = self._status
            else:
                status = self.market_status(seconds)
        except (OverflowError, ValueError, OSError):  # beyond what datetime can represent
            raise InvalidTickError(
                "bad_timestamp", f"tick {getattr(tick, 'seq', '?')}: ts {ts} out of range"
            ) from None
        return TickData(
            ticker, price, volume, seconds,
            source if type(source) is str and source else "recording", "A",
            bid, ask, status, t_open, t_high, t_low, t_close,
            None, None, None, op, None, t_vol, None, acc, t_vwap, vwap, None, seconds,
        )  # fmt: skip


_default = TickAdapter()


def tick_to_tickdata(tick: Any) -> TickData:
    """TickData for a harness-style tick; InvalidTickError (with `reason`) when it is unusable."""
    return _default(tick)
