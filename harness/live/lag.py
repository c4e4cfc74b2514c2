"""Lag meter: streaming summary (count, mean, max, percentiles) of a nanosecond duration series.

Live runs last hours, so the meter keeps exact count/sum/max and a fixed-size, seeded reservoir
sample for the percentiles: memory stays constant and the figures are reproducible.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from harness.core.model import pick


@dataclass(frozen=True, slots=True)
class LagSummary:
    """Summary of one series, in milliseconds (JSON-friendly)."""

    count: int
    mean_ms: float
    p50_ms: float
    p99_ms: float
    max_ms: float

    def as_dict(self) -> dict[str, float | int]:
        return pick(self, "count", "mean_ms", "p50_ms", "p99_ms", "max_ms")


class LagMeter:
    """Accumulates values; `summary()` gives the current LagSummary (percentiles from a reservoir)."""

    def __init__(self, reservoir: int = 10_000, seed: int = 0) -> None:
        self._size = reservoir
        self._rng = random.Random(seed)
        self._sample: list[int] = []
        self.count = 0
        self.total = 0
        self.max = 0

    def add(self, value: int) -> None:
        self.count += 1
        self.total += value
        if value > self.max:
            self.max = value
        if len(self._sample) < self._size:
            self._sample.append(value)
        else:
            slot = self._rng.randrange(self.count)
            if slot < self._size:
                self._sample[slot] = value

    def summary(self) -> LagSummary:
        if not self.count:
            return LagSummary(0, 0.0, 0.0, 0.0, 0.0)
        ordered = sorted(self._sample)

        def pct(q: float) -> float:
            return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1e6

        return LagSummary(
            self.count, self.total / self.count / 1e6, pct(0.5), pct(0.99), self.max / 1e6
        )
