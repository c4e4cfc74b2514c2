"""Surge maths (TickStock's SurgeDetectionEngine): window metrics, thresholds, STRICT/OR/ADAPTIVE evaluation.

Shared by SurgeDetector (adaptive, per-period thresholds) and the lightweight
`check_surge_conditions` that flags HighLow events (static price matrix, `SURGE_DETECTION_MODE`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from tickstock.legacy.stock_data import SurgePoint


class SurgeMetrics(NamedTuple):
    baseline_price: float
    price_change_pct: float
    price_change_abs: float
    direction: str
    volume_multiplier: float
    avg_volume: float
    time_from_baseline: float
    actual_volume: float | None


class SurgeConditions(NamedTuple):
    is_surge: bool
    is_price_surge: bool
    is_volume_surge: bool
    trigger_type: str
    surge_score: float
    surge_strength: str
    price_score: float
    volume_score: float
    thresholds_used: dict[str, Any]


class SurgeThresholds(NamedTuple):
    """Output of get_dynamic_thresholds for one (period, band, volatility class)."""

    price_threshold_pct: float
    min_dollar_change: float
    volume_threshold: float
    global_sensitivity: float
    min_data_points: int
    interval_seconds: float
    threshold_multiplier: float
    market_period: str
    price_band: str
    volatility_class: str
    volatility_multiplier: float


def surge_metrics(
    buffer: Sequence[SurgePoint],
    current_price: float,
    current_volume: float | None,
    current_time: float,
    interval_seconds: float,
) -> SurgeMetrics:
    """Change against the newest point ≥ interval old (excluding the last), and volume vs average."""
    baseline_time = current_time - interval_seconds
    baseline: SurgePoint | None = None
    n = len(buffer)
    for i in range(n - 2, -1, -1):
        point = buffer[i]
        if point[2] <= baseline_time:
            baseline = point
            break
    if baseline is None and n > 0:
        baseline = buffer[0]
    baseline_price = baseline[0] if baseline is not None else current_price
    pct = (current_price - baseline_price) / baseline_price * 100 if baseline_price > 0 else 0
    abs_change = current_price - baseline_price
    direction = "up" if pct > 0 else "down" if pct < 0 else "neutral"
    volumes = [p[1] for p in buffer if p[1] is not None]
    if len(volumes) > 1:
        avg_volume = sum(volumes[:-1]) / (len(volumes) - 1)
    elif len(volumes) == 1:
        avg_volume = volumes[0]
    else:
        avg_volume = current_volume or 0
    multiplier = current_volume / avg_volume if (avg_volume > 0 and current_volume) else 1.0
    since = current_time - (baseline[2] if baseline is not None else current_time)
    return SurgeMetrics(
        baseline_price, pct, abs_change, direction, multiplier, avg_volume, since, current_volume
    )


def _strength(score: float) -> str:
    if score >= 80:
        return "strong"
    if score >= 60:
        return "moderate"
    return "weak"


def evaluate(
    metrics: SurgeMetrics,
    threshold_pct: float,
    min_dollar: float,
    volume_threshold: float,
    mode: str,
    config: Any,
    compensation: tuple[float, float, float, float] | None = None,
) -> tuple[bool, bool, bool, str, dict[str, Any]]:
    """Apply one detection mode: (is_surge, is_price, is_volume, trigger, adaptive details).
    `compensation` is ADAPTIVE's (price, volume, min price %, min volume %) when the caller has
    already read them from `config`."""
    pct_abs = abs(metrics.price_change_pct)
    abs_change = abs(metrics.price_change_abs)
    vol_mult = metrics.volume_multiplier
    actual_volume = metrics.actual_volume or 0
    meets_price = pct_abs >= threshold_pct and abs_change >= min_dollar
    meets_volume = vol_mult >= volume_threshold and actual_volume > 0
    trigger = "none"
    details: dict[str, Any] = {}
    if mode == "STRICT":
        is_price, is_volume = meets_price, meets_volume
        is_surge = is_price and is_volume
        if is_surge:
            trigger = "price_and_volume"
    elif mode == "ADAPTIVE":
        if compensation is None:
            compensation = adaptive_compensation(config)
        price_comp, volume_comp, min_price_pct, min_volume_pct = compensation
        both = meets_price and meets_volume
        strong_price = (
            pct_abs >= threshold_pct * price_comp and abs_change >= min_dollar * price_comp
        )
        adequate_volume = vol_mult >= volume_threshold * min_volume_pct and actual_volume > 0
        price_driven = strong_price and adequate_volume
        strong_volume = vol_mult >= volume_threshold * volume_comp and actual_volume > 0
        adequate_price = (
            pct_abs >= threshold_pct * min_price_pct and abs_change >= min_dollar * min_price_pct
        )
        volume_driven = strong_volume and adequate_price
        is_surge = both or price_driven or volume_driven
        is_price = meets_price or strong_price
        is_volume = meets_volume or strong_volume
        if both:
            trigger = "price_and_volume"
        elif price_driven:
            trigger = "price_driven"
        elif volume_driven:
            trigger = "volume_driven"
        details = {
            "price_factor": pct_abs / threshold_pct if threshold_pct > 0 else 0,
            "volume_factor": vol_mult / volume_threshold if volume_threshold > 0 else 0,
            "case": (
                "balanced"
                if both
                else "price_compensated"
                if price_driven
                else "volume_compensated"
                if volume_driven
                else "none"
            ),
            "price_comp": price_comp,
            "volume_comp": volume_comp,
            "min_price_pct": min_price_pct,
            "min_volume_pct": min_volume_pct,
        }
    else:  # "OR" and any unknown mode
        is_price, is_volume = meets_price, meets_volume
        is_surge = is_price or is_volume
        if is_price and is_volume:
            trigger = "price_and_volume"
        elif is_price:
            trigger = "price"
        elif is_volume:
            trigger = "volume"
    return is_surge, is_price, is_volume, trigger, details


def adaptive_compensation(config: Any) -> tuple[float, float, float, float]:
    """ADAPTIVE mode's (price compensation, volume compensation, min price %, min volume %)."""
    g = config.get
    return (
        g("SURGE_PRICE_COMPENSATION_MULTIPLIER", 1.5),
        g("SURGE_VOLUME_COMPENSATION_MULTIPLIER", 2.0),
        g("SURGE_MIN_PRICE_THRESHOLD_PCT", 0.5),
        g("SURGE_MIN_VOLUME_THRESHOLD_PCT", 0.7),
    )


def score(
    metrics: SurgeMetrics,
    threshold_pct: float,
    volume_threshold: float,
    is_volume: bool,
    price_weight: float,
    volume_weight: float,
) -> tuple[float, float, float, str]:
    """(price_score, volume_score, total, strength); each part capped at its weight."""
    price_score: float = 0
    if threshold_pct > 0:
        price_score = min(
            abs(metrics.price_change_pct) / threshold_pct * price_weight, price_weight
        )
    volume_score: float = 0
    if is_volume:
        volume_score = min(
            metrics.volume_multiplier / volume_threshold * volume_weight, volume_weight
        )
    total = price_score + volume_score
    return price_score, volume_score, total, _strength(total)


def detection_mode(period: str, config: Any) -> str:
    """The adaptive evaluation's mode for a period: its SURGE_DETECTION_MODE_<P>, else by period."""
    mode = config.get(f"SURGE_DETECTION_MODE_{period}", None)
    if mode is None:
        if period in ("AFTERHOURS", "PREMARKET"):
            mode = "ADAPTIVE"
        elif period in ("OPENING", "CLOSING"):
            mode = "STRICT"
        else:
            mode = config.get("SURGE_DETECTION_MODE_DEFAULT", "STRICT")
    return mode  # type: ignore[no-any-return]


def evaluate_adaptive(
    metrics: SurgeMetrics, thresholds: SurgeThresholds, config: Any
) -> SurgeConditions:
    """`evaluate_surge_conditions_adaptive`: dynamic thresholds, period-dependent mode."""
    conditions = AdaptiveEvaluator(config).evaluate(metrics, thresholds, surges_only=False)
    assert conditions is not None
    return conditions


class AdaptiveEvaluator:
    """`evaluate_adaptive` with the configuration read once (per period for the mode)."""

    __slots__ = ("_config", "_up", "_down", "_price_weight", "_volume_weight", "_comp", "_modes")

    def __init__(self, config: Any) -> None:
        g = config.get
        self._config = config
        self._up = g("SURGE_UP_THRESHOLD_MULTIPLIER", 1.0)
        self._down = g("SURGE_DOWN_THRESHOLD_MULTIPLIER", 1.0)
        self._price_weight = g("SURGE_SCORE_PRICE_WEIGHT", 50)
        self._volume_weight = g("SURGE_SCORE_VOLUME_WEIGHT", 50)
        self._comp = adaptive_compensation(config)
        self._modes: dict[str, str] = {}

    def evaluate(
        self, metrics: SurgeMetrics, thresholds: SurgeThresholds, surges_only: bool = True
    ) -> SurgeConditions | None:
        """The conditions; with `surges_only`, None instead when they are not a surge."""
        threshold_pct = thresholds.price_threshold_pct
        direction = metrics.direction
        dir_mult = 1.0
        if direction == "up":
            dir_mult = self._up
        elif direction == "down":
            dir_mult = self._down
        threshold_pct *= dir_mult
        period = thresholds.market_period
        mode = self._modes.get(period)
        if mode is None:
            mode = self._modes[period] = detection_mode(period, self._config)
        volume_threshold = thresholds.volume_threshold
        is_surge, is_price, is_volume, trigger, _ = evaluate(
            metrics,
            threshold_pct,
            thresholds.min_dollar_change,
            volume_threshold,
            mode,
            self._config,
            self._comp,
        )
        if surges_only and not is_surge:
            return None
        price_score, volume_score, total, strength = score(
            metrics,
            threshold_pct,
            volume_threshold,
            is_volume,
            self._price_weight,
            self._volume_weight,
        )
        used = {
            "price_threshold_pct": threshold_pct,
            "min_dollar_change": thresholds.min_dollar_change,
            "volume_threshold": volume_threshold,
            "direction_multiplier": dir_mult,
            "detection_mode": mode,
            "market_period": period,
            "price_band": thresholds.price_band,
            "volatility_class": thresholds.volatility_class,
            "global_sensitivity": thresholds.global_sensitivity,
        }
        return SurgeConditions(
            is_surge, is_price, is_volume, trigger, total, strength, price_score, volume_score, used
        )


_STATIC_MATRIX = (
    (0.01, "SURGE_THRESHOLD_ULTRA_LOW", "10.0,0.005"),
    (0.7, "SURGE_THRESHOLD_VERY_LOW", "9.0,0.05"),
    (1.0, "SURGE_THRESHOLD_LOW", "7.0,0.05"),
    (5.0, "SURGE_THRESHOLD_LOW_MID", "5.0,0.10"),
    (25.0, "SURGE_THRESHOLD_MID", "4.0,0.25"),
    (100.0, "SURGE_THRESHOLD_MID_HIGH", "3.0,0.75"),
    (500.0, "SURGE_THRESHOLD_HIGH", "2.5,1.50"),
    (1000.0, "SURGE_THRESHOLD_VERY_HIGH", "2.0,10.00"),
    (float("inf"), "SURGE_THRESHOLD_ULTRA_HIGH", "1.5,15.00"),
)


def _parse_pair(value: Any, default: str) -> tuple[float, float]:
    try:
        parts = value.split(",")
        if len(parts) == 2:
            return float(parts[0]), float(parts[1])
    except (AttributeError, ValueError, TypeError):
        pass
    a, b = default.split(",")
    return float(a), float(b)


def static_price_matrix(config: Any) -> tuple[tuple[float, float, float], ...]:
    """(max_price, pct, dollar) rows of the lightweight check, sensitivity and testing applied."""
    sensitivity = config.get("SURGE_GLOBAL_SENSITIVITY", 1.0)
    testing = config.get("SURGE_TESTING_MODE", False)
    pct_mult = config.get("SURGE_TEST_THRESHOLD_MULTIPLIER", 0.2) if testing else 1.0
    dollar_mult = config.get("SURGE_TEST_DOLLAR_MULTIPLIER", 0.1) if testing else 1.0
    rows = []
    for max_price, key, default in _STATIC_MATRIX:
        pct, dollar = _parse_pair(config.get(key, default), default)
        rows.append((max_price, pct * pct_mult * sensitivity, dollar * dollar_mult * sensitivity))
    return tuple(rows)
