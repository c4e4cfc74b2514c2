"""Trend maths (TickStock's TrendDetectionEngine): window scores, multi-window combination, evaluation.

Pure functions over a ticker's price history, shared by TrendDetector and the lightweight
`check_trend_conditions` that flags HighLow events. The direct functions are the original's, operation
for operation (same weights, same summation order); what is
leaner is the bookkeeping: window components come from PriceHistory's running sums in O(log n)
when the history is in time order (the direct O(n) functions below remain the reference and the
fallback), normalised recency weights are memoised per length, and no datetime objects are built.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from operator import itemgetter, mul
from typing import Any, NamedTuple

from tickstock.legacy.price_history import CAP, PriceHistory, PricePoint, WindowComponents

_ts_key = itemgetter(3)


class WindowTrend(NamedTuple):
    """One window's result (TickStock's calculate_window_trend dict)."""

    direction: str
    score: float
    strength: str
    price_component: float
    vwap_component: float
    volume_component: float
    data_points: int

    def transparency(self) -> dict[str, Any]:
        """The `_format_window_data` view used in trend_calc_transparency."""
        return {
            "score": self.score,
            "direction": self.direction,
            "strength": self.strength,
            "data_points": self.data_points,
            "components": {
                "price": self.price_component,
                "vwap": self.vwap_component,
                "volume": self.volume_component,
            },
        }


@dataclass(frozen=True, slots=True)
class TrendParams:
    """The configuration the engine reads that does not vary by period (read once per detector)."""

    short_window: float
    medium_window: float
    long_window: float
    price_weight: float
    vwap_weight: float
    volume_weight: float
    decay: float

    @property
    def spans(self) -> tuple[float, float, float]:
        return (self.short_window, self.medium_window, self.long_window)

    @classmethod
    def from_config(cls, config: Any) -> TrendParams:
        g = config.get
        return cls(
            short_window=g("TREND_SHORT_WINDOW_SECONDS", 180),
            medium_window=g("TREND_MEDIUM_WINDOW_SECONDS", 360),
            long_window=g("TREND_LONG_WINDOW_SECONDS", 600),
            price_weight=g("TREND_PRICE_WEIGHT", 0.5),
            vwap_weight=g("TREND_VWAP_WEIGHT", 0.3),
            volume_weight=g("TREND_VOLUME_WEIGHT", 0.2),
            decay=g("TREND_RECENCY_DECAY", 0.9),
        )


@lru_cache(maxsize=4096)
def recency_weights(decay: float, n: int) -> tuple[float, ...]:
    """Normalised weights decay^(n-1-i); the newest is largest (computed as TickStock does)."""
    weights = [decay ** (n - i - 1) for i in range(n)]
    total = sum(weights)
    if total > 0:
        weights = [w / total for w in weights]
    return tuple(weights)


def _clamp(x: float) -> float:
    return max(-1, min(1, x))


def price_component(prices: list[float], decay: float) -> float:
    n = len(prices)
    if n < 2:
        return 0
    changes = [prices[i + 1] - prices[i] for i in range(n - 1)]
    weighted_sum = sum(map(mul, changes, recency_weights(decay, n - 1)))
    avg_price = sum(prices) / n
    if avg_price > 0:
        return _clamp(weighted_sum / (avg_price * 0.01))
    return 0


def vwap_component(points: list[PricePoint], decay: float) -> float:
    relations = [(p[0] - p[1]) / p[1] for p in points if p[1] is not None and p[1] > 0]
    n = len(relations)
    if n < 2:
        return 0
    weights = recency_weights(decay, n)
    weighted_sum = sum(map(mul, relations, weights))
    changes = [relations[i + 1] - relations[i] for i in range(n - 1)]
    change_factor = sum(map(mul, changes, weights)) * 10
    return _clamp(weighted_sum * 5 + change_factor)


def volume_component(points: list[PricePoint], decay: float) -> float:
    vol_points = [p for p in points if p[2] is not None and p[2] > 0]
    n = len(vol_points)
    if n < 3:
        return 0
    volumes: list[Any] = [p[2] for p in vol_points]
    avg_volume = sum(volumes) / n
    factors = []
    for i in range(n - 1):
        change = vol_points[i + 1][0] - vol_points[i][0]
        vol_factor = volumes[i] / avg_volume if avg_volume > 0 else 1
        sign = 1 if change > 0 else -1 if change < 0 else 0
        factors.append(sign * vol_factor)
    weighted_sum = sum(map(mul, factors, recency_weights(decay, n - 1)))
    return _clamp(weighted_sum / 3)


def classify(
    score: float, direction_threshold: float, strength_threshold: float
) -> tuple[str, str]:
    """Direction and strength of a score against signed thresholds (window and combined rule)."""
    if score > direction_threshold:
        if score > strength_threshold:
            return "up", "strong"
        if score > direction_threshold * 2:
            return "up", "moderate"
        return "up", "weak"
    if score < -direction_threshold:
        if score < -strength_threshold:
            return "down", "strong"
        if score < -direction_threshold * 2:
            return "down", "moderate"
        return "down", "weak"
    return "neutral", "neutral"


def window_points(points: list[PricePoint], window_start: float) -> list[PricePoint]:
    """Points with timestamp ≥ window_start, sorted by time (stable, as TickStock's sort)."""
    selected = [p for p in points if p[3] >= window_start]
    selected.sort(key=_ts_key)
    return selected


def direct_components(points: list[PricePoint], decay: float) -> WindowComponents:
    """TickStock's direct O(n) computation of one window's components."""
    return WindowComponents(
        len(points),
        price_component([p[0] for p in points], decay),
        vwap_component(points, decay),
        volume_component(points, decay),
    )


def window_trend(
    comps: WindowComponents,
    min_points: int,
    params: TrendParams,
    direction_threshold: float,
    strength_threshold: float,
) -> WindowTrend:
    n = comps.data_points
    if n < min_points:
        return WindowTrend("neutral", 0, "neutral", 0, 0, 0, n)
    pc, vc, qc = comps.price, comps.vwap, comps.volume
    score = pc * params.price_weight + vc * params.vwap_weight + qc * params.volume_weight
    direction, strength = classify(score, direction_threshold, strength_threshold)
    return WindowTrend(direction, score, strength, pc, vc, qc, n)


def window_components(
    history: PriceHistory, now: float, params: TrendParams, cap: int = CAP
) -> list[WindowComponents]:
    """Components of the short, medium and long windows ending at `now`."""
    windows = (params.short_window, params.medium_window, params.long_window)
    if history.ordered and history.decay == params.decay:
        return list(history.windows(now, windows, cap))
    points = history.points(cap)
    return [direct_components(window_points(points, now - w), params.decay) for w in windows]


class MultiWindowTrend:
    """Window scores and the 0.3/0.4/0.3 combined score; per-window details built on demand
    (only an emitted event's transparency block needs them)."""

    __slots__ = ("_comps", "_args", "short_score", "medium_score", "long_score", "combined_score")

    def __init__(
        self,
        comps: tuple[WindowComponents, ...],
        min_points: int,
        params: TrendParams,
        direction_threshold: float,
        strength_threshold: float,
    ) -> None:
        self._comps = comps
        self._args = (min_points, params, direction_threshold, strength_threshold)
        pw, vw, qw = params.price_weight, params.vwap_weight, params.volume_weight
        c0, c1, c2 = comps
        s0 = 0 if c0[0] < min_points else c0[1] * pw + c0[2] * vw + c0[3] * qw
        s1 = 0 if c1[0] < min_points else c1[1] * pw + c1[2] * vw + c1[3] * qw
        s2 = 0 if c2[0] < min_points else c2[1] * pw + c2[2] * vw + c2[3] * qw
        self.short_score = s0
        self.medium_score = s1
        self.long_score = s2
        self.combined_score = s0 * 0.3 + s1 * 0.4 + s2 * 0.3

    @property
    def short(self) -> WindowTrend:
        return window_trend(self._comps[0], *self._args)

    @property
    def medium(self) -> WindowTrend:
        return window_trend(self._comps[1], *self._args)

    @property
    def long(self) -> WindowTrend:
        return window_trend(self._comps[2], *self._args)


def multi_window_trend(
    history: PriceHistory,
    now: float,
    params: TrendParams,
    min_points: int,
    direction_threshold: float,
    strength_threshold: float,
    cap: int = CAP,
) -> MultiWindowTrend:
    """Short/medium/long window trends and the 0.3/0.4/0.3 combined score."""
    if history.ordered and history.decay == params.decay:
        comps = history.windows(now, params.spans, cap, min_points)
    else:
        c = window_components(history, now, params, cap)
        comps = (c[0], c[1], c[2])
    return MultiWindowTrend(comps, min_points, params, direction_threshold, strength_threshold)


def evaluate(
    score: float, direction_threshold: float, strength_threshold: float
) -> tuple[str, str]:
    """`evaluate_trend_conditions(_adaptive)`: (raw direction, strength) with sensitivity applied."""
    abs_score = abs(score)
    if abs_score > strength_threshold:
        strength = "strong"
    elif abs_score > direction_threshold * 2:
        strength = "moderate"
    elif abs_score > direction_threshold:
        strength = "weak"
    else:
        strength = "neutral"
    if score > direction_threshold:
        return "up", strength
    if score < -direction_threshold:
        return "down", strength
    return "neutral", strength


def retracement_threshold(price: float, base: float, dynamic: bool) -> float:
    """Price-scaled retracement threshold (TREND_DYNAMIC_RETRACEMENT)."""
    if not dynamic:
        return base
    if price < 1.0:
        return base * 1.25
    if price < 5.0:
        return base * 1.125
    if price < 25.0:
        return base
    if price < 100.0:
        return base * 0.875
    return base * 0.75


def is_retracement(
    previous: float, current: float, adjusted_direction: float, threshold: float
) -> bool:
    """A strong previous score that moved by ≥ threshold (either way, same sign) is neutralised."""
    if abs(previous) < adjusted_direction:
        return False
    if previous * current < 0:
        return False
    if previous != 0:
        return abs((current - previous) / previous) >= threshold
    return False


def volatility_category(history: PriceHistory, now: float, window_seconds: float = 300) -> str:
    """HIGH / NORMAL / LOW from the std/mean of prices in the last 300 s (≥ 3 of them)."""
    if len(history) < 3:
        return "NORMAL"
    start = now - window_seconds
    if history.ordered:
        n, mean, std = history.price_dispersion(start)
    else:
        prices = [p[0] for p in history.points() if p[3] >= start]
        n = len(prices)
        mean = sum(prices) / n if n else 0.0
        std = (sum((x - mean) ** 2 for x in prices) / (n - 1)) ** 0.5 if n > 1 else 0.0
    return dispersion_category(n, mean, std)


def dispersion_category(n: int, mean: float, std: float) -> str:
    """HIGH (std > 2 % of the mean) / LOW (< 0.5 %) / NORMAL; NORMAL for < 3 prices."""
    if n < 3 or mean <= 0:
        return "NORMAL"
    pct = std / mean * 100
    if pct > 2.0:
        return "HIGH"
    if pct < 0.5:
        return "LOW"
    return "NORMAL"
