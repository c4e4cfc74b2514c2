"""Seeded fault injection for a channel: errors and added delay, reproducible per ticker.

Whether the n-th tick of a ticker fails is a hash of (seed, ticker, n), so the same replay fails on
the same ticks in every run and on every shard. The delay is really slept (so timings see it) and
is also reported as the call's *modelled* duration, which is what replay-mode timeout and fallback
decisions read instead of the wall clock.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field


class InjectedChannelError(RuntimeError):
    """The failure a fault injector raises inside a channel."""


@dataclass
class ChannelFaults:
    """Error rate (0–1) and added delay for a channel's process calls."""

    error_rate: float = 0.0
    delay_ms: float = 0.0
    seed: int = 0
    sleep: Callable[[float], None] = time.sleep
    _counts: dict[str, int] = field(default_factory=dict)
    injected_errors: int = 0

    def __post_init__(self) -> None:
        if not 0.0 <= self.error_rate <= 1.0:
            raise ValueError(f"channel error_rate must be within 0..1, got {self.error_rate!r}")
        if self.delay_ms < 0:
            raise ValueError(f"channel delay_ms must be >= 0, got {self.delay_ms!r}")

    @property
    def active(self) -> bool:
        return self.error_rate > 0 or self.delay_ms > 0

    def apply(self, ticker: str) -> float:
        """Sleep the delay, maybe raise; returns the modelled duration in ms."""
        n = self._counts.get(ticker, 0)
        self._counts[ticker] = n + 1
        if self.delay_ms > 0:
            self.sleep(self.delay_ms / 1000.0)
        if self.error_rate > 0 and self._draw(ticker, n) < self.error_rate:
            self.injected_errors += 1
            raise InjectedChannelError(f"injected channel fault ({ticker} tick #{n})")
        return self.delay_ms

    def _draw(self, ticker: str, n: int) -> float:
        digest = hashlib.blake2b(f"{self.seed}:{ticker}:{n}".encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big") / 2**64
