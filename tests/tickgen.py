"""Small deterministic tick streams for the replay-core tests (random walk over a few tickers)."""

from __future__ import annotations

import random
from collections.abc import Iterator

from harness.core.model import Tick

T0 = 1_718_976_600_000_000_000  # 2024-06-21 13:30 UTC


def make_ticks(
    n: int, tickers: int = 8, seed: int = 1, round_robin: bool = False
) -> Iterator[Tick]:
    """`round_robin` puts a ticker's ticks exactly `tickers` seqs apart."""
    rng = random.Random(seed)
    names = [f"T{i:02d}" for i in range(tickers)]
    px = dict.fromkeys(names, 100.0)
    for s in range(n):
        t = names[s % tickers] if round_robin else names[rng.randrange(tickers)]
        px[t] = round(px[t] * (1 + rng.gauss(0, 0.003)), 4)
        vol = rng.randrange(1, 500) * (20 if rng.random() < 0.03 else 1)
        yield Tick(seq=s, ts=T0 + s * 10_000_000, ticker=t, price=px[t], volume=vol)
