"""TickData fills derived fields and rejects unusable ticks with a countable reason."""

import math

import pytest

from tickstock.legacy.tick import InvalidTickError, TickData


def test_post_init_fills_close_and_tick_volume():
    t = TickData(ticker="AAPL", price=101.5, volume=300, timestamp=1_700_000_000.0)
    assert t.tick_close == 101.5
    assert t.tick_volume == 300
    z = TickData(ticker="AAPL", price=101.5, volume=0, timestamp=1_700_000_000.0)
    assert z.tick_volume is None


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"price": math.nan}, "bad_price"),
        ({"price": math.inf}, "bad_price"),
        ({"price": 0.0}, "bad_price"),
        ({"price": -1.0}, "bad_price"),
        ({"price": "10"}, "bad_price"),
        ({"volume": -5}, "bad_volume"),
        ({"volume": 1.5}, "bad_volume"),
        ({"ticker": ""}, "bad_ticker"),
        ({"ticker": "aapl"}, "bad_ticker"),
        ({"ticker": "A B"}, "bad_ticker"),
        ({"ticker": None}, "bad_ticker"),
        ({"timestamp": 0}, "bad_timestamp"),
        ({"timestamp": None}, "bad_timestamp"),
        ({"timestamp": math.nan}, "bad_timestamp"),
    ],
    ids=lambda v: repr(v),
)
def test_bad_ticks_raise_with_reason(kwargs, reason):
    base = {"ticker": "AAPL", "price": 10.0, "volume": 1, "timestamp": 1_700_000_000.0}
    base.update(kwargs)
    with pytest.raises(InvalidTickError) as err:
        TickData(**base)
    assert err.value.reason == reason


def test_class_share_tickers_are_valid():
    assert TickData(ticker="BRK.B", price=400.0, volume=1, timestamp=1.0).ticker == "BRK.B"
