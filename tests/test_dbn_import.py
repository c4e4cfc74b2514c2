"""`harness import --format dbn`: Databento trades / MBP-1 / TBBO files, built here with the
official `databento-dbn` encoder, become valid recordings under the importers' bad-row contract."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import databento_dbn as dbn
import pytest
from click.testing import CliRunner

from harness.cli import cli
from harness.core.errors import RecordingError
from harness.recordings.importers.importer import ImportSpec, import_file
from harness.recordings.reader import open_recording, validate_recording

T0 = 1_773_151_200_000_000_000  # 2026-03-10 14:00 UTC (10:00 ET), ns
SEC = 1_000_000_000
IDS = {"AAPL": 15, "MSFT": 16}


@dataclass
class _Interval:  # databento_dbn takes any object with these attributes (a Protocol)
    start_date: dt.date
    end_date: dt.date
    symbol: str


@dataclass
class _Mapping:
    raw_symbol: str
    intervals: list[_Interval]


def _metadata(schema: dbn.Schema, symbols: dict[str, int]) -> bytes:
    day = dt.date(2026, 3, 10)
    return dbn.Metadata(
        dataset="XNAS.ITCH",
        start=T0,
        end=T0 + 3600 * SEC,
        stype_in=dbn.SType.RAW_SYMBOL,
        stype_out=dbn.SType.INSTRUMENT_ID,
        schema=schema,
        symbols=list(symbols),
        mappings=[
            _Mapping(s, [_Interval(day, day + dt.timedelta(days=1), str(i))])
            for s, i in symbols.items()
        ],
    ).encode()


def _trade(iid: int, ts: int, px: int, size: int, seq: int) -> dbn.TradeMsg:
    return dbn.TradeMsg(
        publisher_id=2,
        instrument_id=iid,
        ts_event=ts,
        price=px,
        size=size,
        action=dbn.Action.TRADE,
        side=dbn.Side.BID,
        depth=0,
        ts_recv=ts + 1_000,
        sequence=seq,
    )


def _mbp1(iid, ts, px, size, seq, action, bid, ask) -> dbn.MBP1Msg:
    return dbn.MBP1Msg(
        publisher_id=2,
        instrument_id=iid,
        ts_event=ts,
        price=px,
        size=size,
        action=action,
        side=dbn.Side.ASK,
        depth=0,
        ts_recv=ts + 500,
        sequence=seq,
        levels=dbn.BidAskPair(bid_px=bid, ask_px=ask, bid_sz=100, ask_sz=200),
    )


def _write(path: Path, schema: dbn.Schema, records, symbols=IDS, zstd=False) -> Path:
    data = _metadata(schema, symbols) + b"".join(bytes(r) for r in records)
    if zstd:
        import io

        buf = io.BytesIO()
        enc = dbn.Transcoder(buf, dbn.Encoding.DBN, dbn.Compression.ZSTD)
        enc.write(data)
        enc.flush()
        del enc  # the encoder ends the zstd frame when it is dropped
        data = buf.getvalue()
    path.write_bytes(data)
    return path


def _ticks(rec_path: Path) -> list[dict]:
    return open_recording(rec_path).table().to_pylist()


def test_trades_become_ticks_with_fixed_point_prices_symbols_and_receive_times(tmp_path):
    src = _write(
        tmp_path / "xnas-trades.dbn",
        dbn.Schema.TRADES,
        [
            _trade(15, T0 + 2 * SEC, 190_120_000_000, 100, 7),
            _trade(16, T0 + 1 * SEC, 410_505_000_000, 25, 3),  # earlier: written first
            _trade(15, T0 + 3 * SEC, 190_130_000_000, 300, 9),
        ],
    )
    result = import_file(src, tmp_path / "rec", ImportSpec("dbn"))
    assert (result.rows_read, result.rows_written, result.rows_rejected) == (3, 3, 0)
    assert result.rows_reordered == 1
    assert validate_recording(tmp_path / "rec") == []
    ticks = _ticks(tmp_path / "rec")
    assert [(t["ticker"], t["price"], t["volume"]) for t in ticks] == [
        ("MSFT", 410.505, 25),
        ("AAPL", 190.12, 100),
        ("AAPL", 190.13, 300),
    ]
    assert [t["ts"].value for t in ticks] == [T0 + SEC, T0 + 2 * SEC, T0 + 3 * SEC]
    assert ticks[1]["recv_ts"].value == T0 + 2 * SEC + 1_000
    notes = open_recording(tmp_path / "rec").manifest["notes"]
    assert notes["format"] == "dbn" and notes["dbn_schema"] == "trades"
    assert notes["dbn_dataset"] == "XNAS.ITCH" and notes["dbn_records"] == 3


def test_mbp1_keeps_trades_only_with_their_top_of_book_and_reads_zstd(tmp_path):
    src = _write(
        tmp_path / "xnas-mbp1.dbn.zst",
        dbn.Schema.MBP_1,
        [
            _mbp1(
                15,
                T0 + SEC,
                190_100_000_000,
                100,
                1,
                dbn.Action.ADD,
                190_100_000_000,
                190_150_000_000,
            ),
            _mbp1(
                15,
                T0 + 2 * SEC,
                190_150_000_000,
                40,
                2,
                dbn.Action.TRADE,
                190_100_000_000,
                190_160_000_000,
            ),
            _mbp1(
                15,
                T0 + 3 * SEC,
                190_100_000_000,
                100,
                3,
                dbn.Action.CANCEL,
                190_090_000_000,
                190_160_000_000,
            ),
            _mbp1(
                16,
                T0 + 4 * SEC,
                410_000_000_000,
                5,
                4,
                dbn.Action.TRADE,
                dbn.UNDEF_PRICE,
                410_010_000_000,
            ),
        ],
        zstd=True,
    )
    import_file(src, tmp_path / "rec", ImportSpec("dbn"))
    ticks = _ticks(tmp_path / "rec")
    assert [(t["ticker"], t["price"], t["volume"], t["bid"], t["ask"]) for t in ticks] == [
        ("AAPL", 190.15, 40, 190.1, 190.16),
        ("MSFT", 410.0, 5, None, 410.01),  # no bid in the book: missing, not 9.2e9
    ]
    notes = open_recording(tmp_path / "rec").manifest["notes"]
    assert notes["dbn_schema"] == "mbp-1" and notes["dbn_non_trade_records"] == 2


def test_bad_records_fail_the_import_naming_the_row_or_are_skipped_on_request(tmp_path):
    src = _write(
        tmp_path / "bad.dbn",
        dbn.Schema.TRADES,
        [
            _trade(15, T0 + SEC, 190_000_000_000, 10, 1),
            _trade(15, T0 + 2 * SEC, dbn.UNDEF_PRICE, 10, 2),  # no price
            _trade(99, T0 + 3 * SEC, 50_000_000_000, 10, 3),  # no symbol mapping
        ],
    )
    with pytest.raises(
        RecordingError, match=r"bad\.dbn: 2 bad row\(s\) of 3; first: input row 2: price missing"
    ):
        import_file(src, tmp_path / "rec", ImportSpec("dbn"))
    assert not (tmp_path / "rec").exists()
    result = import_file(src, tmp_path / "rec", ImportSpec("dbn", on_bad_row="skip"))
    assert result.rows_written == 1 and result.rows_rejected == 2
    assert result.examples == (
        "input row 2: price missing or unparseable",
        "input row 3: ticker missing",
    )


def test_not_dbn_truncated_and_quote_only_files_are_clear_errors_with_exit_5(tmp_path):
    junk = tmp_path / "junk.dbn"
    junk.write_bytes(b"ts,price\n1,2\n")
    with pytest.raises(RecordingError, match=r"junk\.dbn: not a readable DBN file"):
        import_file(junk, tmp_path / "r1", ImportSpec("dbn"))
    good = _write(tmp_path / "t.dbn", dbn.Schema.TRADES, [_trade(15, T0, 1_000_000_000, 1, 1)] * 2)
    cut = tmp_path / "cut.dbn"
    cut.write_bytes(good.read_bytes()[:-7])
    with pytest.raises(
        RecordingError, match=r"cut\.dbn: truncated DBN file: the last record is cut off"
    ):
        import_file(cut, tmp_path / "r2", ImportSpec("dbn"))
    ohlcv = tmp_path / "bars.dbn"
    ohlcv.write_bytes(_metadata(dbn.Schema.OHLCV_1M, IDS))
    res = CliRunner().invoke(cli, ["import", str(ohlcv), str(tmp_path / "r3"), "--format", "dbn"])
    assert res.exit_code == 5
    assert (
        "DBN schema ohlcv-1m holds no trades; --format dbn imports trades, mbp-1, tbbo"
        in res.output
    )


def test_cli_imports_a_tbbo_file(tmp_path):
    src = _write(
        tmp_path / "tbbo.dbn",
        dbn.Schema.TBBO,
        [
            _mbp1(
                16,
                T0 + SEC,
                410_000_000_000,
                7,
                1,
                dbn.Action.TRADE,
                409_990_000_000,
                410_010_000_000,
            )
        ],
    )
    res = CliRunner().invoke(cli, ["import", str(src), str(tmp_path / "rec"), "--format", "dbn"])
    assert res.exit_code == 0, res.output
    assert "1 ticks written, 0 bad row(s) skipped of 1" in res.output
    (tick,) = _ticks(tmp_path / "rec")
    assert (tick["ticker"], tick["bid"], tick["ask"]) == ("MSFT", 409.99, 410.01)
