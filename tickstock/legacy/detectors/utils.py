"""Shared detector helpers (TickStock's detectors/utils.py): prices, labels, buckets, lightweight checks.

The lightweight `check_trend_conditions` / `check_surge_conditions` only produce the trend and
surge *flags* carried by HighLow events; they read the state Trend and Surge keep on StockData
and use the base (non-period) configuration, as in TickStock. "Now" is the injected clock's
reading (the tick time in replay) instead of `time.time()`.
"""

from __future__ import annotations

from typing import Any

from tickstock.legacy.detectors import surge_engine, trend_engine
from tickstock.legacy.market_hours import get_market_period_detailed
from tickstock.legacy.price_history import CAP
from tickstock.legacy.stock_data import StockData


def calculate_vwap_divergence(price: float, vwap: float | None) -> float:
    if vwap and vwap > 0:
        return (price - vwap) / vwap * 100
    return 0.0


def calculate_relative_volume(current: float | None, average: float | None) -> float:
    if average and average > 0 and current:
        return current / average
    return 0.0


def calculate_percent_change(price: float, base: float | None) -> float:
    if base and base > 0:
        return (price - base) / base * 100
    return 0.0


def get_base_price(
    stock_data: StockData, market_status: str, market_open_price: float | None, price: float
) -> tuple[float, str]:
    """Session base: the official open in REGULAR, else the previous last_price, else the price."""
    if market_status == "REGULAR" and market_open_price and market_open_price > 0:
        return market_open_price, "market_open_price"
    last = stock_data.last_price if stock_data.last_price > 0 else price
    if last and last > 0:
        return last, "last_price"
    return price, "current_price"


def map_direction_symbol(direction: str | None) -> str:
    d = direction.lower() if direction else ""
    if d in ("up", "bullish", "upward"):
        return "↑"
    if d in ("down", "bearish", "downward"):
        return "↓"
    return "→"


def generate_event_label(event_type: str, **kwargs: Any) -> str:
    """'HIGH #n', ' LOW #n' (leading space, as TickStock), 'TREND ↑ strong', 'SURGE ↑ trigger'."""
    kind = event_type.lower()
    if kind in ("high", "session_high"):
        return f"HIGH #{kwargs.get('count', 0)}"
    if kind in ("low", "session_low"):
        return f" LOW #{kwargs.get('count', 0)}"
    if kind == "trend":
        return f"TREND {kwargs.get('direction', '→')} {kwargs.get('strength', 'weak')}"
    if kind == "surge":
        return f"SURGE {kwargs.get('direction', '→')} {kwargs.get('trigger_type', 'unknown')}"
    return f"{event_type.upper()} at ${kwargs.get('price', 0):.2f}"


_period_by_minute: dict[int, str] = {}


def market_period(epoch_seconds: float) -> str:
    """`get_market_period_detailed` memoised per UTC minute (period bounds are whole ET minutes
    and UTC offsets whole hours, so the period is constant within a minute)."""
    minute = int(epoch_seconds // 60)
    period = _period_by_minute.get(minute)
    if period is None:
        if len(_period_by_minute) > 50_000:
            _period_by_minute.clear()
        period = _period_by_minute[minute] = get_market_period_detailed(minute * 60)
    return period


def get_price_bucket(price: float) -> str:
    """Trend price bucket: PENNY < 10 ≤ LOW < 50 ≤ MID < 200 ≤ HIGH < 500 ≤ ULTRA."""
    if price < 10:
        return "PENNY"
    if price < 50:
        return "LOW"
    if price < 200:
        return "MID"
    if price < 500:
        return "HIGH"
    return "ULTRA"


def surge_band_bounds(config: Any) -> tuple[float, float, float, float]:
    g = config.get
    return (
        g("SURGE_PRICE_BAND_PENNY_MAX", 10),
        g("SURGE_PRICE_BAND_LOW_MAX", 50),
        g("SURGE_PRICE_BAND_MID_MAX", 200),
        g("SURGE_PRICE_BAND_HIGH_MAX", 500),
    )


_BAND_DEFAULTS = {
    "PENNY": (3.0, 0.10),
    "LOW": (2.0, 0.50),
    "MID": (1.5, 1.00),
    "HIGH": (1.0, 2.00),
    "ULTRA": (0.5, 3.00),
}


def get_surge_price_band(price: float, bounds: tuple[float, float, float, float]) -> str:
    """Surge price band name for a price, given (PENNY, LOW, MID, HIGH) upper bounds."""
    if price < bounds[0]:
        return "PENNY"
    if price < bounds[1]:
        return "LOW"
    if price < bounds[2]:
        return "MID"
    if price < bounds[3]:
        return "HIGH"
    return "ULTRA"


def surge_band_values(name: str, config: Any) -> tuple[float, float]:
    """(price %, $) of a surge band: SURGE_PRICE_BAND_<name>_PCT / _DOLLAR with code defaults."""
    pct, dollar = _BAND_DEFAULTS[name]
    return (
        config.get(f"SURGE_PRICE_BAND_{name}_PCT", pct),
        config.get(f"SURGE_PRICE_BAND_{name}_DOLLAR", dollar),
    )


def calculate_surge_volatility(buffer: Any, now: float, lookback_seconds: float = 30) -> str:
    """HIGH / NORMAL / LOW from buffer prices of the last 30 s; identical prices give LOW."""
    if not buffer or len(buffer) < 3:
        return "NORMAL"
    start = now - lookback_seconds
    prices = [p[0] for p in buffer if p[2] >= start]
    n = len(prices)
    if n < 3:
        return "NORMAL"
    mean = sum(prices) / n
    if mean <= 0:
        return "NORMAL"
    var = sum([(x - mean) ** 2 for x in prices]) / (n - 1)
    pct = var**0.5 / mean * 100
    if pct > 2.0:
        return "HIGH"
    if pct < 0.5:
        return "LOW"
    return "NORMAL"


class LightweightChecks:
    """The HighLow detector's trend/surge flag checks, with the base configuration read once."""

    __slots__ = (
        "_min_history",
        "_min_points",
        "_warmup",
        "_trend_params",
        "_dir",
        "_str",
        "_sens",
        "_surge_min_points",
        "_surge_interval",
        "_surge_volume_threshold",
        "_surge_mode",
        "_surge_matrix",
        "_up_mult",
        "_down_mult",
        "_config",
    )

    def __init__(self, config: Any) -> None:
        g = config.get
        self._config = config
        self._min_history = g("TREND_MIN_HISTORY_POINTS_REQUIRED", 30)
        self._min_points = g("TREND_MIN_DATA_POINTS_PER_WINDOW", 10)
        self._warmup = g("TREND_WARMUP_PERIOD_SECONDS", 180)
        self._trend_params = trend_engine.TrendParams.from_config(config)
        self._dir = g("TREND_DIRECTION_THRESHOLD", 0.3)
        self._str = g("TREND_STRENGTH_THRESHOLD", 0.6)
        self._sens = g("TREND_GLOBAL_SENSITIVITY", 1.0)
        self._surge_min_points = g("SURGE_MIN_DATA_POINTS", 3)
        self._surge_interval = g("SURGE_INTERVAL_SECONDS", 5)
        volume_threshold = g("SURGE_VOLUME_THRESHOLD", 1.3)
        if g("SURGE_TESTING_MODE", False):
            volume_threshold *= g("SURGE_TEST_VOLUME_MULTIPLIER", 0.5)
        self._surge_volume_threshold = volume_threshold
        self._surge_mode = g("SURGE_DETECTION_MODE", "OR")
        self._surge_matrix = surge_engine.static_price_matrix(config)
        self._up_mult = g("SURGE_UP_THRESHOLD_MULTIPLIER", 1.0)
        self._down_mult = g("SURGE_DOWN_THRESHOLD_MULTIPLIER", 1.0)

    def trend_flag(
        self,
        stock_data: StockData,
        price: float,
        vwap: float | None,
        volume: float | None,
        now: float,
    ) -> str | None:
        """'up'/'down' when the history plus this point shows a trend (check_trend_conditions)."""
        history = stock_data.price_history
        if len(history) < self._min_history:
            return None
        if now - history.first_timestamp() < self._warmup:
            return None
        history.append(price, vwap, volume, now)  # TickStock: a copy of the list plus this point
        try:
            trend = trend_engine.multi_window_trend(
                history, now, self._trend_params, self._min_points, self._dir, self._str, CAP + 1
            )
        finally:
            history.pop()
        direction, _ = trend_engine.evaluate(
            trend.combined_score, self._dir * self._sens, self._str * self._sens
        )
        return None if direction == "neutral" else direction

    def surge_flag(
        self,
        stock_data: StockData,
        price: float,
        volume: float | None,
        tick_volume: float | None,
        now: float,
    ) -> str | None:
        """'up'/'down' when Surge's buffer plus this price meets the static thresholds."""
        surge = stock_data.surge_data
        if surge is None:
            return None
        buffer = surge.buffer
        if len(buffer) < self._surge_min_points:
            return None
        actual = tick_volume if tick_volume is not None and tick_volume > 0 else volume
        metrics = surge_engine.surge_metrics(buffer, price, actual, now, self._surge_interval)
        pct, dollar = self._static_thresholds(price)
        if metrics.direction == "up":
            pct *= self._up_mult
        elif metrics.direction == "down":
            pct *= self._down_mult
        is_surge = surge_engine.evaluate(
            metrics, pct, dollar, self._surge_volume_threshold, self._surge_mode, self._config
        )[0]
        if is_surge and metrics.direction in ("up", "down"):
            return metrics.direction
        return None

    def _static_thresholds(self, price: float) -> tuple[float, float]:
        for max_price, pct, dollar in self._surge_matrix:
            if price < max_price:
                return pct, dollar
        return self._surge_matrix[-1][1], self._surge_matrix[-1][2]
