"""Verdict truth on whole recordings: the defect matrix, the A/A false-alarm rate, sensitivity.

    python benchmarks/bench_verdict_truth.py [--recording recordings/lobster-2012-06-21]
        [--ticks N] [--aa-runs 20] [--skip-matrix] [--cases a,b] [--matrix-only]

Prints, with the target beside each figure:
  * every cell of the defect matrix (harness.replay.defect_matrix.CASES × both bundled stacks × every phase):
    verdict, and whether the defect's own checks failed (target: every violated cell FAIL);
  * the A/A false-alarm rate over --aa-runs seeds at phases 0 and 1 (target ≤ 1 in 20), with the
    latency ratio CI widths;
  * sensitivity: the smallest event defect caught (one dropped event) and the verdict of
    candidates slowed by 1.02×…1.5× at phase 1 (the latency gate's reach on this machine),
    tails (`spike`: a share of the calls slowed, the median and mean ratios side by side), leaks, and work moved to a thread of the candidate's own (`offload`, stack_thread_cpu);
  * a candidate changing the primary through shared module state (multi-channel vs legacy with
    HighLow's relative volume scaled while it runs): primary_events_reference, with the bundled
    rules, against every other check.
The same matrix runs on short slices in `make test` (tests/test_verdict_truth.py).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.gates.engine import PHASES, Status, Verdict, gate_run  # noqa: E402
from harness.pipeline.lifecycle import RunSetup  # noqa: E402
from harness.pipeline.shadow import shadow_run  # noqa: E402
from harness.recordings.reader import open_recording  # noqa: E402
from harness.replay.defect_matrix import CASES, target_ticker  # noqa: E402
from harness.replay.outcome import RunOptions  # noqa: E402
from harness.replay.shadow import RunSpec  # noqa: E402

ACCEPT = ROOT / "accepted-differences.toml"
PHASE1 = "phase_1_parallel_testing"
BASES = {
    "legacy": ("tickstock.stacks:legacy", {}),
    "multichannel": ("tickstock.stacks:multichannel", {"phase": PHASE1}),
}
OPTIONS = RunOptions(seed=0, tick_timeout_s=0.05, max_hangs=50)
#: The faithful legacy stack emits no trend without a day VWAP; on LOBSTER (trades only) its base
#: runs with the opt-in FIX_TREND_MISSING_VWAP so the defects have events to corrupt
#: (tests/test_verdict_truth.py does the same).
VWAPLESS = {"lobster-2012-06-21"}
TRADES_ONLY_FIX = {"tickstock": {"FIX_TREND_MISSING_VWAP": True}}


def replay(rec: Path, n: int | None, primary, candidate, root: Path, options=OPTIONS) -> Path:
    src = open_recording(rec)
    ticks = src.ticks() if n is None else itertools.islice(src.ticks(), n)
    spec = RunSpec.of(
        primary[0],
        None if candidate is None else candidate[0],
        dict(primary[1]),
        {} if candidate is None else dict(candidate[1]),
        options=options,
    )
    setup = RunSetup(
        runs_dir=root,
        recording={"path": str(rec), "name": src.name, "sha256": src.sha256},
        expected=min(n, src.tick_count) if n else src.tick_count,
        filters={"limit": n} if n else None,
    )
    result = shadow_run(ticks, spec, setup)
    return result.path


def gate(run: Path, phases=PHASES, seed: int = 0):
    ev, results = gate_run(run, phases, accept=ACCEPT, seed=seed)
    ev.close()
    return {r.phase: r for r in results}


def period_of(rec: Path) -> str:
    from harness.replay.mutants import _period

    return _period(next(open_recording(rec).ticks()).ts)


def matrix(rec: Path, n: int | None, root: Path, only: set[str] | None = None) -> int:
    bad = 0
    period = period_of(rec)
    for base, spec in BASES.items():
        if base == "legacy" and rec.name in VWAPLESS:
            spec = (spec[0], {**spec[1], **TRADES_ONLY_FIX})
        ident = replay(rec, n, spec, spec, root / base)
        ticker, upto = target_ticker(ident)
        for case in CASES:
            if only and case.name not in only:
                continue
            t0 = time.perf_counter()
            table = case.mutant_table(spec[0], ticker, period, count=min(upto, 10))
            cand = ("harness.replay.mutants:mutant", {**spec[1], "mutant": table})
            run = replay(rec, n, spec, cand, root / f"{base}-{case.name}")
            results = gate(run)
            stats = json.loads((run / "stack_stats.json").read_text())
            if not (stats.get("candidate", {}).get("mutant") or {}).get("injected") and (
                case.params["defect"] != "slow"
            ):
                print(f"  {base:<12} {case.name:<15} n/a: the defect found nothing to act on")
                continue
            cells = []
            for phase in PHASES:
                r = results[phase]
                failed = {c.check for c in r.checks if c.status is Status.FAIL}
                ok = phase not in case.violates or (
                    r.verdict is Verdict.FAIL and set(case.must_fail(phase)) <= failed
                )
                bad += not ok
                cells.append(f"{phase[:7]} {r.verdict.value:<12}{'' if ok else ' ✗'}")
            print(f"  {base:<12} {case.name:<15} " + " | ".join(cells)
                  + f"  ({time.perf_counter() - t0:.1f} s)", flush=True)  # fmt: skip
    return bad


def aa(rec: Path, n: int | None, runs: int, root: Path) -> None:
    alarms, widths = 0, []
    for seed in range(runs):
        run = replay(rec, n, BASES["legacy"], None, root / "aa", RunOptions(seed=seed))
        res = gate(run, ("phase_0_installation", PHASE1), seed=seed)
        lat = next(c for c in res[PHASE1].checks if c.check == "latency_ratio_ci_upper")
        mean = next(c for c in res[PHASE1].checks if c.check == "latency_mean_ratio_ci_upper")
        widths.append(
            lat.reason.split("CI [")[1].split("]")[0]
            + " / mean "
            + mean.reason.split("CI [")[1].split("]")[0]
        )
        alarms += any(r.verdict is not Verdict.PASS for r in res.values())
    print(f"  A/A false alarms: {alarms} of {runs} seeded runs (target ≤ {runs // 20} of {runs})")
    print(f"  latency ratio 95 % CIs (median / mean): {', '.join(widths)}")


def sensitivity(rec: Path, n: int | None, root: Path) -> None:
    legacy = BASES["legacy"]
    one = ("harness.replay.mutants:mutant", {"mutant": {"defect": "drop", "rate": 1.0, "limit": 1}})
    res = gate(replay(rec, n, legacy, one, root / "drop-few"))[PHASE1]
    missing = next(c for c in res.checks if c.check == "missing_events")
    print(f"  drop {int(missing.observed or 0)} event(s): phase 1 {res.verdict.value} "
          f"({missing.reason})")  # fmt: skip
    for factor in (1.02, 1.05, 1.1, 1.2, 1.3, 1.5):
        slow = ("harness.replay.mutants:mutant", {"mutant": {"defect": "slow", "factor": factor}})
        res = gate(replay(rec, n, legacy, slow, root / f"slow-{factor}"))[PHASE1]
        lat = next(c for c in res.checks if c.check == "latency_ratio_ci_upper")
        print(f"  slow {factor:.2f}×: phase 1 {res.verdict.value:<12} {lat.reason}")
    for size in (64, 256, 512, 1024):
        leak = (
            "harness.replay.mutants:mutant",
            {"mutant": {"defect": "leak", "bytes_per_tick": size}},
        )
        res = gate(replay(rec, n, legacy, leak, root / f"leak-{size}"))["phase_0_installation"]
        mem = next(c for c in res.checks if c.check == "memory_growth")
        print(f"  leak {size:>4} B/tick: memory_growth {mem.status.value:<6} {mem.reason}")
    for rate, factor in ((0.002, 21.0), (0.005, 21.0), (0.01, 21.0), (0.0005, 401.0)):
        spike = (
            "harness.replay.mutants:mutant",
            {"mutant": {"defect": "spike", "rate": rate, "factor": factor}},
        )
        res = gate(replay(rec, n, legacy, spike, root / f"spike-{rate}"))[PHASE1]
        med = next(c for c in res.checks if c.check == "latency_ratio_ci_upper")
        mean = next(c for c in res.checks if c.check == "latency_mean_ratio_ci_upper")
        print(f"  spike {rate:.2%} of calls {factor:.0f}×: phase 1 {res.verdict.value:<12} "
              f"median {med.status.value} {med.reason.split(';')[0]}; "
              f"mean {mean.status.value} {mean.reason.split(';')[0]}")  # fmt: skip
    for share in (0.02, 0.05, 0.1, 0.5):
        off = ("harness.replay.mutants:mutant", {"mutant": {"defect": "offload", "share": share}})
        res = gate(replay(rec, n, legacy, off, root / f"offload-{share}"))[PHASE1]
        thr = next(c for c in res.checks if c.check == "stack_thread_cpu")
        lat = next(c for c in res.checks if c.check == "latency_ratio_ci_upper")
        ratio = lat.reason.split(",")[0]
        print(f"  offload {share:.2f}: phase 1 {res.verdict.value:<12} stack_thread_cpu "
              f"{thr.status.value:<12} {thr.reason.split(';')[0]}; {ratio}")  # fmt: skip


def shared_state(rec: Path, n: int | None, root: Path) -> None:
    """Multi-channel vs legacy at phase 1, HighLow's relative volume ×1.5 in the module both use."""
    from tickstock.legacy.detectors import highlow

    legacy, multi = BASES["legacy"], BASES["multichannel"]
    original = highlow.calculate_relative_volume

    def scaled(volume, average):
        value = original(volume, average)
        return value * 1.5 if isinstance(value, float) else value

    highlow.calculate_relative_volume = scaled
    try:
        run = replay(rec, n, legacy, multi, root / "shared-state")
    finally:
        highlow.calculate_relative_volume = original
    res = gate(run, (PHASE1,))[PHASE1]
    ref = next((c for c in res.checks if c.check == "primary_events_reference"), None)
    others = sorted(c.check for c in res.checks if c.status is Status.FAIL and c is not ref)
    state = "no reference declared for this key" if ref is None else ref.status.value
    print(
        f"  shared state changed: primary_events_reference {state}; "
        f"other FAIL checks: {others or 'none'}; phase 1 {res.verdict.value}"
    )


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--recording", default=str(ROOT / "recordings" / "lobster-2012-06-21"))
    ap.add_argument("--ticks", type=int, default=None, help="replay only the first N ticks")
    ap.add_argument("--aa-runs", type=int, default=20)
    ap.add_argument("--skip-matrix", action="store_true")
    ap.add_argument("--cases", default="", help="comma-separated CASES names (default: all)")
    ap.add_argument(
        "--matrix-only", action="store_true", help="no sensitivity or shared-state lines"
    )
    args = ap.parse_args()
    rec = Path(args.recording)
    with tempfile.TemporaryDirectory(prefix="verdict-truth-") as tmp:
        root = Path(tmp)
        print(f"== {rec.name}, {args.ticks or 'all'} ticks")
        bad = 0
        if not args.skip_matrix:
            print("defect matrix (✗ = a violated cell that did not FAIL with its own checks):")
            bad = matrix(rec, args.ticks, root, set(filter(None, args.cases.split(","))))
            print(f"  violated cells not failing: {bad} (target 0)")
        if args.aa_runs:
            print("A/A:")
            aa(rec, args.ticks, args.aa_runs, root)
        if not args.matrix_only:
            print("sensitivity (phase 1):")
            sensitivity(rec, args.ticks, root)
            print("a candidate changing the primary through shared state (bundled rules):")
            shared_state(rec, args.ticks, root)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
