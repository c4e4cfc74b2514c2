"""Tick → TickData adapter: every harness column lands in the right TickData field."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import numpy as np
import pytest

from tickstock.generated import GeneratedTick
from tickstock.legacy.adapter import TickAdapter, tick_to_tickdata
from tickstock.legacy.tick import InvalidTickError

TS = int(datetime(2026, 3, 10, 14, 45, tzinfo=UTC).timestamp() * 1e9) + 123  # Tue 10:45 ET


def test_every_column_maps_to_its_tickdata_field() -> None:
    tick = GeneratedTick(
        7, TS, "AAPL", 101.5, 300, bid=101.4, ask=101.6, tick_open=101.0, tick_high=102.0,
        tick_low=100.5, tick_close=101.5, tick_vwap=101.2, tick_volume=250,
        accumulated_volume=9000, vwap=100.9, market_open_price=100.0, recv_ts=TS + 5, source="polygon",
    )  # fmt: skip
    td = tick_to_tickdata(tick)
    assert (td.ticker, td.price, td.volume) == ("AAPL", 101.5, 300)
    assert td.timestamp == TS / 1e9 == td.tick_end_timestamp
    assert (td.bid, td.ask) == (101.4, 101.6)
    assert (td.tick_open, td.tick_high, td.tick_low, td.tick_close) == (101.0, 102.0, 100.5, 101.5)
    assert (td.tick_vwap, td.vwap, td.tick_volume, td.accumulated_volume) == (
        101.2,
        100.9,
        250,
        9000,
    )
    assert td.market_open_price == 100.0
    assert (td.source, td.event_type, td.market_status) == ("polygon", "A", "REGULAR")
    assert (td.day_high, td.open_price, td.previous_close, td.tick_trade_size) == (
        None,
        None,
        None,
        None,
    )


def test_market_status_follows_the_tick_time_in_eastern() -> None:
    adapter = TickAdapter()
    pre = int(datetime(2026, 3, 10, 12, 0, tzinfo=UTC).timestamp() * 1e9)  # 08:00 ET
    saturday = int(datetime(2026, 3, 14, 15, 0, tzinfo=UTC).timestamp() * 1e9)
    assert adapter(GeneratedTick(0, pre, "A", 1.0, 1)).market_status == "PRE"
    assert adapter(GeneratedTick(1, TS, "A", 1.0, 1)).market_status == "REGULAR"
    assert adapter(GeneratedTick(2, saturday, "A", 1.0, 1)).market_status == "CLOSED"


def test_numpy_scalars_and_minimal_objects_are_accepted() -> None:
    tick = SimpleNamespace(
        seq=1, ts=np.int64(TS), ticker="MSFT", price=np.float64(10.5), volume=np.int64(3)
    )
    td = tick_to_tickdata(tick)
    assert (type(td.price), type(td.volume), td.price, td.volume) == (float, int, 10.5, 3)
    assert td.source == "recording" and td.bid is None


@pytest.mark.parametrize(
    ("change", "reason"),
    [({"ts": None}, "bad_timestamp"), ({"ts": 1.5e18}, "bad_timestamp"), ({"ts": -1}, "bad_timestamp"), ({"ts": 10**30}, "bad_timestamp"),
     ({"price": float("nan")}, "bad_price"), ({"price": "1"}, "bad_price"), ({"volume": -1}, "bad_volume"),
     ({"ticker": ""}, "bad_ticker"), ({"ticker": 5}, "bad_ticker")],
    ids=["none-ts", "float-ts", "negative-ts", "absurd-ts", "nan-price", "str-price", "negative-volume", "empty-ticker",
         "int-ticker"],
)  # fmt: skip
def test_unusable_ticks_raise_invalid_tick_with_reason(
    change: dict[str, object], reason: str
) -> None:
    tick = GeneratedTick(1, TS, "AAPL", 10.0, 5)._replace(**change)
    with pytest.raises(InvalidTickError) as info:
        tick_to_tickdata(tick)
    assert info.value.reason == reason
