"""AutomaticFallbackManager: watches channel health and switches the multi-channel path off.

Triggers (the seed's): routing error rate > 10 %, average routing time > 100 ms, or event loss
(events the channel produced that the event system refused). Live, `monitor_and_fallback()` is the
seed's asyncio loop (check every 30 s, back off 60 s after a monitor error). In replay the stack
calls `poll(now)` on every tick with the tick's time, so the 30 s cadence runs on tick time and
the same replay falls back at the same tick every run. The statistics read are the router's
decision view (`get_decision_statistics`), deterministic in replay (see router.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any

from tickstock.clock import Clock

logger = logging.getLogger(__name__)

ERROR_RATE_LIMIT_PERCENT = 10.0
ROUTING_TIME_LIMIT_MS = 100.0
CHECK_INTERVAL_SECONDS = 30.0
ERROR_BACKOFF_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class FallbackIncident:
    """What tripped the fallback, when, and the figures at that moment."""

    tick_time: float
    reasons: tuple[str, ...]
    error_rate: float
    avg_routing_time_ms: float
    events_lost: int

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "reasons": list(self.reasons)}


class ErrorTracker:
    """Counts monitor failures (the monitor itself failing is data, not a crash)."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def record(self, exc: BaseException) -> None:
        self.errors.append(f"{type(exc).__name__}: {exc}")


class AutomaticFallbackManager:
    """Manages automatic fallback to legacy system."""

    def __init__(
        self,
        integrator: Any,
        clock: Clock,
        alert: Callable[[FallbackIncident], Any] | None = None,
        check_interval_seconds: float = CHECK_INTERVAL_SECONDS,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.integrator = integrator
        self.clock = clock
        self.alert = alert
        self.check_interval_seconds = check_interval_seconds
        self.sleep = sleep
        self.error_tracker = ErrorTracker()
        self.incidents: list[FallbackIncident] = []
        self._last_check: float | None = None
        self._lost_seen = 0
        self.checks = 0

    async def monitor_and_fallback(self, max_checks: int | None = None) -> None:
        """Monitor channel health and trigger fallback if needed (live mode loop)."""
        done = 0
        while max_checks is None or done < max_checks:
            done += 1
            try:
                self.check(self.clock.now())
                await self.sleep(self.check_interval_seconds)
            except Exception as exc:  # the monitor must outlive its own failures
                logger.error("Fallback monitor error: %s", exc)
                self.error_tracker.record(exc)
                await self.sleep(ERROR_BACKOFF_SECONDS)

    @property
    def next_due(self) -> float:
        """The time from which `poll` checks (−inf before the first poll, which starts the clock)."""
        last = self._last_check
        return float("-inf") if last is None else last + self.check_interval_seconds

    def poll(self, now: float) -> FallbackIncident | None:
        """Replay mode: check when 30 s of tick time have passed since the last check."""
        if self._last_check is None:
            self._last_check = now
            return None
        if now - self._last_check < self.check_interval_seconds:
            return None
        return self.check(now)

    def check(self, now: float) -> FallbackIncident | None:
        """One health check; trips the fallback when a trigger holds and the channel is on."""
        self._last_check = now
        self.checks += 1
        stats = self.integrator.channel_router.get_decision_statistics()
        reasons = []
        if stats["error_rate"] > ERROR_RATE_LIMIT_PERCENT:
            reasons.append(f"error_rate {stats['error_rate']:.2f}% > {ERROR_RATE_LIMIT_PERCENT}%")
        if stats["avg_routing_time_ms"] > ROUTING_TIME_LIMIT_MS:
            reasons.append(
                f"avg_routing_time_ms {stats['avg_routing_time_ms']:.2f} > {ROUTING_TIME_LIMIT_MS}"
            )
        lost = self._detect_event_loss(stats)
        if lost:
            reasons.append(f"event loss: {lost} event(s) refused by the event system")
        if not reasons or not self.integrator.config.enable_multi_channel:
            return None
        return self._trigger_emergency_fallback(now, tuple(reasons), stats, lost)

    def _detect_event_loss(self, stats: dict[str, Any]) -> int:
        lost_total = int(stats.get("events_rejected", 0))
        new = lost_total - self._lost_seen
        self._lost_seen = lost_total
        return new

    def _trigger_emergency_fallback(
        self, now: float, reasons: tuple[str, ...], stats: dict[str, Any], lost: int
    ) -> FallbackIncident:
        """Trigger emergency fallback to legacy system."""
        logger.critical(
            "EMERGENCY FALLBACK: Multi-channel system disabled (%s)", "; ".join(reasons)
        )
        self.integrator.config.enable_multi_channel = False
        incident = FallbackIncident(
            now, reasons, float(stats["error_rate"]), float(stats["avg_routing_time_ms"]), lost
        )
        self._send_emergency_alert(incident)
        self._record_fallback_incident(incident)
        return incident

    def _send_emergency_alert(self, incident: FallbackIncident) -> None:
        if self.alert is not None:
            self.alert(incident)

    def _record_fallback_incident(self, incident: FallbackIncident) -> None:
        self.incidents.append(incident)
