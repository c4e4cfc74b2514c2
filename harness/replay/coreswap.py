"""The lockstep core swap of a `--sides concurrent` run's two side processes (harness.replay.split).

Two cores of a (virtual) machine are not equally fast from moment to moment, so a side pinned to
one core for the whole run measures that core (A/A ratios 0.86–1.14). The sides therefore trade
cores every `SWAP_TICKS` ticks: both wait at a barrier, then each pins itself to the core the
other just left, so each stack spends half of every stretch of the day on each core.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from typing import Any


class CoreSwap:
    """The side's half of the lockstep core swap: at each `SWAP_TICKS` boundary wait for the other
    side, then pin this process to the core the other side just left.

    A side that leaves its loop early (an abort, an exception) breaks the barrier, so the other
    side never waits for a partner that is gone; it runs on unswapped (the run is being cut at
    the abort row). A side that ends normally does not: the other side may still be waking from
    the last swap, and a barrier broken then would cost it that swap. Both read the same ticks,
    so neither waits at the end; should one side still wait once the other has exited, the
    parent breaks the barrier (`SplitRunner._recv`), as it notices a side that died outright."""

    def __init__(self, barrier: Any, cpus: tuple[int, int], candidate: bool) -> None:
        self.barrier = barrier
        self.cpus = cpus
        self.offset = 1 if candidate else 0
        self.broken = False

    def at(self, block: int) -> None:
        if self.broken:
            return
        try:
            self.barrier.wait()
        except threading.BrokenBarrierError:
            self.broken = True
            return
        try:
            os.sched_setaffinity(0, {self.cpus[(block + self.offset) % 2]})
        except OSError:  # the core was taken away (cpuset change): run on unswapped
            self.broken = True
            self.leave()

    def leave(self) -> None:
        with contextlib.suppress(Exception):
            self.barrier.abort()


def swap_cpus() -> tuple[int, int] | None:
    """The two cores the sides trade, or None where there are not two (or no affinity API)."""
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return None
    return (cpus[0], cpus[1]) if len(cpus) >= 2 else None


def exit_when_orphaned(parent: int) -> None:
    """A side process outlives a killed parent only while blocked (the barrier): end it then."""
    while True:
        time.sleep(1.0)
        if os.getppid() != parent:
            os._exit(3)
