"""System monitor with metric sources and alert rules, and the seed's channel monitoring hookup.

Alert conditions are parsed by a small grammar — `source.metric OP number` with OP one of
`> >= < <= == !=` — never `eval`. A rule fires on the evaluation where its condition turns true
(edge-triggered) and re-arms when it turns false, so a sustained breach is one alert, not one per
check. Evaluation runs on the caller's clock (tick time in replay).
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from tickstock.multichannel.errors import ConditionError

_CONDITION = re.compile(
    r"^\s*(?P<source>[A-Za-z_]\w*)\.(?P<metric>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)\s*"
    r"(?P<op>>=|<=|==|!=|>|<)\s*(?P<value>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$"
)
_OPS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}
SEVERITIES = ("info", "warning", "critical")


@dataclass(frozen=True, slots=True)
class Condition:
    """A parsed `source.metric OP threshold` comparison."""

    source: str
    metric: str
    op: str
    threshold: float

    def holds(self, value: float) -> bool:
        return _OPS[self.op](value, self.threshold)


def parse_condition(text: str) -> Condition:
    """Parse an alert condition; anything outside the grammar is a ConditionError."""
    match = _CONDITION.match(text)
    if match is None:
        raise ConditionError(
            f"alert condition {text!r} is not of the form 'source.metric OP number' "
            f"(OP one of {' '.join(_OPS)})"
        )
    return Condition(match["source"], match["metric"], match["op"], float(match["value"]))


@dataclass(frozen=True, slots=True)
class AlertRule:
    name: str
    condition: Condition
    condition_text: str
    severity: str
    description: str


@dataclass(frozen=True, slots=True)
class Alert:
    """One firing of a rule: what was observed, and when (tick time in replay)."""

    name: str
    severity: str
    condition: str
    value: float
    tick_time: float
    description: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class SystemMonitor:
    """Polls metric sources and evaluates alert rules against them."""

    def __init__(self, check_interval_seconds: float = 10.0) -> None:
        self.check_interval_seconds = check_interval_seconds
        self._sources: dict[str, Callable[[], Mapping[str, Any]]] = {}
        self._rules: dict[str, AlertRule] = {}
        self._active: set[str] = set()
        self._last_check: float | None = None
        self.alerts: list[Alert] = []
        self.sinks: list[Callable[[Alert], None]] = []

    def add_metric_source(self, name: str, source: Callable[[], Mapping[str, Any]]) -> None:
        self._sources[name] = source

    def add_alert_rule(
        self, name: str, condition: str, severity: str = "warning", description: str = ""
    ) -> AlertRule:
        if severity not in SEVERITIES:
            raise ConditionError(f"alert rule {name!r}: severity must be one of {SEVERITIES}")
        rule = AlertRule(name, parse_condition(condition), condition, severity, description)
        self._rules[name] = rule
        return rule

    @property
    def rules(self) -> list[AlertRule]:
        return list(self._rules.values())

    def metric(self, source: str, metric: str, cache: dict[str, Any] | None = None) -> float | None:
        """Current value of `source.metric` (dotted paths walk nested dicts), or None."""
        if source not in self._sources:
            return None
        if cache is not None and source in cache:
            value: Any = cache[source]
        else:
            value = self._sources[source]()
            if cache is not None:
                cache[source] = value
        for part in metric.split("."):
            if not isinstance(value, Mapping) or part not in value:
                return None
            value = value[part]
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        return float(value)

    @property
    def next_due(self) -> float:
        """The time from which `maybe_evaluate` evaluates (−inf before the first evaluation)."""
        last = self._last_check
        return float("-inf") if last is None else last + self.check_interval_seconds

    def maybe_evaluate(self, now: float) -> list[Alert]:
        """Evaluate when the check interval has passed on the caller's clock."""
        if self._last_check is not None and now - self._last_check < self.check_interval_seconds:
            return []
        return self.evaluate(now)

    def evaluate(self, now: float) -> list[Alert]:
        self._last_check = now
        fired: list[Alert] = []
        cache: dict[str, Any] = {}  # each source is read once per evaluation
        for rule in self._rules.values():
            value = self.metric(rule.condition.source, rule.condition.metric, cache)
            if value is None or math.isnan(value) or not rule.condition.holds(value):
                self._active.discard(rule.name)
                continue
            if rule.name in self._active:
                continue
            self._active.add(rule.name)
            fired.append(self.raise_alert(rule, value, now))
        return fired

    def raise_alert(self, rule: AlertRule, value: float, now: float) -> Alert:
        alert = Alert(rule.name, rule.severity, rule.condition_text, value, now, rule.description)
        self.alerts.append(alert)
        for sink in self.sinks:
            sink(alert)
        return alert

    def record(
        self,
        name: str,
        severity: str,
        condition: str,
        value: float,
        now: float,
        description: str = "",
    ) -> Alert:
        """Record an alert raised outside the rules (e.g. an emergency fallback)."""
        alert = Alert(name, severity, condition, value, now, description)
        self.alerts.append(alert)
        for sink in self.sinks:
            sink(alert)
        return alert


class MultiChannelMonitoringIntegrator:
    """Integrates channel monitoring with existing system monitoring."""

    def __init__(self, existing_monitor: SystemMonitor) -> None:
        self.system_monitor = existing_monitor

    def integrate_channel_metrics(self, channel_router: Any) -> None:
        """Integrate channel metrics with existing monitoring."""
        # Decisions read the router's decision view (deterministic in replay; see router.py).
        source = getattr(channel_router, "get_decision_statistics", None)
        self.system_monitor.add_metric_source(
            "channel_routing", source or channel_router.get_routing_statistics
        )
        self.system_monitor.add_alert_rule(
            name="channel_error_rate",
            condition="channel_routing.error_rate > 5",
            severity="warning",
            description="Channel routing error rate exceeded threshold",
        )
        self.system_monitor.add_alert_rule(
            name="channel_latency",
            condition="channel_routing.avg_routing_time_ms > 50",
            severity="critical",
            description="Channel routing latency exceeded threshold",
        )
