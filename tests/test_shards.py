"""Shard planning: stable ticker buckets, date × bucket shards, filters, defaults."""

from __future__ import annotations

import pytest

from harness.core.errors import ConfigError
from harness.scale.shards import (
    LARGE_DAY_BUCKETS,
    default_buckets,
    file_date,
    plan_shards,
    ticker_bucket,
)


def _manifest(days: dict[str, int], tickers: list[str]) -> dict:
    files = []
    for i, (d, rows) in enumerate(sorted(days.items())):
        files.append(
            {
                "path": f"date={d}/part-00000.parquet",
                "rows": rows,
                "first_ts": 1000 * (i + 1),
                "last_ts": 1000 * (i + 1) + 500,
            }
        )
    return {"files": files, "tickers": tickers, "tick_count": sum(days.values())}


def test_ticker_buckets_are_a_stable_crc32_hash_not_pythons_salted_hash():
    assert [ticker_bucket(t, 4) for t in ("AAPL", "MSFT", "BRK.B")] == [0, 3, 0]
    assert ticker_bucket("AAPL", 1) == 0


def test_every_ticker_is_in_exactly_one_bucket_per_day():
    tickers = [f"X{i}" for i in range(50)]
    plan = plan_shards(_manifest({"2026-03-10": 10, "2026-03-11": 10}, tickers), buckets=4)
    assert plan.dates == ("2026-03-10", "2026-03-11")
    for day in plan.dates:
        got = [t for s in plan.shards if s.date == day for t in (s.tickers or ())]
        assert sorted(got) == sorted(tickers)
    assert [s.index for s in plan.shards] == list(range(len(plan.shards)))
    day2 = [s for s in plan.shards if s.date == "2026-03-11"]
    assert {(s.start_ns, s.end_ns) for s in day2} == {(2000, 2501)}


def test_a_single_day_plan_reads_without_a_time_filter():
    plan = plan_shards(_manifest({"2026-03-10": 10}, ["A", "B"]), buckets=2)
    assert {(s.start_ns, s.end_ns) for s in plan.shards} == {(None, None)}


def test_one_bucket_means_no_ticker_filter_unless_tickers_were_asked_for():
    m = _manifest({"2026-03-10": 10}, ["A", "B", "C"])
    assert plan_shards(m, buckets=1).shards[0].tickers is None
    assert plan_shards(m, buckets=1, tickers=["B"]).shards[0].tickers == ("B",)


def test_empty_buckets_are_dropped_and_a_time_filter_drops_whole_days():
    m = _manifest({"2026-03-10": 10, "2026-03-11": 10}, ["A"])
    plan = plan_shards(m, buckets=8)
    assert len(plan) == 2
    assert [s.date for s in plan_shards(m, buckets=8, start_ns=1600).shards] == ["2026-03-11"]


def test_default_buckets_depend_on_the_data_not_on_the_worker_count():
    assert default_buckets(_manifest({"2026-03-10": 1000}, ["A"])) == 1
    assert default_buckets(_manifest({"2026-03-10": 10_000_000}, ["A"])) == LARGE_DAY_BUCKETS


def test_zero_buckets_is_a_config_error():
    with pytest.raises(ConfigError, match="--shards"):
        plan_shards(_manifest({"2026-03-10": 1}, ["A"]), buckets=0)


@pytest.mark.parametrize(
    ("path", "date"),
    [("date=2026-03-10/part-00000.parquet", "2026-03-10"), ("part-00000.parquet", None)],
)
def test_file_dates_come_from_the_hive_partition(path, date):
    assert file_date(path) == date
