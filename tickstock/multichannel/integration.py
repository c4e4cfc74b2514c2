"""MarketDataServiceIntegrator: swaps MarketDataService's tick entry point for the channel path.

`install_integration()` shadows the service's `handle_websocket_tick` with
`enhanced_handle_websocket_tick`; `uninstall_integration()` removes the shadow, so the service's
own method is back exactly (nothing of the integrator remains on the instance). Per tick:

1. channel serves (multi-channel on, tick channel on, ticker in the rollout): route through the
   router under `channel_timeout_ms`; on failure or timeout fall back to the legacy handler when
   `fallback_to_legacy` (the tick then counts in `legacy_fallbacks`);
2. parallel processing (phase 1): the legacy handler serves, the channel runs on the same tick
   without enqueueing, and both are timed for the comparison metrics;
3. otherwise the legacy handler.

`install_multichannel_integration(service)` is the seed's five steps.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from tickstock.multichannel.channels import TickChannel
from tickstock.multichannel.config import ChannelConfigurationManager, ChannelType
from tickstock.multichannel.faults import ChannelFaults
from tickstock.multichannel.flags import FeatureFlagConfig, ticker_in_rollout
from tickstock.multichannel.integration_config import (
    IntegrationConfig,
    apply_environment_overrides,
)
from tickstock.multichannel.router import DataChannelRouter, RouterConfig, RouteStatus

_HANDLER = "handle_websocket_tick"
_ROUTED = RouteStatus.ROUTED


class MarketDataServiceIntegrator:
    """Routes MarketDataService ticks through the channel system, with fallback and comparison."""

    def __init__(
        self,
        market_data_service: Any,
        channel_router: DataChannelRouter,
        config: IntegrationConfig,
        flags: FeatureFlagConfig | None = None,
        seed: int = 0,
    ) -> None:
        self.market_data_service = market_data_service
        self.channel_router = channel_router
        self.config = config
        self._flags = flags.copy() if flags is not None else FeatureFlagConfig()
        self.seed = seed
        self.installed = False
        self._original: Callable[[Any], bool] | None = None
        self._shadowed_instance_attr: Any = None
        self._rollout_cache: dict[str, bool] = {}
        #: when set, exactly these tickers are in the rollout (a selection, possibly empty)
        self.rollout_scope: frozenset[str] | None = None
        #: run after a channel route in replay (drains workers, ticks the publishers)
        self.after_channel_route: Callable[[int], None] | None = None
        self._clock: Any = None
        self._clock_set: Callable[[float], None] | None = None
        self.metrics: dict[str, Any] = {
            "total_ticks": 0,
            "channel_requests": 0,
            "channel_successes": 0,
            "channel_failures": 0,
            "channel_timeouts": 0,
            "router_disabled": 0,
            "legacy_fallbacks": 0,
            "legacy_requests": 0,
            "parallel_comparisons": 0,
            "channel_wins": 0,
            "comparison_channel_successes": 0,
            "legacy_time_ms_total": 0.0,
            "channel_time_ms_total": 0.0,
            "improvement_ms_total": 0.0,
        }

    # --- installation -------------------------------------------------------------------------
    def install_integration(self) -> bool:
        """Replace the service's `handle_websocket_tick` with the enhanced handler."""
        if self.installed:
            return False
        service = self.market_data_service
        self._shadowed_instance_attr = (
            vars(service).get(_HANDLER) if hasattr(service, "__dict__") else None
        )
        self._original = getattr(service, _HANDLER)
        setattr(service, _HANDLER, self.enhanced_handle_websocket_tick)
        self._sync_channel_switches()
        self.installed = True
        return True

    def uninstall_integration(self) -> bool:
        """Restore the original handler exactly."""
        if not self.installed:
            return False
        service = self.market_data_service
        if self._shadowed_instance_attr is not None:
            setattr(service, _HANDLER, self._shadowed_instance_attr)
        else:
            delattr(service, _HANDLER)
        self.installed = False
        return True

    def _sync_channel_switches(self) -> None:
        highlow = bool(self.config.tick_channel.highlow_detection.get("enabled", True))
        for channel in self.channel_router.channels:
            if isinstance(channel, TickChannel):
                channel.config.highlow_detection["enabled"] = highlow

    # --- flags --------------------------------------------------------------------------------
    @property
    def flags(self) -> FeatureFlagConfig:
        return self._flags

    def apply_feature_flags(self, flags: FeatureFlagConfig) -> None:
        """Turn a flag set into routing settings (see docs/known-divergences.md for the mapping)."""
        self._flags = flags.copy()
        self.config.enable_multi_channel = (
            flags.multichannel_system_enabled and flags.tick_channel_enabled
        )
        self.config.enable_parallel_processing = flags.parallel_processing_enabled
        self.config.enable_performance_comparison = flags.performance_comparison_enabled
        self.channel_router.config.enable_multi_channel = (
            flags.multichannel_system_enabled or flags.parallel_processing_enabled
        )
        self._rollout_cache.clear()
        if flags.integration_layer_enabled and not self.installed:
            self.install_integration()
        elif not flags.integration_layer_enabled and self.installed:
            self.uninstall_integration()

    def in_rollout(self, ticker: str) -> bool:
        if self.rollout_scope is not None:
            return ticker in self.rollout_scope
        cached = self._rollout_cache.get(ticker)
        if cached is None:
            cached = self._rollout_cache[ticker] = ticker_in_rollout(self._flags, ticker, self.seed)
        return cached

    # --- the entry point ----------------------------------------------------------------------
    def enhanced_handle_websocket_tick(self, tick_data: Any) -> bool:
        """Route one tick: channel (with fallback), parallel comparison, or legacy."""
        self.metrics["total_ticks"] += 1
        if self.channel_serves(tick_data.ticker):
            return self.process_via_channel(tick_data)
        if self.config.enable_parallel_processing and self.config.tick_channel.enabled:
            return self._process_parallel(tick_data)
        return self._legacy(tick_data)

    def channel_serves(self, ticker: str) -> bool:
        return (
            self.config.enable_multi_channel
            and self.config.tick_channel.enabled
            and self.in_rollout(ticker)
        )

    def channel_serves_all(self) -> bool:
        """Multi-channel and the tick channel are on (ignoring the rollout scope)."""
        return self.config.enable_multi_channel and self.config.tick_channel.enabled

    def process_via_channel(self, tick_data: Any) -> bool:
        """The channel path for one tick, falling back to legacy on failure or timeout."""
        m = self.metrics
        m["channel_requests"] += 1
        # `_advance_clock`, inlined (runs on every tick)
        try:
            clock = self.market_data_service.clock
        except AttributeError:
            clock = None
        if clock is not self._clock:
            self._resolve_clock(clock)
        if self._clock_set is not None:
            ts = tick_data.timestamp
            self._clock_set(ts if type(ts) is float else float(ts))
        outcome = self.channel_router.route_data(tick_data, self.config.channel_timeout_ms)
        if outcome.status is _ROUTED:
            m["channel_successes"] += 1
            if self.after_channel_route is not None:
                self.after_channel_route(outcome.events_forwarded)
            return True
        m["channel_failures"] += 1
        if outcome.status is RouteStatus.TIMED_OUT:
            m["channel_timeouts"] += 1
        elif outcome.status is RouteStatus.DISABLED:
            m["router_disabled"] += 1
        if self.config.fallback_to_legacy:
            m["legacy_fallbacks"] += 1
            return self._call_original(tick_data)
        return False

    def _process_parallel(self, tick_data: Any) -> bool:
        """Phase 1: legacy serves; the channel runs on the same tick for comparison only."""
        m = self.metrics
        started = time.perf_counter()
        served = self._call_original(tick_data)
        legacy_ms = (time.perf_counter() - started) * 1000.0
        m["legacy_requests"] += 1
        m["channel_requests"] += 1
        self._advance_clock(tick_data)
        outcome = self.channel_router.route_data(
            tick_data, timeout_ms=self.config.channel_timeout_ms, forward=False
        )
        if outcome.ok:
            m["channel_successes"] += 1
        else:
            m["channel_failures"] += 1
            if outcome.status is RouteStatus.TIMED_OUT:
                m["channel_timeouts"] += 1
        if self.config.enable_performance_comparison and outcome.status is not RouteStatus.DISABLED:
            channel_ms = outcome.routing_time_ms
            m["parallel_comparisons"] += 1
            m["legacy_time_ms_total"] += legacy_ms
            m["channel_time_ms_total"] += channel_ms
            m["improvement_ms_total"] += legacy_ms - channel_ms
            if outcome.ok:
                m["comparison_channel_successes"] += 1
                if channel_ms < legacy_ms:
                    m["channel_wins"] += 1
        return served

    def _legacy(self, tick_data: Any) -> bool:
        self.metrics["legacy_requests"] += 1
        return self._call_original(tick_data)

    def _call_original(self, tick_data: Any) -> bool:
        handler = self._original or getattr(self.market_data_service, _HANDLER)
        return bool(handler(tick_data))

    def _advance_clock(self, tick_data: Any) -> None:
        clock = getattr(self.market_data_service, "clock", None)
        if clock is not self._clock:
            self._resolve_clock(clock)
        if self._clock_set is not None:
            self._clock_set(float(tick_data.timestamp))

    def _resolve_clock(self, clock: Any) -> None:
        """The service's clock changed (or is first seen): look its setter up once."""
        self._clock = clock
        self._clock_set = getattr(clock, "set", None) if clock is not None else None

    # --- metrics ------------------------------------------------------------------------------
    def get_integration_metrics(self) -> dict[str, Any]:
        m = self.metrics
        requests = m["channel_requests"]
        comparisons = m["parallel_comparisons"]
        return {
            **m,
            "integration_enabled": self.installed and self.config.enable_multi_channel,
            "integration_installed": self.installed,
            "success_rate_percent": m["channel_successes"] / requests * 100.0 if requests else 0.0,
            "fallback_rate_percent": m["legacy_fallbacks"] / requests * 100.0 if requests else 0.0,
            "avg_performance_improvement_ms": (
                m["improvement_ms_total"] / comparisons if comparisons else 0.0
            ),
        }

    def get_comparison_analysis(self) -> dict[str, Any]:
        """Channel vs legacy on the parallel comparisons (rates in percent)."""
        m = self.metrics
        n = m["parallel_comparisons"]
        requests = m["channel_requests"]
        if n:
            success = m["comparison_channel_successes"] / n * 100.0
        else:
            success = m["channel_successes"] / requests * 100.0 if requests else 0.0
        return {
            "comparisons": n,
            "channel_success_rate": success,
            "channel_win_rate": m["channel_wins"] / n * 100.0 if n else 0.0,
            "avg_time_improvement_ms": m["improvement_ms_total"] / n if n else 0.0,
            "avg_legacy_time_ms": m["legacy_time_ms_total"] / n if n else 0.0,
            "avg_channel_time_ms": m["channel_time_ms_total"] / n if n else 0.0,
        }


def install_multichannel_integration(
    market_data_service: Any,
    *,
    environ: Mapping[str, str] | None = None,
    faults: ChannelFaults | None = None,
    config_dir: str | None = None,
    deterministic_timing: bool = True,
    seed: int = 0,
) -> MarketDataServiceIntegrator:
    """Install multi-channel integration into an existing MarketDataService."""
    clock = getattr(market_data_service, "clock", None)

    # Step 1: Create channel system components
    config_manager = ChannelConfigurationManager(
        getattr(market_data_service, "config", None), config_dir=config_dir
    )
    tick_config = config_manager.load_configuration("default_tick", ChannelType.TICK)
    tick_channel = TickChannel("tick_channel_1", tick_config, clock=clock, faults=faults)

    # Step 2: Create and configure router
    router_config = RouterConfig(
        enable_multi_channel=False, deterministic_timing=deterministic_timing
    )  # Disabled by default
    channel_router = DataChannelRouter(
        router_config, priority_manager=getattr(market_data_service, "priority_manager", None)
    )
    channel_router.register_channel(tick_channel)

    # Step 3: Create integration layer
    integration_config = IntegrationConfig(
        enable_multi_channel=False,  # Feature flag disabled
        fallback_to_legacy=True,
        channel_timeout_ms=100.0,
    )
    apply_environment_overrides(integration_config, environ)
    integrator = MarketDataServiceIntegrator(
        market_data_service, channel_router, integration_config, seed=seed
    )

    # Step 4: Install integration (replaces handle_websocket_tick method)
    integrator.install_integration()

    # Step 5: Store references for management
    market_data_service.channel_router = channel_router
    market_data_service.integrator = integrator
    if hasattr(market_data_service, "worker_pool") and not getattr(
        market_data_service, "live", True
    ):
        integrator.after_channel_route = ReplayPump(market_data_service)
    return integrator


#: How far before the publishers' next due time the pump starts asking them. Their own test is
#: `now - last >= interval`; comparing `now` with `last + interval` instead can differ by rounding
#: (~1e-7 s at epoch magnitudes), so the pump asks from 1 ms early and leaves the decision to them.
_DUE_MARGIN_SECONDS = 1e-3


class ReplayPump:
    """Replay: what the service does after detection — drain workers, tick the publishers.

    Live, the worker and publisher threads pick the channel's events up by themselves.
    `on_tick` is a no-op until a publisher's interval has passed, so the pump skips the calls
    while the clock (which never moves backwards) is clearly before both publishers' next due
    time; a cycle run elsewhere (the legacy path) only moves that time later.
    """

    __slots__ = ("service", "_quiet_until")

    def __init__(self, service: Any) -> None:
        self.service = service
        self._quiet_until = float("-inf")

    def __call__(self, queued: int) -> None:
        service = self.service
        if queued:
            service.worker_pool.drain()
        now = service.clock.now()
        if now < self._quiet_until:
            return
        data_publisher, websocket_publisher = service.data_publisher, service.websocket_publisher
        data_publisher.on_tick(now)
        websocket_publisher.on_tick(now)
        next_due = min(data_publisher.next_due, websocket_publisher.next_due)
        self._quiet_until = next_due - _DUE_MARGIN_SECONDS


def pump_replay_pipeline(service: Any, queued: int) -> None:
    """Replay: drain workers and tick the publishers once (`ReplayPump` without its memory)."""
    if queued:
        service.worker_pool.drain()
    now = service.clock.now()
    service.data_publisher.on_tick(now)
    service.websocket_publisher.on_tick(now)
