"""Processing channels: the `ProcessingChannel` base (metrics, health, circuit breaker) and `TickChannel`.

`TickChannel` runs the same three detector algorithms as the legacy path (`EventDetector`:
HighLow → Trend → Surge) with its own detector instances and its own per-ticker `StockData`
cache, configured by the merged channel configuration (config.py). Like TickStock's channel it
refreshes the cached StockData *before* detection (configurable) and hands the detectors an
adapted tick (`vwap = vwap or price`; tick volume and trade size = volume). Every time read goes
through the injected clock, so the circuit breaker and cache eviction run on tick time in replay.
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from collections.abc import Mapping
from enum import Enum
from time import perf_counter
from types import MappingProxyType
from typing import Any, NamedTuple

from tickstock.clock import Clock, TickClock
from tickstock.legacy.stock_data import StockData
from tickstock.multichannel.config import ChannelType, TickChannelConfig
from tickstock.multichannel.faults import ChannelFaults

MAX_ERROR_RATE = 0.10
MAX_AVG_PROCESSING_MS = 5000.0
MAX_QUEUE_UTILISATION = 0.90
CACHE_IDLE_SECONDS = 3600.0
CACHE_SWEEP_SECONDS = 300.0
_SECTIONS_DETECT = (
    ("highlow_detection", "highlow_detector", "detect_highlow"),
    ("trend_detection", "trend_detector", "detect_trend"),
    ("surge_detection", "surge_detector", "detect_surge"),
)
_SECTIONS = tuple(s for s, _, _ in _SECTIONS_DETECT)
_NUMBER = (int, float)
_tuple_new = tuple.__new__  # builds a NamedTuple from its fields without its keyword handling


class ChannelStatus(Enum):
    INITIALIZING = "initializing"
    ACTIVE = "active"
    PAUSED = "paused"
    ERROR = "error"
    STOPPED = "stopped"


# module constants: an Enum member read off its class costs ~10× a global
_ACTIVE = ChannelStatus.ACTIVE
_PAUSED = ChannelStatus.PAUSED

#: The metadata of a result that has none (read-only, so the shared default cannot drift).
NO_METADATA: Mapping[str, Any] = MappingProxyType({})


class ProcessingResult(NamedTuple):
    """One channel call: its events, errors, measured time and the modelled time decisions use.

    An immutable NamedTuple rather than a frozen dataclass: two are built per tick on the channel
    path, and a frozen dataclass's `object.__setattr__` per field costs ~10× a tuple.
    """

    success: bool
    events: tuple[Any, ...] = ()
    errors: tuple[str, ...] = ()
    processing_time_ms: float = 0.0
    modelled_time_ms: float = 0.0
    metadata: Mapping[str, Any] = NO_METADATA


#: What `TickChannel.process_data` returns for a tick without events (most ticks): one shared,
#: immutable value equal to the tuple it would otherwise build per tick.
NO_EVENTS = ProcessingResult(True)


class ChannelMetrics:
    """Running counters of one channel."""

    __slots__ = (
        "processed_count",
        "error_count",
        "events_generated",
        "total_processing_time_ms",
        "last_processing_time_ms",
        "consecutive_errors",
        "circuit_opened",
    )

    def __init__(self) -> None:
        self.processed_count = 0
        self.error_count = 0
        self.events_generated = 0
        self.total_processing_time_ms = 0.0
        self.last_processing_time_ms = 0.0
        self.consecutive_errors = 0
        self.circuit_opened = 0

    @property
    def avg_processing_time_ms(self) -> float:
        calls = self.processed_count + self.error_count
        return self.total_processing_time_ms / calls if calls else 0.0

    @property
    def error_rate(self) -> float:
        """Fraction (0–1) of calls that failed."""
        calls = self.processed_count + self.error_count
        return self.error_count / calls if calls else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "processed_count": self.processed_count,
            "error_count": self.error_count,
            "events_generated": self.events_generated,
            "avg_processing_time_ms": self.avg_processing_time_ms,
            "error_rate": self.error_rate,
            "circuit_opened": self.circuit_opened,
        }


class ProcessingChannel(ABC):
    """Base channel: metrics, health rule and a circuit breaker around `process_data`."""

    def __init__(
        self,
        name: str,
        config: Any,
        clock: Clock | None = None,
        faults: ChannelFaults | None = None,
    ) -> None:
        self.name = name
        self.config = config
        self.clock: Clock = clock if clock is not None else TickClock()
        self.faults = faults
        self.metrics = ChannelMetrics()
        self.status = ChannelStatus.INITIALIZING
        processing = getattr(config, "processing", {}) or {}
        self.circuit_breaker_threshold = int(processing.get("circuit_breaker_threshold", 5))
        self.circuit_breaker_timeout = float(
            processing.get("circuit_breaker_timeout_seconds", 60.0)
        )
        self.max_queue_size = int(processing.get("max_queue_size", 1000))
        self.priority = int(processing.get("priority", 1))
        self._circuit_open_until: float | None = None
        self.queue_size = 0  # IMMEDIATE batching: nothing ever waits in the queue

    @abstractmethod
    def get_channel_type(self) -> ChannelType: ...

    @abstractmethod
    def validate_data(self, data: Any) -> bool: ...

    @abstractmethod
    def process_data(self, data: Any) -> ProcessingResult: ...

    def initialize(self) -> bool:
        self.status = ChannelStatus.ACTIVE
        return True

    def shutdown(self) -> None:
        self.status = ChannelStatus.STOPPED

    @property
    def circuit_open(self) -> bool:
        if self._circuit_open_until is None:
            return False
        if self.clock.now() >= self._circuit_open_until:
            self._circuit_open_until = None
            self.metrics.consecutive_errors = 0
            return False
        return True

    def is_healthy(self) -> bool:
        """ACTIVE/PAUSED, circuit closed, error rate ≤ 10 %, avg ≤ 5000 ms, queue ≤ 90 %."""
        # the router asks this on every datum: the same tests, in the same order (reading the
        # circuit may close it), without the property calls
        status = self.status
        if status is not _ACTIVE and status is not _PAUSED:
            return False
        if self._circuit_open_until is not None and self.circuit_open:
            return False
        m = self.metrics
        errors = m.error_count
        calls = m.processed_count + errors
        if calls and not (
            (not errors or errors / calls <= MAX_ERROR_RATE)
            and m.total_processing_time_ms / calls <= MAX_AVG_PROCESSING_MS
        ):
            return False
        queued = self.queue_size  # 0 (IMMEDIATE batching) is always within the limit
        return not queued or queued / max(self.max_queue_size, 1) <= MAX_QUEUE_UTILISATION

    def process_with_metrics(self, data: Any) -> ProcessingResult:
        """Run `process_data` behind the circuit breaker and fault injector, recording metrics."""
        # runs on every tick: the result is built as a plain tuple, the metrics updated inline
        if self._circuit_open_until is not None and self.circuit_open:
            return ProcessingResult(False, errors=(f"{self.name}: circuit open",))
        started = perf_counter()
        modelled = 0.0
        faults = self.faults
        try:
            if faults is not None and faults.active:
                modelled = faults.apply(getattr(data, "ticker", ""))
            if not self.validate_data(data):
                raise ValueError(f"{self.name}: invalid data {type(data).__name__}")
            success, events, errors, _, _, metadata = self.process_data(data)
        except Exception as exc:  # a failing channel is data for the router, not a crash
            success, events, errors = False, (), (f"{type(exc).__name__}: {exc}",)
            metadata = NO_METADATA
        elapsed = (perf_counter() - started) * 1000.0
        m = self.metrics
        m.total_processing_time_ms += elapsed
        m.last_processing_time_ms = elapsed
        if success:
            m.processed_count += 1
            if events:  # most ticks have none
                m.events_generated += len(events)
            m.consecutive_errors = 0
        else:
            self._record_failure()
        return _tuple_new(ProcessingResult, (success, events, errors, elapsed, modelled, metadata))

    def _record_failure(self) -> None:
        """Count a failed call; enough in a row open the circuit for the timeout (tick time)."""
        m = self.metrics
        m.error_count += 1
        m.consecutive_errors += 1
        if m.consecutive_errors >= self.circuit_breaker_threshold:
            self._circuit_open_until = self.clock.now() + self.circuit_breaker_timeout
            m.circuit_opened += 1

    def health(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status.value,
            "healthy": self.is_healthy(),
            "circuit_open": self.circuit_open,
            **self.metrics.as_dict(),
        }


class TickChannel(ProcessingChannel):
    """The TICK channel: per-ticker StockData cache + HighLow → Trend → Surge detectors."""

    def __init__(
        self,
        name: str,
        config: TickChannelConfig,
        clock: Clock | None = None,
        faults: ChannelFaults | None = None,
    ) -> None:
        super().__init__(name, config, clock, faults)
        from tickstock.legacy.detectors.event_detector import EventDetector

        self.detector_config = config.detector_config()
        self._detector = EventDetector(self.detector_config, self.clock)
        self._stock_data_cache: dict[str, Any] = {}
        self._last_seen: dict[str, float] = {}
        self._last_sweep: float | None = None
        self.initialize()

    def get_channel_type(self) -> ChannelType:
        return ChannelType.TICK

    def validate_data(self, data: Any) -> bool:
        try:
            ticker, price, ts = data.ticker, data.price, data.timestamp
        except AttributeError:  # a missing field reads as None, as getattr(data, name, None)
            ticker = getattr(data, "ticker", None)
            price = getattr(data, "price", None)
            ts = getattr(data, "timestamp", None)
        # `bool(ticker) and isinstance(price, _NUMBER) and price > 0 and bool(ts)`, same order
        if not ticker or not isinstance(price, _NUMBER) or not price > 0:
            return False
        return bool(ts)

    def process_data(self, data: Any) -> ProcessingResult:
        # runs on every tick: the cache lookup and the before-detection refresh are inlined
        tick = self._adapt(data)
        now = self.clock.now()
        ticker = tick.ticker
        last_sweep = self._last_sweep
        if last_sweep is None:
            self._last_sweep = now
        elif now - last_sweep >= CACHE_SWEEP_SECONDS:
            self._sweep(now)
        self._last_seen[ticker] = now
        stock_data = self._stock_data_cache.get(ticker)
        if stock_data is None:
            stock_data = self._stock_data_cache[ticker] = StockData(ticker=ticker)
        if self.config.stock_data_refresh == "before_detection":
            stock_data.last_price = tick.price
            stock_data.volume = tick.volume
            stock_data.market_status = tick.market_status
            stock_data.last_update = tick.timestamp
            events = self._detect_events(tick, stock_data)
        else:
            events = self._detect_events(tick, stock_data)
            self._refresh(stock_data, tick)
        if not events:
            return NO_EVENTS
        return _tuple_new(ProcessingResult, (True, tuple(events), (), 0.0, 0.0, NO_METADATA))

    def _detect_events(self, tick: Any, stock_data: Any) -> list[Any]:
        """All detectors on: the legacy EventDetector itself; otherwise only the enabled ones."""
        config = self.config
        detector = self._detector
        # `detector_enabled` of each section, read straight from the (mutable) section dicts
        if (
            config.highlow_detection.get("enabled", True)
            and config.trend_detection.get("enabled", True)
            and config.surge_detection.get("enabled", True)
        ):
            return detector.detect_events(tick, stock_data)  # a new list per call
        events: list[Any] = []
        for section, attr, method in _SECTIONS_DETECT:
            if not config.detector_enabled(section):
                continue
            try:
                found = getattr(getattr(detector, attr), method)(tick, stock_data)
            except Exception as exc:  # as EventDetector: a failing detector loses its own events
                detector.stats["detection_errors"] += 1
                detector.last_error = f"{attr} {tick.ticker}: {type(exc).__name__}: {exc}"
                continue
            events.extend(found or ())
        return events

    @staticmethod
    def _adapt(tick: Any) -> Any:
        """TickStock's channel adapter: vwap falls back to price; volumes all = tick volume.

        A copy, so the caller's tick (which legacy may still process) keeps its own values: the
        class's `__copy__` (TickData's is field by field), called as `copy.copy` would call it
        without its dispatch steps, else `copy.copy`.
        """
        copier = getattr(type(tick), "__copy__", None)
        adapted = copier(tick) if copier is not None else copy.copy(tick)
        volume = tick.volume or 0
        adapted.vwap = tick.vwap or tick.price
        adapted.tick_volume = volume
        adapted.tick_trade_size = volume
        return adapted

    def _sweep(self, now: float) -> None:
        """Every 5 min of tick time: drop the StockData of tickers idle for over an hour."""
        self._last_sweep = now
        for stale in [t for t, seen in self._last_seen.items() if now - seen > CACHE_IDLE_SECONDS]:
            del self._stock_data_cache[stale]
            del self._last_seen[stale]

    @staticmethod
    def _refresh(stock_data: Any, tick: Any) -> None:
        stock_data.last_price = tick.price
        stock_data.volume = tick.volume
        stock_data.market_status = tick.market_status
        stock_data.last_update = tick.timestamp

    @property
    def cached_tickers(self) -> list[str]:
        return sorted(self._stock_data_cache)
