"""Per-ticker risk statistics for the multichannel stack's SmartTickerRollout, from a recording.

The seed's `_assess_ticker_risk` reads `avg_daily_volume`, `price_volatility` and
`event_frequency`; computed here with DuckDB over a previous recording (and, for event frequency,
the primary events of a previous run), they go to the candidate as `ticker_stats`:

    stats = ticker_stats("recordings/sample-day", "reports/runs/<id>/events_primary.parquet")
    # harness replay … --set 'candidate.ticker_stats=<json.dumps(stats)>'

avg_daily_volume = mean over recorded days of the day's summed tick volume; price_volatility =
mean over days of std/mean of the day's prices; event_frequency = events per recorded day.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from harness.core.errors import RecordingError
from harness.recordings.reader import open_recording


def _sql_list(paths: list[Path]) -> str:
    return "[" + ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths) + "]"


def ticker_stats(
    recording: str | os.PathLike[str], events: str | os.PathLike[str] | None = None
) -> dict[str, dict[str, float]]:
    """{ticker: {avg_daily_volume, price_volatility, event_frequency}} for every recorded ticker."""
    rec = open_recording(recording)
    files = rec.files()
    if not files:
        raise RecordingError(f"{recording}: recording has no data files")
    con = duckdb.connect()
    try:
        con.execute(
            "CREATE TEMP VIEW ticks AS SELECT ticker, price, volume, "
            "CAST(date AS VARCHAR) AS day "
            f"FROM read_parquet({_sql_list(files)}, hive_partitioning = true)"
        )
        days = con.execute("SELECT count(DISTINCT day) FROM ticks").fetchone()
        n_days = max(int(days[0]) if days else 0, 1)
        rows = con.execute(
            """
            SELECT ticker, avg(day_volume), avg(coalesce(cv, 0))
            FROM (SELECT ticker, day, sum(volume) AS day_volume,
                         stddev_pop(price) / nullif(avg(price), 0) AS cv
                  FROM ticks GROUP BY ticker, day)
            GROUP BY ticker ORDER BY ticker
            """
        ).fetchall()
        counts: dict[str, int] = {}
        if events is not None:
            path = Path(events)
            if not path.is_file():
                raise RecordingError(f"{path}: events file not found")
            counts = dict(
                con.execute(
                    f"SELECT ticker, count(*) FROM read_parquet({_sql_list([path])}) "
                    "GROUP BY ticker"
                ).fetchall()
            )
    finally:
        con.close()
    return {
        str(ticker): {
            "avg_daily_volume": float(volume),
            "price_volatility": float(cv),
            "event_frequency": counts.get(ticker, 0) / n_days,
        }
        for ticker, volume, cv in rows
    }
