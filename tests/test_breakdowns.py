"""The report's time breakdowns read diff.tick_ts when stored and join the observations otherwise."""

import json

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from readiness_fixtures import JOIN_MINUTES_SQL, make_run
from tickgen import make_ticks

from harness.diff.align import DiffConfig
from harness.gates.evidence import open_evidence
from harness.pipeline.lifecycle import diff_run
from harness.pipeline.shadow import run_shadow
from harness.report.breakdowns import _events_in_diff, differences, events_per_minute
from harness.store.runs import open_run

HOURS_3_NS = 3 * 3600 * 1_000_000_000


def _store_tick_ts(run, shift_ns: int = 0) -> None:
    """diff.parquet as the current diff engine writes it: with each row's tick time (shifted)."""
    tmp = run / "diff.new.parquet"
    duckdb.connect().execute(
        f"""COPY (SELECT d.*, o.ts + to_microseconds({shift_ns // 1000}) AS tick_ts
            FROM read_parquet('{run / "diff.parquet"}') d
            LEFT JOIN read_parquet('{run / "observations" / "*.parquet"}') o ON o.seq = d.tick_seq)
            TO '{tmp}' (FORMAT parquet)"""
    )
    tmp.replace(run / "diff.parquet")


def _breakdowns(run):
    ev = open_evidence(run)
    try:
        return differences(ev.con), events_per_minute(ev.con)
    finally:
        ev.close()


def test_stored_tick_times_give_the_breakdowns_of_the_join(tmp_path):
    old = make_run(tmp_path, "old", ticks=20_000, missing=5, extra=3, shifted=4)
    new = make_run(tmp_path, "new", ticks=20_000, missing=5, extra=3, shifted=4)
    _store_tick_ts(new)
    (d_old, m_old), (d_new, m_new) = _breakdowns(old), _breakdowns(new)
    assert d_old.keys() == d_new.keys()
    for key in d_old:
        pd.testing.assert_frame_equal(d_old[key], d_new[key])
    pd.testing.assert_frame_equal(m_old, m_new)
    assert d_new["period"]["unexplained"].sum() == 12 and len(m_new) > 100


def test_differences_by_period_follow_the_stored_tick_time(tmp_path):
    # fixture ticks are 09:30-15:03 ET: the first differences are 'regular'; 3 h earlier they
    # fall before 09:30 ET ('pre-market'), which only the stored tick_ts says
    run = make_run(tmp_path, ticks=20_000, missing=5, extra=3, shifted=4)
    _store_tick_ts(run, shift_ns=-HOURS_3_NS)
    diffs, minutes = _breakdowns(run)
    assert diffs["period"].to_dict("records") == [
        {"period": "pre-market", "unexplained": 12, "accepted": 0}
    ]
    assert len(minutes) > 100  # the fixture's diff has no <stack>_tick_seq: the join counts them


FAKE = "harness.replay.stack:fake"


def _spread_run(tmp_path, round_robin=False, **candidate):
    """A diffed FakeStack run whose 3,000 ticks span 50 minutes (one tick a second)."""
    ticks = [
        t._replace(ts=t.ts + t.seq * 990_000_000)
        for t in make_ticks(3_000, round_robin=round_robin)
    ]
    return run_shadow(ticks, FAKE, FAKE, candidate_config=candidate, root=tmp_path).path


def test_events_per_minute_counted_from_the_diff_equal_the_per_event_join(tmp_path):
    run = _spread_run(tmp_path, drop_rate=0.05, extra_rate=0.03, alter_rate=0.02, seed=3)
    ev = open_evidence(run)
    try:
        assert _events_in_diff(ev.con)
        got = events_per_minute(ev.con)
        pd.testing.assert_frame_equal(got, ev.con.execute(JOIN_MINUTES_SQL).df())
        n_primary = ev.con.execute("SELECT count(*) FROM events_primary").fetchone()[0]
        n_candidate = ev.con.execute("SELECT count(*) FROM events_candidate").fetchone()[0]
        assert got["primary"].sum() == n_primary and got["candidate"].sum() == n_candidate
        assert n_primary != n_candidate and len(got) >= 50
    finally:
        ev.close()


def test_events_paired_across_ticks_by_a_tolerance_are_counted_at_their_own_tick(tmp_path):
    run = _spread_run(tmp_path, round_robin=True)
    (part,) = sorted((run / "events_candidate").glob("*.parquet"))
    t = pq.read_table(part)
    js = [
        json.dumps({**json.loads(j), "tick_seq": s + 1}, sort_keys=True)
        for j, s in zip(t["event_json"].to_pylist(), t["tick_seq"].to_pylist(), strict=True)
    ]
    t = t.set_column(0, "tick_seq", pc.add(t["tick_seq"], 1)).set_column(
        t.schema.get_field_index("event_json"), "event_json", pa.array(js)
    )
    pq.write_table(t, part)
    cfg = {"key": {"tick_seq_tolerance": 1}, "ignore": {"fields": ["tick_seq"]}}
    assert diff_run(open_run(run), DiffConfig.from_dict(cfg))["diff"]["missing"] == 0
    ev = open_evidence(run)
    try:
        assert not _events_in_diff(ev.con)  # the candidate's tick is not the row's tick
        want = ev.con.execute(JOIN_MINUTES_SQL).df()
        pd.testing.assert_frame_equal(events_per_minute(ev.con), want)
        # one tick a second: some candidate events moved into the next minute
        assert not want["primary"].equals(want["candidate"])
    finally:
        ev.close()
