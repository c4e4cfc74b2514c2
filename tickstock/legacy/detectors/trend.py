"""TrendDetector: multi-window trend events with period/bucket/volatility thresholds (TickStock §3.2).

Kept on purpose: retracement also fires when a trend strengthens, `should_emit_event` (weak-trend
suppression) is ignored, the 300-point history caps the long window. Fixed: tick times are used
as epoch seconds (TickStock localised server-local time as US/Eastern), the period comes from the
tick time in US/Eastern. Faithful by default (tickstock-reference.md §9): a None VWAP makes the
vwap-position expression raise TypeError, which detect_trend swallows — no trend, the error
counted (`errors_swallowed`); FIX_TREND_MISSING_VWAP uses the price instead. The base price of
`percent_change` comes from StockData, whose market open price TickStock never sets (see
FIX_STORE_MARKET_OPEN_PRICE). Dynamic thresholds depend only on (period, bucket, volatility) and are
memoised.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from tickstock.clock import Clock
from tickstock.legacy.detectors import trend_engine
from tickstock.legacy.detectors.utils import (
    calculate_percent_change,
    calculate_relative_volume,
    calculate_vwap_divergence,
    get_base_price,
    get_price_bucket,
    map_direction_symbol,
    market_period,
)
from tickstock.legacy.events import TrendEvent, make_event_id
from tickstock.legacy.price_history import CAP
from tickstock.legacy.stock_data import StockData
from tickstock.legacy.tick import TickData

_THRESHOLD_KEYS = (
    ("direction_threshold", "TREND_DIRECTION_THRESHOLD", 0.3),
    ("strength_threshold", "TREND_STRENGTH_THRESHOLD", 0.6),
    ("global_sensitivity", "TREND_GLOBAL_SENSITIVITY", 1.0),
    ("min_emission_interval", "TREND_MIN_EMISSION_INTERVAL", 60),
    ("retracement_threshold", "TREND_RETRACEMENT_THRESHOLD", 0.4),
    ("min_data_points_per_window", "TREND_MIN_DATA_POINTS_PER_WINDOW", 10),
    ("warmup_period_seconds", "TREND_WARMUP_PERIOD_SECONDS", 180),
)


class TrendThresholds(NamedTuple):
    """`get_dynamic_thresholds` for one (period, bucket, volatility) plus the context."""

    direction_threshold: float
    strength_threshold: float
    global_sensitivity: float
    min_emission_interval: float
    retracement_threshold: float
    min_data_points_per_window: int
    warmup_period_seconds: float
    market_period: str
    price_bucket: str
    volatility_category: str


class TrendDetector:
    """Detects trends; `detect_trend(tick, stock_data)` → list of TrendEvent."""

    def __init__(self, config: Any, clock: Clock) -> None:
        self.config = config
        self.clock = clock
        self.params = trend_engine.TrendParams.from_config(config)
        self._spans = self.params.spans
        self.dynamic_retracement = config.get("TREND_DYNAMIC_RETRACEMENT", True)
        # TickStock compares price > vwap with vwap None and swallows the TypeError (§9): the
        # trend is lost and the error counted, unless the opt-in fix uses the price instead
        self.fill_missing_vwap = bool(config.get("FIX_TREND_MISSING_VWAP", False))
        self.errors_swallowed = 0
        self.last_swallowed: str | None = None
        self.trend_counts: dict[str, dict[str, int]] = {}
        self.last_trend_direction: dict[str, str] = {}
        self.last_trend_emission: dict[str, float] = {}
        self._thresholds: dict[tuple[str, str, str], TrendThresholds] = {}
        self._by_bucket: dict[tuple[str, str], dict[str, TrendThresholds]] = {}
        self._emitted = 0

    def dynamic_thresholds(self, period: str, bucket: str, volatility: str) -> TrendThresholds:
        """Period override → min with bucket value → × volatility multiplier (memoised)."""
        key = (period, bucket, volatility)
        cached = self._thresholds.get(key)
        if cached is not None:
            return cached
        g = self.config.get
        values = {}
        for name, base_key, default in _THRESHOLD_KEYS:
            values[name] = g(f"{base_key}_{period}", g(base_key, default))
        bucket_dir = g(f"TREND_DIRECTION_THRESHOLD_{bucket}", None)
        bucket_str = g(f"TREND_STRENGTH_THRESHOLD_{bucket}", None)
        if bucket_dir is not None:
            values["direction_threshold"] = min(values["direction_threshold"], bucket_dir)
        if bucket_str is not None:
            values["strength_threshold"] = min(values["strength_threshold"], bucket_str)
        multiplier = g(f"TREND_VOLATILITY_MULTIPLIER_{volatility}", 1.0)
        values["direction_threshold"] *= multiplier
        values["strength_threshold"] *= multiplier
        result = TrendThresholds(**values, market_period=period, price_bucket=bucket,
                                 volatility_category=volatility)  # fmt: skip
        self._thresholds[key] = result
        return result

    def reset_daily_counts(self) -> None:
        for ticker in self.trend_counts:
            self.trend_counts[ticker] = {"up": 0, "down": 0}

    def detect_trend(self, tick: TickData, stock_data: StockData) -> list[TrendEvent]:
        ticker = tick.ticker
        price = tick.price
        vwap = tick.vwap
        tick_time = tick.timestamp
        now = self.clock.now()
        stored_time = now if tick_time > now + 60 else tick_time  # future-timestamp correction
        history = stock_data.price_history
        history.append(price, vwap, tick.volume, stored_time)
        period = market_period(tick_time)
        bucket = get_price_bucket(price)
        # min points and warm-up depend on the period only; the volatility scan (which only moves
        # the direction/strength thresholds) is skipped while they hold detection back.
        by_volatility = self._by_bucket.get((period, bucket))
        if by_volatility is None:
            by_volatility = self._by_bucket[(period, bucket)] = {}
            for category in ("NORMAL", "HIGH", "LOW"):
                by_volatility[category] = self.dynamic_thresholds(period, bucket, category)
        th = by_volatility["NORMAL"]
        min_points = th.min_data_points_per_window
        size, first_time = history.span()
        if size < min_points * 3 or tick_time - first_time < th.warmup_period_seconds:
            stock_data.trend_direction = "→"
            stock_data.trend_strength = "neutral"
            stock_data.trend_score = 0
            stock_data.short_trend = stock_data.medium_trend = stock_data.long_trend = 0
            _write_vwap_state(stock_data, price, vwap)
            return []
        if size >= 10:
            if history.ordered:  # volatility_category, without re-checking the length
                volatility = history.volatility_category(now - 300)
            else:
                volatility = trend_engine.volatility_category(history, now)
            if volatility != "NORMAL":
                th = by_volatility.get(volatility) or self.dynamic_thresholds(
                    period, bucket, volatility
                )
        direction_threshold = th.direction_threshold
        strength_threshold = th.strength_threshold
        params = self.params
        if history.ordered and history.decay == params.decay:  # multi_window_trend, inlined
            comps = history.windows(tick_time, self._spans, CAP, min_points)
        else:
            c = trend_engine.window_components(history, tick_time, params)
            comps = (c[0], c[1], c[2])
        trend = trend_engine.MultiWindowTrend(
            comps, min_points, params, direction_threshold, strength_threshold
        )
        score = trend.combined_score
        sens = th.global_sensitivity
        adjusted_dir = direction_threshold * sens
        retr = trend_engine.is_retracement(
            stock_data.trend_score,
            score,
            adjusted_dir,
            trend_engine.retracement_threshold(
                price, th.retracement_threshold, self.dynamic_retracement
            ),
        )
        if retr:
            score = 0
        direction, strength = trend_engine.evaluate(score, adjusted_dir, strength_threshold * sens)
        events: list[TrendEvent] = []
        if direction != "neutral":
            counts = self.trend_counts.get(ticker)
            if counts is None:
                counts = self.trend_counts[ticker] = {"up": 0, "down": 0}
            if self._should_emit(
                ticker, direction, tick_time, first_time, th.min_emission_interval
            ):
                last_direction = self.last_trend_direction.get(ticker)
                reversal = None
                if last_direction == "up" and direction == "down":
                    reversal = "up-now-down"
                elif last_direction == "down" and direction == "up":
                    reversal = "down-now-up"
                counts[direction] += 1
                self.last_trend_direction[ticker] = direction
                try:
                    event = self._event(
                        tick, stock_data, direction, strength, score, trend, reversal, retr, now
                    )
                except TypeError as exc:  # TickStock: caught and logged inside detect_trend
                    self.errors_swallowed += 1
                    self.last_swallowed = f"{ticker}: {exc}"
                    return []
                events.append(event)
                self.last_trend_emission[ticker] = tick_time
        elif ticker not in self.trend_counts:
            self.trend_counts[ticker] = {"up": 0, "down": 0}
        stock_data.trend_direction = _SYMBOLS.get(direction, "→")
        stock_data.trend_strength = strength
        stock_data.trend_score = score
        stock_data.short_trend = trend.short_score
        stock_data.medium_trend = trend.medium_score
        stock_data.long_trend = trend.long_score
        _write_vwap_state(stock_data, price, vwap)
        return events

    def _should_emit(
        self, ticker: str, direction: str, tick_time: float, first_time: float, interval: float
    ) -> bool:
        if tick_time - first_time < interval // 3:
            return False
        if self.last_trend_direction.get(ticker) != direction:
            return True
        last = self.last_trend_emission.get(ticker)
        if last is None:
            return True
        return tick_time - last >= interval

    def _event(
        self,
        tick: TickData,
        stock_data: StockData,
        direction: str,
        strength: str,
        score: float,
        trend: trend_engine.MultiWindowTrend,
        reversal: str | None,
        retracement: bool,
        now: float,
    ) -> TrendEvent:
        price = tick.price
        vwap = tick.vwap
        counts = self.trend_counts[tick.ticker]
        base, _ = get_base_price(
            stock_data, stock_data.market_status, stock_data.market_open_price, price
        )
        if vwap is None:
            if not self.fill_missing_vwap:  # TickStock's `price > None`: TypeError (§9)
                raise TypeError(f"'>' not supported between 'float' and 'NoneType' ({tick.ticker})")
            vwap_position = "below"  # the price stands in: `price > price` is False
        else:
            vwap_position = "above" if price > vwap else "below" if vwap else "unknown"
        self._emitted += 1
        return TrendEvent(
            ticker=tick.ticker,
            type="trend",
            price=price,
            time=now,
            event_id=make_event_id(tick.ticker, "trend", tick.timestamp, self._emitted),
            direction=direction,
            reversal=reversal if reversal else False,
            count=counts["up"] + counts["down"],
            count_up=counts["up"],
            count_down=counts["down"],
            percent_change=calculate_percent_change(price, base),
            vwap=vwap,
            vwap_divergence=calculate_vwap_divergence(price, vwap),
            volume=tick.volume,
            rel_volume=calculate_relative_volume(tick.volume, None),
            label=f"TREND {map_direction_symbol(direction)} {strength}",
            trend_strength=strength,
            trend_score=score,
            trend_short_score=trend.short_score,
            trend_medium_score=trend.medium_score,
            trend_long_score=trend.long_score,
            trend_vwap_position=vwap_position,
            trend_age=0,
            trend_calc_transparency={
                "trend_windows": {
                    "short": trend.short.transparency(),
                    "medium": trend.medium.transparency(),
                    "long": trend.long.transparency(),
                },
                "overall_calculation": {
                    "formula": "overall_score = (short * 0.3 + medium * 0.4 + long * 0.3)",
                    "result": trend.combined_score,
                },
                "retracement_detected": retracement,
            },
        )


_SYMBOLS = {"up": "↑", "down": "↓"}  # map_direction_symbol for the directions evaluate() returns


def _write_vwap_state(stock_data: StockData, price: float, vwap: float | None) -> None:
    """The vwap half of TickStock's per-tick trend state update."""
    if vwap is not None:
        stock_data.vwap_position = "above" if price > vwap else "below"
        stock_data.vwap_divergence = (price - vwap) / vwap * 100 if vwap > 0 else 0
    else:
        stock_data.vwap_position = "unknown"
        stock_data.vwap_divergence = 0
