"""DataChannelRouter: identifies a datum's type, picks a healthy channel, enforces the timeout and
forwards the channel's events into the same `priority_manager.add_event()` as the legacy path.

Timing: every route is timed with `perf_counter` (reported as `avg_routing_time_ms`, an EMA with
α = 0.1 as TickStock's router). *Decisions* — a route timing out, and the figures the monitor and
the automatic fallback read (`get_decision_statistics`) — use, when `deterministic_timing` is on
(replay), the channel call's modelled duration (its injected delay, 0 without faults) instead of
the measured one, so a replay takes the same decisions on every run. With it off (live), a measured
duration over the timeout discards the channel's events (Python cannot pre-empt the call; the
timeout is applied when it returns) and the integrator falls back to legacy.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from enum import Enum
from time import perf_counter
from typing import Any, NamedTuple

from tickstock.multichannel.channels import ProcessingChannel, ProcessingResult
from tickstock.multichannel.config import ChannelType

EMA_ALPHA = 0.1
_tuple_new = tuple.__new__  # builds a NamedTuple from its fields without its keyword handling


class RoutingStrategy(Enum):
    ROUND_ROBIN = "round_robin"
    LOAD_BASED = "load_based"
    HASH_BASED = "hash_based"
    HEALTH_BASED = "health_based"


class RouteStatus(Enum):
    ROUTED = "routed"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    DISABLED = "disabled"
    NO_CHANNEL = "no_channel"


# module constants: an Enum member read off its class costs ~10× a global
_ROUTED = RouteStatus.ROUTED
_FAILED = RouteStatus.FAILED
_TIMED_OUT = RouteStatus.TIMED_OUT
_EMA_KEEP = 1 - EMA_ALPHA  # the same double `(1 - EMA_ALPHA)` gives, computed once


@dataclass
class RouterConfig:
    """Router settings (TickStock's defaults)."""

    enable_multi_channel: bool = False
    routing_strategy: RoutingStrategy = RoutingStrategy.HEALTH_BASED
    routing_timeout_ms: float = 100.0
    max_routing_retries: int = 3  # declared by TickStock, never used
    enable_fallback_routing: bool = True
    deterministic_timing: bool = True


class RouteOutcome(NamedTuple):
    """What happened to one datum: status, channel, the channel result and events forwarded.

    An immutable NamedTuple rather than a frozen dataclass: one is built per tick (see
    ProcessingResult).
    """

    status: RouteStatus
    channel: str | None = None
    result: ProcessingResult | None = None
    routing_time_ms: float = 0.0
    events_forwarded: int = 0

    @property
    def ok(self) -> bool:
        return self.status is RouteStatus.ROUTED


def identify_data_type(data: Any) -> ChannelType | None:
    """TickStock's DataTypeIdentifier order: tick, then OHLCV, then FMV."""
    name = type(data).__name__.lower()
    if isinstance(data, dict):
        keys = set(data)
        ohlcv = {"open", "high", "low", "close", "volume"} <= keys or {
            "o",
            "h",
            "l",
            "c",
            "v",
        } <= keys
        if {"ticker", "price", "timestamp"} <= keys and not ohlcv:
            return ChannelType.TICK
        if ohlcv:
            return ChannelType.OHLCV
        if keys & {"fair_market_value", "fmv", "valuation", "fair_value"}:
            return ChannelType.FMV
        return None
    if "tick" in name:
        return ChannelType.TICK
    if any(word in name for word in ("ohlcv", "bar", "candle")):
        return ChannelType.OHLCV
    if "fmv" in name:
        return ChannelType.FMV
    return None


class _RoutePlan(NamedTuple):
    """What routing a datum of one class needs before choosing among channels."""

    data_type: ChannelType | None
    type_name: str
    candidates: tuple[ProcessingChannel, ...]


class DataChannelRouter:
    """Routes data to channels and forwards their events to the event system."""

    def __init__(self, config: RouterConfig | None = None, priority_manager: Any = None) -> None:
        self.config = config or RouterConfig()
        self.priority_manager = priority_manager
        self.channels: list[ProcessingChannel] = []
        self._round_robin = 0
        self.attempts = 0
        self.routed = 0
        self.failed = 0
        self.timed_out = 0
        self.delegated = 0
        self.fallback_routes = 0
        self.events_forwarded = 0
        self.events_rejected = 0
        # routes per type name / channel name; plain dicts with every key present (cheaper to
        # count in than a Counter), shown as Counters of the non-zero entries
        self._type_routes: dict[str, int] = {}
        self._channel_routes: dict[str, int] = {}
        self._ema_ms: float | None = None
        self._decision_ema_ms: float | None = None
        self._total_ms = 0.0
        #: per datum class: its type, the type's name and its channels (a dict is never cached:
        #: its type depends on its keys). Cleared when a channel registers.
        self._plans: dict[type, _RoutePlan] = {}

    def register_channel(self, channel: ProcessingChannel) -> None:
        if any(c.name == channel.name for c in self.channels):
            raise ValueError(f"a channel named {channel.name!r} is already registered")
        self.channels.append(channel)
        self._channel_routes.setdefault(channel.name, 0)
        self._plans.clear()

    @property
    def routes_by_type(self) -> Counter[str]:
        return Counter({k: n for k, n in self._type_routes.items() if n})

    @property
    def routes_by_channel(self) -> Counter[str]:
        return Counter({k: n for k, n in self._channel_routes.items() if n})

    def _plan(self, data: Any) -> _RoutePlan:
        """`identify_data_type` and the channels of that type, remembered per class."""
        plan = self._plans.get(type(data))
        if plan is None:
            data_type = identify_data_type(data)
            candidates = tuple(
                c
                for c in self.channels
                if data_type is not None and c.get_channel_type() is data_type
            )
            plan = _RoutePlan(data_type, data_type.value if data_type else "unknown", candidates)
            self._type_routes.setdefault(plan.type_name, 0)
            if not isinstance(data, dict):
                self._plans[type(data)] = plan
        return plan

    def route_data(
        self, data: Any, timeout_ms: float | None = None, forward: bool = True
    ) -> RouteOutcome:
        """Route one datum; `forward=False` runs the channel without enqueueing (parallel mode)."""
        # Runs on every tick: helpers are inlined and outcomes built as plain tuples.
        config = self.config
        if not config.enable_multi_channel:
            self.delegated += 1
            return RouteOutcome(RouteStatus.DISABLED)
        started = perf_counter()
        self.attempts += 1
        plan = self._plans.get(type(data)) or self._plan(data)
        candidates = plan.candidates
        if plan.data_type is None:
            channel = None
        elif len(candidates) == 1:
            channel = candidates[0]
            if not channel.is_healthy():
                channel = self._no_healthy_channel(candidates)
        else:
            channel = self._select_channel(candidates)
        if channel is None:
            self.failed += 1
            return RouteOutcome(RouteStatus.NO_CHANNEL)
        self._type_routes[plan.type_name] += 1
        self._channel_routes[channel.name] += 1
        result = channel.process_with_metrics(data)
        limit = config.routing_timeout_ms
        if timeout_ms is not None and timeout_ms < limit:
            limit = timeout_ms
        if config.deterministic_timing:
            decided = result.modelled_time_ms
        else:
            decided = (perf_counter() - started) * 1000.0
        forwarded = 0
        if not result.success:
            status = _FAILED
            self.failed += 1
        elif decided > limit:
            status = _TIMED_OUT
            self.timed_out += 1
        else:
            status = _ROUTED
            self.routed += 1
            if forward and result.events:
                forwarded = self._forward_to_event_system(result.events)
        total = (perf_counter() - started) * 1000.0
        # the EMAs (α = 0.1) of measured and decided routing times
        self._total_ms += total
        ema = self._ema_ms
        self._ema_ms = total if ema is None else EMA_ALPHA * total + _EMA_KEEP * ema
        ema = self._decision_ema_ms
        if ema is None:
            self._decision_ema_ms = decided
        elif decided or ema:  # 0.1·0 + 0.9·0 is 0: a replay without delays keeps it at zero
            self._decision_ema_ms = EMA_ALPHA * decided + _EMA_KEEP * ema
        return _tuple_new(RouteOutcome, (status, channel.name, result, total, forwarded))

    def _forward_to_event_system(self, events: tuple[Any, ...]) -> int:
        """Each event into the same `priority_manager.add_event()` the legacy path uses."""
        accepted = 0
        for event in events:
            if self.priority_manager is not None and self.priority_manager.add_event(event):
                accepted += 1
            else:
                self.events_rejected += 1
        self.events_forwarded += accepted
        return accepted

    def _select_channel(
        self, candidates: tuple[ProcessingChannel, ...]
    ) -> ProcessingChannel | None:
        """A healthy channel among the candidates (all of the datum's type), by the strategy."""
        if not candidates:
            return None
        healthy = [c for c in candidates if c.is_healthy()]
        if not healthy:
            return self._no_healthy_channel(candidates)
        if len(healthy) == 1:
            return healthy[0]
        strategy = self.config.routing_strategy
        if strategy is RoutingStrategy.ROUND_ROBIN or strategy is RoutingStrategy.HASH_BASED:
            self._round_robin = (self._round_robin + 1) % len(healthy)
            return healthy[self._round_robin]
        if strategy is RoutingStrategy.LOAD_BASED:
            return min(healthy, key=lambda c: c.queue_size + c.metrics.avg_processing_time_ms / 100)
        return max(healthy, key=_health_score)

    def _no_healthy_channel(
        self, candidates: tuple[ProcessingChannel, ...]
    ) -> ProcessingChannel | None:
        """None healthy: the first candidate when fallback routing is on (counted), else none."""
        if not self.config.enable_fallback_routing:
            return None
        self.fallback_routes += 1
        return candidates[0]

    def get_routing_statistics(self) -> dict[str, Any]:
        """Routing counts, error rate in percent and routing times (measured), per channel."""
        return {
            **self._core_statistics(),
            "routes_by_type": dict(sorted(self.routes_by_type.items())),
            "routes_by_channel": dict(sorted(self.routes_by_channel.items())),
            "channels": [c.health() for c in self.channels],
        }

    def _core_statistics(self) -> dict[str, Any]:
        attempts = self.attempts
        return {
            "enabled": self.config.enable_multi_channel,
            "attempts": attempts,
            "routed": self.routed,
            "failed": self.failed,
            "timed_out": self.timed_out,
            "delegated": self.delegated,
            "fallback_routes": self.fallback_routes,
            "error_rate": (self.failed + self.timed_out) / attempts * 100.0 if attempts else 0.0,
            "avg_routing_time_ms": self._ema_ms or 0.0,
            "mean_routing_time_ms": self._total_ms / attempts if attempts else 0.0,
            "decision_routing_time_ms": self._decision_ema_ms or 0.0,
            "timing_basis": "modelled" if self.config.deterministic_timing else "measured",
            "events_forwarded": self.events_forwarded,
            "events_rejected": self.events_rejected,
        }

    def get_decision_statistics(self) -> dict[str, Any]:
        """The statistics automatic decisions read: routing time on the decision basis."""
        stats = self._core_statistics()
        stats["avg_routing_time_ms"] = stats["decision_routing_time_ms"]
        return stats


def _health_score(channel: ProcessingChannel) -> float:
    """TickStock's HEALTH_BASED score: 100 − 30·error rate − latency and queue penalties."""
    avg = channel.metrics.avg_processing_time_ms
    score = 100.0 - 30.0 * channel.metrics.error_rate
    if avg > 200:
        score -= min(avg / 200.0, 20.0)
    score -= 10.0 * channel.queue_size / max(channel.max_queue_size, 1)
    return max(score, 0.0)
