"""The report's time breakdowns read diff.tick_ts when stored and join the observations otherwise."""

import duckdb
import pandas as pd
from readiness_fixtures import make_run

from harness.breakdowns import differences, events_per_minute
from harness.evidence import open_evidence

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
    assert len(minutes) > 100  # events per minute still come from the observations
