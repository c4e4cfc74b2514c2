"""RecordingWriter: streams ticks into a hive-partitioned Parquet recording, manifest last.

Rows must arrive in (ts, seq) order; the writer checks it, so readers can verify instead of sort.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from harness.core.errors import RecordingError
from harness.core.model import OPTIONAL_COLUMNS, Tick
from harness.core.wallclock import utc_now
from harness.recordings.manifest import (
    MANIFEST_NAME,
    WRITING_MARKER,
    build_manifest,
    file_sha256,
    write_json_atomic,
)
from harness.recordings.schema import canonical_schema, conform, day_text, partition_dates

#: seq and ts grow monotonically: delta encoding makes them nearly free on disk.
_DELTA = ("seq", "ts")


@dataclass(frozen=True, slots=True)
class PartLayout:
    """How a recording's rows are cut into Parquet part files and row groups."""

    rows_per_file: int = 2_000_000
    row_group_rows: int = 256 * 1024
    compression: str = "lz4"


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
        columns: Sequence[str] | None = None,
        overwrite: bool = False,
        layout: PartLayout | None = None,
    ) -> None:
        self.path = Path(path)
        if self.path.exists() and any(self.path.iterdir()):
            if not overwrite:
                raise RecordingError(f"{self.path}: directory exists and is not empty")
            _clear_recording(self.path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.name = name or self.path.name
        self.source, self.notes = source, notes
        layout = layout or PartLayout()
        self.rows_per_file, self.row_group_rows = layout.rows_per_file, layout.row_group_rows
        self.compression = layout.compression
        self.created = utc_now(seconds_only=True)
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
