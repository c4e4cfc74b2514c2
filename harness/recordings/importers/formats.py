"""The formats an import understands: each a mapping from source columns to recording columns,
as DuckDB SQL (TRY_CAST everywhere: an unparseable value is a bad row, not a crash)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from harness.core.errors import ConfigError
from harness.recordings.schema import TICKER_MAX_LEN

FORMATS = ("csv", "parquet", "polygon-trades", "polygon-minute", "lobster", "lobster-csv", "dbn")
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
class ColumnMapping:
    """A resolved format: recording column → SQL expression over the source columns."""

    exprs: dict[str, str]
    order: str  # SQL tie-breaker after ts (source order), then the input row


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


def generic_mapping(
    mapping: Mapping[str, str],
    ts_unit: str,
    tz: str,
    ticker: str | None,
    types: Mapping[str, str],
    source: Path,
) -> ColumnMapping:
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
    return ColumnMapping(exprs, order)


def preset_mapping(fmt: str, columns: list[str]) -> ColumnMapping:
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
        return ColumnMapping(
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
        return ColumnMapping(exprs, "TRY_CAST(sequence_number AS BIGINT)")
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
    return ColumnMapping(exprs, "CAST(ticker AS VARCHAR)")


BAD_ROW_SQL = f"""CASE
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


def reader_sql(path: Path, fmt: str) -> str:
    p = str(path).replace("'", "''")
    if fmt in ("csv", "polygon-trades", "polygon-minute"):
        return f"read_csv('{p}', header=true, all_varchar=true)"
    return f"read_parquet('{p}')"


def minute_sql(cols: str) -> str:
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
