"""Recordings: stream ticks into a hive-partitioned Parquet directory and read them back in order.

    with RecordingWriter("recordings/day", name="day", source="synthetic") as w:
        w.write_batch(table)                      # rows already in (ts, seq) order
    rec = open_recording("recordings/day")
    for batch in rec.batches(tickers=["AAPL"]):   # pyarrow.RecordBatch, canonical columns
        ...
    for tick in rec.ticks():                      # harness.model.Tick
        ...

Layout, manifest and validation are described in docs/architecture.md ("Recording API").
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from harness.errors import RecordingError
from harness.manifest import (
    MANIFEST_NAME,
    WRITING_MARKER,
    build_manifest,
    file_sha256,
    load_manifest,
    recording_id,
    safe_relpath,
    utc_now_iso,
    write_json_atomic,
)
from harness.model import OPTIONAL_COLUMNS, TICK_FIELDS, Tick
from harness.schema import COLUMN_TYPES, canonical_schema, conform, day_text, partition_dates
from harness.validation import Problem, check_recording, repair_recording, validate_recording

Progress = Callable[[int, int], None]
_DELTA = ("seq", "ts")


class RecordingWriter:
    """Stream ticks into a recording; rows must arrive in (ts, seq) order (it checks).

    Batches are buffered up to `row_group_rows`, written to `date=YYYY-MM-DD/part-NNNNN.parquet`,
    and a part is rolled after `rows_per_file` rows. `flush()` closes the current part so that
    everything written so far survives a crash. `finalise()` writes `recording.json` atomically.
    Columns: the required ones plus `columns` (optional ones), or those of the first batch.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        name: str | None = None,
        source: str = "unknown",
        notes: Any = None,
        rows_per_file: int = 2_000_000,
        row_group_rows: int = 256 * 1024,
        columns: Sequence[str] | None = None,
        compression: str = "lz4",
        overwrite: bool = False,
    ) -> None:
        self.path = Path(path)
        if self.path.exists() and any(self.path.iterdir()):
            if not overwrite:
                raise RecordingError(f"{self.path}: directory exists and is not empty")
            _clear_recording(self.path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.name = name or self.path.name
        self.source, self.notes = source, notes
        self.rows_per_file, self.row_group_rows = rows_per_file, row_group_rows
        self.compression = compression
        self.created = utc_now_iso()
        self._schema = canonical_schema(list(columns)) if columns is not None else None
        self._buffer: list[pa.Table] = []
        self._buffered = 0
        self._day: int | None = None
        self._parts: dict[int, int] = {}
        self._writer: pq.ParquetWriter | None = None
        self._file: dict[str, Any] | None = None
        self._files: list[dict[str, Any]] = []
        self._tickers: set[str] = set()
        self._last: tuple[int, int] | None = None
        self._finalised = False
        marker = {"name": self.name, "source": source, "notes": notes, "created": self.created}
        write_json_atomic(self.path / WRITING_MARKER, marker)

    # -- input ---------------------------------------------------------------------------------
    def write_batch(self, data: pa.Table | pa.RecordBatch) -> None:
        """Append rows (canonical column names; ts as timestamp[ns, UTC] or int ns)."""
        if self._finalised:
            raise RecordingError(f"{self.path}: recording already finalised")
        table = conform(data)
        if table.num_rows == 0:
            return
        table = self._fit_schema(table)
        ts = table.column("ts").cast(pa.int64()).to_numpy()
        seq = table.column("seq").to_numpy()
        self._check_order(ts, seq)
        self._tickers.update(
            pc.unique(
                table.column("ticker").combine_chunks().dictionary_decode()
                if pa.types.is_dictionary(table.column("ticker").type)
                else table.column("ticker")
            ).to_pylist()
        )
        days = partition_dates(table.column("ts"))
        cuts = np.flatnonzero(np.diff(days)) + 1
        for start, stop in zip(np.r_[0, cuts], np.r_[cuts, len(days)], strict=True):
            day = int(days[start])
            if day != self._day:
                self._write_buffer()
                self._close_part()
                self._day = day
            self._buffer.append(table.slice(start, stop - start))
            self._buffered += int(stop - start)
            if self._buffered >= self.row_group_rows:
                self._write_buffer()

    def write_ticks(self, ticks: Iterable[Tick], chunk: int = 65_536) -> None:
        """Append Tick values (any object with the Tick attributes), in (ts, seq) order."""
        it = iter(ticks)
        while block := list(itertools.islice(it, chunk)):
            self.write_batch(ticks_to_table(block, self._optional_columns(block)))

    def flush(self) -> None:
        """Write buffered rows and close the current part file (complete on disk from now on)."""
        self._write_buffer()
        self._close_part()

    def finalise(self) -> dict[str, Any]:
        """Flush, write `recording.json` atomically and return the manifest."""
        if self._finalised:
            raise RecordingError(f"{self.path}: recording already finalised")
        self.flush()
        columns = list((self._schema or canonical_schema([])).names)
        manifest = build_manifest(
            name=self.name,
            source=self.source,
            notes=self.notes,
            created=self.created,
            columns=columns,
            tickers=sorted(self._tickers),
            files=self._files,
        )
        write_json_atomic(self.path / MANIFEST_NAME, manifest)
        (self.path / WRITING_MARKER).unlink(missing_ok=True)
        self._finalised = True
        return manifest

    def close_unfinalised(self) -> None:
        """Close open files without a manifest (what a crash leaves, minus the torn part)."""
        self._write_buffer()
        self._close_part()

    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            if not self._finalised:
                self.finalise()
        else:
            self.close_unfinalised()

    # -- internals -----------------------------------------------------------------------------
    def _optional_columns(self, block: list[Tick]) -> list[str]:
        if self._schema is not None:
            return list(self._schema.names)
        return [c for c in OPTIONAL_COLUMNS if any(getattr(t, c, None) is not None for t in block)]

    def _fit_schema(self, table: pa.Table) -> pa.Table:
        if self._schema is None:
            self._schema = table.schema
            return table
        extra = [c for c in table.column_names if c not in self._schema.names]
        if extra:
            raise RecordingError(
                f"{self.path}: column(s) {', '.join(extra)} not in this recording's columns "
                f"({', '.join(self._schema.names)}); declare them with columns=[…]"
            )
        arrays = [
            table.column(f.name)
            if f.name in table.column_names
            else pa.nulls(table.num_rows, f.type)
            for f in self._schema
        ]
        return pa.Table.from_arrays(arrays, schema=self._schema)

    def _check_order(self, ts: np.ndarray, seq: np.ndarray) -> None:
        if self._last is not None:
            ts = np.r_[self._last[0], ts]
            seq = np.r_[self._last[1], seq]
        bad_seq = np.flatnonzero(np.diff(seq) <= 0)
        bad_ts = np.flatnonzero(np.diff(ts) < 0)
        if bad_seq.size or bad_ts.size:
            i = int(min(bad_seq[:1].tolist() + bad_ts[:1].tolist())) + 1
            raise RecordingError(
                f"{self.path}: rows must be written in (ts, seq) order: seq={int(seq[i])} "
                f"(ts={int(ts[i])}) follows seq={int(seq[i - 1])} (ts={int(ts[i - 1])})"
            )
        self._last = (int(ts[-1]), int(seq[-1]))

    def _write_buffer(self) -> None:
        if not self._buffered:
            return
        table = pa.concat_tables(self._buffer) if len(self._buffer) > 1 else self._buffer[0]
        self._buffer, self._buffered = [], 0
        while table.num_rows:
            if self._writer is None:
                self._open_part()
            assert self._file is not None and self._writer is not None
            room = self.rows_per_file - self._file["rows"]
            piece = table.slice(0, room)
            self._writer.write_table(piece, row_group_size=self.row_group_rows)
            ts = piece.column("ts").cast(pa.int64())
            seq = piece.column("seq")
            if self._file["rows"] == 0:
                self._file["first_ts"], self._file["first_seq"] = ts[0].as_py(), seq[0].as_py()
            self._file["last_ts"], self._file["last_seq"] = ts[-1].as_py(), seq[-1].as_py()
            self._file["rows"] += piece.num_rows
            table = table.slice(piece.num_rows)
            if self._file["rows"] >= self.rows_per_file:
                self._close_part()

    def _open_part(self) -> None:
        assert self._day is not None and self._schema is not None
        index = self._parts.get(self._day, 0)
        self._parts[self._day] = index + 1
        rel = f"date={day_text(self._day)}/part-{index:05d}.parquet"
        (self.path / rel).parent.mkdir(parents=True, exist_ok=True)
        self._writer = pq.ParquetWriter(
            self.path / rel,
            self._schema,
            compression=self.compression,
            write_statistics=["seq", "ts"],
            # seq and ts grow monotonically: delta encoding makes them nearly free on disk.
            use_dictionary=[n for n in self._schema.names if n not in _DELTA],
            column_encoding={n: "DELTA_BINARY_PACKED" for n in _DELTA if n in self._schema.names},
        )
        self._file = {"path": rel, "rows": 0}

    def _close_part(self) -> None:
        if self._writer is None or self._file is None:
            return
        self._writer.close()
        full = self.path / self._file["path"]
        entry = self._file
        entry["sha256"] = file_sha256(full)
        entry["bytes"] = full.stat().st_size
        self._files.append(
            {
                k: entry[k]
                for k in (
                    "path",
                    "rows",
                    "sha256",
                    "bytes",
                    "first_ts",
                    "last_ts",
                    "first_seq",
                    "last_seq",
                )
            }
        )
        self._writer, self._file = None, None


def _clear_recording(path: Path) -> None:
    for part in sorted(path.glob("date=*/*.parquet")):
        part.unlink()
    for d in sorted(path.glob("date=*")):
        if d.is_dir() and not any(d.iterdir()):
            d.rmdir()
    for name in (MANIFEST_NAME, WRITING_MARKER):
        (path / name).unlink(missing_ok=True)
    if any(path.iterdir()):
        raise RecordingError(f"{path}: not a recording directory; refusing to overwrite it")


def ticks_to_table(ticks: Sequence[Any], optional: Sequence[str] = OPTIONAL_COLUMNS) -> pa.Table:
    """Build a canonical table from Tick-like objects (attributes named as the columns)."""
    schema = canonical_schema(list(optional))
    arrays = []
    for field in schema:
        values = [getattr(t, field.name, None) for t in ticks]
        typ = pa.int64() if pa.types.is_timestamp(field.type) else field.type
        if pa.types.is_dictionary(typ):
            typ = pa.string()
        arrays.append(pa.array(values, type=typ).cast(field.type))
    return pa.Table.from_arrays(arrays, schema=schema)


@dataclass(frozen=True)
class Recording:
    """An opened recording: its manifest and ordered readers over its part files."""

    path: Path
    manifest: dict[str, Any]

    @property
    def sha256(self) -> str:
        """Stable id of the recording: a hash over its files' hashes."""
        return recording_id(self.manifest)

    @property
    def name(self) -> str:
        return str(self.manifest["name"])

    @property
    def tick_count(self) -> int:
        return int(self.manifest["tick_count"])

    @property
    def tickers(self) -> list[str]:
        return list(self.manifest.get("tickers") or [])

    @property
    def columns(self) -> list[str]:
        return list(self.manifest.get("columns") or [])

    def files(self) -> list[Path]:
        return [self.path / f["path"] for f in self.manifest["files"]]

    def batches(
        self,
        tickers: Iterable[str] | None = None,
        start_ns: int | None = None,
        end_ns: int | None = None,
        batch_size: int = 65_536,
        progress: Progress | None = None,
    ) -> Iterator[pa.RecordBatch]:
        """Record batches in (ts, seq) order, optionally only `tickers` and ts in [start_ns, end_ns).

        Columns are the canonical ones present (REQUIRED_COLUMNS + stored OPTIONAL_COLUMNS), `ts`
        as timestamp[ns, UTC], `ticker` dictionary<int32, string>. Filters are evaluated by the
        Parquet scanner (row groups outside the time range are skipped by their statistics,
        whole files by the manifest's per-file ts range). `progress(rows_done, rows_total)`
        counts stored rows scanned.
        """
        wanted = sorted(set(tickers)) if tickers is not None else None
        expr = _filter(wanted, start_ns, end_ns)
        total, done = self.tick_count, 0
        last_ts, last_seq = -(1 << 63), -(1 << 63)
        fmt = ds.ParquetFileFormat(read_options={"dictionary_columns": ["ticker"]})
        for entry in self.manifest["files"]:
            path = self.path / entry["path"]
            if _outside(entry, start_ns, end_ns) or (wanted is not None and not wanted):
                done += int(entry["rows"])
                if progress:
                    progress(done, total)
                continue
            if expr is None:
                source: Iterator[pa.RecordBatch] = pq.ParquetFile(
                    path, read_dictionary=["ticker"]
                ).iter_batches(batch_size=batch_size)
            else:
                source = ds.dataset(path, format=fmt).to_batches(
                    filter=expr, batch_size=batch_size, use_threads=False
                )
            for batch in source:
                if batch.num_rows == 0:
                    continue
                last_ts, last_seq = _verify_order(batch, last_ts, last_seq, entry["path"])
                yield batch
            done += int(entry["rows"])
            if progress:
                progress(done, total)

    def ticks(
        self,
        tickers: Iterable[str] | None = None,
        start_ns: int | None = None,
        end_ns: int | None = None,
        batch_size: int = 65_536,
        progress: Progress | None = None,
    ) -> Iterator[Tick]:
        """Tick values in (ts, seq) order; same filters as `batches`."""
        for batch in self.batches(tickers, start_ns, end_ns, batch_size, progress):
            yield from batch_to_ticks(batch)

    def table(self, **filters: Any) -> pa.Table:
        """The whole (filtered) recording as one table: for notebooks and small recordings."""
        return pa.Table.from_batches(list(self.batches(**filters)), schema=self.schema())

    def schema(self) -> pa.Schema:
        return canonical_schema([c for c in self.columns if c in COLUMN_TYPES])


def batch_to_ticks(batch: pa.RecordBatch) -> Iterator[Tick]:
    """Tick values of one batch; absent optional columns are None."""
    columns: list[Iterable[Any]] = []
    names = batch.schema.names
    for name in TICK_FIELDS:
        if name not in names:
            columns.append(itertools.repeat(None))
            continue
        col = batch.column(name)
        if pa.types.is_timestamp(col.type):
            col = col.cast(pa.int64())
        if pa.types.is_dictionary(col.type):
            # Dictionary.to_pylist builds a scalar per row (~2 µs); index an object array instead.
            values = np.array(col.dictionary.to_pylist() + [None], dtype=object)
            indices = col.indices.fill_null(len(col.dictionary)).to_numpy()
            columns.append(values[indices].tolist())
        elif col.null_count == 0 and (
            pa.types.is_integer(col.type) or pa.types.is_floating(col.type)
        ):
            columns.append(col.to_numpy().tolist())
        else:
            columns.append(col.to_pylist())
    return map(Tick._make, zip(*columns))  # noqa: B905 — repeat(None) columns are infinite


def _filter(tickers: list[str] | None, start_ns: int | None, end_ns: int | None) -> Any:
    expr = None
    if tickers is not None:
        expr = pc.field("ticker").isin(pa.array(tickers, pa.string()))
    if start_ns is not None:
        e = pc.field("ts") >= pa.scalar(int(start_ns), pa.int64()).cast(COLUMN_TYPES["ts"])
        expr = e if expr is None else expr & e
    if end_ns is not None:
        e = pc.field("ts") < pa.scalar(int(end_ns), pa.int64()).cast(COLUMN_TYPES["ts"])
        expr = e if expr is None else expr & e
    return expr


def _outside(entry: dict[str, Any], start_ns: int | None, end_ns: int | None) -> bool:
    first, last = entry.get("first_ts"), entry.get("last_ts")
    if first is None or last is None:
        return False
    return (start_ns is not None and last < start_ns) or (end_ns is not None and first >= end_ns)


def _verify_order(batch: pa.RecordBatch, last_ts: int, last_seq: int, rel: str) -> tuple[int, int]:
    ts = batch.column("ts").cast(pa.int64()).to_numpy()
    seq = batch.column("seq").to_numpy()
    if (
        ts[0] < last_ts
        or seq[0] <= last_seq
        or (len(ts) > 1 and (bool((np.diff(ts) < 0).any()) or bool((np.diff(seq) <= 0).any())))
    ):
        raise RecordingError(
            f"{rel}: column seq/ts: rows not in (ts, seq) order near seq={int(seq[0])}; "
            "run `harness validate` for details"
        )
    return int(ts[-1]), int(seq[-1])


def open_recording(path: str | os.PathLike[str]) -> Recording:
    """Open a recording after checking its manifest and that every listed file is present.

    Contents are not scanned here; `check_recording(path)` does the full validation a replay
    needs (and the reader still verifies (ts, seq) order as it streams).
    """
    root = Path(path)
    manifest = load_manifest(root)
    for entry in manifest["files"]:
        full = safe_relpath(root, entry["path"])
        if full is None or not full.is_file():
            raise RecordingError(
                f"{root}: {entry['path']}: file listed in {MANIFEST_NAME} is missing"
            )
    return Recording(root, manifest)


__all__ = [
    "Problem",
    "Recording",
    "RecordingWriter",
    "batch_to_ticks",
    "check_recording",
    "open_recording",
    "partition_dates",
    "repair_recording",
    "ticks_to_table",
    "validate_recording",
]
