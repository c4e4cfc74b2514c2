"""Importers: mapped CSV/Parquet, Polygon flat files and LOBSTER trades become valid recordings."""

from __future__ import annotations

import gzip
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.cli import cli
from harness.core.errors import ConfigError, RecordingError
from harness.recordings.importers.importer import ImportSpec, import_file, parse_mapping
from harness.recordings.reader import open_recording, validate_recording

# The shared sample data sits beside the checkout (../shared), as on developer machines and in CI.
_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DATA = next(
    (
        p
        for p in (_ROOT.parent / "shared" / "sample-data", Path("/work/shared/sample-data"))
        if p.is_dir()
    ),
    _ROOT.parent / "shared" / "sample-data",
)
LOBSTER = SAMPLE_DATA / "lobster_20120621_trades_all.parquet"
T0_MS = 1_773_151_200_000  # 2026-03-10 10:00 ET in ms


def write_csv(path: Path, header: str, rows: list[str], gz: bool = False) -> Path:
    text = "\n".join([header, *rows]) + "\n"
    if gz:
        with gzip.open(path, "wt") as fh:
            fh.write(text)
    else:
        path.write_text(text)
    return path


def ticks(path: Path) -> list:
    return list(open_recording(path).ticks())


def test_csv_with_a_column_mapping_and_ms_timestamps_is_sorted_into_a_valid_recording(tmp_path):
    src = write_csv(
        tmp_path / "in.csv",
        "when,sym,p,qty",
        [
            f"{T0_MS + 2000},MSFT,410.5,100",
            f"{T0_MS},AAPL,250.25,10",
            f"{T0_MS + 1000},AAPL,250.30,5",
        ],
    )
    mapping = parse_mapping("ts=when,ticker=sym,price=p,volume=qty")
    result = import_file(src, tmp_path / "rec", ImportSpec("csv", mapping=mapping, ts_unit="ms"))
    assert (result.rows_read, result.rows_written, result.rows_rejected) == (3, 3, 0)
    got = ticks(tmp_path / "rec")
    assert [(t.seq, t.ts, t.ticker, t.price, t.volume) for t in got] == [
        (0, T0_MS * 1_000_000, "AAPL", 250.25, 10),
        (1, (T0_MS + 1000) * 1_000_000, "AAPL", 250.30, 5),
        (2, (T0_MS + 2000) * 1_000_000, "MSFT", 410.5, 100),
    ]
    m = open_recording(tmp_path / "rec").manifest
    assert m["source"] == "import:csv" and len(m["notes"]["original_sha256"]) == 64


def test_iso_timestamps_in_new_york_time_and_a_constant_ticker(tmp_path):
    src = write_csv(tmp_path / "in.csv", "time,last,size", ["2026-03-10 10:00:00.000000123,5.5,1"])
    mapping = parse_mapping("ts=time,price=last,volume=size")
    import_file(
        src,
        tmp_path / "rec",
        ImportSpec("csv", mapping=mapping, ts_unit="iso", tz="America/New_York", ticker="SPY"),
    )
    (tick,) = ticks(tmp_path / "rec")
    assert tick.ts == T0_MS * 1_000_000 + 123 and tick.ticker == "SPY"


def test_parquet_with_mapping_keeps_source_order_for_equal_timestamps(tmp_path):
    src = tmp_path / "in.parquet"
    pq.write_table(
        pa.table(
            {
                "t": [5, 5, 1],
                "n": [2, 1, 0],
                "s": ["A", "B", "C"],
                "p": [1.0, 2.0, 3.0],
                "v": [1, 2, 3],
            }
        ),
        src,
    )
    mapping = parse_mapping("ts=t,seq=n,ticker=s,price=p,volume=v")
    import_file(src, tmp_path / "rec", ImportSpec("parquet", mapping=mapping, ts_unit="s"))
    assert [t.ticker for t in ticks(tmp_path / "rec")] == ["C", "B", "A"]


BAD_ROWS = [
    f"{T0_MS},AAPL,1.0,1",
    f"{T0_MS + 1},AAPL,-2,1",
    f"{T0_MS + 2},,1.0,1",
    f"{T0_MS + 3},AAPL,abc,1",
    f"{T0_MS + 4},AAPL,1.0,-7",
]


def test_bad_rows_fail_the_import_by_default_naming_the_input_row(tmp_path):
    src = write_csv(tmp_path / "in.csv", "t,s,p,v", BAD_ROWS)
    with pytest.raises(
        RecordingError,
        match=r"4 bad row\(s\) of 5; first: input row 2: price -2.0 \(expected finite > 0\)",
    ):
        import_file(
            src,
            tmp_path / "rec",
            ImportSpec(
                "csv", mapping=parse_mapping("ts=t,ticker=s,price=p,volume=v"), ts_unit="ms"
            ),
        )


def test_bad_rows_are_skipped_and_reported_on_request(tmp_path):
    src = write_csv(tmp_path / "in.csv", "t,s,p,v", BAD_ROWS)
    result = import_file(
        src,
        tmp_path / "rec",
        ImportSpec(
            "csv",
            mapping=parse_mapping("ts=t,ticker=s,price=p,volume=v"),
            ts_unit="ms",
            on_bad_row="skip",
        ),
    )
    assert (result.rows_written, result.rows_rejected) == (1, 4)
    assert result.examples == (
        "input row 2: price -2.0 (expected finite > 0)",
        "input row 3: ticker missing",
        "input row 4: price missing or unparseable",
        "input row 5: volume -7 (expected >= 0)",
    )
    assert validate_recording(tmp_path / "rec") == []


def test_polygon_trades_flat_file_uses_sip_timestamp_and_sequence_number(tmp_path):
    header = "ticker,conditions,correction,exchange,id,participant_timestamp,price,sequence_number,sip_timestamp,size,tape,trf_id,trf_timestamp"
    ns = T0_MS * 1_000_000
    rows = [
        f'AAPL,"12,37",0,4,1,{ns - 5},250.1,20,{ns + 10},100,3,,',
        f"AAPL,,0,4,2,{ns - 5},250.2,11,{ns},5,3,,",
        f"MSFT,,0,11,3,{ns - 5},410.0,12,{ns},7,3,,",
    ]
    src = write_csv(tmp_path / "trades.csv.gz", header, rows, gz=True)
    import_file(src, tmp_path / "rec", ImportSpec("polygon-trades"))
    assert [(t.ticker, t.price, t.volume) for t in ticks(tmp_path / "rec")] == [
        ("AAPL", 250.2, 5),
        ("MSFT", 410.0, 7),
        ("AAPL", 250.1, 100),
    ]


def test_polygon_minute_aggregates_get_day_fields_and_the_official_open(tmp_path):
    header = "ticker,volume,open,close,high,low,window_start,transactions"
    start = (T0_MS - 31 * 60_000) * 1_000_000  # 09:29 ET bar (pre-market)
    rows = [
        f"AAPL,100,10.0,10.5,11.0,9.0,{start},3",
        f"AAPL,300,10.6,10.8,10.9,10.4,{start + 60_000_000_000},9",
        f"AAPL,200,10.8,10.7,10.9,10.6,{start + 120_000_000_000},5",
    ]
    src = write_csv(tmp_path / "min.csv.gz", header, rows, gz=True)
    import_file(src, tmp_path / "rec", ImportSpec("polygon-minute"))
    got = ticks(tmp_path / "rec")
    assert [t.ts for t in got] == [start + k * 60_000_000_000 for k in (1, 2, 3)]
    assert [t.accumulated_volume for t in got] == [100, 400, 600]
    assert [t.market_open_price for t in got] == [None, 10.6, 10.6]
    assert (got[1].tick_open, got[1].tick_high, got[1].tick_low, got[1].tick_close) == (
        10.6,
        10.9,
        10.4,
        10.8,
    )
    assert got[0].vwap == pytest.approx(10.1667, abs=1e-4)


@pytest.mark.skipif(not LOBSTER.is_file(), reason="shared sample data not present")
def test_lobster_trades_import_keeps_every_execution_with_its_quote_and_provenance(tmp_path):
    result = import_file(LOBSTER, tmp_path / "rec", ImportSpec("lobster"))
    rec = open_recording(tmp_path / "rec")
    assert result.rows_written == rec.tick_count == 65_252
    assert rec.tickers == ["AAPL", "AMZN", "GOOG", "MSFT"]
    first = next(rec.ticks())
    assert (first.ticker, first.ts, first.price) == ("GOOG", 1_340_285_400_015_105_074, 579.40)
    quoted = [t for t in rec.ticks() if t.bid is not None]
    assert len(quoted) == 65_250  # the first two executions precede any quote in the book
    assert all(t.bid <= t.ask for t in quoted)
    notes = rec.manifest["notes"]
    assert (
        notes["original_sha256"]
        == "4615416804c048c5c5bec0b0d6f387727588a3a98825aaf15bb58041574223ee"
    )
    assert "LOBSTER" in notes["source_metadata"]["source"]


def test_mapping_errors_are_config_errors():
    with pytest.raises(ConfigError, match="not a recording column"):
        parse_mapping("when=t")
    with pytest.raises(ConfigError, match="column=source"):
        parse_mapping("ts")


def test_cli_import_reports_counts_and_refuses_bad_rows_with_exit_5(tmp_path):
    src = write_csv(tmp_path / "in.csv", "t,s,p,v", BAD_ROWS)
    runner = CliRunner()
    args = [
        "import",
        str(src),
        str(tmp_path / "a"),
        "--format",
        "csv",
        "--map",
        "ts=t,ticker=s,price=p,volume=v",
        "--ts-unit",
        "ms",
    ]
    failed = runner.invoke(cli, args)
    assert failed.exit_code == 5 and "bad row" in failed.output and "Traceback" not in failed.output
    ok = runner.invoke(cli, [*args[:2], str(tmp_path / "b"), *args[3:], "--on-bad-row", "skip"])
    assert ok.exit_code == 0, ok.output
    assert "1 ticks written, 4 bad row(s) skipped of 5" in ok.output


_rows = st.lists(
    st.tuples(
        st.integers(0, 6 * 3600 * 1000),  # ms after 10:00 ET
        st.sampled_from(["AAPL", "BRK.B", "X"]),
        st.decimals(min_value="0.0001", max_value="99999", places=4),
        st.integers(0, 10**7),
    ),
    min_size=1,
    max_size=60,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=_rows)
def test_csv_import_round_trips_any_rows_in_stable_time_order(tmp_path_factory, rows):
    tmp = tmp_path_factory.mktemp("imp")
    lines = [f"{T0_MS + ms},{sym},{price},{vol}" for ms, sym, price, vol in rows]
    src = write_csv(tmp / "in.csv", "t,s,p,v", lines)
    import_file(
        src,
        tmp / "rec",
        ImportSpec("csv", mapping=parse_mapping("ts=t,ticker=s,price=p,volume=v"), ts_unit="ms"),
    )
    order = sorted(range(len(rows)), key=lambda i: rows[i][0])  # stable: input order breaks ties
    expected = [
        ((T0_MS + rows[i][0]) * 1_000_000, rows[i][1], float(rows[i][2]), rows[i][3]) for i in order
    ]
    got = ticks(tmp / "rec")
    assert [(t.ts, t.ticker, t.price, t.volume) for t in got] == expected
    assert [t.seq for t in got] == list(range(len(rows)))


LOBSTER_RAW = SAMPLE_DATA / "lobster_aapl_20120621_L1"


@pytest.mark.skipif(not LOBSTER_RAW.is_dir(), reason="shared sample data not present")
def test_raw_lobster_message_and_orderbook_files_give_the_same_ticks_as_the_vendor_script(tmp_path):
    msg = LOBSTER_RAW / "AAPL_2012-06-21_34200000_57600000_message_1.csv.gz"
    import_file(msg, tmp_path / "rec", ImportSpec("lobster-csv"))
    got = open_recording(tmp_path / "rec").table()
    ref = pq.read_table(LOBSTER_RAW.parent / "aapl_20120621_lobster_trades.parquet")
    assert got.num_rows == ref.num_rows == 34_990
    assert got.column("ts").cast(pa.int64()).equals(ref.column("ts"))
    for ours, theirs in (("price", "price"), ("volume", "size"), ("bid", "bid"), ("ask", "ask")):
        assert got.column(ours).to_pylist() == ref.column(theirs).to_pylist(), ours
    notes = open_recording(tmp_path / "rec").manifest["notes"]
    assert "LOBSTER" in notes["dataset_metadata"]["licence"]


def test_raw_lobster_needs_a_lobster_file_name_or_explicit_options(tmp_path):
    src = write_csv(tmp_path / "messages.csv", "34200.1,4,1,100,5853300,1", [])
    with pytest.raises(ConfigError, match="not a LOBSTER file name"):
        import_file(src, tmp_path / "rec", ImportSpec("lobster-csv"))


def _parquet_trades(path: Path, ts: list, seq: list[int] | None = None) -> Path:
    cols = {
        "time": pa.array(ts, pa.timestamp("us", tz="UTC")),
        "sym": ["AAPL"] * len(ts),
        "px": [100.0 + i for i in range(len(ts))],
        "qty": [10] * len(ts),
    }
    if seq is not None:
        cols["n"] = seq
    pq.write_table(pa.table(cols), path)
    return path


def test_parquet_timestamp_column_imports_without_a_ts_unit(tmp_path):
    t0 = 1_773_151_200_000_000  # µs
    src = _parquet_trades(tmp_path / "t.parquet", [t0, t0 + 1, t0 + 2])
    r = import_file(src, tmp_path / "rec", ImportSpec("parquet", mapping=parse_mapping("ts=time,ticker=sym,price=px,volume=qty")))  # fmt: skip
    assert r.rows_written == 3 and r.rows_reordered == 0
    assert [t.ts for t in ticks(tmp_path / "rec")] == [t0 * 1000, (t0 + 1) * 1000, (t0 + 2) * 1000]


def test_a_missing_source_column_is_a_clear_config_error(tmp_path):
    src = _parquet_trades(tmp_path / "t.parquet", [1_773_151_200_000_000])
    with pytest.raises(
        ConfigError,
        match=r"--map price=price: .* has no such column \(columns: time, sym, px, qty\)",
    ):
        import_file(src, tmp_path / "rec", ImportSpec("parquet", mapping=parse_mapping("ts=time,ticker=sym,price=price,volume=qty")))  # fmt: skip


def test_duplicated_prints_are_bad_rows_and_reordering_is_reported(tmp_path):
    t0 = 1_773_151_200_000_000
    src = _parquet_trades(tmp_path / "t.parquet", [t0 + 5, t0, t0 + 5], seq=[7, 6, 7])
    pq.write_table(pq.read_table(src).set_column(2, "px", pa.array([101.0, 100.0, 101.0])), src)
    spec = parse_mapping("ts=time,ticker=sym,price=px,volume=qty,seq=n")
    with pytest.raises(
        RecordingError, match=r"1 bad row\(s\) of 3; first: input row 3: duplicate of input row 1"
    ):
        import_file(src, tmp_path / "rec", ImportSpec("parquet", mapping=spec))
    r = import_file(src, tmp_path / "rec", ImportSpec("parquet", mapping=spec, on_bad_row="skip"))
    assert (r.rows_written, r.rows_rejected, r.rows_reordered) == (2, 1, 1)
    assert r.manifest["notes"]["rows_reordered"] == 1
    assert validate_recording(tmp_path / "rec") == []
    out = CliRunner().invoke(cli, ["import", str(src), str(tmp_path / "rec2"), "--format", "parquet",
                                   "--map", "ts=time,ticker=sym,price=px,volume=qty,seq=n",
                                   "--on-bad-row", "skip"])  # fmt: skip
    assert out.exit_code == 0 and "repaired order: 1 row(s)" in out.output
