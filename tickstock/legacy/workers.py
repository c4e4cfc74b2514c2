"""WorkerPoolManager: turns queued typed events into transport dicts on the display queue.

Reference §2.5. For each collected event: a high/low is stored on its ticker's StockData
(`add_event`) and the ticker marked changed; then `event.to_transport_dict(now)` goes on the
display queue as `(type, dict)`; a full display queue drops the event and counts it.

Replay mode has no threads: the service calls `drain()` after each tick that produced events, so
the dicts reach the display queue in a fixed order. Live mode runs WORKER_POOL_SIZE (clamped to
[8, 16]) daemon threads with TickStock's idle back-off (0.01 / 0.05 / 0.1 / 0.5 s).
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Callable, MutableMapping
from typing import Any

from tickstock.clock import Clock
from tickstock.legacy.events import BaseEvent
from tickstock.legacy.priority import PriorityManager
from tickstock.legacy.stock_data import StockData

TransportItem = tuple[str, dict[str, Any]]


class DisplayQueue:
    """Bounded FIFO of (type, transport dict); `tap` (if set) also sees every accepted item.

    The tap is how a Stack reports the dicts that reached the display queue for one tick without
    competing with DataPublisher, which drains the queue on its own schedule.
    """

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._items: deque[TransportItem] = deque()
        self._lock = threading.Lock()
        self.tap: list[dict[str, Any]] | None = None
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._items)

    def put(self, item: TransportItem) -> bool:
        with self._lock:
            if len(self._items) >= self.maxsize:
                self.dropped += 1
                return False
            self._items.append(item)
            if self.tap is not None:
                self.tap.append(item[1])
        return True

    def get_many(
        self, max_items: int, deadline: Callable[[], bool] | None = None
    ) -> list[TransportItem]:
        """Up to `max_items` items, oldest first; stops early once `deadline()` says so."""
        out: list[TransportItem] = []
        with self._lock:
            items = self._items
            while items and len(out) < max_items:
                out.append(items.popleft())
                if deadline is not None and deadline():
                    break
        return out


class WorkerPoolManager:
    """Converts queued events; synchronously (`drain`) in replay, with threads in live mode."""

    def __init__(
        self,
        config: Any,
        clock: Clock,
        priority_manager: PriorityManager,
        display_queue: DisplayQueue,
        stock_details: MutableMapping[str, StockData],
        *,
        live: bool = False,
    ) -> None:
        self._clock = clock
        self._pm = priority_manager
        self._display = display_queue
        self._stock_details = stock_details
        self._live = live
        size = config.get("WORKER_POOL_SIZE")
        self.pool_size = max(
            config.get("WORKER_POOL_MIN_SIZE"), min(config.get("WORKER_POOL_MAX_SIZE"), size)
        )
        self.batch_size: int = config.get("WORKER_EVENT_BATCH_SIZE")
        self._timeout = float(config.get("WORKER_COLLECTION_TIMEOUT"))
        #: TickStock's transport dict has no top-level timestamp; EVENT_TIMESTAMP_FIELD adds one
        self.with_timestamp = bool(config.get("EVENT_TIMESTAMP_FIELD", False))
        self.changed_tickers: set[str] = set()
        self.processed: Counter[str] = Counter()
        self.errors = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def _handle(self, batch: list[tuple[str, BaseEvent]]) -> None:
        now = self._clock.now()
        with_timestamp = self.with_timestamp
        put = self._display.put
        done: dict[str, int] = {}  # a plain dict: Counter's __missing__ costs per event
        errors = 0
        for event_type, event in batch:
            try:
                if event_type == "high" or event_type == "low":
                    stock = self._stock_details.get(event.ticker)
                    if stock is None:
                        stock = self._stock_details.setdefault(
                            event.ticker, StockData(ticker=event.ticker)
                        )
                    with self._lock:
                        stock.add_event(event)
                        self.changed_tickers.add(event.ticker)
                put((event_type, event.to_transport_dict(now, with_timestamp)))
                done[event_type] = done.get(event_type, 0) + 1
            except Exception:
                # A malformed event must not kill a worker (TickStock logs and continues).
                errors += 1
        with self._lock:  # several live workers share the counters
            self.processed.update(done)
            self.errors += errors

    def drain(self) -> int:
        """Replay: convert everything queued now, in priority order; returns how many."""
        total = 0
        while True:
            batch = self._pm.collect_events(self.batch_size)
            if not batch:
                return total
            self._handle(batch)
            total += len(batch)

    def start(self) -> None:
        """Live: start the worker threads (no-op in replay)."""
        if not self._live or self._threads:
            return
        self._stop.clear()
        for i in range(self.pool_size):
            t = threading.Thread(target=self._run, name=f"tickstock-worker-{i}", daemon=True)
            t.start()
            self._threads.append(t)

    def _run(self) -> None:
        empty = 0
        while not self._stop.is_set():
            batch = self._pm.collect_events(self.batch_size, timeout=self._timeout)
            if batch:
                empty = 0
                self._handle(batch)
                continue
            empty += 1
            # TickStock's idle back-off; waiting on the stop event lets shutdown wake it at once.
            self._stop.wait(
                0.01 if empty < 10 else 0.05 if empty < 50 else 0.1 if empty < 100 else 0.5
            )

    def stop(self) -> None:
        """Stop threads and convert whatever is still queued, so nothing detected is lost."""
        self._stop.set()
        for t in self._threads:
            t.join(timeout=2.0)
        self._threads.clear()
        self.drain()

    def stats(self) -> dict[str, Any]:
        return {
            "pool_size": self.pool_size if self._live else 0,
            "processed": dict(self.processed),
            "errors": self.errors,
            "display_dropped": self._display.dropped,
        }
