"""Importers: turn CSV / Parquet / Polygon flat files / LOBSTER trades into validated recordings.

Every format is a *mapping* from source columns to recording columns, evaluated by DuckDB: it
streams the input, casts each value with TRY_CAST (an unparseable value is a bad row, not a
crash), classifies bad rows, sorts by (ts, source order) out of core, and hands Arrow batches to
the RecordingWriter. `on_bad_row="fail"` (default) refuses the import when any row is bad;
`"skip"` drops them and reports how many, with examples.

    import_file("trades.csv.gz", "recordings/x", fmt="csv", mapping={"ts": "t", "price": "p", ...})
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.core.errors import ConfigError, RecordingError
from harness.core.model import TICK_FIELDS
from harness.recordings.importers.lobster import lobster_exprs, lobster_inputs, lobster_reader_sql
from harness.recordings.manifest import file_sha256
from harness.recordings.reader import RecordingWriter
from harness.recordings.schema import TICKER_MAX_LEN
from harness.recordings.validation import check_recording

FORMATS = ("csv", "parquet", "polygon-trades", "polygon-minute", "lobster", "lobster-csv")
TS_UNITS = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}
_SQL_TYPES = {
    "seq": "BIGINT",
    "price": "DOUBLE",
    "volume": "BIGINT",
    "ticker": "VARCHAR",
    "source": "VARCHAR",
}
_INT_COLUMNS = {"tick_volume", "accumulated_volume"}
_IDENT = re.compile(r"^[^\"\x00]+$")
MINUTE_NS = 60_000_000_000


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
class Mapping_:
    """A resolved format: recording column → SQL expression over the source columns."""

    exprs: dict[str, str]
    order: str  # SQL tie-breaker after ts (source order), then the input row


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


def _q(name: str) -> str:
    if not _IDENT.match(name):
        raise ConfigError(f"bad source column name {name!r}")
    return '"' + name + '"'


def _ts_expr(col: str, unit: str, tz: str, typ: str = "") -> str:
    """SQL giving int ns UTC from a source column of integers (unit) or timestamp text (tz).

    A column that already is a timestamp (Parquet, typed CSV) is taken as it is, whatever
    `--ts-unit` says: with a zone it is an instant; without one it is local time in `tz`."""
    typ = typ.upper()
    if typ.startswith("TIMESTAMP") and "TIME ZONE" in typ:
        return f"epoch_ns({col})"
    if typ.startswith("TIMESTAMP") or typ == "DATE":
        if tz.upper() == "UTC":
            return f"epoch_ns(CAST({col} AS TIMESTAMP_NS))"
        local = f"CAST({col} AS TIMESTAMP)"
        return f"(epoch_ns(CAST({col} AS TIMESTAMP_NS)) + (epoch_ns(timezone('{tz}', {local})) - epoch_ns({local})))"
    if unit in TS_UNITS:
        return f"(TRY_CAST({col} AS BIGINT) * {TS_UNITS[unit]})"
    if unit != "iso":
        raise ConfigError(f"--ts-unit must be one of s, ms, us, ns, iso; got {unit!r}")
    if tz.upper() == "UTC":
        return f"epoch_ns(TRY_CAST({col} AS TIMESTAMP_NS))"
    # Timestamp text without offset, in a local zone: ns-precise value plus the zone's offset.
    local = f"TRY_CAST({col} AS TIMESTAMP)"
    offset = f"(epoch_ns(timezone('{tz}', {local})) - epoch_ns({local}))"
    return f"(epoch_ns(TRY_CAST({col} AS TIMESTAMP_NS)) + {offset})"


def _generic(
    mapping: Mapping[str, str],
    ts_unit: str,
    tz: str,
    ticker: str | None,
    types: Mapping[str, str],
    source: Path,
) -> Mapping_:
    missing = [c for c in ("ts", "price", "volume") if c not in mapping]
    if "ticker" not in mapping and ticker is None:
        missing.append("ticker (or --ticker)")
    if missing:
        raise ConfigError(f"--map must name source columns for: {', '.join(missing)}")
    absent = [f"{k}={v}" for k, v in mapping.items() if v not in types]
    if absent:
        raise ConfigError(
            f"--map {', '.join(absent)}: {source} has no such column (columns: {', '.join(types)})"
        )
    exprs: dict[str, str] = {}
    for key, src in mapping.items():
        col = _q(src)
        if key in ("ts", "recv_ts"):
            typ = types.get(src, "")
            numeric = typ.upper() in ("BIGINT", "INTEGER", "HUGEINT", "UBIGINT", "DOUBLE")
            if ts_unit == "iso" and numeric:
                raise ConfigError(
                    f"--map {key}={src}: the column holds numbers ({typ}); give --ts-unit "
                    "s, ms, us or ns"
                )
            exprs[key] = _ts_expr(col, ts_unit, tz, typ)
        elif key == "seq":
            continue
        else:
            typ = _SQL_TYPES.get(key, "BIGINT" if key in _INT_COLUMNS else "DOUBLE")
            exprs[key] = f"TRY_CAST({col} AS {typ})"
    if ticker is not None:
        exprs["ticker"] = "'" + ticker.replace("'", "''") + "'"
    order = f"TRY_CAST({_q(mapping['seq'])} AS BIGINT)" if "seq" in mapping else "NULL"
    return Mapping_(exprs, order)


def _preset(fmt: str, columns: list[str]) -> Mapping_:
    if fmt == "lobster":
        order = "global_seq" if "global_seq" in columns else "seq"
        exprs = {
            "ts": "ts",
            "ticker": "ticker",
            "price": "price",
            "volume": "size",
            "bid": "bid",
            "ask": "ask",
        }
        return Mapping_(
            {
                k: f"TRY_CAST({v} AS {_SQL_TYPES.get(k, 'DOUBLE')})"
                if k != "ts"
                else "TRY_CAST(ts AS BIGINT)"
                for k, v in exprs.items()
            },
            order,
        )
    if fmt == "polygon-trades":
        exprs = {
            "ts": "TRY_CAST(sip_timestamp AS BIGINT)",
            "ticker": "CAST(ticker AS VARCHAR)",
            "price": "TRY_CAST(price AS DOUBLE)",
            "volume": "TRY_CAST(size AS BIGINT)",
        }
        return Mapping_(exprs, "TRY_CAST(sequence_number AS BIGINT)")
    # polygon-minute: one tick per bar at its end time; day fields accumulate per ticker.
    end = f"(TRY_CAST(window_start AS BIGINT) + {MINUTE_NS})"
    exprs = {
        "ts": end,
        "ticker": "CAST(ticker AS VARCHAR)",
        "price": "TRY_CAST(close AS DOUBLE)",
        "volume": "TRY_CAST(volume AS BIGINT)",
        "tick_open": "TRY_CAST(open AS DOUBLE)",
        "tick_high": "TRY_CAST(high AS DOUBLE)",
        "tick_low": "TRY_CAST(low AS DOUBLE)",
        "tick_close": "TRY_CAST(close AS DOUBLE)",
        "tick_volume": "TRY_CAST(volume AS BIGINT)",
    }
    return Mapping_(exprs, "CAST(ticker AS VARCHAR)")


_BAD = f"""CASE
  WHEN ts IS NULL THEN 'ts missing or unparseable'
  WHEN ticker IS NULL OR ticker = '' THEN 'ticker missing'
  WHEN length(ticker) > {TICKER_MAX_LEN} THEN 'ticker longer than {TICKER_MAX_LEN}'
  WHEN NOT regexp_full_match(ticker, '[A-Za-z0-9][A-Za-z0-9.\\-/:^_]*') THEN 'ticker has illegal characters'
  WHEN price IS NULL THEN 'price missing or unparseable'
  WHEN isnan(price) OR isinf(price) OR price <= 0 THEN 'price ' || CAST(price AS VARCHAR) || ' (expected finite > 0)'
  WHEN volume IS NULL THEN 'volume missing or unparseable'
  WHEN volume < 0 THEN 'volume ' || CAST(volume AS VARCHAR) || ' (expected >= 0)'
  {{extra}}
  ELSE NULL END"""


def _reader_sql(path: Path, fmt: str) -> str:
    p = str(path).replace("'", "''")
    if fmt in ("csv", "polygon-trades", "polygon-minute"):
        return f"read_csv('{p}', header=true, all_varchar=true)"
    return f"read_parquet('{p}')"


def import_file(
    src: str | os.PathLike[str],
    out: str | os.PathLike[str],
    fmt: str,
    mapping: Mapping[str, str] | None = None,
    ts_unit: str = "ns",
    tz: str = "UTC",
    ticker: str | None = None,
    orderbook: str | None = None,
    day: str | None = None,
    on_bad_row: str = "fail",
    name: str | None = None,
    notes: Mapping[str, Any] | None = None,
    rows_per_file: int = 2_000_000,
    overwrite: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Import one file into a new recording at `out`; return counts and rejected examples."""
    import duckdb

    src_path = Path(src)
    if fmt not in FORMATS:
        raise ConfigError(f"--format must be one of {', '.join(FORMATS)}; got {fmt!r}")
    if on_bad_row not in ("fail", "skip"):
        raise ConfigError(f"--on-bad-row must be skip or fail; got {on_bad_row!r}")
    if not src_path.is_file():
        raise RecordingError(f"{src_path}: input file not found")
    con = duckdb.connect()
    con.execute("SET memory_limit='1GB'; SET preserve_insertion_order=true")
    reader = _reader_sql(src_path, fmt)
    lobster_csv: tuple[str, int] | None = None
    if fmt == "lobster-csv":
        book, ticker_name, midnight = lobster_inputs(src_path, orderbook, ticker, day)
        reader, lobster_csv = lobster_reader_sql(src_path, book), (ticker_name, midnight)
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()
        columns = [r[0] for r in described]
        types = {str(r[0]): str(r[1]) for r in described}
    except duckdb.Error as exc:
        raise RecordingError(
            f"{src_path}: cannot read as {fmt}: {' '.join(str(exc).split())[:300]}"
        ) from None
    if lobster_csv is not None:
        m = Mapping_(lobster_exprs(*lobster_csv), "msg_row")
    elif fmt in ("csv", "parquet"):
        m = _generic(mapping or {}, ts_unit, tz, ticker, types, src_path)
    else:
        m = _preset(fmt, columns)
    select = ", ".join(f"{expr} AS {key}" for key, expr in m.exprs.items())
    extra = "WHEN bid > ask THEN 'bid > ask'" if {"bid", "ask"} <= m.exprs.keys() else ""
    # a row equal to an earlier one in every mapped column and in its source sequence number is
    # the same print twice (`validate` rejects duplicate sequence numbers): a bad row like any
    # other. Without a sequence column, equal rows can be two real trades and both stay.
    fields = ", ".join([*m.exprs, "_tie"])
    base = f"""SELECT *, coalesce({_BAD.replace("{extra}", extra)},
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
        sql = _minute_sql(cols)
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
        name=name,
        source=f"import:{fmt}",
        notes=meta,
        rows_per_file=rows_per_file,
        overwrite=overwrite,
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


def _provenance(src: Path) -> dict[str, Any]:
    """Provenance found next to the input: Parquet key/value metadata, a `parquet_metadata.json`
    entry for the file (as in /work/shared/sample-data) and the folder's licence note."""
    import json

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
        try:
            doc = json.loads(folder.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            doc = {}
        keys = ("dataset", "original_url", "obtained_from", "licence")
        out["dataset_metadata"] = {k: doc[k] for k in keys if k in doc}
    index = src.parent / "parquet_metadata.json"
    if index.is_file():
        try:
            doc = json.loads(index.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            doc = {}
        for ds in doc.get("datasets", []):
            for f in ds.get("files", []):
                if f.get("file") == src.name:
                    out["provenance"] = {
                        "derived_from": ds.get("derived_from"),
                        "command": ds.get("command"),
                        "description": f.get("description"),
                        "sha256": f.get("sha256"),
                    }
    return out


def _minute_sql(cols: str) -> str:
    """Minute bars with per-ticker day fields: accumulated volume, VWAP, official open."""
    local = "timezone('America/New_York', to_timestamp(ts // 1000000000))"
    bar_start = f"(hour({local}) * 60 + minute({local}) - 1)"
    return f"""
    WITH b AS (SELECT {cols}, _tie, _row, {bar_start} >= 570 AS regular, CAST({local} AS DATE) AS day
               FROM mapped WHERE _bad IS NULL)
    SELECT row_number() OVER (ORDER BY ts, _tie, _row) - 1 AS seq, {cols},
      sum(volume) OVER w AS accumulated_volume,
      round(sum((tick_high + tick_low + tick_close) / 3 * volume) OVER w / nullif(sum(volume) OVER w, 0), 4) AS vwap,
      CASE WHEN regular THEN first_value(CASE WHEN regular THEN tick_open END IGNORE NULLS) OVER w END
        AS market_open_price
    FROM b
    WINDOW w AS (PARTITION BY ticker, day ORDER BY ts, _row
                 ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
    ORDER BY ts, _tie, _row"""
