"""The run report: one self-contained report.html (plots embedded) plus report.md, from a run's evidence.

Everything is aggregated in DuckDB first (quantiles, per-minute counts, per-class counts) so the
report's cost is a few scans of the run, not Python work per tick; per-ticker statistics use a
seeded sample when the run is larger than PER_TICKER_MAX_TICKS, and say so.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import jinja2
import numpy as np
import pandas as pd

from harness.core.files import atomic_write_bytes, atomic_write_text, remove
from harness.core.sqlfiles import statement
from harness.gates.bootstrap import MEAN_CAP_NOTE
from harness.gates.engine import (
    PHASES,
    GateResult,
    dashboard_ladder,
    evaluate_all,
    gate_sql,
    open_run_evidence,
)
from harness.gates.evidence import Evidence
from harness.gates.statistics import subsample_index
from harness.gates.ticker_statistics import per_ticker_stats
from harness.gates.verdict import p_value, primary_events_line, readable, table_rows
from harness.report import breakdowns
from harness.report.divergence import divergence_view
from harness.report.plot_worker import PlotWorker

PER_TICKER_MAX_TICKS = 250_000
#: A ticker needs this many paired ticks to be ranked in the report's latency table: a ratio of
#: medians over 5 ticks is noise, and such tickers would otherwise top the list.
MIN_TICKER_TICKS = 100
CDF_POINTS = 200


#: Called with the evidence and every phase's result before the evidence closes.
Judge = Callable[[Evidence, list[GateResult]], None]


@dataclass(frozen=True, slots=True)
class ReportFiles:
    """Where the report went and how long it took."""

    html: Path
    markdown: Path
    plots: tuple[Path, ...]
    seconds: float
    results: tuple[GateResult, ...]


def _get(d: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(d, Mapping) or key not in d:
            return None
        d = d[key]
    return d


def side_by_side(ev: Evidence) -> list[dict[str, Any]]:
    """The seed dashboard's figures as the candidate reports them next to the harness's measurement."""
    cand = ev.stack_stats.get("candidate", {}) if isinstance(ev.stack_stats, Mapping) else {}
    f = ev.figures
    dash = _get(cand, "dashboard") or {}
    ladder = dashboard_ladder(
        0.0 if np.isnan(f.success_rate_percent) else f.success_rate_percent,
        0.0 if np.isnan(f.win_rate_percent) else f.win_rate_percent,
    )
    rows = [
        ("success rate %", _get(cand, "integration_metrics", "success_rate_percent"), f.success_rate_percent),
        ("channel success rate %", _get(cand, "comparison_analysis", "channel_success_rate"), f.success_rate_percent),
        ("channel win rate %", _get(cand, "comparison_analysis", "channel_win_rate"), f.win_rate_percent),
        ("avg time improvement ms", _get(cand, "comparison_analysis", "avg_time_improvement_ms"), f.avg_time_improvement_ms),
        ("fallback rate %", _get(cand, "integration_metrics", "fallback_rate_percent"), f.fallback_rate_percent),
        ("routing error rate %", _get(cand, "routing_statistics", "error_rate"), f.fallback_rate_percent),
        ("recommendation", _get(dash, "recommendations"), ladder),
        ("ready_for_next_phase", _get(dash, "rollout_readiness", "ready_for_next_phase"), f.success_rate_percent >= 95),
        ("performance_acceptable", _get(dash, "rollout_readiness", "performance_acceptable"), f.avg_time_improvement_ms >= 0),
        ("stability_confirmed", _get(dash, "rollout_readiness", "stability_confirmed"), f.fallback_rate_percent < 5),
    ]  # fmt: skip
    return [{"figure": n, "reported": r, "measured": m} for n, r, m in rows]


def _df(ev: Evidence, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
    return _q(ev.con, sql, params)


def _q(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
    return con.execute(sql, params or []).df()


def latency_quantiles(ev: Evidence) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CDF points of both stacks' per-tick times (µs), read off the evidence's sorted arrays.

    Linear interpolation between order statistics (numpy's default method), so the points are
    np.quantile's to the last bit or two; they only draw the CDF plot.
    """
    q = np.linspace(0.0, 1.0, CDF_POINTS + 1)
    ps, cs = ev.pairs.sorted
    if ps.size == 0:
        return q, np.full(q.size, np.nan), np.full(q.size, np.nan)
    return q, _sorted_quantiles(ps, q) / 1e3, _sorted_quantiles(cs, q) / 1e3


def _sorted_quantiles(s: np.ndarray, q: np.ndarray) -> np.ndarray:
    pos = q * (s.size - 1)
    lo = np.floor(pos).astype(np.intp)
    hi = np.minimum(lo + 1, s.size - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def ticker_table(ev: Evidence, seed: int) -> tuple[pd.DataFrame, str]:
    """Per-ticker statistics of the paired ticks; beyond PER_TICKER_MAX_TICKS on a seeded sample.

    The sample is drawn from the evidence's paired arrays (numpy, seeded by the run's seed), so
    it costs no second scan of the observations and depends only on the run's files and seed.
    """
    pairs = ev.pairs
    n = int(pairs.primary.size)
    if n > PER_TICKER_MAX_TICKS:
        idx = subsample_index(np.random.default_rng(seed), n, PER_TICKER_MAX_TICKS)
        note = f"per-ticker statistics on a seeded sample of {PER_TICKER_MAX_TICKS:,} of {n:,} paired ticks"
    else:
        idx = np.arange(n)
        note = f"per-ticker statistics on all {n:,} paired ticks"
    if ev.latency.clusters:  # --sides concurrent: the gates resample swap cycles, these do not
        note += "; concurrent run: per-tick tests, not over swap cycles: flags are leads"
    codes = pairs.ticker_codes[idx]
    has = codes >= 0
    if not has.any():
        return pd.DataFrame(
            columns=["ticker", "n", "ratio_median", "q_value", "significant", "direction"]
        ), note
    idx, codes = idx[has], codes[has]
    df = per_ticker_stats(pairs.ticker_names[codes], pairs.primary[idx], pairs.candidate[idx])
    return df, note


def differences(ev: Evidence) -> dict[str, pd.DataFrame]:
    """Differences by class, event type, session period (US/Eastern) and rule; top tickers."""
    return breakdowns.differences(ev.con)


def events_per_minute(ev: Evidence) -> pd.DataFrame:
    """Events per US/Eastern minute of tick time emitted by each stack."""
    return breakdowns.events_per_minute(ev.con)


def first_divergence(ev: Evidence, window: int = 5) -> dict[str, Any] | None:
    """first_divergence.json when the diff engine wrote it, else recomputed from the diff."""
    path = ev.run_dir / "first_divergence.json"
    if path.is_file():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, dict) and data:
                return data
        except json.JSONDecodeError:
            pass
    # the diff engine's definition: the first differing row, whether a rule accepts it or not
    divergent = statement("harness.diff", "classify", "divergent")
    row = ev.con.execute(f"SELECT min(tick_seq) FROM {divergent}").fetchone()
    if row is None or row[0] is None:
        return None
    seq = int(row[0])
    lo, hi = seq - window, seq + window
    ticks = _df(
        ev,
        "SELECT seq, ticker, ts, primary_events, candidate_events, candidate_error FROM observations WHERE seq BETWEEN ? AND ? ORDER BY seq",
        [lo, hi],
    )
    rows = _df(
        ev,
        f"SELECT ticker, type, direction, kind AS class, tick_seq FROM {divergent} WHERE tick_seq = ?",
        [seq],
    )
    near = ticks.astype(object).where(ticks.notna(), None).to_dict("records")
    sides: list[tuple[str, pd.DataFrame]] = [
        (side, _df(ev, f"SELECT tick_seq, event_json FROM events_{side} WHERE tick_seq BETWEEN ? AND ? ORDER BY tick_seq, emit_index", [lo, hi]))
        for side in ("primary", "candidate")
    ]  # fmt: skip
    return {
        "seq": seq,
        "ticker": rows["ticker"].iloc[0] if len(rows) else None,
        "class": rows["class"].iloc[0] if len(rows) else None,
        "differences": rows.to_dict("records"),
        "ticks": [{"seq": w["seq"], "ts": str(w["ts"]), "ticker": w["ticker"]} for w in near],
        "observations": near,
        "events": {
            side: [{"tick_seq": e["tick_seq"], **json.loads(e["event_json"])} for e in df.to_dict("records")]
            for side, df in sides
        },
    }  # fmt: skip


def _accepted_by(ev: Evidence, first: Mapping[str, Any] | None) -> list[str | None]:
    """The rules that forgave the first divergence's rows (None: a row nobody forgave)."""
    if not first or first.get("seq") is None:
        return []
    rows = ev.con.execute(
        "SELECT DISTINCT accepted_by FROM diff WHERE class <> 'match' AND tick_seq = ? "
        "AND ticker = ? ORDER BY 1 NULLS FIRST",
        [first["seq"], first.get("ticker")],
    ).fetchall()
    return [r[0] for r in rows]


def _b64(png: bytes) -> str:
    return base64.b64encode(png).decode("ascii")


def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("harness.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "html.j2"], default_for_string=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = _num
    return env


def _num(v: Any) -> str:
    if isinstance(v, bool | np.bool_):
        return "yes" if v else "no"
    if isinstance(v, np.integer):
        v = int(v)
    elif isinstance(v, np.floating):
        v = float(v)
    return readable(v, missing="—")


def _by_day(run_dir: Path) -> list[dict[str, Any]]:
    """The sharded run's per-day breakdown from summary.json (harness/diff/days.py), if any."""
    try:
        summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    rows = summary.get("by_day") if isinstance(summary, dict) else None
    return rows if isinstance(rows, list) else []


def _breakdowns_and_figures(
    cursor: duckdb.DuckDBPyConnection, plots: PlotWorker
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """The time breakdowns, and their two figures started as soon as they exist."""
    diffs, minutes = breakdowns.time_breakdowns(cursor)
    plots.draw("events_per_minute", minutes)
    plots.draw("mismatch_bars", diffs["class"])
    return diffs, minutes


def build_report(
    run_dir: Path,
    *,
    accept: Path | None = None,
    today: dt.date | None = None,
    reports_dir: Path | None = None,
    seed: int = 0,
    plots: PlotWorker | None = None,
    no_accept: bool = False,
    judge: Judge | None = None,
) -> ReportFiles:
    """Gate every phase and write report.html, report.md and plots/*.png into the run directory.

    The time breakdowns (DuckDB, which releases the GIL) run on a second cursor in a background
    thread as soon as the evidence's diff exists, while this thread measures, gates and samples
    per-ticker statistics; each figure is drawn by `plots` (harness/report/plot_worker.py: a spawned
    process for `harness report`, else a thread) as soon as its data exists, so on two cores the
    report takes about its longest half instead of the sum of both. `judge(evidence, results)`
    is called with every phase's result before the evidence closes (`harness gate --report`
    writes its verdict from the report's one measurement of the run).
    """
    started = time.perf_counter()
    for phase in PHASES:
        gate_sql(phase)
    # an earlier report must not survive one that fails: nobody may read it as this one
    remove(Path(run_dir) / "report.html", Path(run_dir) / "report.md")
    own = plots is None
    worker = PlotWorker.thread() if plots is None else plots
    try:
        return _build(
            run_dir, (accept, no_accept), today, reports_dir, seed, worker, started, judge
        )
    finally:
        if own:
            worker.close()


def _build(
    run_dir: Path,
    accept: tuple[Path | None, bool],
    today: dt.date | None,
    reports_dir: Path | None,
    seed: int,
    plots: PlotWorker,
    started: float,
    judge: Judge | None,
) -> ReportFiles:
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending: list[Future[tuple[dict[str, pd.DataFrame], pd.DataFrame]]] = []
        ev = open_run_evidence(
            run_dir,
            accept=accept[0],
            no_accept=accept[1],
            today=today,
            reports_dir=reports_dir,
            seed=seed,
            on_views=lambda con: pending.append(
                pool.submit(_breakdowns_and_figures, con.cursor(), plots)
            ),
        )
        try:
            plots.draw("latency_cdf", *latency_quantiles(ev))
            tickers, ticker_note = ticker_table(ev, seed)
            plots.draw("ticker_ratios", tickers)
            results = evaluate_all(ev, PHASES)
            if judge is not None:
                judge(ev, results)
            first = first_divergence(ev)
            diffs, _ = pending[0].result()
        except BaseException:
            wait(pending)  # the cursor must finish before its connection closes
            ev.close()
            raise
    try:
        figures = {
            name: plots.png(fn)
            for name, fn in (
                ("latency_cdf", "latency_cdf"),
                ("ticker_ratios", "ticker_ratios"),
                ("events_per_minute", "events_per_minute"),
                ("mismatches", "mismatch_bars"),
            )
        }
        plot_dir = ev.run_dir / "plots"
        plot_dir.mkdir(exist_ok=True)
        plot_paths = []
        for name, png in figures.items():
            path = plot_dir / f"{name}.png"
            atomic_write_bytes(path, png)  # a plot hard-linked into another run stays intact
            plot_paths.append(path)
        ranked = tickers[tickers["n"] >= MIN_TICKER_TICKS] if len(tickers) else tickers
        slow = ranked.sort_values("ratio_median", ascending=False).head(10)
        rules_doc = ev.rules_document()
        context = {
            "run_id": ev.run_id,
            "manifest": ev.manifest,
            "generated": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
            "results": [{"r": r, "rows": table_rows(r)} for r in results],
            "latency": ev.latency,
            "mean_cap": MEAN_CAP_NOTE,
            "noise": ev.noise,
            "figures": ev.figures,
            "side_by_side": side_by_side(ev),
            "diffs": {k: v.to_dict("records") for k, v in diffs.items()},
            "slow_tickers": slow.to_dict("records"),
            "ticker_note": ticker_note,
            "min_ticker_ticks": MIN_TICKER_TICKS,
            "unranked_tickers": len(tickers) - len(ranked),
            "wilcoxon_p": p_value(ev.latency.wilcoxon_p),
            "significant": int(tickers["significant"].sum()) if len(tickers) else 0,
            "ticker_count": len(tickers),
            "first": first,
            "divergence": divergence_view(first, _accepted_by(ev, first)),
            "expired": ev.rules.expired(ev.today),
            "rules_source": ev.rules.source,
            "rules_doc": rules_doc,
            "primary_line": primary_events_line(rules_doc["primary_events"]),
            "primary_differs": rules_doc["primary_events"]["declared"]
            not in (None, rules_doc["primary_events"]["digest"]),
            "failures": ev.failures(),
            "images": {k: _b64(v) for k, v in figures.items()},
            "by_day": _by_day(run_dir),
        }
        env = _env()
        html = env.get_template("report.html.j2").render(**context)
        md = env.get_template("report.md.j2").render(**context)
    finally:
        ev.close()
    html_path, md_path = run_dir / "report.html", run_dir / "report.md"
    atomic_write_text(html_path, html)
    atomic_write_text(md_path, md)
    return ReportFiles(
        html_path, md_path, tuple(plot_paths), time.perf_counter() - started, tuple(results)
    )
