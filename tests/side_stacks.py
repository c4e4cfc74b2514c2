"""Stacks for the concurrent-sides tests, importable by the spawned side processes (tests/ is on
their sys.path as on pytest's)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from harness.replay.outcome import SWAP_TICKS
from harness.replay.stack import NullStack


class WhereStack(NullStack):
    """Finds nothing; notes the cores its process may run on at the first tick of every core-swap
    block, so a test can see which core each side was on when."""

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        super().__init__(config)
        self.cpus: list[list[int]] = []

    def process(self, tick: Any) -> list[dict[str, Any]]:
        if self._ticks % SWAP_TICKS == 0:
            self.cpus.append(sorted(os.sched_getaffinity(0)))
        return super().process(tick)

    def stats(self) -> dict[str, Any]:
        return {**super().stats(), "cpus": self.cpus}


def where(config: Mapping[str, Any] | None = None) -> WhereStack:
    return WhereStack(config)
