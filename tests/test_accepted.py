"""Time-window rules read the tick time stored in diff.parquet; older diffs fall back to a join."""

import datetime as dt

import duckdb
import pyarrow.parquet as pq
import pytest
from readiness_fixtures import make_run

from harness.accepted import TICK_TS, time_source
from harness.evidence import open_evidence
from harness.ignore import load_rules

TODAY = dt.date(2026, 11, 25)
NOON_ET_NS = 1_340_294_400_000_000_000  # 2012-06-21 16:00 UTC = 12:00 US/Eastern

RULES = """
[[rule]]
id = "KD-open"
reason = "r"
owner = "o"
expires = 2027-01-31
class = "field_mismatch"
period = "OPENING"

[[rule]]
id = "KD-noon"
reason = "r"
owner = "o"
expires = 2027-01-31
between = ["12:00", "12:01"]

[[rule]]
id = "KD-missing-midday"
reason = "r"
owner = "o"
expires = 2027-01-31
class = "missing"
period = ["MIDDAY", "CLOSED"]
"""


def _rules(tmp_path):
    p = tmp_path / "accepted.toml"
    p.write_text(RULES)
    return load_rules(p)


def _add_tick_ts(run, shift_ns: int = 0) -> None:
    """Rewrite diff.parquet as the current diff engine writes it: with each row's tick time."""
    tmp = run / "diff.new.parquet"
    duckdb.connect().execute(
        f"""COPY (SELECT d.*, o.ts + to_microseconds({shift_ns // 1000}) AS {TICK_TS}
            FROM read_parquet('{run / "diff.parquet"}') d
            LEFT JOIN read_parquet('{run / "observations" / "*.parquet"}') o ON o.seq = d.tick_seq)
            TO '{tmp}' (FORMAT parquet)"""
    )
    tmp.replace(run / "diff.parquet")


def _accepted(ev):
    return ev.con.execute(
        "SELECT tick_seq, class, accepted_by FROM diff ORDER BY tick_seq, class"
    ).fetchall()


def test_stored_tick_time_gives_the_same_acceptances_as_the_join_of_older_diffs(tmp_path):
    old = make_run(tmp_path, "old", shifted=4, missing=3, extra=2)
    new = make_run(tmp_path, "new", shifted=4, missing=3, extra=2)
    _add_tick_ts(new)
    rules = _rules(tmp_path)
    assert TICK_TS not in pq.read_schema(old / "diff.parquet").names
    a = _accepted(open_evidence(old, rules=rules, today=TODAY))
    b = _accepted(open_evidence(new, rules=rules, today=TODAY))
    assert a == b
    assert {r[2] for r in a} == {"KD-open", None}  # the fixture's ticks are all 09:30-10:03 ET
    assert sum(r[2] == "KD-open" for r in a) == 4


def test_time_windows_read_the_stored_tick_time_not_the_observations(tmp_path):
    # tick_ts moved 2.5 h later than the observations say: the rules must follow tick_ts
    run = make_run(tmp_path, shifted=4, missing=3)
    _add_tick_ts(run, shift_ns=NOON_ET_NS - 1_340_285_400_000_000_000)
    rows = _accepted(open_evidence(run, rules=_rules(tmp_path), today=TODAY))
    by_class = {(c, a) for _, c, a in rows if c != "match"}
    assert by_class == {("field_mismatch", "KD-noon"), ("missing", "KD-noon")}


def test_the_diff_keeps_the_stored_tick_time_column(tmp_path):
    run = make_run(tmp_path, shifted=4)
    _add_tick_ts(run)
    ev = open_evidence(run, rules=_rules(tmp_path), today=TODAY)
    names = [r[0] for r in ev.con.execute("DESCRIBE diff").fetchall()]
    assert TICK_TS in names and "tick_time" not in names and "tick_tod" not in names
    assert names[-1] == "accepted_by"


@pytest.mark.parametrize("stored", [True, False])
def test_time_source_joins_only_when_the_column_is_absent(tmp_path, stored):
    run = make_run(tmp_path, shifted=4)
    if stored:
        _add_tick_ts(run)
    con = duckdb.connect()
    con.execute(f"CREATE VIEW diff_raw AS SELECT * FROM read_parquet('{run / 'diff.parquet'}')")
    con.execute(
        "CREATE VIEW observations AS SELECT * FROM "
        f"read_parquet('{run / 'observations' / '*.parquet'}')"
    )
    sql = time_source(con)
    assert ("JOIN" in sql) is not stored
    n, timed = con.execute(f"SELECT count(*), count(tick_time) FROM ({sql})").fetchone()
    assert n == timed == pq.read_metadata(run / "diff.parquet").num_rows
