"""Recordings: the reader (ordered, filtered batches and Ticks) and the public recording API.

    with RecordingWriter("recordings/day", name="day", source="synthetic") as w:
        w.write_batch(table)                      # rows already in (ts, seq) order
    rec = open_recording("recordings/day")
    for batch in rec.batches(tickers=["AAPL"]):   # pyarrow.RecordBatch, canonical columns
        ...
    for tick in rec.ticks():                      # harness.core.model.Tick
        ...

Layout, manifest and validation are described in docs/architecture.md ("Recording API").
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from harness.core.errors import RecordingError
from harness.core.model import TICK_FIELDS, Tick
from harness.recordings.manifest import MANIFEST_NAME, load_manifest, recording_id, safe_relpath
from harness.recordings.repair import repair_recording
from harness.recordings.schema import COLUMN_TYPES, canonical_schema, partition_dates
from harness.recordings.validation import Problem, check_recording, validate_recording
from harness.recordings.writer import RecordingWriter, ticks_to_table

Progress = Callable[[int, int], None]
_NEW_TICK = functools.partial(tuple.__new__, Tick)  # builds a Tick with no Python frame


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
        batch_size: int = 262_144,
        progress: Progress | None = None,
    ) -> Iterator[pa.RecordBatch]:
        """Record batches in (ts, seq) order, optionally only `tickers` and ts in [start_ns, end_ns).

        Columns are the canonical ones present (REQUIRED_COLUMNS + stored OPTIONAL_COLUMNS), `ts`
        as timestamp[ns, UTC], `ticker` dictionary<int32, string>. The time filter is pushed
        down: whole files are skipped by the manifest's per-file ts range and row groups by
        their Parquet ts statistics. The ticker filter is matched on each batch's dictionary
        (a few thousand symbols) and applied to the int32 indices, never row by row in Python.
        `progress(rows_done, rows_total)` counts stored rows scanned.
        """
        wanted = pa.array(sorted(set(tickers)), pa.string()) if tickers is not None else None
        total, done = self.tick_count, 0
        last_ts, last_seq = -(1 << 63), -(1 << 63)
        for entry in self.manifest["files"]:
            if _outside(entry, start_ns, end_ns) or (wanted is not None and len(wanted) == 0):
                done += int(entry["rows"])
                if progress:
                    progress(done, total)
                continue
            pf = pq.ParquetFile(self.path / entry["path"], read_dictionary=["ticker"])
            groups = _row_groups(pf, start_ns, end_ns)
            for batch in pf.iter_batches(batch_size=batch_size, row_groups=groups):
                if wanted is not None or start_ns is not None or end_ns is not None:
                    batch = _select(batch, wanted, start_ns, end_ns)
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
        """Tick values in (ts, seq) order; same filters as `batches`. (Chained in C: a generator
        layer here would cost every tick of the day a Python frame switch.)"""
        batches = self.batches(tickers, start_ns, end_ns, batch_size, progress)
        return itertools.chain.from_iterable(map(batch_to_ticks, batches))

    def table(self, **filters: Any) -> pa.Table:
        """The whole (filtered) recording as one table: for notebooks and small recordings."""
        return pa.Table.from_batches(list(self.batches(**filters)), schema=self.schema())

    def schema(self) -> pa.Schema:
        return canonical_schema([c for c in self.columns if c in COLUMN_TYPES])


#: Rows turned into Python values at a time: the values of a whole 64k-row batch (~1M objects)
#: would stay alive until its last tick is consumed; a chunk's stay small and cache-warm.
TICK_CHUNK = 4096


@contextlib.contextmanager
def reading(root: Path, path: Path) -> Iterator[None]:
    """Turn a part file that cannot be read (truncated, corrupt, missing) into the one-line
    RecordingError every command gives for bad input (file named; exit 5)."""
    try:
        yield
    except (pa.ArrowException, OSError) as exc:
        try:
            rel = path.relative_to(root).as_posix()
        except ValueError:
            rel = str(path)
        why = " ".join(str(exc).split())[:200]
        raise RecordingError(
            f"{root}: {rel}: column -, row -: unreadable Parquet (truncated or corrupt): {why}; "
            "`harness validate` lists every problem"
        ) from exc


def batch_to_ticks(batch: pa.RecordBatch, chunk: int = TICK_CHUNK) -> Iterator[Tick]:
    """Tick values of one batch; absent optional columns are None."""
    n = batch.num_rows
    names = batch.schema.names
    makers: list[Callable[[int, int], Iterable[Any]]] = []
    for name in TICK_FIELDS:
        if name not in names:
            makers.append(_nones)
            continue
        col = batch.column(name)
        if pa.types.is_timestamp(col.type):
            col = col.cast(pa.int64())
        if pa.types.is_dictionary(col.type):
            # Dictionary.to_pylist builds a scalar per row (~2 µs); index an object array instead.
            values = np.array(col.dictionary.to_pylist() + [None], dtype=object)
            indices = col.indices.fill_null(len(col.dictionary)).to_numpy()
            makers.append(functools.partial(_take_slice, values, indices))
        elif col.null_count == 0 and (
            pa.types.is_integer(col.type) or pa.types.is_floating(col.type)
        ):
            makers.append(functools.partial(_numpy_slice, col.to_numpy()))
        else:
            makers.append(functools.partial(_arrow_slice, col))

    def rows(lo: int) -> Iterator[Tick]:
        hi = min(lo + chunk, n)
        return map(_NEW_TICK, zip(*(make(lo, hi) for make in makers)))  # noqa: B905

    return itertools.chain.from_iterable(map(rows, range(0, n, chunk)))


def _nones(lo: int, hi: int) -> Iterable[Any]:
    return itertools.repeat(None, hi - lo)


def _take_slice(values: np.ndarray, indices: np.ndarray, lo: int, hi: int) -> list[Any]:
    return values[indices[lo:hi]].tolist()  # type: ignore[no-any-return]


def _numpy_slice(values: np.ndarray, lo: int, hi: int) -> list[Any]:
    return values[lo:hi].tolist()  # type: ignore[no-any-return]


def _arrow_slice(col: pa.Array, lo: int, hi: int) -> list[Any]:
    return col.slice(lo, hi - lo).to_pylist()  # type: ignore[no-any-return]


def _row_groups(pf: pq.ParquetFile, start_ns: int | None, end_ns: int | None) -> list[int] | None:
    """Row groups whose ts statistics overlap [start_ns, end_ns): the time filter's pushdown."""
    if start_ns is None and end_ns is None:
        return None
    col = pf.schema_arrow.get_field_index("ts")
    keep = []
    for i in range(pf.metadata.num_row_groups):
        stats = pf.metadata.row_group(i).column(col).statistics
        if stats is not None and stats.has_min_max:
            lo, hi = int(stats.min_raw), int(stats.max_raw)
            if (end_ns is not None and lo >= end_ns) or (start_ns is not None and hi < start_ns):
                continue
        keep.append(i)
    return keep


def _select(
    batch: pa.RecordBatch, wanted: pa.Array | None, start_ns: int | None, end_ns: int | None
) -> pa.RecordBatch:
    """Rows of `batch` passing the filters; tickers are matched on the (small) dictionary once."""
    mask = np.ones(batch.num_rows, bool)
    if wanted is not None:
        col = batch.column("ticker")
        if pa.types.is_dictionary(col.type):
            hit = pc.is_in(col.dictionary, value_set=wanted).to_numpy(zero_copy_only=False)
            mask &= hit[col.indices.fill_null(0).to_numpy()]
        else:
            mask &= pc.is_in(col, value_set=wanted).to_numpy(zero_copy_only=False)
    if start_ns is not None or end_ns is not None:
        ts = batch.column("ts").cast(pa.int64()).to_numpy()
        if start_ns is not None:
            mask &= ts >= start_ns
        if end_ns is not None:
            mask &= ts < end_ns
    return batch if mask.all() else batch.filter(pa.array(mask))


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
