"""The cross-run DuckDB catalog: one SQL query spans every run directory under a runs root.

    con = open_catalog("reports/runs")
    con.sql("select run_id, status, match_rate from runs where status = 'complete'")

Views: `runs` (one row per run, effective status), `observations`, `events` (with `stack`),
`diff` — each Parquet view carries `run_id`, taken from the run directory name.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.store.listing import DEFAULT_ROOT, list_runs

if TYPE_CHECKING:
    import duckdb

RUN_COLUMNS = (
    "run_id",
    "status",
    "recorded_status",
    "recording",
    "recording_sha256",
    "primary",
    "candidate",
    "aa",
    "ticks",
    "audit_ok",
    "match_rate",
    "missing",
    "extra",
    "field_mismatch",
    "verdict",
    "verdict_phases",
    "seed",
    "mode",
    "started",
    "finished",
    "reason",
    "path",
)


def run_rows(root: str | Path = DEFAULT_ROOT) -> list[dict[str, Any]]:
    """One flat row per run (newest first) for `harness runs` and the `runs` view."""
    rows = []
    for m in list_runs(root):
        rec = m.get("recording") or {}
        audit = m.get("audit") or {}
        summary = m.get("summary") or {}
        diff = summary.get("diff") or {}
        verdict = m.get("verdict")
        rows.append(
            {
                "run_id": m.get("run_id"),
                "status": m.get("status"),
                "recorded_status": m.get("recorded_status"),
                "recording": rec.get("name"),
                "recording_sha256": rec.get("sha256"),
                "primary": (m.get("primary") or {}).get("factory"),
                "candidate": (m.get("candidate") or {}).get("factory"),
                "aa": m.get("aa"),
                "ticks": audit.get("read"),
                "audit_ok": audit.get("ok"),
                "match_rate": summary.get("match_rate"),
                "missing": diff.get("missing"),
                "extra": diff.get("extra"),
                "field_mismatch": diff.get("field_mismatch"),
                "verdict": verdict.get("verdict") if isinstance(verdict, dict) else verdict,
                # the phases the stored verdict judged: a verdict means nothing without its phase
                "verdict_phases": ",".join(verdict.get("phases") or {})
                if isinstance(verdict, dict)
                else None,
                "seed": m.get("seed"),
                "mode": m.get("mode"),
                "started": m.get("started"),
                "finished": m.get("finished"),
                "reason": m.get("reason"),
                "path": m.get("path"),
            }
        )
    return rows


def _glob_view(con: duckdb.DuckDBPyConnection, name: str, glob: str, select: str) -> None:
    if con.execute("select count(*) from glob(?)", [glob]).fetchone()[0]:  # type: ignore[index]
        con.execute(
            f"create or replace view {name} as select {select} "
            f"from read_parquet('{glob}', filename = true, union_by_name = true)"
        )


def open_catalog(
    root: str | Path = DEFAULT_ROOT, database: str = ":memory:"
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with views over all runs under `root` (views only where files exist)."""
    import duckdb
    import pyarrow as pa

    from harness.store.parts import EVENT_DIRS

    base = Path(root).resolve()
    con = duckdb.connect(database)
    rows = run_rows(base)
    table = pa.Table.from_pylist(
        [
            {k: (json.dumps(v) if isinstance(v, dict | list) else v) for k, v in r.items()}
            for r in rows
        ],
        schema=pa.schema([(c, pa.string()) for c in RUN_COLUMNS]) if not rows else None,
    )
    con.register("_runs", table)
    con.execute("create or replace view runs as select * from _runs")
    rid = "regexp_extract(filename, '([^/]+)/[^/]+/[^/]+$', 1)"
    _glob_view(
        con,
        "observations",
        f"{base}/*/observations/*.parquet",
        f"{rid} as run_id, * exclude (filename)",
    )
    stack = "regexp_extract(filename, 'events_([a-z]+)/[^/]+$', 1)"
    _glob_view(
        con,
        "events",
        f"{base}/*/events_*/*.parquet",
        f"{rid} as run_id, {stack} as stack, * exclude (filename)",
    )
    _glob_view(
        con,
        "diff",
        f"{base}/*/diff.parquet",
        "regexp_extract(filename, '([^/]+)/diff.parquet$', 1) as run_id, * exclude (filename)",
    )
    assert set(EVENT_DIRS.values()) == {"events_primary", "events_candidate"}
    return con
