"""Synthetic market days: deterministic, valid, and shaped like a real trading day."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from harness.core.errors import ConfigError
from harness.recordings.describe import summarize_recording
from harness.recordings.reader import open_recording, validate_recording
from harness.recordings.synth import SynthSpec, synthesize_day

TICKS, TICKERS = 40_000, 40


@pytest.fixture(scope="module")
def day(tmp_path_factory):
    path = tmp_path_factory.mktemp("synth") / "day"
    synthesize_day(path, SynthSpec("2026-03-10", tickers=TICKERS, ticks=TICKS, seed=3))
    return path


@pytest.fixture(scope="module")
def frame(day) -> pd.DataFrame:
    df = open_recording(day).table().to_pandas()
    df["ts"] = df["ts"].astype("int64")
    df["ticker"] = df["ticker"].astype(str)
    return df


def test_synthetic_day_is_valid_with_exact_tick_and_ticker_counts(day):
    assert validate_recording(day) == []
    rec = open_recording(day)
    assert rec.tick_count == TICKS and len(rec.tickers) == TICKERS
    assert rec.manifest["source"] == "synthetic"
    assert rec.manifest["notes"]["params"]["seed"] == 3


def test_same_seed_gives_the_same_recording_and_another_seed_does_not(day, tmp_path):
    synthesize_day(tmp_path / "a", SynthSpec("2026-03-10", tickers=TICKERS, ticks=TICKS, seed=3))
    synthesize_day(tmp_path / "b", SynthSpec("2026-03-10", tickers=TICKERS, ticks=TICKS, seed=4))
    assert open_recording(tmp_path / "a").sha256 == open_recording(day).sha256
    assert open_recording(tmp_path / "b").sha256 != open_recording(day).sha256


def test_every_session_has_ticks_and_the_regular_session_dominates(day):
    s = summarize_recording(day)["sessions"]
    assert s["closed"] == 0
    assert s["pre_market"] > 0 and s["after_hours"] > 0
    assert s["regular"] > 0.7 * TICKS


def test_activity_is_heavy_tailed(frame):
    counts = frame["ticker"].value_counts()
    assert counts.iloc[0] > 10 * counts.median()


def test_trades_print_inside_the_quote(frame):
    assert (frame["bid"] <= frame["price"]).all() and (frame["price"] <= frame["ask"]).all()
    assert (frame["bid"] < frame["ask"]).all()


def test_per_second_aggregates_are_running_values_of_the_tickers_second(frame):
    df = frame.assign(sec=frame["ts"] // 1_000_000_000)
    g = df.groupby(["ticker", "sec"], sort=False)
    assert np.allclose(df["tick_open"], g["price"].transform("first"))
    assert np.allclose(df["tick_high"], g["price"].cummax())
    assert np.allclose(df["tick_low"], g["price"].cummin())
    assert (df["tick_close"] == df["price"]).all()
    assert (df["tick_volume"] == g["volume"].cumsum()).all()
    pv = (df["price"] * df["volume"]).groupby([df["ticker"], df["sec"]]).cumsum()
    assert np.allclose(df["tick_vwap"], pv / df["tick_volume"], atol=1e-4)


def test_day_fields_accumulate_per_ticker(frame):
    g = frame.groupby("ticker", sort=False)
    assert (frame["accumulated_volume"] == g["volume"].cumsum()).all()
    pv = (frame["price"] * frame["volume"]).groupby(frame["ticker"]).cumsum()
    assert np.allclose(frame["vwap"], pv / frame["accumulated_volume"], atol=1e-4)


def test_market_open_price_is_the_first_regular_trade_and_absent_before_the_open(frame):
    et = pd.to_datetime(frame["ts"], utc=True).dt.tz_convert("America/New_York")
    regular = (et.dt.hour * 60 + et.dt.minute) >= 9 * 60 + 30
    assert frame.loc[~regular, "market_open_price"].isna().all()
    assert frame.loc[regular, "market_open_price"].notna().all()
    first = frame[regular].groupby("ticker")["price"].first()
    opens = frame[regular].groupby("ticker")["market_open_price"].agg(["min", "max"])
    assert (opens["min"] == opens["max"]).all() and (opens["min"] == first).all()


def test_some_tickers_move_more_than_two_percent_within_twenty_seconds(frame):
    df = frame[["ticker", "ts", "price"]].copy()
    df["t"] = pd.to_datetime(df["ts"], utc=True)
    moved = 0
    for _, g in df.groupby("ticker"):
        s = g.set_index("t")["price"]
        hi, lo = s.rolling("20s").max(), s.rolling("20s").min()
        moved += int(((hi - lo) / lo > 0.02).any())
    assert moved >= 3


def test_weekend_dates_and_too_few_ticks_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="weekend"):
        synthesize_day(tmp_path / "x", SynthSpec("2026-03-14", tickers=2, ticks=100))
    with pytest.raises(ConfigError, match="need ticks"):
        synthesize_day(tmp_path / "y", SynthSpec("2026-03-10", tickers=100, ticks=10))
