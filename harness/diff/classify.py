"""Event comparison: classify aligned pairs (design.md §6), find the first divergence, hash streams.

Pairs whose JSON (minus ignored fields) is byte-identical are matches without further work; the
rest are exploded into leaf paths with DuckDB's `json_tree`, compared with per-field tolerances,
and every differing path is kept with both values. Emission order within a tick is checked last
on the matched pairs. All of it runs as SQL over the temp tables of harness/diff/align.py::

    classify(con, cfg)       # → temp table diff (the schema of diff.parquet)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import duckdb

from harness.core.sqlfiles import statement
from harness.diff.align import EID, DiffConfig, align, ignore_patch
from harness.diff.fields import field_differences

CLASSES = ("match", "field_mismatch", "missing", "extra", "order")
DIFF_COLUMNS = (
    "ticker, type, direction, tick_seq, primary_tick_seq, candidate_tick_seq, primary_index, "
    "candidate_index, primary_pos, candidate_pos, shard, class, fields, accepted_by, tick_ts, late"
)


def _strip(col: str, patch: str | None, names: tuple[str, ...] = ()) -> str:
    """SQL removing the ignored fields; skipped (cheap substring test) when none can be present."""
    if not patch:
        return col
    if names:
        present = " or ".join(f"contains({col}, '\"{n.split('.')[0]}\"')" for n in names)
        return f"case when {present} then json_merge_patch({col}, '{patch}') else {col} end"
    return f"json_merge_patch({col}, '{patch}')"


def strip_events(con: duckdb.DuckDBPyConnection, ignore: tuple[str, ...]) -> None:
    """Temp tables `_pj`/`_cj`: each event's JSON minus ignored fields (`s`) and its hash (`h`).

    Stripping (json_merge_patch) is the expensive step, so it runs once per event here, in the
    same pass as the event's md5 (see `event_hashes`); the comparison reads `s`.
    """
    patch = ignore_patch(ignore)
    for side, view in (("p", "events_primary"), ("c", "events_candidate")):
        strip = _strip("event_json", patch, ignore)
        con.execute(_sql("stripped", side=side, view=view, eid=EID, strip=strip))
    con.execute("create or replace temp table _strip_ignore as select ?::varchar as patch", [patch])


def _tick_times(con: duckdb.DuckDBPyConnection) -> None:
    """Temp table `_tick_ts(seq, ts)`: the tick time of every diff row's tick_seq.

    Stored in diff.parquet as `tick_ts`, so the accepted-differences rules' time windows need no
    join of the diff with the (10M-row) observations each time a run is gated or reported.
    Empty when the connection has no observations (runcompare diffs two runs' events only); a
    seq that repeats takes its earliest ts, so the join never multiplies diff rows.
    """
    has_obs = con.execute(
        "select count(*) from duckdb_views() where view_name = 'observations'"
    ).fetchone()[0]  # type: ignore[index]
    if not has_obs:
        con.execute(
            "create or replace temp table _tick_ts (seq bigint, ts timestamp with time zone)"
        )
        return
    con.execute(_sql("tick_times"))


def classify(con: duckdb.DuckDBPyConnection, cfg: DiffConfig) -> None:
    """Align the events and create temp table `diff`: one row per event pair or unpaired event."""
    align(con, cfg)
    strip_events(con, cfg.ignore)
    con.execute(_sql("compared"))
    con.execute(_sql("todo"))
    field_differences(con, cfg)
    _tick_times(con)
    con.execute(_sql("diff"))


def class_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    counts = dict.fromkeys(CLASSES, 0)
    counts.update(dict(con.execute("select class, count(*) from diff group by 1").fetchall()))
    return counts


def event_hashes(con: duckdb.DuckDBPyConnection, ignore: tuple[str, ...]) -> dict[str, str]:
    """Per stack, XOR of md5(tick_seq, emit_seq, emit_index, JSON minus ignored fields).

    Independent of sharding and of the order of part files, yet sensitive to every event, its
    tick and its place within the call (no two events share tick_seq/emit_seq/emit_index).
    flush() events (emit_seq -1) leave emit_index out: shards flush separately, so their index
    within the flush depends on how the run was sharded.
    """
    patch = ignore_patch(ignore)
    try:
        done = con.execute("select patch from _strip_ignore").fetchone()
    except duckdb.CatalogException:
        done = None
    if done is None or done[0] != patch:
        strip_events(con, ignore)
    out = {}
    for side in ("primary", "candidate"):
        row = con.execute(f"select count(*), bit_xor(h) from _{side[0]}j").fetchone()
        assert row is not None
        n, x = row
        out[side] = f"{int(n):x}-{int(x or 0) & ((1 << 128) - 1):032x}"
    return out


def _sql(name: str, **params: object) -> str:
    return statement("harness.diff", "classify", name, **params)


TickLookup = Callable[[str, int, int], list[dict[str, Any]]]


def first_divergence(
    con: duckdb.DuckDBPyConnection, window: int = 5, ticks: TickLookup | None = None
) -> dict[str, Any] | None:
    """The earliest tick_seq where the stacks' events disagree, with its ticker's tick window.

    `ticks(ticker, start_ns, end_ns)` may supply the full ticks (prices, volumes) of the window
    from the recording; without it the window holds the observation rows.
    """
    row = con.execute(_sql("first_divergence")).fetchone()
    if row is None:
        return None
    seq, ticker, klass = row
    rows = con.execute(_sql("tick_window"), {"t": ticker, "s": seq, "w": window}).df()
    obs = json.loads(rows.to_json(orient="records", date_format="iso"))
    lo = int(rows["seq"].min()) if len(rows) else seq
    hi = int(rows["seq"].max()) if len(rows) else seq
    events = {}
    for side in ("primary", "candidate"):
        found = con.execute(
            _sql("window_events", side=side), {"t": ticker, "lo": lo, "hi": hi}
        ).fetchall()
        events[side] = [json.loads(r[0]) for r in found]
    diffs = con.execute(_sql("divergence_rows"), {"s": seq}).fetchall()
    out: dict[str, Any] = {
        "seq": int(seq),
        "ticker": ticker,
        "class": klass,
        "differences": [
            {"type": t, "direction": d, "class": c, "fields": f} for t, d, c, f in diffs
        ],
        "observations": obs,
        "events": events,
    }
    if ticks is not None and len(rows):
        ts = rows["ts"]
        out["ticks"] = ticks(ticker, int(ts.min().value), int(ts.max().value))
    return out
