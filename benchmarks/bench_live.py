"""Benchmark: sustained ticks/s of live shadowing (feed at max speed → harness live → both stacks).

Target: 4,000 ticks/s sustained — one market-wide second of per-second aggregates (`A.*`, ~4,000
tickers) shadowed through legacy + multi-channel within one second of wall time, while recording.
Usage: python benchmarks/bench_live.py [TICKS]
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
import time
from pathlib import Path

from harness.feed import FeedConfig, FeedThread
from harness.live import LiveConfig
from harness.model import Tick
from harness.recording import RecordingWriter
from harness.runner import RunOptions
from harness.session import RecordOptions, run_live

TARGET_TICKS_PER_S = 4_000
BASE_NS = 1_767_364_200_000_000_000  # 2026-01-02 14:30 UTC


def synthetic_day(n: int, tickers: int = 200, seed: int = 1) -> list[Tick]:
    """Per-second aggregates for `tickers` symbols, random-walk prices, in (ts, seq) order."""
    rng = random.Random(seed)
    prices = [rng.uniform(20, 400) for _ in range(tickers)]
    acc = [0] * tickers
    out = []
    for seq in range(n):
        i = seq % tickers
        prices[i] *= 1 + rng.gauss(0, 0.002)
        vol = rng.randint(100, 5000)
        acc[i] += vol
        p = round(prices[i], 2)
        out.append(
            Tick(
                seq,
                BASE_NS + (seq // tickers) * 1_000_000_000 + i * 1000,
                f"T{i:04d}",
                p,
                vol,
                tick_open=p,
                tick_high=p * 1.001,
                tick_low=p * 0.999,
                tick_close=p,
                tick_vwap=p,
                tick_volume=vol,
                accumulated_volume=acc[i],
                vwap=p,
                market_open_price=round(prices[i], 2),
            )
        )
    return out


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 30_000
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        with RecordingWriter(root / "day", source="synthetic") as writer:
            writer.write_ticks(synthetic_day(n))
        with FeedThread(FeedConfig(root / "day", speed=None)) as feed:
            started = time.perf_counter()
            result = run_live(
                LiveConfig(feed.url, duration_s=600, queue_size=n + 1),
                "tickstock.stacks:legacy",
                "tickstock.stacks:multichannel",
                candidate_config={"phase": "phase_1_parallel_testing"},
                options=RunOptions(tick_timeout_s=None),
                root=root / "runs",
                record=RecordOptions(root / "live-rec"),
            )
            elapsed = time.perf_counter() - started
        shadow_s = json.loads((result.run.path / "manifest.json").read_text())["wall_s"]
    live = result.live
    rate = live.delivered / shadow_s
    print(
        f"live shadowing: {live.delivered} ticks shadowed in {shadow_s:.2f} s = {rate:,.0f} ticks/s "
        f"(session incl. connect, diff and summary {elapsed:.2f} s) "
        f"(target >= {TARGET_TICKS_PER_S:,}); queue wait p99 {live.queue_wait.p99_ms:.1f} ms, "
        f"dropped {live.dropped}, status {result.run.status}"
    )
    return 0 if rate >= TARGET_TICKS_PER_S and live.dropped == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
