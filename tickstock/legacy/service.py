"""MarketDataService: the legacy stack's entry point, `handle_websocket_tick`, and its wiring.

Reference §1.4 and §7. Per tick: validate (a bad tick returns False and is counted by reason,
never raises and never touches detector state) → advance the clock → update the market session
from the tick's own timestamp (`handle_market_session_change` resets counters on CLOSED/AFTER → PRE
and PRE → REGULAR) → `EventProcessor.handle_tick` → `api_health`.

Modes: replay (`live=False`, a TickClock set from each tick; worker conversion, collection and
emission run synchronously on tick-time intervals) and live (`live=True`, WallClock, real worker
and publisher threads started by `start()`). Detection code is identical in both.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from typing import Any

from tickstock.clock import Clock, TickClock, WallClock
from tickstock.legacy.config import ConfigManager
from tickstock.legacy.market_hours import AFTER, CLOSED, PRE, REGULAR, et_seconds_of_day
from tickstock.legacy.priority import PriorityManager
from tickstock.legacy.processor import EventProcessor
from tickstock.legacy.publishing import (
    DataPublisher,
    RecordingWebSocketManager,
    WebSocketManager,
    WebSocketPublisher,
)
from tickstock.legacy.stock_data import EventCounts, HighLowBar, StockData
from tickstock.legacy.tick import InvalidTickError, TickData
from tickstock.legacy.users import UserSubscription
from tickstock.legacy.workers import DisplayQueue, WorkerPoolManager

# `_determine_session` segments (seconds since ET midnight); like TickStock, no weekday check.
_SEGMENTS = (
    (0, 4 * 3600, CLOSED),
    (4 * 3600, 9 * 3600 + 1800, PRE),
    (9 * 3600 + 1800, 16 * 3600, REGULAR),
    (16 * 3600, 20 * 3600, AFTER),
    (20 * 3600, 24 * 3600, CLOSED),
)
_RESETS = frozenset({(CLOSED, PRE), (AFTER, PRE), (PRE, REGULAR)})


def determine_session(epoch_seconds: float) -> tuple[str, float, float]:
    """(session, start, end) of the `_determine_session` segment holding an epoch time."""
    sod = et_seconds_of_day(epoch_seconds)
    midnight = int(epoch_seconds // 1) - sod
    for start, end, name in _SEGMENTS:
        if start <= sod < end:
            return name, float(midnight + start), float(midnight + end)
    raise AssertionError(f"seconds of day out of range: {sod}")


def reset_detectors_for_new_session(detector: Any, session: str) -> None:
    """TickStock's `event_manager.reset_all_for_new_session` (HealthMonitor on a session change):
    HighLow session bounds start over and Surge's daily counts go back to zero."""
    detector.highlow_detector.reset_for_new_market_session(session)
    detector.surge_detector.reset_daily_counts()


class MarketDataService:
    """Owns the per-ticker state and the pipeline; feeds it one tick at a time."""

    def __init__(
        self,
        config: ConfigManager | None = None,
        *,
        live: bool = False,
        clock: Clock | None = None,
        websocket_mgr: WebSocketManager | None = None,
        subscriptions: dict[str, UserSubscription] | None = None,
        detector: Any = None,
    ) -> None:
        self.config = config if config is not None else ConfigManager()
        self.live = live
        self.clock: Clock = clock if clock is not None else (WallClock() if live else TickClock())
        self.websocket_mgr: WebSocketManager = (
            websocket_mgr
            if websocket_mgr is not None
            else RecordingWebSocketManager(subscriptions or {})
        )
        cfg = self.config
        self.stock_details: dict[str, StockData] = {}
        self.display_queue = DisplayQueue(cfg.get("DISPLAY_QUEUE_SIZE"))
        self.priority_manager = PriorityManager(cfg, self.clock, live=live)
        self.event_processor = EventProcessor(
            cfg, self.clock, self.stock_details, self.priority_manager, detector
        )
        self.worker_pool = WorkerPoolManager(
            cfg,
            self.clock,
            self.priority_manager,
            self.display_queue,
            self.stock_details,
            live=live,
        )
        self.data_publisher = DataPublisher(cfg, self.clock, self.display_queue, live=live)
        self.websocket_publisher = WebSocketPublisher(
            cfg, self.clock, self.data_publisher, self.websocket_mgr, subscriptions or {}, live=live
        )
        self.current_session: str | None = None
        self._session_from = float("inf")
        self._session_until = float("-inf")
        self.session_resets = 0
        self.sent_high_events: set[str] = set()
        self.sent_low_events: set[str] = set()
        self.session_ticks = 0
        self.session_started: float | None = None
        self._next_cycle = float("-inf")
        self._last_ts: dict[str, float] = {}
        self.ticks_received = 0
        self.ticks_accepted = 0
        self.invalid: Counter[str] = Counter()
        self._warn_failures: int = cfg.get("API_HEALTH_WARNING_FAILURES")
        self.api_health: dict[str, Any] = {
            "status": "healthy",
            "failures": 0,
            "response_times": deque(maxlen=cfg.get("API_HEALTH_RESPONSE_HISTORY")),
        }

    # --- the entry points --------------------------------------------------------------------
    def handle_websocket_tick(self, tick: Any) -> bool:
        """Process one tick; False (counted in `invalid`) when it is rejected or processing fails."""
        self.ticks_received += 1
        if type(tick) is not TickData:
            self.invalid["not_tick_data"] += 1
            return False
        try:
            tick.validate()
        except InvalidTickError as exc:
            self.invalid[exc.reason] += 1
            return False
        return self._accept(tick)

    def handle_constructed_tick(self, tick: TickData) -> bool:
        """`handle_websocket_tick` for a TickData just built (and so validated) by the caller —
        the stack adapter — skipping the second validation on the hot path."""
        self.ticks_received += 1
        return self._accept(tick)

    def record_invalid(self, reason: str) -> None:
        """Count a tick rejected before it could become a TickData (by the stack adapter)."""
        self.ticks_received += 1
        self.invalid[reason] += 1

    def _accept(self, tick: TickData) -> bool:
        ts = tick.timestamp
        ticker = tick.ticker
        last_ts = self._last_ts
        last = last_ts.get(ticker)
        if last is not None and ts < last:
            self.invalid["non_monotonic_timestamp"] += 1
            return False
        segment = None
        if not self._session_from <= ts < self._session_until:
            try:
                segment = determine_session(ts)
            except (OverflowError, ValueError, OSError):  # beyond what datetime can represent
                self.invalid["bad_timestamp"] += 1
                return False
        last_ts[ticker] = ts
        live = self.live
        started = time.perf_counter() if live else 0.0
        clock = self.clock
        clock.set(ts)  # type: ignore[attr-defined]
        if segment is not None:
            self._update_session(ts, segment)
        self.session_ticks += 1
        try:
            queued = self.event_processor.handle_tick(tick)
        except InvalidTickError as exc:
            self.invalid[exc.reason] += 1
            return False
        except Exception:
            self.invalid["processing_error"] += 1
            self._record_health(False, started)
            return False
        if not live:
            if queued:
                self.worker_pool.drain()
            now = clock.now()
            if now >= self._next_cycle:
                self._run_cycles(now)
        self.ticks_accepted += 1
        if live or self.api_health["failures"]:
            self._record_health(True, started)
        return True

    def _run_cycles(self, now: float) -> None:
        """Replay: collection and emission cycles that are due at this tick time."""
        dp, wp = self.data_publisher, self.websocket_publisher
        dp.on_tick(now)
        wp.on_tick(now)
        self._next_cycle = min(dp.next_due, wp.next_due)

    def _record_health(self, ok: bool, started: float) -> None:
        """TickStock's api_health: failures up on error (> limit → warning), down on success;
        response times only live (in replay they would measure the host, not the stream)."""
        health = self.api_health
        if self.live:
            health["response_times"].append(time.perf_counter() - started)
        if ok:
            if health["failures"]:
                health["failures"] -= 1
                if health["failures"] == 0:
                    health["status"] = "healthy"
        else:
            health["failures"] += 1
            if health["failures"] > self._warn_failures:
                health["status"] = "warning"

    # --- market sessions (§7) ---------------------------------------------------------------
    def _update_session(self, ts: float, segment: tuple[str, float, float]) -> None:
        if ts < self._session_from and self.current_session is not None:
            return  # a late tick never moves the session backwards (no spurious resets)
        session, start, end = segment
        self._session_from, self._session_until = start, end
        if session != self.current_session:
            self.handle_market_session_change(session)

    def handle_market_session_change(self, new_session: str) -> None:
        """Record the new session; on CLOSED/AFTER → PRE and PRE → REGULAR reset session state."""
        old = self.current_session
        self.current_session = new_session
        if old is None:  # the first tick only establishes the session
            self.session_started = self.clock.now()
            return
        if (old, new_session) not in _RESETS:
            return
        self.session_resets += 1
        self.session_ticks = 0
        self.session_started = self.clock.now()
        self.sent_high_events.clear()
        self.sent_low_events.clear()
        for stock in self.stock_details.values():
            stock.event_counts = EventCounts()
            stock.highlow_bar = HighLowBar()
        reset_detectors_for_new_session(self.event_processor.detector, new_session)
        self.websocket_mgr.emit_to_all(
            {
                "type": "session_reset",
                "previous_session": old,
                "new_session": new_session,
                "timestamp": self.clock.now(),
            },
            "status_update",
        )

    # --- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        """Live mode: start worker, collector and emission threads (no-op in replay)."""
        self.worker_pool.start()
        self.data_publisher.start()
        self.websocket_publisher.start()

    def flush(self) -> None:
        """Convert, collect and emit everything still pending (end of a replay, or shutdown)."""
        if self.live:
            self.worker_pool.stop()
            self.data_publisher.stop()
            self.websocket_publisher.stop()
        else:
            self.worker_pool.drain()
            while len(self.display_queue):
                self.data_publisher.publish_to_users()
        self.websocket_publisher.flush()

    def stats(self) -> dict[str, Any]:
        proc = self.event_processor
        health = self.api_health
        return {
            "ticks_received": self.ticks_received,
            "ticks_processed": self.ticks_accepted,
            "ticks_outside_core_universe": proc.ticks_outside_universe,
            "invalid_ticks": dict(sorted(self.invalid.items())),
            "events_detected": dict(sorted(proc.events_detected.items())),
            # detector errors, raised (a detector lost its events for a tick) or swallowed inside
            # a detector as TickStock does (the trend detector on a tick without VWAP)
            "detector": _detector_stats(proc.detector),
            "events_queued": proc.events_queued,
            "priority_queue": self.priority_manager.stats(),
            "workers": self.worker_pool.stats(),
            "publisher": {
                "collections": self.data_publisher.cycles,
                "collected": self.data_publisher.collected,
                "buffer_overflow": self.data_publisher.buffer_overflow,
                **self.websocket_publisher.stats(),
            },
            "session": {
                "current": self.current_session,
                "resets": self.session_resets,
                "ticks_this_session": self.session_ticks,
            },
            "tickers": len(self.stock_details),
            "api_health": {"status": health["status"], "failures": health["failures"]},
        }


def _detector_stats(detector: Any) -> dict[str, Any]:
    """The EventDetector's error counters (a stand-in detector without them reports none)."""
    get = getattr(detector, "get_stats", None)
    if get is None:
        return {}
    s = get()
    keys = ("detection_errors", "last_error", "trend_errors_swallowed", "trend_last_swallowed")
    return {k: s[k] for k in keys if k in s}
