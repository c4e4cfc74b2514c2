"""Safe alert conditions, the two channel alert rules, the dashboard ladder and readiness."""

from __future__ import annotations

import pytest

from tickstock.multichannel.dashboard import (
    CAUTION,
    RECOMMEND,
    STOP,
    PerformanceComparisonDashboard,
)
from tickstock.multichannel.errors import ConditionError
from tickstock.multichannel.monitoring import (
    MultiChannelMonitoringIntegrator,
    SystemMonitor,
    parse_condition,
)


def test_conditions_parse_into_source_metric_operator_and_number():
    c = parse_condition("channel_routing.avg_routing_time_ms >= 5e1")
    assert (c.source, c.metric, c.op, c.threshold) == (
        "channel_routing",
        "avg_routing_time_ms",
        ">=",
        50.0,
    )
    assert c.holds(50.0) and not c.holds(49.9)


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('true') > 1",
        "channel_routing.error_rate > 5 or True",
        "error_rate > 5",
        "channel_routing.error_rate >> 5",
        "channel_routing.error_rate > five",
    ],
)
def test_anything_outside_the_grammar_is_refused(text):
    with pytest.raises(ConditionError):
        parse_condition(text)


class _Router:
    def __init__(self):
        self.stats = {"error_rate": 0.0, "avg_routing_time_ms": 0.0}

    def get_routing_statistics(self):
        return dict(self.stats)


@pytest.mark.parametrize(
    ("stats", "fired"),
    [
        ({"error_rate": 5.0, "avg_routing_time_ms": 50.0}, []),
        ({"error_rate": 5.01, "avg_routing_time_ms": 50.0}, [("channel_error_rate", "warning")]),
        ({"error_rate": 0.0, "avg_routing_time_ms": 50.01}, [("channel_latency", "critical")]),
    ],
    ids=["at-thresholds", "error-rate", "latency"],
)
def test_the_two_channel_alert_rules_fire_above_their_thresholds(stats, fired):
    monitor = SystemMonitor()
    router = _Router()
    router.stats = stats
    MultiChannelMonitoringIntegrator(monitor).integrate_channel_metrics(router)
    alerts = monitor.evaluate(now=1000.0)
    assert [(a.name, a.severity) for a in alerts] == fired
    assert all(a.tick_time == 1000.0 for a in alerts)


def test_a_sustained_breach_is_one_alert_and_rearms_after_recovery():
    monitor = SystemMonitor(check_interval_seconds=10)
    router = _Router()
    MultiChannelMonitoringIntegrator(monitor).integrate_channel_metrics(router)
    router.stats["error_rate"] = 20.0
    assert len(monitor.maybe_evaluate(0.0)) == 1
    assert monitor.maybe_evaluate(5.0) == []  # inside the check interval
    assert monitor.maybe_evaluate(10.0) == []  # still breached: no repeat
    router.stats["error_rate"] = 0.0
    monitor.maybe_evaluate(20.0)
    router.stats["error_rate"] = 6.0
    assert [a.value for a in monitor.maybe_evaluate(30.0)] == [6.0]
    assert len(monitor.alerts) == 2


class _Integrator:
    def __init__(self, success, win, improvement=0.0, fallback=0.0):
        self.m = {
            "integration_enabled": True,
            "success_rate_percent": success,
            "fallback_rate_percent": fallback,
            "avg_performance_improvement_ms": improvement,
        }
        self.c = {
            "channel_success_rate": success,
            "channel_win_rate": win,
            "avg_time_improvement_ms": improvement,
        }

    def get_integration_metrics(self):
        return self.m

    def get_comparison_analysis(self):
        return self.c


@pytest.mark.parametrize(
    ("success", "win", "expected"),
    [
        (95.0, 70.0, RECOMMEND),
        (95.0, 69.99, CAUTION),
        (94.99, 100.0, CAUTION),
        (90.0, 0.0, CAUTION),
        (89.99, 100.0, STOP),
    ],
)
def test_recommendation_ladder_at_its_boundaries(success, win, expected):
    report = PerformanceComparisonDashboard().generate_comparison_report(_Integrator(success, win))
    assert report["recommendations"] == expected


@pytest.mark.parametrize(
    ("success", "improvement", "fallback", "readiness"),
    [
        (95.0, 0.0, 4.99, (True, True, True)),
        (94.9, -0.01, 5.0, (False, False, False)),
    ],
)
def test_rollout_readiness_is_the_seeds_three_tests(success, improvement, fallback, readiness):
    report = PerformanceComparisonDashboard().generate_comparison_report(
        _Integrator(success, 80.0, improvement, fallback)
    )
    r = report["rollout_readiness"]
    assert (r["ready_for_next_phase"], r["performance_acceptable"], r["stability_confirmed"]) == (
        readiness
    )
    assert report["summary"] == {
        "multichannel_enabled": True,
        "success_rate": success,
        "fallback_rate": fallback,
        "performance_improvement": improvement,
    }
