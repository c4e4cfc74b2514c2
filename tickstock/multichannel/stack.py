"""MultichannelStack: the legacy MarketDataService with the seed's integration installed and
configured for a rollout phase, behind the Stack protocol (design.md §4).

What `process()` shows per phase:
  phase_0  integration installed, every flag off → the legacy handler serves (must equal legacy);
  phase_1  observe="channel" (default): every tick goes through the channel path (the harness's
           own primary stack is the parallel legacy run, so the candidate is timed on the channel
           alone); observe="served": production exactly — legacy served, the channel in parallel,
           the integrator's own comparison metrics in stats();
  phase_2–4 the channel serves the rollout tickers (1 % / 10 % / 100 %, SmartTickerRollout),
           legacy the rest; the phase's cumulative flags keep parallel processing on for the
           others (override with `flags`).
Monitoring (10 s), automatic fallback (30 s) and analytics sync (10 s) run on tick time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tickstock.legacy.config import ConfigError
from tickstock.legacy.stack import LegacyStack
from tickstock.legacy.tick import InvalidTickError
from tickstock.multichannel.analytics import ChannelAnalyticsIntegrator, MarketAnalyticsManager
from tickstock.multichannel.dashboard import PerformanceComparisonDashboard
from tickstock.multichannel.errors import MultichannelError
from tickstock.multichannel.fallback import AutomaticFallbackManager, FallbackIncident
from tickstock.multichannel.faults import ChannelFaults
from tickstock.multichannel.integration import install_multichannel_integration
from tickstock.multichannel.integration_config import apply_environment_overrides
from tickstock.multichannel.monitoring import MultiChannelMonitoringIntegrator, SystemMonitor
from tickstock.multichannel.rollout import PHASES, check_phase, flags_for_phase
from tickstock.multichannel.ticker_rollout import ObservedTickerStats, SmartTickerRollout

#: How early (tick-time seconds) `_after_tick` starts asking the monitors before they are due.
_DUE_MARGIN_SECONDS = 1e-3
#: Fields that differ between stacks without meaning a behaviour change (see legacy's list).
MULTICHANNEL_IGNORABLE_FIELDS = ("event_id", "surge_age")
_LEGACY_KEYS = frozenset({"mode", "tickstock", "config_file", "environment", "universes", "users"})
_OWN_KEYS = frozenset(
    {
        "phase",
        "observe",
        "seed",
        "flags",
        "rollout_percentage",
        "rollout_tickers",
        "tickers",
        "ticker_stats",
        "rollout_min_tickers",
        "rollout_warmup_seconds",
        "channel_error_rate",
        "channel_delay_ms",
        "env",
        "deterministic_timing",
        "automatic_fallback",
        "analytics_db",
        "analytics_backend",
    }
)


class MultichannelStack(LegacyStack):
    """MarketDataService + MarketDataServiceIntegrator for one rollout phase."""

    name = "multichannel"

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        config = dict(config or {})
        unknown = set(config) - _LEGACY_KEYS - _OWN_KEYS
        if unknown:
            raise ConfigError(f"multichannel stack: unknown config keys {sorted(unknown)}")
        try:
            self.phase = check_phase(config.get("phase", "phase_0_installation"))
        except MultichannelError as exc:
            raise ConfigError(f"multichannel stack: {exc}") from None
        self.observe = config.get("observe", "channel")
        if self.observe not in ("channel", "served"):
            raise ConfigError("multichannel stack: observe must be 'channel' or 'served'")
        self.seed = _int(config, "seed", 0)
        self.env = {str(k): str(v) for k, v in dict(config.get("env") or {}).items()}
        super().__init__({k: v for k, v in config.items() if k in _LEGACY_KEYS})
        try:
            self.faults = ChannelFaults(
                error_rate=float(config.get("channel_error_rate", 0.0)),
                delay_ms=float(config.get("channel_delay_ms", 0.0)),
                seed=self.seed,
            )
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"multichannel stack: {exc}") from None
        live = self.mode == "live"
        try:
            self.integrator = install_multichannel_integration(
                self.service,
                environ=self.env,
                faults=self.faults,
                deterministic_timing=bool(config.get("deterministic_timing", not live)),
                seed=self.seed,
            )
        except MultichannelError as exc:
            raise ConfigError(f"multichannel stack: {exc}") from None
        self.router = self.integrator.channel_router
        self.monitor = SystemMonitor(check_interval_seconds=10.0)
        MultiChannelMonitoringIntegrator(self.monitor).integrate_channel_metrics(self.router)
        self.fallback = AutomaticFallbackManager(
            self.integrator, self.service.clock, alert=self._fallback_alert
        )
        self.automatic_fallback = bool(config.get("automatic_fallback", True))
        self.analytics = ChannelAnalyticsIntegrator(
            MarketAnalyticsManager(
                config.get("analytics_db") or ":memory:",
                backend=config.get("analytics_backend", "sqlite"),
            )
        )
        self.dashboard = PerformanceComparisonDashboard()
        self._seen: set[str] = set()
        self._idle_at = 0  # router attempts at the last analytics sync (0: nothing routed yet)
        self._quiet_until = float("-inf")  # tick time before which no monitor is due
        self._configure_flags(config)

    # --- configuration ------------------------------------------------------------------------
    def _configure_flags(self, config: Mapping[str, Any]) -> None:
        flags = flags_for_phase(self.phase)
        try:
            if "rollout_percentage" in config:
                flags.apply({"rollout_percentage": config["rollout_percentage"]})
            flags.apply(dict(config.get("flags") or {}))
            if config.get("rollout_tickers") is not None:
                flags.apply({"rollout_tickers": list(config["rollout_tickers"])})
        except MultichannelError as exc:
            raise ConfigError(f"multichannel stack: {exc}") from None
        self.flags = flags
        self.channel_only = self.phase == "phase_1_parallel_testing" and self.observe == "channel"
        self.integrator.apply_feature_flags(flags)
        pct = 100 if self.channel_only else flags.rollout_percentage
        if self.channel_only:
            # the harness is the parallel run: every tick takes the channel path (until a fallback)
            self.integrator.config.enable_multi_channel = True
        # operators' environment switches win over the phase's flags (a kill switch stays off)
        apply_environment_overrides(self.integrator.config, self.env)
        self.rollout_method = "all" if pct >= 100 else "none" if pct <= 0 else "pending"
        self.rollout_selected_at: float | None = None
        self.observed: ObservedTickerStats | None = None
        self.warmup_seconds = float(config.get("rollout_warmup_seconds", 300.0))
        self._first_ts: float | None = None
        self.selector: SmartTickerRollout | None = None
        min_count = _int(config, "rollout_min_tickers", 1)
        # an explicit list, even an empty one (a sharded replay pins "nobody" too), is final
        if flags.rollout_tickers or config.get("rollout_tickers") is not None:
            self.rollout_method = "explicit"
            self.integrator.rollout_scope = frozenset(flags.rollout_tickers)
        elif self.rollout_method == "pending":
            stats = config.get("ticker_stats")
            tickers = config.get("tickers")
            if stats or tickers:
                try:
                    self.selector = SmartTickerRollout(
                        self.service,
                        ticker_stats=stats,
                        tickers=tickers,
                        seed=self.seed,
                        min_count=min_count,
                    )
                except (TypeError, ValueError, AttributeError) as exc:
                    raise ConfigError(f"multichannel stack: {exc}") from None
                self._select("ticker_stats" if stats else "tickers", None)
            else:
                self.observed = ObservedTickerStats()
                self.selector = SmartTickerRollout(
                    self.service, observed=self.observed, seed=self.seed, min_count=min_count
                )
                self.integrator.rollout_scope = frozenset()  # nobody until the warm-up ends

    def _select(self, method: str, now: float | None) -> None:
        assert self.selector is not None
        chosen = self.selector.select_rollout_tickers(self.flags.rollout_percentage)
        self.integrator.rollout_scope = frozenset(chosen)
        self.rollout_method = method
        self.rollout_selected_at = now

    def _fallback_alert(self, incident: FallbackIncident) -> None:
        self.monitor.record(
            "emergency_fallback",
            "critical",
            "; ".join(incident.reasons),
            incident.error_rate,
            incident.tick_time,
            "Multi-channel system disabled by the automatic fallback",
        )

    # --- Stack protocol -----------------------------------------------------------------------
    def process(self, tick: Any) -> list[dict[str, Any]]:
        seq = tick.seq
        try:
            td = self._adapter(tick)  # the stack's own TickAdapter (as legacy's process)
        except InvalidTickError as exc:
            self.service.ticks_received += 1
            self.service.invalid[exc.reason] += 1
            return []
        if self.mode == "live":
            self._last_seq_by_ticker[td.ticker] = seq
        integrator = self.integrator
        config = integrator.config
        # phase 1 observing the channel, while `integrator.channel_serves_all()` (inlined)
        if self.channel_only and config.enable_multi_channel and config.tick_channel.enabled:
            integrator.process_via_channel(td)
        else:
            self.service.handle_websocket_tick(td)
        out = self._take(None if self.mode == "live" else seq) if self._tap else []
        self._after_tick(td, out)
        return out

    def _after_tick(self, td: Any, events: list[dict[str, Any]]) -> None:
        now = td.timestamp
        if type(now) is not float:
            now = float(now)
        self._seen.add(td.ticker)
        if self.observed is not None and self.rollout_method == "pending":
            self.observed.observe_tick(td.ticker, td.price, td.volume, now, td.accumulated_volume)
            if events:
                self.observed.observe_events(td.ticker, len(events))
            if self._first_ts is None:
                self._first_ts = now
            elif now - self._first_ts >= self.warmup_seconds:
                self._select("observed", now)
        attempts = self.router.attempts
        if attempts == self._idle_at:
            return  # the router did nothing since the last check: monitors would see the same
        if now < self._quiet_until:
            return  # none of the three below is due yet: each would return without a change
        monitor, fallback, analytics = self.monitor, self.fallback, self.analytics
        monitor.maybe_evaluate(now)
        if self.automatic_fallback:
            fallback.poll(now)
        if analytics.on_tick(now, self.router.channels):
            self._idle_at = attempts
        # each tests `now - last < interval`; the margin keeps rounding on their side
        # (the fallback's time counts even when switched off, in case it is switched on later)
        next_due = min(monitor.next_due, fallback.next_due, analytics.analytics_manager.next_due)
        self._quiet_until = next_due - _DUE_MARGIN_SECONDS

    def stats(self) -> dict[str, Any]:
        legacy = super().stats()
        scope = self.integrator.rollout_scope
        tiers = self.selector.risk_tiers() if self.selector is not None else {}
        routing = self.router.get_routing_statistics()
        return {
            "phase": self.phase,
            "observe": self.observe,
            "seed": self.seed,
            "mode": self.mode,
            "integration_metrics": self.integrator.get_integration_metrics(),
            "comparison_analysis": self.integrator.get_comparison_analysis(),
            "routing_statistics": routing,
            "alerts": [a.as_dict() for a in self.monitor.alerts],
            "fallback_incidents": [i.as_dict() for i in self.fallback.incidents],
            # at 100 % (or phase 1 observing the channel) every ticker seen is in the rollout
            "rollout_tickers": sorted(scope if scope is not None else self._seen)
            if self.rollout_method != "none"
            else [],
            "rollout": {
                "percentage": self.flags.rollout_percentage,
                "method": self.rollout_method,
                "selected_at": self.rollout_selected_at,
                "all_tickers": self.rollout_method == "all",
                "risk_tiers": {t: tiers[t] for t in sorted(tiers)},
            },
            "dashboard": self.dashboard.generate_comparison_report(self.integrator),
            "feature_flags": self.integrator.flags.as_dict(),
            "integration_config": self.integrator.config.as_dict(),
            "channel_config": self.router.channels[0].config.as_dict(),
            "fault_injection": {
                "error_rate": self.faults.error_rate,
                "delay_ms": self.faults.delay_ms,
                "injected_errors": self.faults.injected_errors,
            },
            "analytics": {
                "syncs": self.analytics.analytics_manager.syncs,
                "rows_written": self.analytics.analytics_manager.rows_written,
            },
            "legacy_service": legacy,
            "ignorable_fields": list(MULTICHANNEL_IGNORABLE_FIELDS),
            "phases": list(PHASES),
        }

    def close(self) -> None:
        self.analytics.analytics_manager.close()
        super().close()


def _int(config: Mapping[str, Any], key: str, default: int) -> int:
    value = config.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"multichannel stack: {key} must be an integer, got {value!r}")
    return value
