"""Throughput of the legacy detectors alone (EventDetector: HighLow → Trend → Surge) in replay.

    python benchmarks/bench_detectors.py [--ticks 200000] [--tickers 500] [--seed 1]

A random-walk MIDDAY session, one tick per ticker per second round-robin, Profile 2 config,
TickClock at tick time, StockData.last_price updated after detection as the pipeline does.
After each ticker's 90 s warm-up every tick runs the full trend evaluation. Prints wall and
CPU ticks/s overall and per detector next to the target: the whole legacy stack must reach
150,000 ticks/s on one core, so detection must stay well above that.
"""

from __future__ import annotations

import argparse
import random
import time
from typing import Any

from tickstock.clock import TickClock
from tickstock.legacy.config import ConfigManager
from tickstock.legacy.detectors import EventDetector
from tickstock.legacy.stock_data import StockData
from tickstock.legacy.tick import TickData

TARGET_STACK = 150_000
START = 1710513000.0  # Friday 2024-03-15 10:30:00 ET (MIDDAY)


def generate(n: int, n_tickers: int, seed: int) -> list[TickData]:
    rng = random.Random(seed)
    names = [f"T{i:04d}" for i in range(n_tickers)]
    prices = {t: rng.uniform(5, 600) for t in names}
    ticks = []
    for i in range(n):
        t = names[i % n_tickers]
        prices[t] *= 1 + rng.gauss(0.0002, 0.004)
        p = round(prices[t], 2)
        ticks.append(
            TickData(ticker=t, price=p, volume=rng.randint(100, 5000),
                     timestamp=START + i // n_tickers, vwap=round(p * 0.999, 2),
                     market_open_price=None)
        )  # fmt: skip
    return ticks


def run(ticks: list[TickData], detect: Any, clock: TickClock) -> tuple[float, float, int]:
    stocks: dict[str, StockData] = {}
    events = 0
    wall, cpu = time.perf_counter(), time.process_time()
    for tk in ticks:
        clock.set(tk.timestamp)
        stock = stocks.get(tk.ticker)
        if stock is None:
            stock = stocks[tk.ticker] = StockData(ticker=tk.ticker)
        events += len(detect(tk, stock))
        stock.last_price = tk.price
    return time.perf_counter() - wall, time.process_time() - cpu, events


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ticks", type=int, default=200_000)
    ap.add_argument("--tickers", type=int, default=500)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    ticks = generate(args.ticks, args.tickers, args.seed)
    n = len(ticks)
    clock = TickClock()
    det = EventDetector(ConfigManager(), clock)
    wall, cpu, events = run(ticks, det.detect_events, clock)
    print(f"detectors: {n:,} ticks, {args.tickers} tickers, {events:,} events")
    print(f"  EventDetector: {n / wall:,.0f} ticks/s wall ({wall / n * 1e6:.1f} µs/tick), "
          f"{n / cpu:,.0f} ticks/s CPU   target: > {TARGET_STACK:,} ticks/s for the whole stack")  # fmt: skip
    for name in ("highlow", "trend", "surge"):
        clock = TickClock()
        single = EventDetector(ConfigManager(), clock)
        detect = getattr(single, f"{name}_detector").__getattribute__(f"detect_{name}")
        wall, cpu, found = run(ticks, detect, clock)
        print(f"  {name:8s} alone: {n / cpu:,.0f} ticks/s CPU ({cpu / n * 1e6:.1f} µs/tick), "
              f"{found:,} events")  # fmt: skip
    print(f"  stats: {det.get_stats()}")


if __name__ == "__main__":
    main()
