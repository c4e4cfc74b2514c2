"""Tick → TickData: the adapter both stacks use to turn a harness tick into TickStock's own tick.

Reads the tick by attribute (design.md §4; no harness import): `ts` is integer nanoseconds UTC and
becomes `timestamp = ts / 1e9` (also the bar end, `tick_end_timestamp`); `market_status` comes
from `detect_market_status` on that time, as TickStock's Polygon client does; `event_type` is
'A'; absent optional attributes stay None. numpy scalars are turned into Python numbers; anything
else of the wrong type is left for TickData's validation to reject with its reason.
"""

from __future__ import annotations

import operator
from typing import Any

from tickstock.legacy.market_hours import detect_market_status
from tickstock.legacy.tick import InvalidTickError, TickData

_OPTIONAL_FLOATS = (
    "bid",
    "ask",
    "tick_open",
    "tick_high",
    "tick_low",
    "tick_close",
    "tick_vwap",
    "vwap",
    "market_open_price",
)
_OPTIONAL_INTS = ("tick_volume", "accumulated_volume")


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


def tick_to_tickdata(tick: Any) -> TickData:
    """TickData for a harness-style tick; InvalidTickError (with `reason`) when it is unusable."""
    ts = _int(getattr(tick, "ts", None))
    if type(ts) is not int or ts <= 0:
        raise InvalidTickError(
            "bad_timestamp", f"tick seq {getattr(tick, 'seq', '?')}: invalid ts {ts!r}"
        )
    seconds = ts / 1e9
    opt = {name: _num(getattr(tick, name, None)) for name in _OPTIONAL_FLOATS}
    for name in _OPTIONAL_INTS:
        opt[name] = _int(getattr(tick, name, None))
    source = getattr(tick, "source", None)
    return TickData(
        ticker=getattr(tick, "ticker", None),  # type: ignore[arg-type]
        price=_num(getattr(tick, "price", None)),
        volume=_int(getattr(tick, "volume", None)),
        timestamp=seconds,
        source=source if isinstance(source, str) and source else "recording",
        event_type="A",
        market_status=detect_market_status(seconds),
        tick_end_timestamp=seconds,
        **opt,
    )
