"""LOBSTER's raw sample format (message + orderbook CSV): executions with the quote just before.

A LOBSTER day is two row-aligned headerless CSV files named
`TICKER_YYYY-MM-DD_<start>_<end>_message_<levels>.csv[.gz]` and `..._orderbook_<levels>.csv[.gz]`.
Message columns: time (seconds after midnight US/Eastern, up to 9 decimals), type (4 visible /
5 hidden execution, …), order id, size, price × 10,000, direction. Orderbook row i is the book
*after* message i, so the quote an execution met is row i − 1. Dummy prices (±9,999,999,999)
mark an empty side. The output matches /work/shared/sample-data/scripts/convert_lobster_to_parquet.py.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from harness.core.errors import ConfigError

_NAME = re.compile(
    r"^(?P<ticker>[A-Za-z.]+)_(?P<day>\d{4}-\d{2}-\d{2})_\d+_\d+_message_(?P<levels>\d+)\.csv(\.gz)?$"
)
EMPTY_SIDE = 9_999_999_999


def lobster_inputs(
    message: Path, orderbook: str | None, ticker: str | None, day: str | None
) -> tuple[Path, str, int]:
    """The orderbook file, ticker and midnight (ns UTC) of a LOBSTER message file."""
    m = _NAME.match(message.name)
    book = (
        Path(orderbook)
        if orderbook
        else (message.with_name(message.name.replace("_message_", "_orderbook_")) if m else None)
    )
    ticker = ticker or (m.group("ticker") if m else None)
    day = day or (m.group("day") if m else None)
    if book is None or ticker is None or day is None:
        raise ConfigError(
            f"{message.name}: not a LOBSTER file name (TICKER_YYYY-MM-DD_start_end_message_N.csv); "
            "give --orderbook, --ticker and --date"
        )
    if not book.is_file():
        raise ConfigError(f"{book}: LOBSTER orderbook file not found (give --orderbook)")
    midnight = datetime.combine(date.fromisoformat(day), time(0), ZoneInfo("America/New_York"))
    return book, ticker, int(midnight.timestamp()) * 1_000_000_000


def lobster_reader_sql(message: Path, book: Path) -> str:
    """A FROM-able SQL source: one row per execution, with the previous book row's quote."""
    msg = str(message).replace("'", "''")
    ob = str(book).replace("'", "''")
    csv = "header=false, all_varchar=true, auto_detect=true"
    return f"""(
      SELECT m.column0 AS time, m.column1 AS type, m.column3 AS size, m.column4 AS price,
             b.column0 AS book_ask, b.column2 AS book_bid, m.i AS msg_row
      FROM (SELECT *, row_number() OVER () - 1 AS i FROM read_csv('{msg}', {csv})) m
      LEFT JOIN (SELECT *, row_number() OVER () - 1 AS i FROM read_csv('{ob}', {csv})) b
        ON b.i + 1 = m.i
      WHERE m.column1 IN ('4', '5'))"""


def lobster_exprs(ticker: str, midnight_ns: int) -> dict[str, str]:
    """Recording column → SQL over `lobster_reader_sql` columns."""
    secs = "TRY_CAST(split_part(time, '.', 1) AS BIGINT)"
    frac = "TRY_CAST(rpad(split_part(time, '.', 2), 9, '0') AS BIGINT)"

    def quote(col: str) -> str:
        v = f"TRY_CAST({col} AS BIGINT)"
        return f"CASE WHEN abs({v}) < {EMPTY_SIDE} THEN {v} / 10000.0 END"

    return {
        "ts": f"({midnight_ns} + {secs} * 1000000000 + {frac})",
        "ticker": "'" + ticker.replace("'", "''") + "'",
        "price": "TRY_CAST(price AS BIGINT) / 10000.0",
        "volume": "TRY_CAST(size AS BIGINT)",
        "bid": quote("book_bid"),
        "ask": quote("book_ask"),
    }
