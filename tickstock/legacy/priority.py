"""PriorityManager: TickStock's typed event priority queue between detection and the worker pool.

Reference §2.4. Lower priority number first (control/tick 1, high/low 2, surge/trend 3, status and
unknown 4); SPY/QQQ/IWM/DIA get 1 from 09:30 to 10:00 ET (from the injected clock, so tick time in
replay); configured TOP tickers get 1 and SECONDARY tickers min(2, base). Within one priority the
order is first-in first-out (a sequence number breaks ties; TickStock's PriorityQueue compared
priority only, which leaves ties in heap order).

`add_event` rejections, checked in TickStock's order: not a BaseEvent; too old (live only); queue
full; overflow above 98 % for priority > 1 (never control or surge events); circuit breaker open.
The age rules — reject at add when older than MAX_EVENT_AGE_MS (120 s), drop at collection when
older than 120 s, discard entries queued more than QUEUE_ENTRY_MAX_AGE_SECONDS (60 s) — read the
clock and are wall-clock guards, so they apply only in live mode (reference decision 3); in replay
an event's time *is* the clock, so they could never fire anyway except on late ticks.
"""

from __future__ import annotations

import heapq
import threading
from collections import Counter
from typing import Any

from tickstock.clock import Clock
from tickstock.legacy.events import BaseEvent
from tickstock.legacy.market_hours import et_seconds_of_day

BASE_PRIORITY = {"control": 1, "tick": 1, "high": 2, "low": 2, "surge": 3, "trend": 3, "status": 4}
UNKNOWN_PRIORITY = 4
_OPEN_WINDOW = (9 * 3600 + 30 * 60, 10 * 3600)  # 09:30–10:00 ET, market-open priority window
_NEVER_THROTTLED = frozenset({"control", "surge"})
OVERFLOW_UTILISATION = 0.98


class PriorityManager:
    """Priority queue of detected events; thread-safe, synchronous or threaded consumers."""

    def __init__(self, config: Any, clock: Clock, *, live: bool = False) -> None:
        self._clock = clock
        self._live = live
        self.max_size: int = config.get("MAX_QUEUE_SIZE")
        self._overflow_at = int(self.max_size * OVERFLOW_UTILISATION)
        self._max_age = config.get("MAX_EVENT_AGE_MS") / 1000.0
        self._entry_max_age = float(config.get("QUEUE_ENTRY_MAX_AGE_SECONDS"))
        self._open_tickers = frozenset(config.get("MARKET_OPEN_PRIORITY_TICKERS"))
        self._top = frozenset(config.get("PRIORITY_TOP_TICKERS"))
        self._secondary = frozenset(config.get("PRIORITY_SECONDARY_TICKERS"))
        self._breaker_fail_max: int = config.get("CIRCUIT_BREAKER_FAIL_MAX")
        self._breaker_reset = float(config.get("CIRCUIT_BREAKER_RESET_SECONDS"))
        self._breaker_failures = 0
        self._breaker_open_until = 0.0
        self._heap: list[tuple[int, int, float, BaseEvent]] = []
        self._seq = 0
        self._cond = threading.Condition(threading.Lock())
        self.added: Counter[str] = Counter()
        self.rejected: Counter[str] = Counter()
        self.dropped_stale = 0

    def __len__(self) -> int:
        return len(self._heap)

    def priority_of(self, event: BaseEvent) -> int:
        """Base priority by type, escalated for market-open index ETFs and configured tickers."""
        base = BASE_PRIORITY.get(event.type, UNKNOWN_PRIORITY)
        ticker = event.ticker
        if ticker in self._open_tickers:
            sod = et_seconds_of_day(self._clock.now())
            if _OPEN_WINDOW[0] <= sod < _OPEN_WINDOW[1]:
                return 1
        if ticker in self._top:
            return 1
        if ticker in self._secondary:
            return min(2, base)
        return base

    def add_event(self, event: Any) -> bool:
        """Queue an event; False (and a counted reason) when TickStock would reject it."""
        if not isinstance(event, BaseEvent):
            self.rejected["not_base_event"] += 1
            return False
        now = self._clock.now() if self._live or self._breaker_open_until else 0.0
        if self._live and now - event.time > self._max_age:
            self.rejected["too_old"] += 1
            return False
        if self._breaker_open_until:
            if now < self._breaker_open_until:
                self.rejected["circuit_open"] += 1
                return False
            self._breaker_open_until = 0.0
            self._breaker_failures = 0
        try:
            priority = self.priority_of(event)
        except Exception:
            self._record_failure()
            self.rejected["priority_error"] += 1
            return False
        with self._cond:
            size = len(self._heap)
            if size >= self.max_size:
                self.rejected["queue_full"] += 1
                return False
            if size > self._overflow_at and priority > 1 and event.type not in _NEVER_THROTTLED:
                self.rejected["overflow"] += 1
                return False
            self._seq += 1
            queued_at = self._clock.now() if self._live else event.time
            heapq.heappush(self._heap, (priority, self._seq, queued_at, event))
            self._cond.notify()
        self.added[event.type] += 1
        return True

    def _record_failure(self) -> None:
        self._breaker_failures += 1
        if self._breaker_failures >= self._breaker_fail_max:
            self._breaker_open_until = self._clock.now() + self._breaker_reset

    def collect_events(self, max_events: int, timeout: float = 0.0) -> list[tuple[str, BaseEvent]]:
        """Up to `max_events` (type, event) pairs in priority order; waits `timeout` when empty."""
        out: list[tuple[str, BaseEvent]] = []
        with self._cond:
            if not self._heap and timeout > 0:
                self._cond.wait(timeout)
            heap = self._heap
            if not heap:
                return out
            live = self._live
            now = self._clock.now() if live else 0.0
            while heap and len(out) < max_events:
                _, _, queued_at, event = heapq.heappop(heap)
                if live and (
                    now - queued_at > self._entry_max_age or now - event.time > self._max_age
                ):
                    self.dropped_stale += 1
                    continue
                out.append((event.type, event))
        return out

    def clear(self) -> None:
        """Forget queued events (shutdown)."""
        with self._cond:
            self._heap.clear()

    def stats(self) -> dict[str, Any]:
        return {
            "queued": len(self._heap),
            "added": dict(self.added),
            "rejected": dict(self.rejected),
            "dropped_stale": self.dropped_stale,
        }
