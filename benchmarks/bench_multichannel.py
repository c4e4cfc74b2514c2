"""Multichannel vs legacy throughput per rollout phase on the same seeded synthetic day.

Target (integration-patterns.md, test_performance_preservation): the channel path's mean per-tick
time within 5 % of legacy (ratio ≤ 1.05), measured on phase 1 with observe="channel" (every tick
through the channel). Prints ticks/s for legacy and each phase, then the ratio and the target.

    python benchmarks/bench_multichannel.py [--tickers 40] [--ticks 20000] [--repeat 2]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from typing import Any

from harness.recordings.reader import open_recording
from harness.recordings.synth import SynthSpec, synthesize_day
from tickstock.stacks import legacy, multichannel

TARGET_RATIO = 1.05
CHANNEL = "phase_1_parallel_testing (channel)"

CASES: list[tuple[str, Callable[[dict[str, Any]], Any], dict[str, Any]]] = [
    ("legacy", legacy, {}),
    ("phase_0_installation", multichannel, {"phase": "phase_0_installation"}),
    ("phase_1_parallel_testing (channel)", multichannel, {"phase": "phase_1_parallel_testing"}),
    (
        "phase_1_parallel_testing (served)",
        multichannel,
        {"phase": "phase_1_parallel_testing", "observe": "served"},
    ),
    ("phase_2_limited_rollout", multichannel, {"phase": "phase_2_limited_rollout"}),
    ("phase_3_gradual_expansion", multichannel, {"phase": "phase_3_gradual_expansion"}),
    ("phase_4_full_rollout", multichannel, {"phase": "phase_4_full_rollout"}),
]


def measure(
    factory: Callable[[dict[str, Any]], Any], config: dict[str, Any], ticks: Sequence[Any]
) -> tuple[float, int, dict[str, Any]]:
    """Mean ns per tick of process() and the number of events emitted."""
    stack = factory({"environment": False, **config})
    total = 0
    events = 0
    clock = time.perf_counter_ns
    for tick in ticks:
        started = clock()
        events += len(stack.process(tick))
        total += clock() - started
    events += len(stack.flush())
    stats = stack.stats()
    stack.close()
    return total / len(ticks), events, stats


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickers", type=int, default=40)
    parser.add_argument("--ticks", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--recording", help="replay this recording instead of a synthetic day")
    parser.add_argument("--limit", type=int, default=0, help="first N ticks of --recording")
    parser.add_argument(
        "--regular-only", action="store_true", help="keep only 09:30–16:00 ET ticks"
    )
    args = parser.parse_args(argv)
    stats: dict[str, Any] | None = None
    if args.recording:
        from itertools import islice

        from harness.recordings.ticker_stats import ticker_stats

        source = open_recording(args.recording).ticks()
        ticks = list(islice(source, args.limit) if args.limit else source)
        stats = ticker_stats(args.recording)
        label = f"recording {args.recording}"
    else:
        with tempfile.TemporaryDirectory() as tmp:
            synthesize_day(
                f"{tmp}/day", SynthSpec(tickers=args.tickers, ticks=args.ticks, seed=args.seed)
            )
            ticks = list(open_recording(f"{tmp}/day").ticks())
        label = f"synthetic day, {args.tickers} tickers, seed {args.seed}"
    if args.regular_only:
        from tickstock.legacy.market_hours import detect_market_status

        ticks = [t for t in ticks if detect_market_status(t.ts / 1e9) == "REGULAR"]
    print(f"input: {label}, {len(ticks):,} ticks")
    cases = [
        (
            name,
            factory,
            {**config, "ticker_stats": stats} if stats and "phase" in config else config,
        )
        for name, factory, config in CASES
    ]
    print(f"{'stack':40s} {'ticks/s':>10s} {'µs/tick':>9s} {'events':>7s}  notes")
    # Rounds interleave the cases so machine load drifts hit every case alike; the ratio is
    # taken within each round (channel path / legacy) and the median over rounds is reported.
    per_case: dict[str, list[float]] = {name: [] for name, _, _ in CASES}
    first: dict[str, tuple[int, dict[str, Any]]] = {}
    ratios: list[float] = []
    for _ in range(args.repeat):
        for name, factory, config in cases:
            mean_ns, events, case_stats = measure(factory, config, ticks)
            per_case[name].append(mean_ns)
            first.setdefault(name, (events, case_stats))
        ratios.append(per_case[CHANNEL][-1] / per_case["legacy"][-1])
    for name, _, _ in CASES:
        mean_ns = statistics.median(per_case[name])
        events, st = first[name]
        note = ""
        if "integration_metrics" in st:
            m = st["integration_metrics"]
            note = (
                f"channel {m['channel_successes']}/{len(ticks)} served-or-shadowed, "
                f"rollout {st['rollout']['method']} {len(st['rollout_tickers'])} tickers, "
                f"{st['dashboard']['recommendations'].split(':')[0]}"
            )
        print(f"{name:40s} {1e9 / mean_ns:10,.0f} {mean_ns / 1e3:9.1f} {events:7d}  {note}")
    ratio = statistics.median(ratios)
    verdict = "MET" if ratio <= TARGET_RATIO else "MISSED"
    spread = f"rounds: {', '.join(f'{r:.3f}' for r in ratios)}"
    print(
        f"channel path / legacy mean per-tick time: {ratio:.3f} (target <= {TARGET_RATIO}) "
        f"{verdict}; {spread}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
