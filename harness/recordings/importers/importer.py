"""Importers: turn CSV / Parquet / Polygon flat files / LOBSTER trades into validated recordings.

Every format is a *mapping* from source columns to recording columns, evaluated by DuckDB: it
streams the input, casts each value with TRY_CAST (an unparseable value is a bad row, not a
crash), classifies bad rows, sorts by (ts, source order) out of core, and hands Arrow batches to
the RecordingWriter. `on_bad_row="fail"` (default) refuses the import when any row is bad;
`"skip"` drops them and reports how many, with examples.

    import_file("trades.csv.gz", "recordings/x", ImportSpec("csv", mapping={"ts": "t", "price": "p", ...}))
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.core.errors import ConfigError, RecordingError
from harness.core.model import TICK_FIELDS
from harness.recordings.importers.dbn import (
    dbn_counts_sql,
    dbn_exprs,
    dbn_reader_sql,
    transcode_to_csv,
)
from harness.recordings.importers.formats import (
    BAD_ROW_SQL,
    FORMATS,
    ColumnMapping,
    generic_mapping,
    minute_sql,
    preset_mapping,
    reader_sql,
)
from harness.recordings.importers.lobster import lobster_exprs, lobster_inputs, lobster_reader_sql
from harness.recordings.manifest import file_sha256
from harness.recordings.validation import check_recording
from harness.recordings.writer import PartLayout, RecordingWriter


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What an import did: rows read, written and rejected, with example rejections."""

    rows_read: int
    rows_written: int
    rows_rejected: int
    examples: tuple[str, ...]
    manifest: dict[str, Any] = field(repr=False)
    #: input rows that came later in the file than a row with a later time: written in time order
    rows_reordered: int = 0


@dataclass(frozen=True, slots=True)
class ImportSpec:
    """How one input file is read (format, mapping, time unit) and what the recording records."""

    fmt: str
    mapping: Mapping[str, str] | None = None
    ts_unit: str = "ns"
    tz: str = "UTC"
    ticker: str | None = None  # for every row of a file without a ticker column
    orderbook: str | None = None  # lobster-csv: the orderbook file (default: by name)
    day: str | None = None  # lobster-csv: the trading day (default: from the name)
    on_bad_row: str = "fail"  # or "skip": drop bad rows and report them
    name: str | None = None
    notes: Mapping[str, Any] | None = None
    rows_per_file: int = 2_000_000
    overwrite: bool = False


def parse_mapping(text: str | None) -> dict[str, str]:
    """`ts=timestamp,price=p` → {"ts": "timestamp", "price": "p"}; keys must be recording columns."""
    if not text:
        return {}
    out: dict[str, str] = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key or not value:
            raise ConfigError(
                f"--map: expected column=source pairs separated by commas, got {part!r}"
            )
        if key not in TICK_FIELDS:
            raise ConfigError(
                f"--map: {key!r} is not a recording column ({', '.join(TICK_FIELDS)})"
            )
        out[key] = value
    return out


def import_file(
    src: str | os.PathLike[str],
    out: str | os.PathLike[str],
    spec: ImportSpec,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Import one file into a new recording at `out`; return counts and rejected examples."""
    fmt, on_bad_row, src_path = spec.fmt, spec.on_bad_row, Path(src)
    if fmt not in FORMATS:
        raise ConfigError(f"--format must be one of {', '.join(FORMATS)}; got {fmt!r}")
    if on_bad_row not in ("fail", "skip"):
        raise ConfigError(f"--on-bad-row must be skip or fail; got {on_bad_row!r}")
    if not src_path.is_file():
        raise RecordingError(f"{src_path}: input file not found")
    if fmt == "dbn":  # decoded by databento-dbn into a scratch CSV that lives for the import
        with tempfile.TemporaryDirectory(prefix="harness-dbn-") as scratch:
            csv, about = transcode_to_csv(src_path, Path(scratch))
            return _import(src_path, out, spec, progress, (csv, about))
    return _import(src_path, out, spec, progress, None)


def _import(
    src_path: Path,
    out: str | os.PathLike[str],
    spec: ImportSpec,
    progress: Callable[[int], None] | None,
    dbn_csv: tuple[Path, dict[str, Any]] | None,
) -> ImportResult:
    import duckdb

    fmt, mapping, ts_unit, tz = spec.fmt, spec.mapping, spec.ts_unit, spec.tz
    ticker, on_bad_row, notes = spec.ticker, spec.on_bad_row, spec.notes
    con = duckdb.connect()
    con.execute("SET memory_limit='1GB'; SET preserve_insertion_order=true")
    reader = reader_sql(src_path, fmt)
    lobster_csv: tuple[str, int] | None = None
    if fmt == "lobster-csv":
        book, ticker_name, midnight = lobster_inputs(src_path, spec.orderbook, ticker, spec.day)
        reader, lobster_csv = lobster_reader_sql(src_path, book), (ticker_name, midnight)
    if dbn_csv is not None:
        reader = dbn_reader_sql(dbn_csv[0])
        records, non_trades = con.execute(dbn_counts_sql(dbn_csv[0])).fetchone() or (0, 0)
        notes = {
            **dbn_csv[1],
            "dbn_records": records,
            "dbn_non_trade_records": non_trades,
            **(dict(notes) if notes else {}),
        }
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()
        columns = [r[0] for r in described]
        types = {str(r[0]): str(r[1]) for r in described}
    except duckdb.Error as exc:
        raise RecordingError(
            f"{src_path}: cannot read as {fmt}: {' '.join(str(exc).split())[:300]}"
        ) from None
    if lobster_csv is not None:
        m = ColumnMapping(lobster_exprs(*lobster_csv), "msg_row")
    elif dbn_csv is not None:
        m = ColumnMapping(dbn_exprs(columns), "TRY_CAST(sequence AS BIGINT)")
    elif fmt in ("csv", "parquet"):
        m = generic_mapping(mapping or {}, ts_unit, tz, ticker, types, src_path)
    else:
        m = preset_mapping(fmt, columns)
    select = ", ".join(f"{expr} AS {key}" for key, expr in m.exprs.items())
    extra = "WHEN bid > ask THEN 'bid > ask'" if {"bid", "ask"} <= m.exprs.keys() else ""
    # a row equal to an earlier one in every mapped column and in its source sequence number is
    # the same print twice (`validate` rejects duplicate sequence numbers): a bad row like any
    # other. Without a sequence column, equal rows can be two real trades and both stay.
    fields = ", ".join([*m.exprs, "_tie"])
    base = f"""SELECT *, coalesce({BAD_ROW_SQL.replace("{extra}", extra)},
            CASE WHEN _tie IS NOT NULL AND _first < _row
                 THEN 'duplicate of input row ' || _first END) AS _bad
        FROM (SELECT *, min(_row) OVER (PARTITION BY {fields}) AS _first FROM (
            SELECT {select}, {m.order} AS _tie, _row
            FROM (SELECT *, row_number() OVER () AS _row FROM {reader})))"""
    try:
        con.execute(f"CREATE TEMP TABLE mapped AS {base}")
        rows_read, rejected = con.execute(
            "SELECT count(*), count(_bad) FROM mapped"
        ).fetchone() or (0, 0)
        reordered = con.execute(
            """SELECT count(*) FROM (SELECT ts < max(ts) OVER (ORDER BY _row ROWS BETWEEN
                   UNBOUNDED PRECEDING AND 1 PRECEDING) AS back FROM mapped WHERE _bad IS NULL)
               WHERE back"""
        ).fetchone()[0]  # type: ignore[index]
        examples = tuple(
            f"input row {row}: {why}"
            for row, why in con.execute(
                "SELECT _row, _bad FROM mapped WHERE _bad IS NOT NULL ORDER BY _row LIMIT 5"
            ).fetchall()
        )
    except duckdb.Error as exc:
        raise RecordingError(f"{src_path}: {' '.join(str(exc).split())[:300]}") from None
    if rejected and on_bad_row == "fail":
        raise RecordingError(
            f"{src_path}: {rejected} bad row(s) of {rows_read}; first: {examples[0]} "
            "(use --on-bad-row skip to drop them)"
        )
    if rows_read - rejected == 0:
        raise RecordingError(f"{src_path}: no importable rows")
    keys = list(m.exprs)
    cols = ", ".join(keys)
    sql = (
        f"SELECT row_number() OVER (ORDER BY ts, _tie, _row) - 1 AS seq, {cols} "
        "FROM mapped WHERE _bad IS NULL ORDER BY ts, _tie, _row"
    )
    if fmt == "polygon-minute":
        sql = minute_sql(cols)
    meta = {
        "origin": str(src_path.resolve()),
        "original_sha256": file_sha256(src_path),
        "original_bytes": src_path.stat().st_size,
        "format": fmt,
        "rows_read": rows_read,
        "rows_rejected": rejected,
        "rejected_examples": list(examples),
        "rows_reordered": int(reordered),
        **_provenance(src_path),
        **(dict(notes) if notes else {}),
    }
    written = 0
    with RecordingWriter(
        out,
        name=spec.name,
        source=f"import:{fmt}",
        notes=meta,
        overwrite=spec.overwrite,
        layout=PartLayout(rows_per_file=spec.rows_per_file),
    ) as writer:
        batches = con.sql(sql).to_arrow_reader(256 * 1024)
        for batch in batches:
            writer.write_batch(batch)
            written += batch.num_rows
            if progress:
                progress(written)
        manifest = writer.finalise()
    check_recording(out)
    return ImportResult(int(rows_read), written, int(rejected), examples, manifest, int(reordered))


def _json_or_empty(path: Path) -> dict[str, Any]:
    """A provenance note's JSON object; an unreadable note is no provenance, not an error."""
    import json

    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
    return doc if isinstance(doc, dict) else {}


def _provenance(src: Path) -> dict[str, Any]:
    """Provenance found next to the input: Parquet key/value metadata, a `parquet_metadata.json`
    entry for the file (as in /work/shared/sample-data) and the folder's licence note."""
    import pyarrow.parquet as pq

    out: dict[str, Any] = {}
    if src.suffix == ".parquet":
        try:
            kv = pq.read_metadata(src).metadata or {}
        except Exception:
            kv = {}
        meta = {
            k.decode(): v.decode(errors="replace")
            for k, v in kv.items()
            if not k.startswith(b"ARROW:")
        }
        if meta:
            out["source_metadata"] = meta
    folder = src.parent / "metadata.json"
    if folder.is_file():
        doc = _json_or_empty(folder)
        keys = ("dataset", "original_url", "obtained_from", "licence")
        out["dataset_metadata"] = {k: doc[k] for k in keys if k in doc}
    index = src.parent / "parquet_metadata.json"
    if index.is_file():
        for ds in _json_or_empty(index).get("datasets", []):
            for f in ds.get("files", []):
                if f.get("file") == src.name:
                    out["provenance"] = {
                        "derived_from": ds.get("derived_from"),
                        "command": ds.get("command"),
                        "description": f.get("description"),
                        "sha256": f.get("sha256"),
                    }
    return out
