"""Per-trading-day breakdown of a sharded run: ticks, errors, events, diff classes and latency per day.

Each shard belongs to one `date=` partition (the manifest's `sharding.shard_dates`), so a day is
the set of its shards; the breakdown is one DuckDB query over the run's Parquet and lands in
summary.json as `by_day` (the report renders it)::

    add_day_breakdown(run_dir)   # → summary["by_day"] = [{"date": "2026-03-10", "ticks": …}, …]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.core.sqlfiles import statement
from harness.store.runs import Run


def day_breakdown(run: Run) -> list[dict[str, Any]]:
    """One row per trading day, in date order (empty when the run has no shard→date map)."""
    dates = (run.manifest.get("sharding") or {}).get("shard_dates") or {}
    if not dates:
        return []
    con = run.connect()
    try:
        con.execute("create temp table _days (shard integer, date varchar)")
        con.executemany(
            "insert into _days values (?, ?)", [(int(k), v or "-") for k, v in dates.items()]
        )
        obs = con.execute(statement("harness.diff", "summary", "day_observations")).fetchall()
        has_diff = (run.path / "diff.parquet").exists()
        classes: dict[str, dict[str, int]] = {}
        if has_diff:
            sql = statement("harness.diff", "summary", "day_classes")
            for date, klass, n in con.execute(sql).fetchall():
                classes.setdefault(date, {})[klass] = int(n)
    finally:
        con.close()
    out = []
    for date, ticks, p_err, c_err, p_ev, c_ev, p50p, p50c in obs:
        counts = classes.get(date, {})
        total = sum(counts.values())
        out.append(
            {
                "date": date,
                "ticks": int(ticks),
                "errors": {"primary": int(p_err), "candidate": int(c_err)},
                "events": {"primary": int(p_ev or 0), "candidate": int(c_ev or 0)},
                "diff": counts,
                "match_rate": round(counts.get("match", 0) / total, 6) if total else None,
                "p50_us": {
                    "primary": None if p50p is None else round(p50p / 1000, 3),
                    "candidate": None if p50c is None else round(p50c / 1000, 3),
                },
            }
        )
    return out


def add_day_breakdown(run_dir: str | Path) -> list[dict[str, Any]]:
    """Compute the breakdown and store it in the run's summary.json as `by_day`."""
    run = Run(Path(run_dir))
    rows = day_breakdown(run)
    summary_path = run.path / "summary.json"
    if summary_path.exists():
        summary = run.json("summary.json")
        summary["by_day"] = rows
        run.write_json("summary.json", summary)
    return rows
