"""Validation of a recording before replay: every problem, located by file, column and row (seq).

`validate_recording(path)` returns the problems (capped); `check_recording(path)` raises a
RecordingError naming the first ones (harness/recordings/repair.py finalises crashed recordings).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from harness.core.errors import RecordingError
from harness.core.model import REQUIRED_COLUMNS
from harness.core.problem import Problem
from harness.recordings.manifest import (
    MANIFEST_NAME,
    PART_GLOB,
    file_sha256,
    manifest_problems,
    safe_relpath,
)
from harness.recordings.schema import (
    COLUMN_TYPES,
    TICKER_MAX_LEN,
    TICKER_PATTERN,
    expected_type_text,
    partition_dates,
    type_ok,
)

_DATE_DIR = re.compile(r"^date=(\d{4}-\d{2}-\d{2})$")
_BATCH = 256 * 1024


class _Collector:
    """Groups repeated problems per (file, kind, column): first row kept, occurrences counted."""

    def __init__(self) -> None:
        self.first: dict[tuple[str, str, str | None], Problem] = {}
        self.count: dict[tuple[str, str, str | None], int] = {}

    def add(self, problem: Problem, n: int = 1) -> None:
        key = (problem.file, problem.kind, problem.column)
        if key not in self.first:
            self.first[key] = problem
        self.count[key] = self.count.get(key, 0) + n

    def problems(self) -> list[Problem]:
        out = []
        for key, p in self.first.items():
            n = self.count[key]
            msg = p.message if n == 1 else f"{p.message} ({n} rows in this file)"
            out.append(Problem(p.kind, p.file, p.column, p.row, msg))
        return out


def validate_recording(path: str | os.PathLike[str], max_problems: int = 100) -> list[Problem]:
    """Every problem of the recording at `path` (capped at `max_problems`, then summarised)."""
    root = Path(path)
    manifest, found = manifest_problems(root)
    if not root.is_dir():
        return found
    on_disk = sorted(p.relative_to(root).as_posix() for p in root.glob(PART_GLOB))
    entries: list[dict[str, Any]]
    if manifest is not None:
        entries = list(manifest["files"])
        listed = {e["path"] for e in entries}
        for rel in on_disk:
            if rel not in listed:
                found.append(
                    Problem(
                        "unlisted_file", rel, None, None, f"part file not listed in {MANIFEST_NAME}"
                    )
                )
    else:
        entries = [{"path": rel} for rel in on_disk]
    if not entries:
        found.append(
            Problem(
                "empty_recording", str(root), None, None, "recording has no part files (no ticks)"
            )
        )
        return _cap(found, max_problems)
    state = _State()
    total = 0
    for entry in entries:
        found.extend(_check_file(root, entry, state))
        total += state.last_rows
    if total == 0 and not any(p.kind in ("unreadable_file", "file_missing") for p in found):
        found.append(Problem("empty_recording", str(root), None, None, "recording holds no ticks"))
    if manifest is not None and state.all_read and manifest["tick_count"] != total:
        msg = f"tick_count {manifest['tick_count']} but the part files hold {total} rows"
        found.append(Problem("row_count_mismatch", MANIFEST_NAME, "tick_count", None, msg))
    return _cap(found, max_problems)


def check_recording(path: str | os.PathLike[str], max_problems: int = 20) -> None:
    """Raise RecordingError (exit code 5) if the recording has any problem; used before replay."""
    problems = validate_recording(path, max_problems=max_problems)
    if problems:
        more = (
            f" (+{len(problems) - 1} more; run `harness validate {path}`)"
            if len(problems) > 1
            else ""
        )
        raise RecordingError(f"invalid recording {path}: {problems[0]}{more}")


def _cap(problems: list[Problem], max_problems: int) -> list[Problem]:
    if len(problems) <= max_problems:
        return problems
    rest = len(problems) - max_problems
    kinds = sorted({p.kind for p in problems[max_problems:]})
    summary = Problem(
        "truncated", "-", None, None, f"{rest} more problems not shown ({', '.join(kinds)})"
    )
    return problems[:max_problems] + [summary]


class _State:
    """Carries order and schema across files, which are checked in manifest order."""

    def __init__(self) -> None:
        self.last_ts: int | None = None
        self.last_seq: int | None = None
        self.schema: pa.Schema | None = None
        self.schema_file = ""
        self.last_rows = 0
        self.all_read = True


def _check_file(root: Path, entry: dict[str, Any], state: _State) -> list[Problem]:
    rel = str(entry["path"])
    state.last_rows = 0
    full = safe_relpath(root, rel)
    if full is None:
        state.all_read = False
        return []  # reported by the manifest check
    if not full.is_file():
        state.all_read = False
        return [Problem("file_missing", rel, None, None, f"listed in {MANIFEST_NAME} but missing")]
    if full.stat().st_size == 0:
        return [
            Problem(
                "empty_file", rel, None, None, "file is empty (0 bytes); expected a Parquet file"
            )
        ]
    out: list[Problem] = []
    if "sha256" in entry and file_sha256(full) != entry["sha256"]:
        out.append(
            Problem(
                "sha256_mismatch",
                rel,
                None,
                None,
                f"sha256 differs from {MANIFEST_NAME} (file changed or corrupt)",
            )
        )
    try:
        pf = pq.ParquetFile(full)
        schema = pf.schema_arrow
        rows = pf.metadata.num_rows
    except Exception as exc:  # pyarrow raises several types for torn files
        state.all_read = False
        return out + [
            Problem(
                "unreadable_file",
                rel,
                None,
                None,
                f"unreadable Parquet (truncated or corrupt): {_one_line(exc)}",
            )
        ]
    state.last_rows = rows
    if rows == 0:
        out.append(Problem("empty_file", rel, None, None, "file holds 0 rows"))
    if "rows" in entry and entry["rows"] != rows:
        out.append(
            Problem(
                "row_count_mismatch",
                rel,
                None,
                None,
                f"{MANIFEST_NAME} says {entry['rows']} rows, file has {rows}",
            )
        )
    out.extend(_schema_problems(rel, schema, state))
    if (
        any(p.kind in ("missing_column", "wrong_type", "ts_naive", "ts_not_utc") for p in out)
        or rows == 0
    ):
        return out
    day = _partition_day(rel)
    if day is None:
        out.append(
            Problem("bad_partition", rel, None, None, "path must be date=YYYY-MM-DD/part-N.parquet")
        )
    collector = _Collector()
    try:
        for batch in pf.iter_batches(batch_size=_BATCH):
            _check_batch(rel, batch, day, state, collector)
    except Exception as exc:
        state.all_read = False
        collector.add(
            Problem(
                "unreadable_file", rel, None, None, f"unreadable Parquet data: {_one_line(exc)}"
            )
        )
    return out + collector.problems()


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200]


def _partition_day(rel: str) -> int | None:
    parts = rel.split("/")
    m = _DATE_DIR.match(parts[0]) if len(parts) == 2 else None
    if not m:
        return None
    return int(np.datetime64(m.group(1), "D").astype(np.int64))


def _schema_problems(rel: str, schema: pa.Schema, state: _State) -> list[Problem]:
    out = []
    for name in REQUIRED_COLUMNS:
        if name not in schema.names:
            out.append(
                Problem("missing_column", rel, name, None, f"required column {name!r} missing")
            )
    for field in schema:
        if field.name not in COLUMN_TYPES:
            out.append(
                Problem(
                    "unknown_column", rel, field.name, None, "not a recording column (design.md §3)"
                )
            )
            continue
        typ = field.type
        if pa.types.is_timestamp(COLUMN_TYPES[field.name]) and pa.types.is_timestamp(typ):
            if typ.tz is None:
                out.append(
                    Problem(
                        "ts_naive",
                        rel,
                        field.name,
                        None,
                        f"timezone-naive {typ}; expected timestamp[ns, tz=UTC]",
                    )
                )
                continue
            if not type_ok(field.name, typ):
                out.append(
                    Problem(
                        "ts_not_utc",
                        rel,
                        field.name,
                        None,
                        f"{typ}; expected timestamp[ns, tz=UTC]",
                    )
                )
                continue
        if not type_ok(field.name, typ):
            out.append(
                Problem(
                    "wrong_type",
                    rel,
                    field.name,
                    None,
                    f"type {typ}; expected {expected_type_text(field.name)}",
                )
            )
    if state.schema is None:
        state.schema, state.schema_file = schema, rel
    elif not _same_columns(schema, state.schema):
        msg = f"schema differs from {state.schema_file}: {_describe(schema)} vs {_describe(state.schema)}"
        out.append(Problem("schema_mismatch", rel, None, None, msg))
    return out


def _same_columns(a: pa.Schema, b: pa.Schema) -> bool:
    return [(f.name, _norm(f.type)) for f in a] == [(f.name, _norm(f.type)) for f in b]


def _norm(typ: pa.DataType) -> pa.DataType:
    return typ.value_type if pa.types.is_dictionary(typ) else typ


def _describe(schema: pa.Schema) -> str:
    return "(" + ", ".join(f"{f.name}:{_norm(f.type)}" for f in schema) + ")"


def _check_batch(
    rel: str, batch: pa.RecordBatch, day: int | None, state: _State, out: _Collector
) -> None:
    seq_col = batch.column("seq")
    seq = seq_col.fill_null(0).to_numpy()
    ts_col = batch.column("ts").cast(pa.int64())

    def at(mask: np.ndarray) -> tuple[int | None, int]:
        idx = np.flatnonzero(mask)
        first = int(idx[0])
        return (int(seq[first]) if seq_col[first].is_valid else None), int(idx.size)

    def report(kind: str, column: str, mask: np.ndarray, message: str) -> None:
        if mask.any():
            row, n = at(mask)
            out.add(Problem(kind, rel, column, row, message), n)

    for name in REQUIRED_COLUMNS:
        col = batch.column(name)
        if col.null_count:
            report("null_required", name, np.asarray(col.is_null()), "null in a required column")
    price = batch.column("price").to_numpy(zero_copy_only=False)
    with np.errstate(invalid="ignore"):
        report("bad_price", "price", np.isnan(price), "price is NaN; expected a finite price > 0")
        report(
            "bad_price", "price", np.isinf(price), "price is infinite; expected a finite price > 0"
        )
        report("bad_price", "price", price == 0, "price is 0; expected a finite price > 0")
        report("bad_price", "price", price < 0, "price is negative; expected a finite price > 0")
    for name in ("volume", "tick_volume", "accumulated_volume"):
        if name in batch.schema.names:
            vol = batch.column(name).fill_null(0).to_numpy()
            report("negative_volume", name, vol < 0, f"{name} is negative; expected ≥ 0")
    if "bid" in batch.schema.names and "ask" in batch.schema.names:
        crossed = pc.fill_null(pc.greater(batch.column("bid"), batch.column("ask")), False)
        report("bid_above_ask", "bid", np.asarray(crossed), "bid > ask; expected bid ≤ ask")
    _check_tickers(batch, report)
    ts = ts_col.fill_null(0).to_numpy()
    if day is not None and ts_col.null_count < len(ts_col):
        days = partition_dates(batch.column("ts"))
        outside = (days != day) & np.asarray(ts_col.is_valid())
        report(
            "ts_outside_partition",
            "ts",
            outside,
            f"timestamp not on the partition's trading day (America/New_York) {np.datetime64(day, 'D')}",
        )
    prev_ts = ts if state.last_ts is None else np.r_[state.last_ts, ts]
    prev_seq = seq if state.last_seq is None else np.r_[state.last_seq, seq]
    offset = 0 if state.last_ts is None else 1
    dseq = np.diff(prev_seq)
    dts = np.diff(prev_ts)
    mask_dup = np.zeros(len(seq), bool)
    mask_dup[1 - offset :] = dseq == 0
    mask_back = np.zeros(len(seq), bool)
    mask_back[1 - offset :] = dseq < 0
    mask_ts = np.zeros(len(seq), bool)
    mask_ts[1 - offset :] = (dts < 0) & (dseq > 0)
    report(
        "duplicate_seq",
        "seq",
        mask_dup,
        "seq equals the previous row's; expected strictly increasing seq",
    )
    report(
        "seq_order",
        "seq",
        mask_back,
        "seq lower than the previous row's; expected strictly increasing seq",
    )
    report(
        "seq_order",
        "ts",
        mask_ts,
        "ts earlier than the previous row's although seq is higher; expected rows in (ts, seq) order",
    )
    if len(seq):
        state.last_ts, state.last_seq = int(ts[-1]), int(seq[-1])


def _check_tickers(batch: pa.RecordBatch, report: Any) -> None:
    col = batch.column("ticker")
    if pa.types.is_dictionary(col.type):
        values, indices = col.dictionary, col.indices
    else:
        values, indices = col, None
    texts = values.to_pylist()
    bad: dict[str, list[int]] = {"empty": [], "too long": [], "illegal characters": []}
    for i, t in enumerate(texts):
        if t is None:
            continue
        if t == "":
            bad["empty"].append(i)
        elif len(t) > TICKER_MAX_LEN:
            bad["too long"].append(i)
        elif not TICKER_PATTERN.match(t):
            bad["illegal characters"].append(i)
    for what, idx in bad.items():
        if not idx:
            continue
        if indices is None:
            mask = np.zeros(len(col), bool)
            mask[idx] = True
        else:
            mask = np.asarray(pc.fill_null(pc.is_in(indices, pa.array(idx, indices.type)), False))
        expected = f"1–{TICKER_MAX_LEN} chars of A–Z a–z 0–9 . - / : ^ _"
        report("bad_ticker", "ticker", mask, f"ticker {what}; expected {expected}")
