"""The Arrow schema of a recording's tick columns (design.md §3) and conversion to it."""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from harness.core.errors import RecordingError
from harness.core.model import OPTIONAL_COLUMNS, REQUIRED_COLUMNS, TICK_FIELDS

TS_TYPE = pa.timestamp("ns", tz="UTC")
#: Tickers are stored dictionary-encoded: a day has ~4,000 distinct symbols over millions of rows.
TICKER_TYPE = pa.dictionary(pa.int32(), pa.string())

#: Canonical Arrow type of every recording column, in canonical order.
COLUMN_TYPES: dict[str, pa.DataType] = {
    "seq": pa.int64(),
    "ts": TS_TYPE,
    "ticker": TICKER_TYPE,
    "price": pa.float64(),
    "volume": pa.int64(),
    "bid": pa.float64(),
    "ask": pa.float64(),
    "tick_open": pa.float64(),
    "tick_high": pa.float64(),
    "tick_low": pa.float64(),
    "tick_close": pa.float64(),
    "tick_vwap": pa.float64(),
    "tick_volume": pa.int64(),
    "accumulated_volume": pa.int64(),
    "vwap": pa.float64(),
    "market_open_price": pa.float64(),
    "recv_ts": TS_TYPE,
    "source": pa.string(),
}
assert tuple(COLUMN_TYPES) == TICK_FIELDS

#: Symbols: letters, digits and the separators real feeds use (BRK.B, BF-B, X:BTCUSD, O:SPY…).
TICKER_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.\-/:^_]*$")
TICKER_MAX_LEN = 32


_NY_TS = pa.timestamp("ns", tz="America/New_York")


def partition_dates(ts: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Trading-day (America/New_York) date of each timestamp, as days since the epoch."""
    local = pc.local_timestamp(ts.cast(_NY_TS))
    return np.asarray(local.cast(pa.date32()).cast(pa.int32()).to_numpy(zero_copy_only=False))


def day_text(day: int) -> str:
    """`YYYY-MM-DD` of a day number (days since the epoch)."""
    return str(np.datetime64(int(day), "D"))


def canonical_schema(columns: list[str] | tuple[str, ...]) -> pa.Schema:
    """The schema of a recording holding the required columns plus the given optional ones."""
    present = set(columns)
    names = [c for c in TICK_FIELDS if c in REQUIRED_COLUMNS or c in present]
    return pa.schema(
        [pa.field(n, COLUMN_TYPES[n], nullable=n not in REQUIRED_COLUMNS) for n in names]
    )


def type_ok(column: str, typ: pa.DataType) -> bool:
    """Whether a stored column type is acceptable for `column` (string tickers may be plain)."""
    if column == "ticker" or column == "source":
        if pa.types.is_dictionary(typ):
            typ = typ.value_type
        return pa.types.is_string(typ) or pa.types.is_large_string(typ)
    expected = COLUMN_TYPES[column]
    if pa.types.is_timestamp(expected):
        return (
            pa.types.is_timestamp(typ)
            and typ.unit == "ns"
            and typ.tz in ("UTC", "+00:00", "Etc/UTC")
        )
    return typ == expected


def expected_type_text(column: str) -> str:
    """Human text for the type a column must have."""
    if column in ("ticker", "source"):
        return "string (dictionary-encoded ok)"
    return str(COLUMN_TYPES[column])


def conform(data: pa.Table | pa.RecordBatch) -> pa.Table:
    """Return `data` with canonical column order and types; reject unknown or missing columns.

    Integer `ts`/`recv_ts` columns are read as nanoseconds UTC; naive timestamps are refused,
    because guessing a timezone silently shifts a whole day.
    """
    table = pa.Table.from_batches([data]) if isinstance(data, pa.RecordBatch) else data
    unknown = [n for n in table.column_names if n not in COLUMN_TYPES]
    if unknown:
        raise RecordingError(
            f"unknown column(s) {', '.join(unknown)}; expected {', '.join(TICK_FIELDS)}"
        )
    missing = [n for n in REQUIRED_COLUMNS if n not in table.column_names]
    if missing:
        raise RecordingError(f"missing required column(s) {', '.join(missing)}")
    schema = canonical_schema(table.column_names)
    arrays = []
    for field in schema:
        col = table.column(field.name)
        arrays.append(_cast(field.name, col, field.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def _cast(name: str, col: pa.ChunkedArray, target: pa.DataType) -> pa.ChunkedArray:
    typ = col.type
    if typ == target:
        return col
    if pa.types.is_timestamp(target):
        if pa.types.is_integer(typ):
            return col.cast(pa.int64()).cast(target)
        if pa.types.is_timestamp(typ) and typ.tz is None:
            raise RecordingError(f"column {name}: timezone-naive timestamps; expected {target}")
        if pa.types.is_timestamp(typ):
            return col.cast(pa.timestamp(typ.unit, "UTC")).cast(target)
    if pa.types.is_dictionary(target):
        if pa.types.is_dictionary(typ):
            return col.cast(pa.dictionary(pa.int32(), pa.string()))
        return pc.dictionary_encode(col.cast(pa.string())).cast(target)
    try:
        return col.cast(target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise RecordingError(f"column {name}: cannot convert {typ} to {target}: {exc}") from None


__all__ = [
    "COLUMN_TYPES",
    "OPTIONAL_COLUMNS",
    "REQUIRED_COLUMNS",
    "TICKER_MAX_LEN",
    "TICKER_PATTERN",
    "TICKER_TYPE",
    "TS_TYPE",
    "canonical_schema",
    "day_text",
    "partition_dates",
    "conform",
    "expected_type_text",
    "type_ok",
]
