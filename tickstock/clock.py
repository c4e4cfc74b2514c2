"""Injectable clocks: every time read inside tickstock goes through one, so replays are deterministic.

In replay the service advances a `TickClock` to each tick's own timestamp before processing it;
in live mode a `WallClock` reads `time.time()`. Detectors, queues and publishers only call
`clock.now()` (epoch seconds, float).
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """Anything that answers the current time in epoch seconds."""

    def now(self) -> float: ...


class TickClock:
    """Replay clock: returns the time of the tick being processed (set by the service)."""

    __slots__ = ("_now",)

    def __init__(self, start: float = 0.0) -> None:
        self._now = start

    def now(self) -> float:
        return self._now

    def set(self, epoch_seconds: float) -> None:
        """Move to the current tick's time; never moves backwards (late ticks keep the clock)."""
        if epoch_seconds > self._now:
            self._now = epoch_seconds


class WallClock:
    """Live clock: the machine's wall time."""

    __slots__ = ()

    def now(self) -> float:
        return time.time()

    def set(self, epoch_seconds: float) -> None:
        """Live clocks ignore tick time."""
