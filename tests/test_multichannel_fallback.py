"""Automatic fallback triggers at the seed's thresholds, on tick time, and records incidents."""

from __future__ import annotations

import asyncio

import pytest

from tickstock.clock import TickClock
from tickstock.multichannel.analytics import ChannelAnalyticsIntegrator, MarketAnalyticsManager
from tickstock.multichannel.fallback import AutomaticFallbackManager
from tickstock.multichannel.integration_config import IntegrationConfig


class _Router:
    def __init__(self, **stats):
        self.stats = {"error_rate": 0.0, "avg_routing_time_ms": 0.0, "events_rejected": 0, **stats}

    def get_decision_statistics(self):
        return dict(self.stats)


class _Integrator:
    def __init__(self, **stats):
        self.channel_router = _Router(**stats)
        self.config = IntegrationConfig(enable_multi_channel=True)


@pytest.mark.parametrize(
    ("stats", "trips"),
    [
        ({"error_rate": 10.0}, False),
        ({"error_rate": 10.01}, True),
        ({"avg_routing_time_ms": 100.0}, False),
        ({"avg_routing_time_ms": 100.01}, True),
        ({"events_rejected": 1}, True),
    ],
    ids=["error-10", "error>10", "latency-100", "latency>100", "event-loss"],
)
def test_fallback_triggers_at_their_thresholds(stats, trips):
    integrator = _Integrator(**stats)
    manager = AutomaticFallbackManager(integrator, TickClock())
    incident = manager.check(now=500.0)
    assert (incident is not None) is trips
    assert integrator.config.enable_multi_channel is (not trips)
    assert len(manager.incidents) == int(trips)


def test_polling_runs_every_thirty_seconds_of_tick_time():
    integrator = _Integrator(error_rate=50.0)
    alerts = []
    manager = AutomaticFallbackManager(integrator, TickClock(), alert=alerts.append)
    assert manager.poll(0.0) is None  # first poll starts the cadence
    assert manager.poll(29.9) is None and manager.checks == 0
    incident = manager.poll(30.0)
    assert incident is not None and incident.tick_time == 30.0
    assert "error_rate" in incident.reasons[0]
    assert alerts == [incident]
    # already disabled: no second incident
    assert manager.poll(60.0) is None and len(manager.incidents) == 1


def test_the_async_monitor_checks_then_sleeps_and_survives_its_own_errors():
    integrator = _Integrator(avg_routing_time_ms=150.0)
    slept = []

    async def fake_sleep(seconds):
        slept.append(seconds)

    manager = AutomaticFallbackManager(integrator, TickClock(12.0), sleep=fake_sleep)
    asyncio.run(manager.monitor_and_fallback(max_checks=1))
    assert slept == [30.0] and manager.incidents[0].tick_time == 12.0

    broken = AutomaticFallbackManager(object(), TickClock(), sleep=fake_sleep)
    asyncio.run(broken.monitor_and_fallback(max_checks=1))
    assert slept[-1] == 60.0 and broken.error_tracker.errors


class _Metrics:
    avg_processing_time_ms = 1.5
    events_generated = 7


class _Channel:
    name = "tick_channel_1"
    metrics = _Metrics()


@pytest.mark.parametrize("backend", ["sqlite", "duckdb"])
def test_analytics_sync_to_a_real_table_every_ten_seconds_of_tick_time(tmp_path, backend):
    manager = MarketAnalyticsManager(tmp_path / f"a.{backend}", backend=backend)
    integrator = ChannelAnalyticsIntegrator(manager)
    synced = [integrator.on_tick(t, [_Channel()]) for t in (0.0, 5.0, 9.99, 10.0, 15.0, 20.5)]
    assert synced == [True, False, False, True, False, True]
    rows = manager.query(
        "SELECT tick_time, kind, name, value FROM channel_analytics ORDER BY tick_time, kind"
    )
    assert rows[:2] == [
        (0.0, "event_count", "channel_events_generated", 7.0),
        (0.0, "performance", "tick_channel_1_processing_time", 1.5),
    ]
    assert len(rows) == 6 and manager.syncs == 3
    manager.close()
