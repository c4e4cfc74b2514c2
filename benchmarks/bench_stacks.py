"""Throughput of the legacy TickStock stack in replay mode on a generated, day-like tick sequence.

Prints ticks/s for (1) the whole stack (adapter → MarketDataService → detectors → priority queue →
workers → publishers → two users) and (2) the same pipeline with detection replaced by a detector
that finds nothing, which isolates the per-tick pipeline overhead. Target: 150,000 ticks/s on one
core for the stack. `--profile` prints the hottest functions of a cProfile run over a slice.

    .venv/bin/python benchmarks/bench_stacks.py                 # 1,000,000 ticks, 1,500 tickers
    .venv/bin/python benchmarks/bench_stacks.py --ticks 200000 --profile
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import pstats
import time
from datetime import UTC, datetime
from typing import Any

from tickstock.generated import GeneratedColumns, generate_columns, iter_ticks
from tickstock.stacks import LegacyStack

TARGET_TICKS_PER_S = 150_000
DAY_START = datetime(2026, 3, 10, 13, 30, tzinfo=UTC)  # 09:30 ET, a Tuesday
DAY_SECONDS = 6.5 * 3600


class NoEvents:
    """A detector that finds nothing, to measure the pipeline's own cost: sees every tick, finds nothing."""

    def detect_events(self, tick: Any, stock_data: Any) -> list[Any]:
        return []


def _stack(null_detector: bool, tickers: list[str]) -> LegacyStack:
    """Two users: one following every ticker, one following three."""
    stack = LegacyStack(
        {
            "environment": False,
            "universes": {"all": tickers, "few": tickers[:3]},
            "users": {
                "u1": {"universes": {"market": ["few"]}},
                "u2": {"universes": {"market": ["all"]}},
            },
        }
    )
    if null_detector:
        stack.service.event_processor.detector = NoEvents()
    return stack


def run(
    cols: GeneratedColumns, null_detector: bool, limit: int | None = None
) -> tuple[float, int, int]:
    """(seconds, ticks, events) for one replay of the sequence (tick construction not timed)."""
    stack = _stack(null_detector, cols.names)
    n = len(cols.ts) if limit is None else min(limit, len(cols.ts))
    events = 0
    elapsed = 0.0
    process = stack.process
    gc.disable()
    try:
        ticks = iter_ticks(cols)
        done = 0
        while done < n:
            chunk = [next(ticks) for _ in range(min(65_536, n - done))]
            start = time.perf_counter()
            for tick in chunk:
                events += len(process(tick))
            elapsed += time.perf_counter() - start
            done += len(chunk)
        start = time.perf_counter()
        events += len(stack.flush())
        elapsed += time.perf_counter() - start
    finally:
        gc.enable()
    stack.close()
    return elapsed, n, events


def profile(cols: GeneratedColumns, n: int) -> str:
    stack = _stack(False, cols.names)
    ticks = list(iter_ticks(cols))[:n]
    prof = cProfile.Profile()
    prof.enable()
    for tick in ticks:
        stack.process(tick)
    prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(20)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=1_000_000)
    parser.add_argument("--tickers", type=int, default=1_500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", action="store_true", help="cProfile a 20,000-tick slice")
    args = parser.parse_args()

    t0 = time.perf_counter()
    cols = generate_columns(
        args.ticks, args.tickers, seed=args.seed, start=DAY_START, duration_s=DAY_SECONDS
    )
    print(
        f"generated {args.ticks:,} ticks over {args.tickers:,} tickers, 09:30–16:00 ET "
        f"({time.perf_counter() - t0:.1f} s, not timed)"
    )
    secs, n, _ = run(cols, null_detector=True)
    overhead = n / secs
    print(f"pipeline without detection: {overhead:,.0f} ticks/s ({secs / n * 1e6:.2f} µs/tick)")
    secs, n, events = run(cols, null_detector=False)
    rate = n / secs
    verdict = "meets" if rate >= TARGET_TICKS_PER_S else "BELOW"
    print(
        f"legacy stack (replay, full detection): {rate:,.0f} ticks/s ({secs / n * 1e6:.1f} µs/tick, "
        f"{events:,} events) — target {TARGET_TICKS_PER_S:,} ticks/s: {verdict}"
    )
    if args.profile:
        print(profile(cols, min(20_000, args.ticks)))


if __name__ == "__main__":
    main()
