"""DataPublisher (collect and buffer) and WebSocketPublisher (pull, filter per user, emit).

Reference §2.6–2.7. DataPublisher drains the display queue every UPDATE_INTERVAL into the
per-second buffer (highs, lows, trending up/down, surging up/down; each list capped at
MAX_BUFFER_SIZE, oldest dropped). WebSocketPublisher pulls and clears that buffer every
EMISSION_INTERVAL and sends each connected user the events passing their `UserSubscription`
through `WebSocketManager.emit_to_user(payload, user_id, 'stock_data')` (TickStock's default
multi-frequency path: no display conversion; a user with an empty ticker set receives nothing).

Replay: `on_tick(now)` fires collection and emission when tick time has passed the interval since
the last cycle, so cycles fall on tick-time boundaries. Live: `start()` runs TickStock's threads
(collector loop sleeping 0.01 s; emission timer checking every 0.1 s, each cycle on its own
thread, skipped while one runs unless it has run > EMISSION_CYCLE_STALE_SECONDS).
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from tickstock.clock import Clock
from tickstock.legacy.users import UserSubscription
from tickstock.legacy.workers import DisplayQueue

_UP = frozenset({"↑", "up"})
PER_SECOND_LISTS = ("highs", "lows", "trending_up", "trending_down", "surging_up", "surging_down")


class WebSocketManager(Protocol):
    """The one seam to the frontend: who is connected, and send to one user or everyone."""

    def get_connected_user_ids(self) -> Iterable[str]: ...

    def emit_to_user(self, payload: dict[str, Any], user_id: str, event_name: str) -> None: ...

    def emit_to_all(self, payload: dict[str, Any], event_name: str) -> None: ...


class RecordingWebSocketManager:
    """In-memory WebSocketManager: counts every emission; keeps payloads when asked (tests)."""

    def __init__(self, connected: Iterable[str] = (), *, keep_payloads: bool = False) -> None:
        self.connected = list(connected)
        self.keep_payloads = keep_payloads
        self.emits: list[tuple[str, str, dict[str, Any]]] = []
        self.broadcasts: list[tuple[str, dict[str, Any]]] = []
        self.payloads_per_user: Counter[str] = Counter()
        self.events_per_user: Counter[str] = Counter()

    def get_connected_user_ids(self) -> Iterable[str]:
        return list(self.connected)

    def emit_to_user(self, payload: dict[str, Any], user_id: str, event_name: str) -> None:
        self.payloads_per_user[user_id] += 1
        self.events_per_user[user_id] += payload_event_count(payload)
        if self.keep_payloads:
            self.emits.append((user_id, event_name, payload))

    def emit_to_all(self, payload: dict[str, Any], event_name: str) -> None:
        self.broadcasts.append((event_name, payload))


def payload_event_count(payload: Mapping[str, Any]) -> int:
    """Number of events in a stock_data payload."""
    get = payload.get
    return (
        len(get("highs", ()))
        + len(get("lows", ()))
        + sum(map(len, get("trending", {}).values()))
        + sum(map(len, get("surging", {}).values()))
    )


class DataPublisher:
    """Collects transport dicts from the display queue into a bounded per-second buffer."""

    def __init__(
        self, config: Any, clock: Clock, display_queue: DisplayQueue, *, live: bool = False
    ) -> None:
        self._clock = clock
        self._display = display_queue
        self._live = live
        self.update_interval = float(config.get("UPDATE_INTERVAL"))
        self._collection_timeout = float(config.get("COLLECTION_TIMEOUT"))
        self._max_events: int = config.get("COLLECTION_MAX_EVENTS")
        cap: int = config.get("MAX_BUFFER_SIZE")
        self._buffer: dict[str, deque[dict[str, Any]]] = {
            k: deque(maxlen=cap) for k in PER_SECOND_LISTS
        }
        self._lock = threading.Lock()
        self._last_collect: float | None = None
        self.collected = 0
        self.buffer_overflow = 0
        self.cycles = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def publish_to_users(self) -> int:
        """One collection: drain up to COLLECTION_MAX_EVENTS items into the buffer."""
        deadline = None
        if self._live:
            end = time.monotonic() + self._collection_timeout
            deadline = lambda: time.monotonic() >= end  # noqa: E731
        items = self._display.get_many(self._max_events, deadline)
        self.cycles += 1
        if not items:
            return 0
        buf = self._buffer
        with self._lock:
            for kind, event in items:
                if kind == "high":
                    target = buf["highs"]
                elif kind == "low":
                    target = buf["lows"]
                else:
                    up = event.get("direction") in _UP
                    if kind == "trend":
                        target = buf["trending_up" if up else "trending_down"]
                    elif kind == "surge":
                        target = buf["surging_up" if up else "surging_down"]
                    else:
                        continue
                if len(target) == target.maxlen:
                    self.buffer_overflow += 1
                target.append(event)
        self.collected += len(items)
        return len(items)

    def get_buffered_events(
        self, clear_buffer: bool = True, frequencies: Iterable[str] = ("per_second",)
    ) -> dict[str, Any]:
        """Per-second lists at the root and under `frequencies`; clears the buffer by default."""
        with self._lock:
            buf = self._buffer
            per_second = {
                "highs": list(buf["highs"]),
                "lows": list(buf["lows"]),
                "trending": {"up": list(buf["trending_up"]), "down": list(buf["trending_down"])},
                "surging": {"up": list(buf["surging_up"]), "down": list(buf["surging_down"])},
            }
            if clear_buffer:
                for d in buf.values():
                    d.clear()
        freq: dict[str, Any] = {}
        for f in frequencies:
            if f == "per_second":
                freq[f] = per_second
            elif f == "per_minute":
                freq[f] = {"aggregates": [], "highs": [], "lows": [], "trending": [], "surging": []}
            elif f == "fmv":
                freq[f] = {"fmv_events": [], "valuation_alerts": []}
        return {**per_second, "frequencies": freq}

    def has_buffered(self) -> bool:
        return any(self._buffer.values())

    @property
    def next_due(self) -> float:
        """Replay: the tick time at which the next collection is due."""
        last = self._last_collect
        return float("-inf") if last is None else last + self.update_interval

    def on_tick(self, now: float) -> None:
        """Replay: collect when UPDATE_INTERVAL of tick time has passed since the last collection."""
        last = self._last_collect
        if last is None or now - last >= self.update_interval:
            self._last_collect = now
            self.publish_to_users()

    def start(self) -> None:
        if not self._live or self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, name="tickstock-data-publisher", daemon=True
        )
        self._thread.start()

    def _run(self) -> None:
        last = 0.0
        while not self._stop.wait(0.01):
            now = time.monotonic()
            if now - last >= self.update_interval:
                last = now
                self.publish_to_users()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None
        while len(self._display):
            self.publish_to_users()


class WebSocketPublisher:
    """Pulls the buffer every EMISSION_INTERVAL and emits each user's filtered events."""

    def __init__(
        self,
        config: Any,
        clock: Clock,
        data_publisher: DataPublisher,
        websocket_mgr: WebSocketManager,
        subscriptions: Mapping[str, UserSubscription],
        *,
        live: bool = False,
    ) -> None:
        self._clock = clock
        self._data = data_publisher
        self._ws = websocket_mgr
        self._subs = dict(subscriptions)
        self._live = live
        self.emission_interval = float(config.get("EMISSION_INTERVAL"))
        self._stale = float(config.get("EMISSION_CYCLE_STALE_SECONDS"))
        self._last_emission: float | None = None
        self.cycles = 0
        self.emitted_events: Counter[str] = Counter()
        self.emitted_payloads: Counter[str] = Counter()
        self._running_since: float | None = None
        self._cycle_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _process_user_data(
        self, sub: UserSubscription, events: Mapping[str, Any]
    ) -> dict[str, Any]:
        wants = sub.wants
        return {
            "highs": [e for e in events["highs"] if wants(e)],
            "lows": [e for e in events["lows"] if wants(e)],
            "trending": {d: [e for e in events["trending"][d] if wants(e)] for d in ("up", "down")},
            "surging": {d: [e for e in events["surging"][d] if wants(e)] for d in ("up", "down")},
        }

    def run_emission_cycle(self) -> int:
        """One cycle: connected users → pull buffer → per-user filter → emit; returns payloads sent."""
        with self._cycle_lock:
            self.cycles += 1
            user_ids = list(self._ws.get_connected_user_ids())
            events = self._data.get_buffered_events(clear_buffer=True)
            if not payload_event_count(events):
                return 0
            now = self._clock.now()
            sent = 0
            for uid in user_ids:
                sub = self._subs.get(uid)
                if sub is None:
                    continue
                payload = self._process_user_data(sub, events)
                n = payload_event_count(payload)
                if not n:
                    continue
                payload["frequency"] = "per_second"
                payload["timestamp"] = now
                self._ws.emit_to_user(payload, uid, "stock_data")
                self.emitted_events[uid] += n
                self.emitted_payloads[uid] += 1
                sent += 1
            return sent

    @property
    def next_due(self) -> float:
        """Replay: the tick time at which the next emission cycle is due."""
        last = self._last_emission
        return float("-inf") if last is None else last + self.emission_interval

    def on_tick(self, now: float) -> None:
        """Replay: run a cycle when EMISSION_INTERVAL of tick time has passed since the last one."""
        last = self._last_emission
        if last is None or now - last >= self.emission_interval:
            self._last_emission = now
            if self._data.has_buffered():
                self.run_emission_cycle()
            else:
                self.cycles += 1

    def flush(self) -> int:
        """End of stream: emit whatever is still buffered."""
        return self.run_emission_cycle()

    def start(self) -> None:
        if not self._live or self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._timer, name="tickstock-emission-timer", daemon=True
        )
        self._thread.start()

    def _timer(self) -> None:
        last = time.monotonic()
        while not self._stop.wait(0.1):
            now = time.monotonic()
            if now - last < self.emission_interval:
                continue
            since = self._running_since
            if since is not None and now - since <= self._stale:
                continue  # a cycle is still running: skip this one, as TickStock does
            last = now
            self._running_since = now
            threading.Thread(
                target=self._cycle_thread, name="tickstock-emission", daemon=True
            ).start()

    def _cycle_thread(self) -> None:
        try:
            self.run_emission_cycle()
        finally:
            self._running_since = None

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None

    def stats(self) -> dict[str, Any]:
        return {
            "cycles": self.cycles,
            "emitted_events": dict(sorted(self.emitted_events.items())),
            "emitted_payloads": dict(sorted(self.emitted_payloads.items())),
        }
