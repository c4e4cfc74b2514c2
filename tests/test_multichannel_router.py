"""Router statistics, timeouts on the decision basis, and the integrator's install/route/fallback."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tickstock.clock import TickClock
from tickstock.multichannel.channels import ProcessingChannel, ProcessingResult
from tickstock.multichannel.config import ChannelType
from tickstock.multichannel.faults import ChannelFaults
from tickstock.multichannel.flags import FeatureFlagConfig
from tickstock.multichannel.integration import MarketDataServiceIntegrator
from tickstock.multichannel.integration_config import IntegrationConfig
from tickstock.multichannel.router import (
    DataChannelRouter,
    RouterConfig,
    RouteStatus,
    identify_data_type,
)


class TickData(SimpleNamespace):
    """Stands in for TickStock's TickData (the router identifies ticks by class name)."""


def tick(ticker="AAA", price=10.0, ts=1000.0):
    return TickData(ticker=ticker, price=price, timestamp=ts, volume=100)


class EchoChannel(ProcessingChannel):
    """Emits one marker event per tick."""

    def get_channel_type(self):
        return ChannelType.TICK

    def validate_data(self, data):
        return data.price > 0

    def process_data(self, data):
        return ProcessingResult(True, (("event", data.ticker, data.timestamp),))


class PriorityManager:
    def __init__(self, accept=True):
        self.events = []
        self.accept = accept

    def add_event(self, event):
        self.events.append(event)
        return self.accept


def router(faults=None, accept=True, **cfg):
    r = DataChannelRouter(RouterConfig(enable_multi_channel=True, **cfg), PriorityManager(accept))
    r.register_channel(EchoChannel("echo", SimpleNamespace(processing={}), TickClock(), faults))
    return r


def test_data_types_are_identified_like_tickstocks_identifier():
    assert identify_data_type(tick()) is ChannelType.TICK
    assert identify_data_type({"ticker": "A", "price": 1, "timestamp": 1}) is ChannelType.TICK
    assert identify_data_type({"o": 1, "h": 1, "l": 1, "c": 1, "v": 1}) is ChannelType.OHLCV
    assert identify_data_type({"fmv": 1.0}) is ChannelType.FMV
    assert identify_data_type(3.5) is None


def test_routed_events_go_to_the_priority_manager_and_are_counted():
    r = router()
    outcome = r.route_data(tick())
    assert outcome.status is RouteStatus.ROUTED and outcome.events_forwarded == 1
    assert r.priority_manager.events == [("event", "AAA", 1000.0)]
    stats = r.get_routing_statistics()
    assert (stats["routed"], stats["failed"], stats["timed_out"], stats["error_rate"]) == (
        1,
        0,
        0,
        0.0,
    )
    assert stats["avg_routing_time_ms"] > 0


def test_a_disabled_router_delegates_without_counting_an_error():
    r = router()
    r.config.enable_multi_channel = False
    assert r.route_data(tick()).status is RouteStatus.DISABLED
    assert r.get_routing_statistics()["error_rate"] == 0.0


def test_failures_count_in_the_error_rate_in_percent():
    r = router(faults=ChannelFaults(error_rate=1.0))
    for i in range(4):
        r.route_data(tick(ts=1000.0 + i))
    r.channels[0].faults = None
    r.route_data(tick(ts=1010.0))
    stats = r.get_routing_statistics()
    assert (stats["failed"], stats["routed"], stats["error_rate"]) == (4, 1, 80.0)


def test_timeouts_are_decided_on_the_modelled_delay_in_replay():
    r = router(faults=ChannelFaults(delay_ms=30.0, sleep=lambda s: None), routing_timeout_ms=100.0)
    assert r.route_data(tick(), timeout_ms=20.0).status is RouteStatus.TIMED_OUT
    assert r.route_data(tick(), timeout_ms=50.0).status is RouteStatus.ROUTED
    assert r.priority_manager.events == [("event", "AAA", 1000.0)]  # timed-out events discarded
    stats = r.get_decision_statistics()
    assert stats["avg_routing_time_ms"] == pytest.approx(30.0)
    assert r.get_routing_statistics()["timed_out"] == 1


def test_refused_events_are_counted_as_lost():
    r = router(accept=False)
    r.route_data(tick())
    assert r.get_routing_statistics()["events_rejected"] == 1


def test_the_circuit_opens_after_five_errors_and_closes_after_sixty_seconds_of_tick_time():
    clock = TickClock(1000.0)
    ch = EchoChannel("echo", SimpleNamespace(processing={}), clock, ChannelFaults(error_rate=1.0))
    for _ in range(5):
        ch.process_with_metrics(tick())
    assert ch.circuit_open and not ch.is_healthy()
    assert ch.process_with_metrics(tick()).errors == ("echo: circuit open",)
    clock.set(1060.0)
    assert not ch.circuit_open


class Service:
    """A MarketDataService stand-in whose legacy handler records what it served."""

    def __init__(self):
        self.clock = TickClock()
        self.priority_manager = PriorityManager()
        self.served = []

    def handle_websocket_tick(self, tick_data):
        self.clock.set(tick_data.timestamp)
        self.served.append(tick_data.ticker)
        return True


def integrator(service, r, **cfg):
    i = MarketDataServiceIntegrator(service, r, IntegrationConfig(**cfg))
    i.install_integration()
    return i


def test_install_replaces_the_handler_and_uninstall_restores_it_exactly():
    service = Service()
    original = service.handle_websocket_tick
    i = integrator(service, router())
    assert service.handle_websocket_tick == i.enhanced_handle_websocket_tick
    assert i.install_integration() is False  # idempotent
    assert i.uninstall_integration() is True
    assert "handle_websocket_tick" not in vars(service)
    assert service.handle_websocket_tick == original
    assert service.handle_websocket_tick.__func__ is Service.handle_websocket_tick


def test_with_every_flag_off_the_legacy_handler_serves():
    service = Service()
    r = router()
    i = integrator(service, r)
    assert service.handle_websocket_tick(tick()) is True
    assert service.served == ["AAA"] and r.priority_manager.events == []
    assert i.get_integration_metrics()["integration_enabled"] is False


def test_a_faulty_channel_falls_back_to_legacy():
    service = Service()
    i = integrator(service, router(faults=ChannelFaults(error_rate=1.0)), enable_multi_channel=True)
    i.flags.apply({"rollout_percentage": 100})
    result = i.enhanced_handle_websocket_tick(tick())
    assert result is True
    assert i.metrics["legacy_fallbacks"] > 0 and service.served == ["AAA"]
    metrics = i.get_integration_metrics()
    assert metrics["fallback_rate_percent"] == 100.0 and metrics["success_rate_percent"] == 0.0


def test_without_fallback_a_failed_channel_tick_is_reported_as_not_handled():
    service = Service()
    i = integrator(
        service,
        router(faults=ChannelFaults(error_rate=1.0)),
        enable_multi_channel=True,
        fallback_to_legacy=False,
    )
    i.flags.apply({"rollout_percentage": 100})
    assert i.enhanced_handle_websocket_tick(tick()) is False and service.served == []


def test_rollout_tickers_use_the_channel_and_the_rest_stay_legacy():
    service = Service()
    r = router()
    i = integrator(service, r)
    i.apply_feature_flags(
        FeatureFlagConfig(True, True, False, True, rollout_percentage=1, rollout_tickers=["AAA"])
    )
    service.handle_websocket_tick(tick("AAA"))
    service.handle_websocket_tick(tick("BBB"))
    assert service.served == ["BBB"]
    assert r.priority_manager.events == [("event", "AAA", 1000.0)]
    assert service.clock.now() == 1000.0  # the channel path advances the service clock too
    assert i.get_integration_metrics()["success_rate_percent"] == 100.0


def test_parallel_processing_serves_legacy_and_compares_timings():
    service = Service()
    r = router()
    i = integrator(service, r)
    i.apply_feature_flags(
        FeatureFlagConfig(
            integration_layer_enabled=True,
            parallel_processing_enabled=True,
            performance_comparison_enabled=True,
        )
    )
    for n in range(4):
        assert service.handle_websocket_tick(tick(ts=1000.0 + n)) is True
    assert len(service.served) == 4 and r.priority_manager.events == []  # channel not enqueued
    comparison = i.get_comparison_analysis()
    assert comparison["comparisons"] == 4 and comparison["channel_success_rate"] == 100.0
    assert 0.0 <= comparison["channel_win_rate"] <= 100.0
    assert r.get_routing_statistics()["routed"] == 4


def test_flags_without_the_integration_layer_uninstall_it():
    service = Service()
    i = integrator(service, router())
    i.apply_feature_flags(FeatureFlagConfig(integration_layer_enabled=False))
    assert not i.installed and "handle_websocket_tick" not in vars(service)


def test_dicts_are_typed_by_their_keys_on_every_route_not_by_their_class():
    r = router()
    first = r.route_data({"ticker": "A", "price": 1.0, "timestamp": 1.0})
    second = r.route_data({"open": 1, "high": 1, "low": 1, "close": 1, "volume": 1})
    assert first.channel == "echo" and second.status is RouteStatus.NO_CHANNEL
    assert dict(r.routes_by_type) == {"tick": 1}


class Publisher:
    """A replay publisher's cadence: runs when `interval` of tick time passed since its last run."""

    def __init__(self, interval):
        self.interval, self.last, self.runs, self.calls = interval, None, [], 0

    @property
    def next_due(self):
        return float("-inf") if self.last is None else self.last + self.interval

    def on_tick(self, now):
        self.calls += 1
        if self.last is None or now - self.last >= self.interval:
            self.last = now
            self.runs.append(now)


def replay_service():
    return SimpleNamespace(
        clock=TickClock(),
        worker_pool=SimpleNamespace(drain=lambda: None),
        data_publisher=Publisher(0.25),
        websocket_publisher=Publisher(1.0),
    )


def test_the_replay_pump_runs_the_publishers_at_exactly_the_ticks_calling_them_every_tick_would():
    from tickstock.multichannel.integration import ReplayPump, pump_replay_pipeline

    t0 = 1_709_649_900.0
    times = sorted({t0 + k * 0.05 for k in range(400)} | {t0 + 1.0 - 1e-9, t0 + 2.25 + 1e-9})
    every, pumped = replay_service(), replay_service()
    pump = ReplayPump(pumped)
    for now in times:
        every.clock.set(now)
        pump_replay_pipeline(every, 0)
        pumped.clock.set(now)
        pump(0)
    for name in ("data_publisher", "websocket_publisher"):
        assert getattr(pumped, name).runs == getattr(every, name).runs
        assert len(getattr(every, name).runs) > 10
    assert pumped.data_publisher.calls < every.data_publisher.calls / 2


def test_the_channel_path_follows_a_replaced_service_clock():
    service = Service()
    i = integrator(service, router(), enable_multi_channel=True)
    i.flags.apply({"rollout_percentage": 100})
    i.process_via_channel(tick(ts=1000.0))
    assert service.clock.now() == 1000.0
    service.clock = TickClock()
    i.process_via_channel(tick(ts=1001.0))
    assert service.clock.now() == 1001.0
    del service.clock  # a service without a clock: the channel path still routes
    assert i.process_via_channel(tick(ts=1002.0)) is True
