"""Applies the accepted-differences rules to a run's diff rows: the evidence's `diff` relation.

The rules (harness/ignore.py) are one SQL CASE; this module decides what it runs over. Time
windows (`between`, `period`) need each diff row's tick time: diff.parquet stores it as
`tick_ts` (harness/compare.py), so no join with the run's observations is needed. Run
directories diffed before that column existed still work: their tick times come from a join of
the diff with the observations on seq = tick_seq, as before.
"""

from __future__ import annotations

import datetime as dt

import duckdb

from harness.ignore import RuleSet, time_of_day_sql

#: diff.parquet column holding the tick time (ts of the observation with seq = tick_seq)
TICK_TS = "tick_ts"


def diff_columns(con: duckdb.DuckDBPyConnection, relation: str) -> list[str]:
    """Column names of a view or table on `con` (for a Parquet view: read from the footer only)."""
    return [r[0] for r in con.execute(f"DESCRIBE {relation}").fetchall()]


def time_source(con: duckdb.DuckDBPyConnection, raw: str = "diff_raw") -> str:
    """SQL of the raw diff rows (minus accepted_by) with a TIMESTAMPTZ column `tick_time`.

    From the stored `tick_ts` column when diff.parquet has it; otherwise (run directories diffed
    by an older harness) from a LEFT JOIN with the observations, which reads 10M rows on a
    10M-tick run.
    """
    if TICK_TS in diff_columns(con, raw):
        return f"SELECT * EXCLUDE (accepted_by), {TICK_TS} AS tick_time FROM {raw}"
    return (
        f"SELECT d.* EXCLUDE (accepted_by), o.ts AS tick_time FROM {raw} d "
        "LEFT JOIN (SELECT seq, ts FROM observations) o ON o.seq = d.tick_seq"
    )


def create_accepted_diff(
    con: duckdb.DuckDBPyConnection, rules: RuleSet, today: dt.date, raw: str = "diff_raw"
) -> None:
    """Create `diff`: the rows of `raw` with `accepted_by` recomputed from the active rules.

    Without rules `diff` is a view of `raw`. With rules it is a table, not a view: every gate
    phase and the report count diff rows, and the CASE would run on every query. The time of
    day the time-window rules compare is computed once per row, not once per window bound.
    """
    if not rules.rules:
        con.execute(f"CREATE VIEW diff AS SELECT * FROM {raw}")
        return
    if rules.needs_time(today):
        src = (
            f"SELECT *, {time_of_day_sql('tick_time')} AS tick_tod FROM ({time_source(con, raw)})"
        )
        case = rules.sql_case(today, tod_column="tick_tod")
        drop = "tick_time, tick_tod"
    else:
        src = f"SELECT * EXCLUDE (accepted_by), NULL::TIMESTAMPTZ AS tick_time FROM {raw}"
        case = rules.sql_case(today)
        drop = "tick_time"
    con.execute(f"CREATE TABLE diff AS SELECT * EXCLUDE ({drop}), {case} AS accepted_by FROM ({src})")
