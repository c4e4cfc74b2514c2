"""Replay-core benchmark: harness overhead, diff throughput and peak RSS on a generated day.

Prints each measured figure next to its target (issue 6, design.md §5–§7):
  * harness overhead = shadow wall / (primary alone + candidate alone), same ticks   ≤ 1.10
  * diff time per million events (align + classify + write + hashes + summary)       ≤ 2 s
  * peak RSS of a shadow run + diff, at two day sizes (flat in the number of ticks)   ≤ 1.5 GB

The stacks default to `harness.replay.stack:fake` with `work_us` of simulated per-tick work, because
the real TickStock stacks take ~1 ms per tick here (a 2M-tick day would take hours); pass
`--primary/--candidate/--set` to measure with any other stacks. Usage:

    python benchmarks/bench_replay.py [--ticks 2000000] [--small 500000] [--tickers 1000]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness.pipeline.lifecycle import RunSetup, finish_run, start_run
from harness.recordings.reader import open_recording
from harness.recordings.synth import SynthSpec, synthesize_day
from harness.replay.outcome import RunOptions
from harness.replay.shadow import RunSpec, StackSpec, load_pair, shadow_shard
from harness.replay.stack_config import parse_sets


def _alone(spec: StackSpec, path: Path) -> float:
    """Wall seconds for one stack over the recording's ticks with nothing else running."""
    (stack, other) = load_pair(spec, spec)
    other.close()
    started = time.perf_counter()
    process = stack.process
    for tick in open_recording(path).ticks():
        # errors are the stack's business; the loop, like the runner, goes on
        with contextlib.suppress(Exception):
            process(tick)
    stack.flush()
    took = time.perf_counter() - started
    stack.close()
    return took


def _read_only(path: Path) -> float:
    started = time.perf_counter()
    for _ in open_recording(path).ticks():
        pass
    return time.perf_counter() - started


def child(args: argparse.Namespace) -> None:
    """One measurement in a fresh process (so ru_maxrss is this size's peak); prints JSON."""
    cfg = parse_sets(args.set)
    p = StackSpec(args.primary, cfg["primary"])
    c = StackSpec(args.candidate, cfg["candidate"])
    out: dict[str, float | int | str] = {"ticks": args.ticks}
    path = Path(args.recording)
    if args.baselines:
        out["read_s"] = _read_only(path)
        out["primary_alone_s"] = _alone(p, path)
        out["candidate_alone_s"] = _alone(c, path)
    with tempfile.TemporaryDirectory() as runs:
        spec = RunSpec(p, c, RunOptions(seed=1))
        writer = start_run(spec, RunSetup(runs_dir=runs))
        started = time.perf_counter()
        outcome = shadow_shard(writer.path, open_recording(path).ticks(), spec)
        out["shadow_s"] = time.perf_counter() - started
        out["rss_after_shadow_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        started = time.perf_counter()
        result = finish_run(writer, [outcome])
        out["diff_s"] = time.perf_counter() - started
        out["events"] = outcome.primary.events + outcome.candidate.events
        out["status"] = result.status
        out["match_rate"] = result.summary["match_rate"]
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


def _spawn(args: argparse.Namespace, recording: Path, ticks: int, baselines: bool) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--child",
        "--recording",
        str(recording),
        "--ticks",
        str(ticks),
        "--primary",
        args.primary,
        "--candidate",
        args.candidate,
    ]
    for s in args.set:
        cmd += ["--set", s]
    if baselines:
        cmd.append("--baselines")
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--ticks", type=int, default=2_000_000)
    ap.add_argument("--small", type=int, default=500_000, help="second day size for the RSS check")
    ap.add_argument("--tickers", type=int, default=1000)
    ap.add_argument("--primary", default="harness.replay.stack:fake")
    ap.add_argument("--candidate", default="harness.replay.stack:fake")
    ap.add_argument(
        "--set",
        action="append",
        default=None,
        help="stack config (default: primary.work_us=30, candidate.work_us=30)",
    )
    ap.add_argument("--workdir", default=None, help="keep generated days here (default: temp)")
    ap.add_argument(
        "--rss-only",
        action="store_true",
        help="only the peak-RSS check at both sizes (no baselines)",
    )
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--baselines", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--recording", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.set is None:
        args.set = ["primary.work_us=30", "candidate.work_us=30"] if "fake" in args.primary else []
    if args.child:
        child(args)
        return
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(args.workdir or tmp)
        days = {}
        for n in (args.ticks, args.small):
            days[n] = base / f"day-{n}"
            if not (days[n] / "recording.json").exists():
                synthesize_day(
                    days[n], SynthSpec(tickers=args.tickers, ticks=n, seed=7), overwrite=True
                )
        big = _spawn(args, days[args.ticks], args.ticks, baselines=not args.rss_only)
        small = _spawn(args, days[args.small], args.small, baselines=False)
    if args.rss_only:
        for n, r in ((args.small, small), (args.ticks, big)):
            print(
                f"  {n:>10,} ticks: peak RSS after shadow {r['rss_after_shadow_mb']:.0f} MB, "
                f"after diff of {r['events']:,} events {r['peak_rss_mb']:.0f} MB "
                f"(shadow {r['shadow_s']:.0f} s)   target ≤ 1536 MB, flat in ticks"
            )
        return
    alone = big["primary_alone_s"] + big["candidate_alone_s"]
    fair = alone - big["read_s"]  # both baselines read the day; the shadow run reads it once
    per_m = big["diff_s"] / max(big["events"], 1) * 1e6
    print(
        f"replay benchmark: {args.ticks:,} ticks, {args.tickers:,} tickers; "
        f"primary {args.primary}, candidate {args.candidate}, set {args.set}"
    )
    print(
        f"  primary alone {big['primary_alone_s']:.1f} s, candidate alone "
        f"{big['candidate_alone_s']:.1f} s, reading the day alone {big['read_s']:.1f} s, "
        f"shadow {big['shadow_s']:.1f} s ({args.ticks / big['shadow_s']:,.0f} ticks/s), "
        f"status {big['status']}, match rate {big['match_rate']}"
    )
    print(
        f"  harness overhead (shadow / (primary alone + candidate alone)): "
        f"{big['shadow_s'] / alone:.3f}   target ≤ 1.10"
    )
    print(
        f"  harness overhead, day read once in the baseline:                "
        f"{big['shadow_s'] / fair:.3f}   (harness µs/tick: "
        f"{(big['shadow_s'] - fair) / args.ticks * 1e6:.2f})"
    )
    print(
        f"  diff: {big['diff_s']:.2f} s for {big['events']:,} events = {per_m:.2f} s per million "
        f"events   target ≤ 2 s"
    )
    print(
        f"  peak RSS: {small['peak_rss_mb']:.0f} MB at {args.small:,} ticks, "
        f"{big['peak_rss_mb']:.0f} MB at {args.ticks:,} ticks (incl. baselines)   "
        f"target ≤ 1536 MB and flat"
    )


if __name__ == "__main__":
    main()
