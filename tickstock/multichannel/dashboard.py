"""PerformanceComparisonDashboard: the seed's comparison report and recommendation ladder.

The ladder is read top to bottom: success ≥ 95 % and win ≥ 70 % → RECOMMEND; success ≥ 90 % →
CAUTION; otherwise STOP. `rollout_readiness` is exactly the seed's three tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

RECOMMEND = "RECOMMEND: Advance to next rollout phase"
CAUTION = "CAUTION: Continue current phase, monitor performance"
STOP = "STOP: Investigate issues before proceeding"


class ComparableIntegrator(Protocol):
    def get_integration_metrics(self) -> Mapping[str, Any]: ...

    def get_comparison_analysis(self) -> Mapping[str, Any]: ...


class PerformanceComparisonDashboard:
    """Compare multi-channel vs legacy performance."""

    def generate_comparison_report(self, integrator: ComparableIntegrator) -> dict[str, Any]:
        """Generate performance comparison report."""
        metrics = integrator.get_integration_metrics()
        comparison = dict(integrator.get_comparison_analysis())
        return {
            "summary": {
                "multichannel_enabled": metrics["integration_enabled"],
                "success_rate": metrics["success_rate_percent"],
                "fallback_rate": metrics["fallback_rate_percent"],
                "performance_improvement": metrics["avg_performance_improvement_ms"],
            },
            "comparison_analysis": comparison,
            "recommendations": self._generate_recommendations(metrics, comparison),
            "rollout_readiness": {
                "ready_for_next_phase": comparison["channel_success_rate"] >= 95,
                "performance_acceptable": comparison["avg_time_improvement_ms"] >= 0,
                "stability_confirmed": metrics["fallback_rate_percent"] < 5,
            },
        }

    @staticmethod
    def _generate_recommendations(metrics: Mapping[str, Any], comparison: Mapping[str, Any]) -> str:
        """Generate rollout recommendations based on performance data."""
        if comparison["channel_success_rate"] >= 95 and comparison["channel_win_rate"] >= 70:
            return RECOMMEND
        if comparison["channel_success_rate"] >= 90:
            return CAUTION
        return STOP
