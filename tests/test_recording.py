"""Writing and reading recordings: round trips, ordering, filters, crash repair."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.core.errors import RecordingError
from harness.core.model import Tick
from harness.recordings.reader import (
    RecordingWriter,
    open_recording,
    repair_recording,
    validate_recording,
)
from harness.recordings.writer import PartLayout

T0 = 1_773_149_400_000_000_000  # 2026-03-10 09:30 ET (13:30 UTC)
SEC = 1_000_000_000


def make_table(n: int, start_seq: int = 0, start_ts: int = T0, step: int = 1_000_000) -> pa.Table:
    seq = np.arange(start_seq, start_seq + n, dtype=np.int64)
    return pa.table(
        {
            "seq": seq,
            "ts": start_ts + np.arange(n, dtype=np.int64) * step,
            "ticker": np.array(["AAPL", "MSFT", "BRK.B"])[seq % 3],
            "price": 100.0 + (seq % 7),
            "volume": (seq % 5) * 100,
            "bid": 99.0 + (seq % 7),
            "ask": 101.0 + (seq % 7),
        }
    )


def write(path, table: pa.Table, **kw) -> dict:
    with RecordingWriter(path, name="t", source="test", **kw) as w:
        w.write_batch(table)
    return json.loads((path / "recording.json").read_text())


def test_written_recording_reads_back_identical_rows_in_order(tmp_path):
    table = make_table(5_000)
    manifest = write(
        tmp_path / "r", table, layout=PartLayout(rows_per_file=1_200, row_group_rows=500)
    )
    assert [f["rows"] for f in manifest["files"]] == [1200, 1200, 1200, 1200, 200]
    assert manifest["tick_count"] == 5_000 and manifest["tickers"] == ["AAPL", "BRK.B", "MSFT"]
    rec = open_recording(tmp_path / "r")
    got = pa.Table.from_batches(list(rec.batches(batch_size=700)))
    assert got.column_names == ["seq", "ts", "ticker", "price", "volume", "bid", "ask"]
    assert got.column("seq").to_pylist() == table.column("seq").to_pylist()
    assert got.column("ts").cast(pa.int64()).to_pylist() == table.column("ts").to_pylist()
    assert got.column("ticker").cast(pa.string()).to_pylist() == table.column("ticker").to_pylist()
    assert validate_recording(tmp_path / "r") == []


def test_ticks_carry_int_nanosecond_ts_and_none_for_absent_columns(tmp_path):
    write(tmp_path / "r", make_table(10))
    ticks = list(open_recording(tmp_path / "r").ticks())
    assert ticks[1] == Tick(1, T0 + 1_000_000, "MSFT", 101.0, 100, bid=100.0, ask=102.0)
    assert type(ticks[1].ts) is int and ticks[1].vwap is None


def test_ticker_and_time_filters_select_exactly_the_matching_rows(tmp_path):
    write(
        tmp_path / "r",
        make_table(3_000),
        layout=PartLayout(rows_per_file=1_000, row_group_rows=250),
    )
    rec = open_recording(tmp_path / "r")
    aapl = [t.seq for t in rec.ticks(tickers=["AAPL"])]
    assert aapl == list(range(0, 3_000, 3))
    window = [t.seq for t in rec.ticks(start_ns=T0 + 1_500_000, end_ns=T0 + 2_100_000_000)]
    assert window == list(range(2, 2_100))
    both = [t.seq for t in rec.ticks(tickers=["MSFT"], start_ns=T0 + 2_000_000_000)]
    assert both == [s for s in range(2_000, 3_000) if s % 3 == 1]
    assert list(rec.ticks(tickers=[])) == []


def test_days_are_partitioned_by_new_york_trading_date(tmp_path):
    late = T0 + 10 * 3600 * SEC  # 19:30 ET on the 10th = 23:30 UTC
    next_day = T0 + 20 * 3600 * SEC  # 05:30 ET on the 11th
    t = pa.concat_tables([make_table(10, 0, late), make_table(10, 10, next_day)])
    manifest = write(tmp_path / "r", t)
    assert [f["path"] for f in manifest["files"]] == [
        "date=2026-03-10/part-00000.parquet",
        "date=2026-03-11/part-00000.parquet",
    ]
    assert [t.seq for t in open_recording(tmp_path / "r").ticks()] == list(range(20))


def test_writer_refuses_rows_out_of_ts_seq_order(tmp_path):
    w = RecordingWriter(tmp_path / "r", source="test")
    w.write_batch(make_table(10))
    with pytest.raises(RecordingError, match=r"seq=5 .* follows seq=9"):
        w.write_batch(make_table(3, start_seq=5, start_ts=T0 + SEC))


def test_write_ticks_round_trips_tick_values(tmp_path):
    ticks = [Tick(i, T0 + i, "X", 1.5 + i, i, vwap=2.0 if i else None) for i in range(100)]
    with RecordingWriter(tmp_path / "r", source="test") as w:
        w.write_ticks(ticks, chunk=30)
    assert list(open_recording(tmp_path / "r").ticks()) == ticks


def test_recording_sha256_is_stable_and_changes_with_content(tmp_path):
    write(tmp_path / "a", make_table(100))
    write(tmp_path / "b", make_table(100))
    write(tmp_path / "c", make_table(101))
    a, b, c = (open_recording(tmp_path / n).sha256 for n in "abc")
    assert a == b != c


def test_crashed_writer_leaves_a_detectable_recording_that_repair_recovers(tmp_path):
    path = tmp_path / "r"
    with (
        pytest.raises(RuntimeError),
        RecordingWriter(path, source="live", layout=PartLayout(rows_per_file=400)) as w,
    ):
        w.write_batch(make_table(1_000))
        raise RuntimeError("feed died")
    problems = validate_recording(path)
    assert problems[0].kind == "manifest_missing" and "never finalised" in problems[0].message
    # A torn part file, as a crash mid-write leaves it.
    torn = path / "date=2026-03-10/part-00003.parquet"
    torn.write_bytes((path / "date=2026-03-10/part-00000.parquet").read_bytes()[:300])
    manifest, removed = repair_recording(path)
    assert removed == ["date=2026-03-10/part-00003.parquet"]
    assert manifest["tick_count"] == 1_000 and manifest["source"] == "live"
    assert validate_recording(path) == []
    assert [t.seq for t in open_recording(path).ticks()][-1] == 999


def test_repair_refuses_a_finalised_recording(tmp_path):
    write(tmp_path / "r", make_table(10))
    with pytest.raises(RecordingError, match="nothing to repair"):
        repair_recording(tmp_path / "r")


_tick_rows = st.lists(
    st.tuples(
        st.integers(0, 3_000 * SEC),  # ts offset
        st.sampled_from(["A", "BRK.B", "X:BTC", "ZZZZ"]),
        st.floats(0.0001, 1e6, allow_nan=False, allow_infinity=False),
        st.integers(0, 10**9),
        st.one_of(st.none(), st.floats(0.0001, 1e6, allow_nan=False)),
    ),
    min_size=1,
    max_size=200,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=_tick_rows, rows_per_file=st.integers(1, 50), batch=st.integers(1, 64))
def test_round_trip_preserves_every_tick_for_any_input(
    tmp_path_factory, rows, rows_per_file, batch
):
    rows = sorted(rows, key=lambda r: r[0])
    ticks = [Tick(i * 2 + 1, T0 + r[0], r[1], r[2], r[3], vwap=r[4]) for i, r in enumerate(rows)]
    path = tmp_path_factory.mktemp("rt") / "r"
    with RecordingWriter(
        path, source="prop", columns=["vwap"], layout=PartLayout(rows_per_file=rows_per_file)
    ) as w:
        w.write_ticks(ticks, chunk=batch)
    rec = open_recording(path)
    assert list(rec.ticks(batch_size=batch)) == ticks
    assert validate_recording(path) == []
    only = {"BRK.B", "A"}
    assert list(rec.ticks(tickers=only)) == [t for t in ticks if t.ticker in only]


ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("name", ["sample-day", "lobster-2012-06-21"])
def test_bundled_recordings_are_valid_and_carry_provenance(name):
    path = ROOT / "recordings" / name
    assert validate_recording(path) == []
    m = open_recording(path).manifest
    assert m["notes"], "provenance belongs in the manifest's notes"
    assert sum(p.stat().st_size for p in path.rglob("*.parquet")) <= 10_000_000


def test_sample_day_covers_every_session_with_about_200k_ticks_and_200_tickers():
    from harness.recordings.describe import summarize_recording

    s = summarize_recording(ROOT / "recordings" / "sample-day")
    assert (s["ticks"], s["tickers"], s["source"]) == (200_000, 200, "synthetic")
    assert (
        min(s["sessions"]["pre_market"], s["sessions"]["regular"], s["sessions"]["after_hours"])
        > 1_000
    )


def test_lobster_recording_is_the_real_2012_sample_with_its_original_hash():
    m = open_recording(ROOT / "recordings" / "lobster-2012-06-21").manifest
    assert m["source"] == "import:lobster" and m["tick_count"] == 65_252
    assert m["notes"]["original_sha256"].startswith("4615416804c048c5")
    assert "LOBSTER" in m["notes"]["licence"]


def test_repair_refuses_a_missing_or_empty_directory(tmp_path):
    with pytest.raises(RecordingError, match="no such recording directory"):
        repair_recording(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(RecordingError, match="nothing to repair"):
        repair_recording(tmp_path / "empty")
