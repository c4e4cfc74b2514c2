"""Time-window rules read the tick time stored in diff.parquet; older diffs fall back to a join."""

import datetime as dt

import duckdb
import pyarrow.parquet as pq
import pytest
from readiness_fixtures import make_run, scoped

from harness.diff.accepted import TICK_TS, time_source
from harness.diff.rules_file import load_rules
from harness.gates.evidence import open_evidence

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
    p.write_text(scoped(RULES))
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


FIELD_RULES = """
[[rule]]
id = "none-match"
reason = "r"
owner = "o"
expires = 2027-01-31
field = ["zzz*"]

[[rule]]
id = "counts"
reason = "r"
owner = "o"
expires = 2027-01-31
field = ["count*", "label"]

[[rule]]
id = "nested"
reason = "r"
owner = "o"
expires = 2027-01-31
type = "trend"
field = ["*.components.*", "*[0-9]", "percent_?hange"]
"""

DIFF_ROWS = [
    ("high", "field_mismatch", [("count", "1", "2")]),
    ("high", "field_mismatch", [("count_up", "1", "2"), ("label", '"a"', '"b"')]),
    ("high", "field_mismatch", [("count_up", "1", "2"), ("price", "1", "2")]),
    ("trend", "field_mismatch", [("x.components.vwap", "1", "2"), ("slot7", "1", "2")]),
    ("trend", "field_mismatch", [("percent_change", "1", "2"), ("count", "1", "2")]),
    ("trend", "field_mismatch", [("percent_xhange", "1", "2"), ("vwap", "1", "2")]),
    ("trend", "field_mismatch", [("count", "1", "2"), (None, "1", "2")]),
    ("trend", "field_mismatch", [(None, "1", "2")]),
    ("trend", "field_mismatch", []),
    ("high", "missing", []),
    ("high", "match", []),
]


def test_field_globs_matched_once_per_path_accept_exactly_the_rows_the_globs_do(tmp_path):
    from harness.diff.accepted import create_accepted_diff, field_path_sets

    p = tmp_path / "fields.toml"
    p.write_text(scoped(FIELD_RULES))
    rules = load_rules(p)
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE diff_raw (ticker VARCHAR, type VARCHAR, tick_seq BIGINT, class VARCHAR, "
        'fields STRUCT(path VARCHAR, "primary" VARCHAR, candidate VARCHAR)[], accepted_by VARCHAR)'
    )
    for i, (typ, cls, fields) in enumerate(DIFF_ROWS):
        con.execute(
            "INSERT INTO diff_raw VALUES ('T', ?, ?, ?, ?, NULL)",
            [typ, i, cls, [{"path": a, "primary": b, "candidate": c} for a, b, c in fields]],
        )
    paths = field_path_sets(con, rules, TODAY)
    assert paths[("zzz*",)] == ()
    assert paths[("count*", "label")] == ("count", "count_up", "label")
    assert paths[("*.components.*", "*[0-9]", "percent_?hange")] == (
        "percent_change",
        "percent_xhange",
        "slot7",
        "x.components.vwap",
    )
    create_accepted_diff(con, rules, TODAY)
    fast = con.execute("SELECT tick_seq, accepted_by FROM diff ORDER BY tick_seq").fetchall()
    globbed = con.execute(
        f"SELECT tick_seq, {rules.sql_case(TODAY)} FROM diff_raw ORDER BY tick_seq"
    ).fetchall()
    assert fast == globbed
    assert [a for _, a in fast] == [
        "counts", "counts", None, "nested", None, None, "counts", None, None, None, None,
    ]  # fmt: skip
