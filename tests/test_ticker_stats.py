"""Ticker risk statistics from a recording feed SmartTickerRollout's tiers."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from harness.core.errors import RecordingError
from harness.recordings.synth import SynthSpec, synthesize_day
from harness.recordings.ticker_stats import ticker_stats
from tickstock.multichannel.ticker_rollout import SmartTickerRollout


@pytest.fixture(scope="module")
def day(tmp_path_factory):
    path = tmp_path_factory.mktemp("rec") / "day"
    synthesize_day(path, SynthSpec(tickers=6, ticks=3000, seed=2))
    return path


def test_stats_cover_every_ticker_with_the_three_numbers(day):
    stats = ticker_stats(day)
    assert len(stats) == 6
    for values in stats.values():
        assert values["avg_daily_volume"] > 0
        assert 0 <= values["price_volatility"] < 1
        assert values["event_frequency"] == 0.0
    tiers = SmartTickerRollout(ticker_stats=stats).risk_tiers()
    assert set(tiers) == set(stats) and set(tiers.values()) <= {"low", "medium", "high"}


def test_event_frequency_counts_a_runs_events_per_day(day, tmp_path):
    ticker = sorted(ticker_stats(day))[0]
    events = tmp_path / "events_primary.parquet"
    pq.write_table(pa.table({"ticker": [ticker] * 3, "type": ["high", "low", "trend"]}), events)
    assert ticker_stats(day, events)[ticker]["event_frequency"] == 3.0


def test_a_missing_events_file_is_a_recording_error(day, tmp_path):
    with pytest.raises(RecordingError, match="nope.parquet"):
        ticker_stats(day, tmp_path / "nope.parquet")
