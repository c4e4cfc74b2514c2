"""The compact run summary (`harness replay` output, summary.json): counts, latency, diff, divergence."""

from __future__ import annotations

from typing import Any

import duckdb

from harness.core.model import SIDES
from harness.core.sqlfiles import statement
from harness.diff.classify import class_counts


def _sql(name: str, **params: object) -> str:
    return statement("harness.diff", "summary", name, **params)


def latency(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, float | None]]:
    """Per-stack wall p50/p90/p99/mean (µs) over successful calls, plus CPU p50 (µs).

    One scan of the observations for both stacks (a FILTER per stack, not a query each).
    """
    row = con.execute(_sql("latency", sides=SIDES)).fetchone()
    assert row is not None

    def us(v):
        return None if v is None else round(float(v) / 1000.0, 3)

    out: dict[str, dict[str, float | None]] = {}
    for i, side in enumerate(SIDES):
        q, mean, cpu, n = row[4 * i : 4 * i + 4]
        out[side] = {
            "p50_us": us(q[0]) if q else None,
            "p90_us": us(q[1]) if q else None,
            "p99_us": us(q[2]) if q else None,
            "mean_us": us(mean),
            "cpu_p50_us": us(cpu),
            "calls": int(n),
        }
    return out


def events_by_type(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, int]]:
    out = {}
    for side in SIDES:
        rows = con.execute(_sql("events_by_type", side=side)).fetchall()
        out[side] = {str(t): int(n) for t, n in rows}
    return out


def failures(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, Any]]:
    """Per stack: exceptions and timeouts, by type, and the first failed tick with its message.

    A failing stack is data (design.md §5), so it must be readable where people look (summary,
    report, verdict.json, JUnit), not only in the observation parts."""
    out: dict[str, dict[str, Any]] = {}
    for side in SIDES:
        row = con.execute(_sql("failure_counts", side=side)).fetchone()
        assert row is not None
        first = con.execute(_sql("first_failure", side=side)).fetchone()
        types = con.execute(_sql("failure_types", side=side)).fetchall()
        out[side] = {
            "errors": int(row[0]),
            "timeouts": int(row[1]),
            "types": {str(t): int(n) for t, n in types},
            "first": None
            if first is None
            else {
                "ticker": first[0],
                "seq": int(first[1]),
                "time": first[2],
                "timeout": bool(first[4]),
                "type": str(first[3]).split(":", 1)[0],
                "message": str(first[3]),
            },
        }
    return out


def failure_lines(failed: dict[str, dict[str, Any]] | None) -> list[str]:
    """One line per stack that failed on some tick: counts, types, the first tick and message."""
    lines = []
    for side, f in (failed or {}).items():
        if not f.get("errors") and not f.get("timeouts"):
            continue
        types = ", ".join(f"{t} {n}" for t, n in f.get("types", {}).items())
        first = f.get("first") or {}
        lines.append(
            f"{side} failed on {f['errors']} tick(s) with an exception and timed out on "
            f"{f['timeouts']} ({types}); first at seq {first.get('seq')} {first.get('ticker')} "
            f"{first.get('time')}: {first.get('message')}"
        )
    return lines


def build(
    con: duckdb.DuckDBPyConnection,
    manifest: dict[str, Any],
    hashes: dict[str, str],
    divergence: dict[str, Any] | None,
) -> dict[str, Any]:
    """The summary dict; `con` has the run's views and the `diff` table."""
    counts = class_counts(con)
    total = sum(counts.values())
    errors = con.execute(_sql("error_counts")).fetchone()
    assert errors is not None
    ratio = None
    lat = latency(con)
    if lat["primary"]["p50_us"] and lat["candidate"]["p50_us"] is not None:
        ratio = round(lat["candidate"]["p50_us"] / lat["primary"]["p50_us"], 4)
    return {
        "run_id": manifest.get("run_id"),
        "status": manifest.get("status"),
        "recording": (manifest.get("recording") or {}).get("name"),
        "primary": (manifest.get("primary") or {}).get("factory"),
        "candidate": (manifest.get("candidate") or {}).get("factory"),
        "ticks": (manifest.get("audit") or {}).get("read"),
        "audit_ok": (manifest.get("audit") or {}).get("ok"),
        "events": events_by_type(con),
        "diff": counts,
        "match_rate": round(counts["match"] / total, 6) if total else None,
        "errors": {"primary": int(errors[0]), "candidate": int(errors[1])},
        "timeouts": {"primary": int(errors[2]), "candidate": int(errors[3])},
        "failures": failures(con),
        "latency": lat,
        "latency_ratio_p50": ratio,
        "event_hash": hashes,
        "first_divergence": None
        if divergence is None
        else {k: divergence[k] for k in ("seq", "ticker", "class")},
    }


def render(summary: dict[str, Any], path: str | None = None) -> str:
    """The summary as a few aligned text lines for the terminal."""
    lines = [
        f"run {summary.get('run_id')}  status {summary.get('status')}  "
        f"recording {summary.get('recording') or '-'}  ticks {summary.get('ticks')}",
        f"  primary   {summary.get('primary')}",
        f"  candidate {summary.get('candidate')}",
    ]
    for side in SIDES:
        ev = summary["events"][side]
        lat = summary["latency"][side]
        by_type = ", ".join(f"{k} {v}" for k, v in ev.items()) or "none"
        lines.append(
            f"  {side:<9} events {sum(ev.values())} ({by_type}); "
            f"p50 {lat['p50_us']} µs, p99 {lat['p99_us']} µs; "
            f"errors {summary['errors'][side]}, timeouts {summary['timeouts'][side]}"
        )
    d = summary["diff"]
    rate = summary.get("match_rate")
    lines.append(
        f"  diff      match {d['match']}  field_mismatch {d['field_mismatch']}  missing {d['missing']}"
        f"  extra {d['extra']}  order {d['order']}  match rate "
        + ("-" if rate is None else f"{100 * rate:.3f} %")
    )
    fd = summary.get("first_divergence")
    lines.append(
        "  first divergence: none"
        if not fd
        else f"  first divergence: seq {fd['seq']} ticker {fd['ticker']} ({fd['class']})"
    )
    lines += [f"  {line}" for line in failure_lines(summary.get("failures"))]
    if summary.get("reason"):
        lines.append(f"  reason: {summary['reason']}")
    if path:
        lines.append(f"  run directory: {path}")
    return "\n".join(lines)
