"""Every kind of bad recording is caught and located by file, column and row (seq)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from harness.cli import cli
from harness.core.errors import RecordingError
from harness.recordings.manifest import file_sha256
from harness.recordings.reader import (
    RecordingWriter,
    check_recording,
    open_recording,
    validate_recording,
)
from harness.recordings.writer import PartLayout

T0 = 1_773_151_200_000_000_000  # 2026-03-10 10:00 ET
PART = "date=2026-03-10/part-00000.parquet"
N = 12


def base_table() -> pa.Table:
    i = np.arange(N)
    return pa.table(
        {
            "seq": pa.array(100 + 2 * i, pa.int64()),
            "ts": pa.array(T0 + i * 1_000_000_000, pa.int64()).cast(pa.timestamp("ns", "UTC")),
            "ticker": pa.array(["AAPL", "MSFT", "BRK.B"] * 4),
            "price": pa.array(100.0 + i, pa.float64()),
            "volume": pa.array(i * 10, pa.int64()),
            "bid": pa.array(99.0 + i, pa.float64()),
            "ask": pa.array(101.0 + i, pa.float64()),
        }
    )


@pytest.fixture
def rec(tmp_path) -> Path:
    path = tmp_path / "rec"
    with RecordingWriter(path, source="test") as w:
        w.write_batch(base_table())
    return path


def manifest(path: Path) -> dict:
    return json.loads((path / "recording.json").read_text())


def save_manifest(path: Path, m: dict) -> None:
    (path / "recording.json").write_text(json.dumps(m))


def replace_part(path: Path, table: pa.Table, rel: str = PART) -> None:
    """Overwrite a part file and keep the manifest consistent, so only the data is wrong."""
    pq.write_table(table, path / rel)
    m = manifest(path)
    for f in m["files"]:
        if f["path"] == rel:
            f["sha256"], f["rows"] = file_sha256(path / rel), table.num_rows
    save_manifest(path, m)


def set_value(column: str, index: int, value, typ=None) -> Callable[[Path], None]:
    def mutate(path: Path) -> None:
        t = base_table()
        values = t.column(column).to_pylist()
        values[index] = value
        pos = t.column_names.index(column)
        replace_part(
            path, t.set_column(pos, column, pa.array(values, typ or t.column(column).type))
        )

    return mutate


def drop_column(column: str) -> Callable[[Path], None]:
    return lambda path: replace_part(path, base_table().drop_columns([column]))


def cast_column(column: str, typ: pa.DataType) -> Callable[[Path], None]:
    def mutate(path: Path) -> None:
        t = base_table()
        col = t.column(column)
        if pa.types.is_timestamp(typ):
            col = col.cast(pa.int64()).cast(pa.timestamp("ns", typ.tz))
        pos = t.column_names.index(column)
        replace_part(path, t.set_column(pos, column, col.cast(typ)))

    return mutate


def swap_ts(path: Path) -> None:
    t = base_table()
    ts = t.column("ts").cast(pa.int64()).to_pylist()
    ts[8], ts[9] = ts[9], ts[8]
    col = pa.array(ts, pa.int64()).cast(pa.timestamp("ns", "UTC"))
    replace_part(path, t.set_column(1, "ts", col))


def edit_manifest(fn: Callable[[dict], None]) -> Callable[[Path], None]:
    def mutate(path: Path) -> None:
        m = manifest(path)
        fn(m)
        save_manifest(path, m)

    return mutate


def write_bytes(data: bytes | Callable[[bytes], bytes], rel: str = PART) -> Callable[[Path], None]:
    def mutate(path: Path) -> None:
        old = (path / rel).read_bytes()
        (path / rel).write_bytes(data(old) if callable(data) else data)

    return mutate


def zero_row_part(path: Path) -> None:
    replace_part(path, base_table().slice(0, 0))


def empty_recording(path: Path) -> None:
    (path / PART).unlink()
    (path / PART).parent.rmdir()
    edit_manifest(lambda m: m.update(files=[], tick_count=0))(path)


def second_part_other_schema(path: Path) -> None:
    rel = "date=2026-03-10/part-00001.parquet"
    t = base_table().drop_columns(["bid", "ask"])
    later = t.set_column(0, "seq", pa.array(np.arange(N) + 1000, pa.int64()))
    later = later.set_column(
        1,
        "ts",
        pa.array(T0 + 3_600_000_000_000 + np.arange(N), pa.int64()).cast(
            later.schema.field("ts").type
        ),
    )
    pq.write_table(later, path / rel)
    m = manifest(path)
    m["files"].append({"path": rel, "rows": N, "sha256": file_sha256(path / rel)})
    m["tick_count"] += N
    save_manifest(path, m)


def set_first_bid_above_ask(path: Path) -> None:
    set_value("bid", 2, 500.0)(path)


NEXT_DAY = T0 + 86_400_000_000_000

# (id, mutation, kind, file, column, row) — row is the offending tick's seq (None: file-level).
CASES = [
    ("missing-required-column", drop_column("volume"), "missing_column", PART, "volume", None),
    ("wrong-column-type", cast_column("volume", pa.float64()), "wrong_type", PART, "volume", None),
    ("null-in-required-column", set_value("price", 5, None), "null_required", PART, "price", 110),
    ("nan-price", set_value("price", 3, float("nan")), "bad_price", PART, "price", 106),
    ("inf-price", set_value("price", 4, float("inf")), "bad_price", PART, "price", 108),
    ("zero-price", set_value("price", 1, 0.0), "bad_price", PART, "price", 102),
    ("negative-price", set_value("price", 2, -3.5), "bad_price", PART, "price", 104),
    ("negative-volume", set_value("volume", 7, -1), "negative_volume", PART, "volume", 114),
    ("duplicate-seq", set_value("seq", 6, 110), "duplicate_seq", PART, "seq", 110),
    ("seq-not-increasing-with-ts", swap_ts, "seq_order", PART, "ts", 118),
    ("timezone-naive-ts", cast_column("ts", pa.timestamp("ns")), "ts_naive", PART, "ts", None),
    (
        "non-utc-ts",
        cast_column("ts", pa.timestamp("ns", "America/New_York")),
        "ts_not_utc",
        PART,
        "ts",
        None,
    ),
    (
        "ts-outside-partition",
        set_value("ts", 11, NEXT_DAY),
        "ts_outside_partition",
        PART,
        "ts",
        122,
    ),
    ("empty-ticker", set_value("ticker", 3, ""), "bad_ticker", PART, "ticker", 106),
    ("too-long-ticker", set_value("ticker", 4, "X" * 40), "bad_ticker", PART, "ticker", 108),
    (
        "illegal-ticker-characters",
        set_value("ticker", 5, "AA PL;"),
        "bad_ticker",
        PART,
        "ticker",
        110,
    ),
    ("bid-above-ask", set_first_bid_above_ask, "bid_above_ask", PART, "bid", 104),
    (
        "truncated-parquet",
        write_bytes(lambda b: b[: len(b) // 2]),
        "unreadable_file",
        PART,
        None,
        None,
    ),
    (
        "garbage-parquet",
        write_bytes(b"not parquet at all" * 10),
        "unreadable_file",
        PART,
        None,
        None,
    ),
    ("zero-byte-file", write_bytes(b""), "empty_file", PART, None, None),
    ("zero-row-file", zero_row_part, "empty_file", PART, None, None),
    ("empty-recording", empty_recording, "empty_recording", None, None, None),
    (
        "manifest-missing",
        lambda p: (p / "recording.json").unlink(),
        "manifest_missing",
        "recording.json",
        None,
        None,
    ),
    (
        "manifest-not-json",
        lambda p: (p / "recording.json").write_text("{not json"),
        "manifest_not_json",
        "recording.json",
        None,
        None,
    ),
    (
        "manifest-sha256-mismatch",
        edit_manifest(lambda m: m["files"][0].update(sha256="0" * 64)),
        "sha256_mismatch",
        PART,
        None,
        None,
    ),
    (
        "manifest-row-count-mismatch",
        edit_manifest(lambda m: m["files"][0].update(rows=11)),
        "row_count_mismatch",
        PART,
        None,
        None,
    ),
    (
        "part-files-with-different-schemas",
        second_part_other_schema,
        "schema_mismatch",
        "date=2026-03-10/part-00001.parquet",
        None,
        None,
    ),
    (
        "unknown-schema-version",
        edit_manifest(lambda m: m.update(schema_version=99)),
        "unknown_schema_version",
        "recording.json",
        "schema_version",
        None,
    ),
    (
        "manifest-path-outside-recording",
        edit_manifest(lambda m: m["files"][0].update(path="../../etc/passwd")),
        "manifest_path_outside",
        "recording.json",
        "files",
        None,
    ),
    (
        "manifest-absolute-path",
        edit_manifest(lambda m: m["files"][0].update(path="/etc/passwd")),
        "manifest_path_outside",
        "recording.json",
        "files",
        None,
    ),
]


def test_the_base_recording_is_valid(rec):
    assert validate_recording(rec) == []
    check_recording(rec)


@pytest.mark.parametrize(
    ("mutate", "kind", "file", "column", "row"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_recording_problem_names_file_column_and_row(rec, mutate, kind, file, column, row):
    mutate(rec)
    problems = validate_recording(rec)
    hits = [p for p in problems if p.kind == kind]
    assert hits, f"expected a {kind} problem, got {[str(p) for p in problems]}"
    p = hits[0]
    assert (p.file, p.column, p.row) == (file or str(rec), column, row)
    text = str(p)
    assert (file or str(rec)) in text
    assert f"column {column}" in text if column else "column -" in text
    assert f"seq={row}" in text if row is not None else "row -" in text
    with pytest.raises(RecordingError) as exc:
        check_recording(rec)
    assert "\n" not in str(exc.value) and exc.value.exit_code == 5


@pytest.mark.parametrize(
    ("mutate", "kind"), [(c[1], c[2]) for c in CASES], ids=[c[0] for c in CASES]
)
def test_cli_validate_reports_bad_input_in_one_line_with_exit_code_5(rec, mutate, kind):
    mutate(rec)
    result = CliRunner().invoke(cli, ["validate", str(rec)])
    assert result.exit_code == 5, result.output
    assert kind in result.output
    assert "Traceback" not in result.output
    assert result.output.strip().splitlines()[-1].startswith("harness: error:")


def test_all_problems_are_reported_not_just_the_first(rec):
    t = base_table()
    price = t.column("price").to_pylist()
    price[1] = -1.0
    vol = t.column("volume").to_pylist()
    vol[2] = -5
    t = t.set_column(3, "price", pa.array(price)).set_column(4, "volume", pa.array(vol))
    replace_part(rec, t)
    kinds = {p.kind for p in validate_recording(rec)}
    assert {"bad_price", "negative_volume"} <= kinds


def test_repeated_problems_are_counted_and_the_list_is_capped(rec):
    set_value("price", 0, -1.0)(rec)
    t = pq.read_table(rec / PART)
    t = t.set_column(3, "price", pa.array([-1.0] * N))
    replace_part(rec, t)
    (p,) = [p for p in validate_recording(rec) if p.kind == "bad_price"]
    assert p.row == 100 and "(12 rows in this file)" in p.message
    for i in range(1, 6):
        pq.write_table(t, rec / f"date=2026-03-10/part-9{i}.parquet")
    capped = validate_recording(rec, max_problems=3)
    assert len(capped) == 4 and capped[-1].kind == "truncated"


def test_open_recording_refuses_a_missing_manifest_with_a_repair_hint(rec):
    (rec / "recording.json").unlink()
    with pytest.raises(RecordingError, match="never finalised"):
        open_recording(rec)


def test_cli_validate_repair_finalises_a_crashed_recording(tmp_path):
    path = tmp_path / "live"
    w = RecordingWriter(path, source="live", layout=PartLayout(rows_per_file=5))
    w.write_batch(base_table())
    w.close_unfinalised()
    runner = CliRunner()
    assert runner.invoke(cli, ["validate", str(path)]).exit_code == 5
    result = runner.invoke(cli, ["validate", "--repair", str(path)])
    assert result.exit_code == 0, result.output
    assert "kept 3 part file(s)" in result.output and "ok:" in result.output


def test_cli_info_describes_the_recording(rec):
    result = CliRunner().invoke(cli, ["info", "--json", str(rec)])
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert info["ticks"] == N and info["tickers"] == 3
    assert info["sessions"]["regular"] == N
    assert info["top_tickers"][0] == {"ticker": "AAPL", "ticks": 4}
