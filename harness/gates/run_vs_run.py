"""Run-vs-run: did the candidate's events or latency change between two runs of the same recording?

Run A's candidate events play the primary side and run B's the candidate side of the same diff
engine (harness.diff.classify). Latency is paired per tick seq: B's candidate over A's, each
measured against the primary timed beside it in its own run (`bootstrap.yardstick_ratio`), so
the machine's drift between the two runs cancels. Runs whose primaries differ have no such
yardstick: their raw B/A ratio can FAIL a clear regression but never PASS. The result is a
GateResult for the pseudo-phase `run_vs_run`, judged by the same status ladder as the gates.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from harness.core.errors import StoreError
from harness.core.identity import run_identity
from harness.core.sqlfiles import statement
from harness.diff.align import DiffConfig
from harness.diff.classify import classify
from harness.gates.bootstrap import (
    CONCURRENT_MARGIN,
    MEAN_CAP_NOTE,
    MIN_CLUSTERS,
    Interval,
    ci_design,
    cluster_count,
    yardstick_ratio,
)
from harness.gates.calibration import noise_floor_for
from harness.gates.engine import CheckResult, GateResult, Status
from harness.gates.statistics import latency_stats
from harness.replay.outcome import CONCURRENT
from harness.store.batches import OBSERVATION_SCHEMA
from harness.store.runs import load_manifest, parts_view

PHASE = "run_vs_run"
THRESHOLD = 1.05
#: The two latency checks and what each compares.
_OF = {
    "candidate_latency_ratio": "medians",
    "candidate_mean_latency_ratio": f"means ({MEAN_CAP_NOTE})",
}


def _files(run: Path, sub: str) -> list[Path]:
    """The Parquet parts of `sub` (a directory of parts, or one `<sub>.parquet`); none is an error."""
    single = run / f"{sub}.parquet"
    files = [single] if single.is_file() else sorted((run / sub).glob("*.parquet"))
    if not files:
        raise StoreError(f"{run}: no {sub} Parquet files")
    return files


def _parts(run: Path, sub: str) -> str:
    return "[" + ", ".join("'" + str(f).replace("'", "''") + "'" for f in _files(run, sub)) + "]"


def _sha(manifest: Mapping[str, Any]) -> str | None:
    rec = manifest.get("recording")
    return rec.get("sha256") if isinstance(rec, Mapping) else None


def _ratio_check(
    iv: Interval,
    floor: float,
    source: str,
    yardstick: bool,
    cycles: int | None,
    name: str = "candidate_latency_ratio",
) -> CheckResult:
    """The latency check (`name`: of the medians, or `candidate_mean_latency_ratio`); `cycles`:
    swap cycles resampled when a run's sides were concurrent (its CI then arrives widened by
    `CONCURRENT_MARGIN`, as the phase gates get it)."""
    lo, hi, point = iv.low, iv.high, iv.point
    if np.isnan(hi):
        return CheckResult(name, None, f"<= {THRESHOLD}", Status.NODATA, "no paired ticks")
    how = "each against its run's primary" if yardstick else "raw: the runs' primaries differ"
    of = _OF[name]
    why = f"B/A ratio of {of} {point:.3f} ({how}), 95% CI [{lo:.3f}, {hi:.3f}]; noise floor {floor:.3f} ({source})"
    undecided = None
    if cycles is not None:
        why += f"; CI over {cycles} swap cycles, widened by {CONCURRENT_MARGIN:.2f} on both sides (--sides concurrent)"
        if cycles < MIN_CLUSTERS:
            undecided = f"too few cycles to bound the ratio (at least {MIN_CLUSTERS})"
    if undecided is None and hi <= THRESHOLD and not yardstick:
        undecided = "no yardstick for the machine's drift between the runs, so it cannot PASS"
    if undecided is not None:
        return CheckResult(name, hi, f"<= {THRESHOLD}", Status.INCONCLUSIVE,
                           f"{why}; {undecided}")  # fmt: skip
    if hi <= THRESHOLD:
        return CheckResult(name, hi, f"<= {THRESHOLD}", Status.PASS, why)
    if lo > THRESHOLD + floor:
        return CheckResult(name, hi, f"<= {THRESHOLD}", Status.FAIL,
                           why + "; slower beyond the noise floor")  # fmt: skip
    return CheckResult(name, hi, f"<= {THRESHOLD}", Status.INCONCLUSIVE,
                       why + "; within noise / CI straddles")  # fmt: skip


def _same_primary(run_a: Path, ma: Mapping[str, Any], run_b: Path, mb: Mapping[str, Any]) -> bool:
    """Both runs timed the same primary stack (factory and config digest): a common yardstick."""

    def primary(run: Path, manifest: Mapping[str, Any]) -> tuple[str, str]:
        try:
            stats = json.loads((run / "stack_stats.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            stats = {}
        ident = run_identity(manifest, stats if isinstance(stats, Mapping) else {}).primary
        return ident.factory, ident.config

    return primary(run_a, ma) == primary(run_b, mb)


def compare_runs(
    run_a: Path, run_b: Path, reports_dir: Path | None = None, seed: int = 0
) -> GateResult:
    """Compare run B's candidate against run A's candidate on the same recording."""
    ma, mb = load_manifest(run_a), load_manifest(run_b)
    if _sha(ma) is None or _sha(ma) != _sha(mb):
        raise StoreError(
            f"runs {run_a.name} and {run_b.name} are not of the same recording (sha256 differs)"
        )
    checks: list[CheckResult] = []
    complete = all(m.get("status") == "complete" for m in (ma, mb))
    checks.append(CheckResult("both_runs_complete", None, "status complete", Status.PASS if complete else Status.INCONCLUSIVE,
                              f"A {ma.get('status')}, B {mb.get('status')}"))  # fmt: skip
    con = duckdb.connect()
    try:
        con.execute(
            f"CREATE VIEW events_primary AS SELECT * FROM read_parquet({_parts(run_a, 'events_candidate')})"
        )
        con.execute(
            f"CREATE VIEW events_candidate AS SELECT * FROM read_parquet({_parts(run_b, 'events_candidate')})"
        )
        classify(con, DiffConfig())
        # B's candidate returning an event on a later call than A's is a change too
        total, changed = con.execute(
            "SELECT (SELECT count(*) FROM diff), "
            f"(SELECT count(*) FROM {statement('harness.diff', 'classify', 'divergent')})"
        ).fetchall()[0]  # fetched to the end: the connection registers views next
        st = Status.NODATA if total == 0 else (Status.PASS if changed == 0 else Status.FAIL)
        checks.append(CheckResult("candidate_events_unchanged", float(changed), "= 0", st,
                                  f"{changed} of {total} candidate events changed between A and B"))  # fmt: skip
        for name, run in (("obs_a", run_a), ("obs_b", run_b)):
            parts_view(con, name, _files(run, "observations"), OBSERVATION_SCHEMA)
        # a memory-probed tick (in either run) was timed under the tracer: not a latency pair
        cols = con.execute(
            """SELECT a.primary_ns::DOUBLE AS pa, a.candidate_ns::DOUBLE AS a,
                      b.primary_ns::DOUBLE AS pb, b.candidate_ns::DOUBLE AS b,
                      a.candidate_error IS NOT NULL AS ae, b.candidate_error IS NOT NULL AS be,
                      a.primary_error IS NOT NULL OR b.primary_error IS NOT NULL
                        OR a.primary_ns IS NULL OR b.primary_ns IS NULL AS pe,
                      coalesce(a.memory_probed, false) OR coalesce(b.memory_probed, false) AS mp
               FROM obs_a a JOIN obs_b b USING (seq) ORDER BY seq"""
        ).fetchnumpy()
    finally:
        con.close()
    ae, be = np.asarray(cols["ae"], bool), np.asarray(cols["be"], bool)
    ok = ~ae & ~be & ~np.asarray(cols["mp"], bool)
    noise = noise_floor_for(
        ma, reports_dir if reports_dir is not None else run_b.resolve().parent.parent
    )
    same = _same_primary(run_a, ma, run_b, mb)
    if same:
        ok &= ~np.asarray(cols["pe"], bool)
    concurrent = any((m.get("options") or {}).get("sides") == CONCURRENT for m in (ma, mb))
    cycles, widen = ci_design(ok, concurrent)
    if same:
        pa, ca, pb, cb = (np.asarray(cols[k])[ok] for k in ("pa", "a", "pb", "b"))
        ivs = [
            yardstick_ratio((pa, ca), (pb, cb), seed=seed, clusters=cycles, widen=widen, mean=m)
            for m in (False, True)
        ]
    else:
        a, b = np.asarray(cols["a"])[ok], np.asarray(cols["b"])[ok]
        raw = latency_stats(a, b, seed=seed, clusters=cycles, widen=widen)
        ivs = [raw.ratio_median, raw.ratio_mean]
    count = None if cycles is None else cluster_count(cycles)
    # the medians, and the means: a tail B added (rare slow calls) moves only the mean
    for iv, name in zip(ivs, _OF, strict=True):
        checks.append(_ratio_check(iv, noise.floor, noise.source, same, count, name))
    more = int(be.sum()) - int(ae.sum())
    checks.append(CheckResult("candidate_errors_not_increased", float(be.sum()), f"<= {int(ae.sum())} (run A)",
                              Status.PASS if more <= 0 else Status.FAIL, f"A {int(ae.sum())} errors, B {int(be.sum())}"))  # fmt: skip
    return GateResult(f"{run_a.name}..{run_b.name}", PHASE, tuple(checks), "n/a (run-vs-run)")


def write_comparison(run_b: Path, result: GateResult) -> Path:
    path = run_b / f"compare-{result.run_id.split('..')[0]}.json"
    path.write_text(json.dumps(result.to_dict(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path
