"""Slow-stack scaling (issue 20 target 6): a day shadowed through stacks that cost ~1.5 ms/tick,
as the real TickStock pipeline does, on 1 and on 2 Dask workers (target: 2 workers ≥ 1.85×).

Both sides are `harness.replay.stack:fake` with `work_us=1500`: it burns CPU (a busy loop, so it
shows in CPU time like real work) on every tick besides its small detector. The day is synthetic
(BENCH_SLOW_TICKS ticks, BENCH_SLOW_TICKERS tickers), replayed sharded (16 ticker buckets) by the
one pipeline, wall time measured end to end: cluster start, shards, merge, diff. The figures feed
docs/scaling.md's model of wall time against workers and tickers.
Usage: python benchmarks/bench_slow_stack.py
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from harness.pipeline.replay import replay
from harness.pipeline.request import ReplayRequest
from harness.recordings.synth import SynthSpec, synthesize_day
from harness.replay.outcome import RunOptions
from harness.replay.shadow import StackSpec

TICKS = int(os.environ.get("BENCH_SLOW_TICKS", "40000"))
TICKERS = int(os.environ.get("BENCH_SLOW_TICKERS", "400"))
WORK_US = float(os.environ.get("BENCH_SLOW_WORK_US", "1500"))
TARGET = 1.85
STACK = StackSpec("harness.replay.stack:fake", {"work_us": WORK_US})


def run(day: Path, runs: Path, workers: int) -> tuple[float, dict]:
    request = ReplayRequest(
        day, STACK, StackSpec(STACK.factory, {**STACK.config, "seed": 1}),
        RunOptions(seed=7, tick_timeout_s=None), runs_dir=runs, workers=workers, shards=16,
    )  # fmt: skip
    started = time.perf_counter()
    result = replay(request)
    wall = time.perf_counter() - started
    assert result.status == "complete", result.reason
    return wall, result.summary


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        day = Path(tmp) / "day"
        synthesize_day(day, SynthSpec("2026-03-10", tickers=TICKERS, ticks=TICKS, seed=7))
        cpu = 2 * TICKS * WORK_US / 1e6
        print(f"{TICKS:,} ticks, {TICKERS:,} tickers, both stacks {WORK_US:.0f} µs/tick: "
              f"{cpu:.0f} CPU-s of stack work")  # fmt: skip
        walls = {}
        for workers in (1, 2):
            walls[workers], summary = run(day, Path(tmp) / f"runs-{workers}", workers)
            print(f"{workers} worker(s): {walls[workers]:7.1f} s wall "
                  f"({walls[workers] / TICKS * 1e3:.3f} ms/tick; stack floor {cpu / workers:.1f} s)")  # fmt: skip
        speedup = walls[1] / walls[2]
        print(f"2 vs 1 worker: {speedup:.2f}x (target >= {TARGET}x)"
              f"  {'MET' if speedup >= TARGET else 'NOT MET'}")  # fmt: skip
        fixed = 2 * walls[2] - walls[1]  # wall = fixed + cpu_part / workers, two points
        print(f"model: wall(W) = {fixed:.1f} s + {walls[1] - fixed:.1f} s / W on this day")


if __name__ == "__main__":
    main()
