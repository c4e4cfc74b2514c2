"""The report's time breakdowns: differences by class/type/period/rule and events per minute.

Aggregated in DuckDB on their own cursor (the report runs them in a thread while it gates and
draws). Time-zone work is done once per UTC minute, not once per row: US/Eastern is a whole
number of hours from UTC, so a UTC minute's local HH:MM is that of every tick inside it.
"""

from __future__ import annotations

from typing import Any

import duckdb
import pandas as pd

from harness.diff.accepted import TICK_TS, diff_columns

_NS_PER_MINUTE = 60_000_000_000
#: Start of the UTC minute `m` (minutes since the epoch).
_MINUTE_TS = "to_timestamp(m * 60)"


def _floor_minute(ts: str) -> str:
    """UTC minutes since the epoch of a TIMESTAMPTZ expression (floor, also before 1970)."""
    ns = f"epoch_ns({ts})"
    return f"({ns} - (({ns} % {_NS_PER_MINUTE}) + {_NS_PER_MINUTE}) % {_NS_PER_MINUTE}) // {_NS_PER_MINUTE}"


def _period(ts: str) -> str:
    """US/Eastern session period of a TIMESTAMPTZ expression (NULL time → 'closed')."""
    local = f"strftime(timezone('America/New_York', {ts}), '%H:%M')"
    return f"""CASE WHEN {local} < '04:00' THEN 'closed'
  WHEN {local} < '09:30' THEN 'pre-market'
  WHEN {local} < '16:00' THEN 'regular'
  WHEN {local} < '20:00' THEN 'after-hours'
  ELSE 'closed' END"""


def _q(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
    return con.execute(sql, params or []).df()


def _stored_tick_time(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the diff carries each row's tick time (diffs written since `tick_ts` exists)."""
    return TICK_TS in diff_columns(con, "diff")


def _tick_minutes(con: duckdb.DuckDBPyConnection) -> None:
    """Temp table `report_tick_minute(seq, m)`: the UTC minute of every tick that emitted events
    (and, for diffs without `tick_ts`, of every tick with differences): one scan of the
    observations for both breakdowns.
    """
    diff_seqs = (
        ""
        if _stored_tick_time(con)
        else "SELECT tick_seq FROM diff WHERE class <> 'match' UNION ALL "
    )
    con.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS report_tick_minute AS SELECT seq, {_floor_minute('ts')} AS m "
        f"FROM observations WHERE seq IN ({diff_seqs}"
        "SELECT tick_seq FROM events_primary UNION ALL SELECT tick_seq FROM events_candidate)"
    )


def differences(con: duckdb.DuckDBPyConnection) -> dict[str, pd.DataFrame]:
    """Differences by class, event type, session period (US/Eastern) and rule; top tickers."""
    if _stored_tick_time(con):
        source = f"SELECT class, type, accepted_by, {_floor_minute(TICK_TS)} AS m FROM diff WHERE class <> 'match'"
    else:
        _tick_minutes(con)
        source = (
            "SELECT d.class, d.type, d.accepted_by, o.m FROM diff d "
            "LEFT JOIN report_tick_minute o ON o.seq = d.tick_seq WHERE d.class <> 'match'"
        )
    con.execute(f"CREATE TEMP TABLE IF NOT EXISTS report_differences AS {source}")
    base = "report_differences"
    agg = "count(*) FILTER (accepted_by IS NULL) AS unexplained, count(*) FILTER (accepted_by IS NOT NULL) AS accepted"
    by_period = (
        f"WITH g AS (SELECT m, {agg} FROM {base} GROUP BY m) "
        f"SELECT {_period(_MINUTE_TS)} AS period, sum(unexplained)::BIGINT AS unexplained, "
        "sum(accepted)::BIGINT AS accepted FROM g GROUP BY period ORDER BY period"
    )
    return {
        "class": _q(con, f"SELECT class, {agg} FROM {base} GROUP BY class ORDER BY class"),
        "type": _q(con, f"SELECT type, {agg} FROM {base} GROUP BY type ORDER BY type"),
        "period": _q(con, by_period),
        "rule": _q(con, "SELECT accepted_by AS rule, count(*) AS rows FROM diff WHERE accepted_by IS NOT NULL GROUP BY 1 ORDER BY 1"),
        # every differing ticker, unexplained and accepted rows counted apart: a run whose
        # differences are all accepted still shows where they are
        "tickers": _q(
            con,
            "SELECT ticker, count(*) FILTER (accepted_by IS NULL) AS unexplained, "
            "count(*) FILTER (accepted_by IS NOT NULL) AS accepted, "
            "count(*) FILTER (accepted_by IS NULL AND class = 'missing') AS missing, "
            "count(*) FILTER (accepted_by IS NULL AND class = 'extra') AS extra, "
            "count(*) FILTER (accepted_by IS NULL AND class = 'field_mismatch') AS field_mismatch, "
            "count(*) FILTER (accepted_by IS NULL AND class = 'order') AS order_diff "
            "FROM diff WHERE class <> 'match' GROUP BY ticker "
            "ORDER BY unexplained DESC, accepted DESC, ticker LIMIT 10",
        ),
    }  # fmt: skip


#: diff.parquet columns naming each stack's event of a row (NULL: that stack emitted none)
_EVENT_TICKS = ("primary_tick_seq", "candidate_tick_seq")


def _events_in_diff(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the diff alone gives every event's tick minute.

    Every event is in exactly one diff row (paired or not), with its own tick_seq in
    `<stack>_tick_seq`; when that equals the row's tick_seq (always, unless a tick_seq tolerance
    paired events of different ticks) the row's `tick_ts` is the event's tick time.
    """
    cols = diff_columns(con, "diff")
    if TICK_TS not in cols or any(c not in cols for c in _EVENT_TICKS):
        return False
    row = con.execute(
        "SELECT count(*) FROM diff WHERE primary_tick_seq <> tick_seq OR candidate_tick_seq <> tick_seq"
    ).fetchone()
    return row is not None and row[0] == 0


def events_per_minute(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Events per US/Eastern minute of tick time emitted by each stack.

    Counted from the diff's rows (775k on a 10M-tick day) when it carries the tick times, else
    by joining both stacks' events with the observations' tick minutes. Either way an event whose
    tick_seq has no observation is not counted.
    """
    if _events_in_diff(con):
        g = (
            f"SELECT {_floor_minute(TICK_TS)} AS m, count(primary_tick_seq) AS n_primary, "
            f"count(candidate_tick_seq) AS n_candidate FROM diff WHERE {TICK_TS} IS NOT NULL GROUP BY m"
        )
    else:
        _tick_minutes(con)
        g = """WITH e AS (SELECT 'primary' AS side, tick_seq FROM events_primary
              UNION ALL SELECT 'candidate', tick_seq FROM events_candidate)
          SELECT o.m, count(*) FILTER (side = 'primary') AS n_primary,
                 count(*) FILTER (side = 'candidate') AS n_candidate
          FROM e JOIN report_tick_minute o ON o.seq = e.tick_seq GROUP BY o.m"""
    sql = f"""
    WITH g AS ({g})
    SELECT date_trunc('minute', timezone('America/New_York', {_MINUTE_TS})) AS minute,
           sum(n_primary)::BIGINT AS primary, sum(n_candidate)::BIGINT AS candidate
    FROM g GROUP BY 1 ORDER BY 1"""
    return _q(con, sql)


def time_breakdowns(
    cursor: duckdb.DuckDBPyConnection,
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """differences and events per minute on their own cursor (run in another thread); closes it."""
    try:
        return differences(cursor), events_per_minute(cursor)
    finally:
        cursor.close()
