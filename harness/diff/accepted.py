"""Applies the accepted-differences rules to a run's diff rows: the evidence's `diff` relation.

The rules (harness/diff/rules.py) are one SQL CASE; this module decides what it runs over. Time
windows (`between`, `period`) need each diff row's tick time: diff.parquet stores it as
`tick_ts` (harness/diff/classify.py), so no join with the run's observations is needed. Run
directories diffed before that column existed still work: their tick times come from a join of
the diff with the observations on seq = tick_seq, as before.
"""

from __future__ import annotations

import datetime as dt

import duckdb

from harness.diff.rules import RuleSet, glob_any_sql, time_of_day_sql

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


def field_path_sets(
    con: duckdb.DuckDBPyConnection, rules: RuleSet, today: dt.date, raw: str = "diff_raw"
) -> dict[tuple[str, ...], tuple[str, ...]]:
    """Per `field` glob list of an active rule: the distinct field paths of `raw` matching it.

    The globs are matched in DuckDB once per distinct path (about a hundred on a 10M-tick run)
    instead of once per field of every row (1.8M fields there).
    """
    globs = {r.fields for r in rules.active(today) if r.fields}
    if not globs:
        return {}
    con.execute(
        "CREATE TEMP TABLE IF NOT EXISTS _diff_paths AS SELECT DISTINCT f.path AS path "
        f"FROM (SELECT unnest(fields) AS f FROM {raw}) WHERE f.path IS NOT NULL"
    )
    return {
        g: tuple(
            r[0]
            for r in con.execute(
                f"SELECT path FROM _diff_paths WHERE {glob_any_sql('path', g)} ORDER BY path"
            ).fetchall()
        )
        for g in sorted(globs)
    }


def create_accepted_diff(
    con: duckdb.DuckDBPyConnection, rules: RuleSet, today: dt.date, raw: str = "diff_raw"
) -> None:
    """Create `diff`: the rows of `raw` with `accepted_by` recomputed from the active rules.

    Without rules `diff` is a view of `raw`. With rules it is a table, not a view: every gate
    phase and the report count diff rows, and the CASE would run on every query. The time of
    day the time-window rules compare is computed once per row, not once per window bound, and
    `field` globs are matched once per distinct field path (`field_path_sets`).
    """
    if not rules.rules:
        con.execute(f"CREATE VIEW diff AS SELECT * FROM {raw}")
        return
    paths = field_path_sets(con, rules, today, raw)
    if rules.needs_time(today):
        src = f"SELECT *, {time_of_day_sql('tick_time')} AS tick_tod FROM ({time_source(con, raw)})"
        case = rules.sql_case(today, tod_column="tick_tod", field_paths=paths)
        drop = "tick_time, tick_tod"
    else:
        src = f"SELECT * EXCLUDE (accepted_by), NULL::TIMESTAMPTZ AS tick_time FROM {raw}"
        case = rules.sql_case(today, field_paths=paths)
        drop = "tick_time"
    con.execute(
        f"CREATE TABLE diff AS SELECT * EXCLUDE ({drop}), {case} AS accepted_by FROM ({src})"
    )
