"""SurgeDetector: price/volume surges with period, band and volatility thresholds (TickStock §3.3).

Kept on purpose: ticks inside the check interval are dropped (not buffered), the quality gate
records its success before the cooldown check, its count resets only after a 30-minute gap (and
only for the check), `surge_magnitude` is signed, SURGE_GLOBAL_SENSITIVITY_<P> is returned but
unused. Fixed: every time is the injected clock's now (TickStock read `time.time()`), and the
period comes from the tick time in US/Eastern. The interval check runs before the volatility
scan because the interval depends on the period alone (same result, less work per tick).
"""

from __future__ import annotations

from typing import Any

from tickstock.clock import Clock
from tickstock.legacy.detectors import surge_engine
from tickstock.legacy.detectors.surge_engine import SurgeThresholds
from tickstock.legacy.detectors.utils import (
    calculate_percent_change,
    calculate_relative_volume,
    calculate_surge_volatility,
    calculate_vwap_divergence,
    get_base_price,
    get_surge_price_band,
    map_direction_symbol,
    market_period,
    surge_band_bounds,
    surge_band_values,
)
from tickstock.legacy.events import SurgeEvent, make_event_id
from tickstock.legacy.stock_data import StockData, SurgeData, SurgePoint
from tickstock.legacy.tick import TickData

EXPIRATION_SECONDS = 30
QUALITY_MIN_DOLLAR = {"PENNY": 0.10, "LOW": 0.50, "MID": 1.50, "HIGH": 3.00, "ULTRA": 5.00}
QUALITY_MIN_SCORE = {"OPENING": 50, "MIDDAY": 75, "CLOSING": 60, "AFTERHOURS": 45, "PREMARKET": 45}
QUALITY_COOLDOWN = {
    "OPENING": 45,
    "MIDDAY": 180,
    "CLOSING": 60,
    "AFTERHOURS": 120,
    "PREMARKET": 120,
}
QUALITY_MAX_COUNT = {"OPENING": 5, "MIDDAY": 3, "CLOSING": 4, "AFTERHOURS": 3, "PREMARKET": 3}
_LABEL_TRIGGERS = {
    "price_driven": "price-led",
    "volume_driven": "volume-led",
    "price_and_volume": "price & volume",
}


class SurgeDetector:
    """Detects surges; `detect_surge(tick, stock_data)` → list of SurgeEvent."""

    def __init__(self, config: Any, clock: Clock) -> None:
        g = config.get
        self.config = config
        self.clock = clock
        self.interval_seconds = float(g("SURGE_INTERVAL_SECONDS", 5))
        self.cooldown_multiplier = g("SURGE_COOLDOWN_MULTIPLIER_MARKET", 1.0)
        self.price_weight = g("SURGE_SCORE_PRICE_WEIGHT", 50)
        self.volume_weight = g("SURGE_SCORE_VOLUME_WEIGHT", 50)
        self.band_bounds = surge_band_bounds(config)
        self.surge_counts: dict[str, dict[str, int]] = {}
        self.last_surge_direction: dict[str, str] = {}
        self.quality_tracking: dict[str, list[float]] = {}  # ticker → [last_time, count]
        self._period: dict[str, tuple[float, int]] = {}
        self._thresholds: dict[tuple[str, str, str], SurgeThresholds] = {}
        self._evaluator = surge_engine.AdaptiveEvaluator(config)
        self._emitted = 0

    def period_timing(self, period: str) -> tuple[float, int]:
        """(interval seconds, min data points) of a period (memoised)."""
        cached = self._period.get(period)
        if cached is None:
            g = self.config.get
            cached = (
                g(f"SURGE_INTERVAL_SECONDS_{period}", 5),
                g(f"SURGE_MIN_DATA_POINTS_{period}", 3),
            )
            self._period[period] = cached
        return cached

    def dynamic_thresholds(self, period: str, band: str, volatility: str) -> SurgeThresholds:
        """min(period %, band %) × volatility multiplier × period multiplier (memoised)."""
        key = (period, band, volatility)
        cached = self._thresholds.get(key)
        if cached is not None:
            return cached
        g = self.config.get
        mult = g(f"SURGE_THRESHOLD_MULTIPLIER_{period}", 1.0)
        band_pct, band_dollar = surge_band_values(band, self.config)
        vol_mult = g(f"SURGE_VOLATILITY_MULTIPLIER_{volatility}", 1.0)
        interval, min_points = self.period_timing(period)
        result = SurgeThresholds(
            price_threshold_pct=min(g(f"SURGE_PRICE_THRESHOLD_PERCENT_{period}", 2.0), band_pct)
            * vol_mult
            * mult,
            min_dollar_change=band_dollar * mult,
            volume_threshold=g(f"SURGE_VOLUME_THRESHOLD_{period}", 1.3),
            global_sensitivity=g(f"SURGE_GLOBAL_SENSITIVITY_{period}", 1.0),
            min_data_points=min_points,
            interval_seconds=interval,
            threshold_multiplier=mult,
            market_period=period,
            price_band=band,
            volatility_class=volatility,
            volatility_multiplier=vol_mult,
        )
        self._thresholds[key] = result
        return result

    def reset_daily_counts(self) -> None:
        for ticker in self.surge_counts:
            self.surge_counts[ticker] = {"up": 0, "down": 0}

    def reset_surge_quality_tracking(self) -> None:
        self.quality_tracking.clear()

    def detect_surge(self, tick: TickData, stock_data: StockData) -> list[SurgeEvent]:
        now = self.clock.now()
        surge = stock_data.surge_data
        if surge is None:
            surge = stock_data.surge_data = SurgeData()
        period = market_period(tick.timestamp)
        timing = self._period.get(period)
        if timing is None:
            timing = self.period_timing(period)
        interval, min_points = timing
        if now - surge.last_check_time < interval:
            return []  # inside the check interval: not even buffered (TickStock quirk)
        price = tick.price
        buffer = surge.buffer
        th = self.dynamic_thresholds(
            period,
            get_surge_price_band(price, self.band_bounds),
            calculate_surge_volatility(buffer, now),
        )
        surge.last_check_time = now
        if price <= 0:
            return []
        tick_volume = tick.tick_volume
        actual = tick_volume if tick_volume is not None and tick_volume > 0 else tick.volume
        if actual is None or actual <= 0:
            return []
        tick_vwap = tick.tick_vwap
        buffer.append(
            SurgePoint(price, actual, now, tick_vwap if tick_vwap is not None else tick.vwap,
                       tick.tick_trade_size)
        )  # fmt: skip
        if len(buffer) < min_points:
            return []
        metrics = surge_engine.surge_metrics(buffer, price, actual, now, interval)
        cond = self._evaluator.evaluate(metrics, th)
        if cond is None:
            return []
        if not self._quality_ok(tick.ticker, metrics, cond, period, now):
            return []
        last = surge.last_surge_time
        if last > 0 and now - last < interval * self.cooldown_multiplier:
            return []
        return [self._emit(tick, stock_data, surge, metrics, cond, now)]

    def _quality_ok(
        self,
        ticker: str,
        metrics: surge_engine.SurgeMetrics,
        cond: surge_engine.SurgeConditions,
        period: str,
        now: float,
    ) -> bool:
        """TickStock's hard-coded quality gate; success is recorded here, before the cooldown."""
        pct_abs = abs(metrics.price_change_pct)
        band = cond.thresholds_used.get("price_band", "MID")
        min_dollar = QUALITY_MIN_DOLLAR.get(band, 1.00)
        if period == "OPENING":
            min_dollar *= 0.7
        if abs(metrics.price_change_abs) < min_dollar:
            return False
        if cond.surge_score < QUALITY_MIN_SCORE.get(period, 60):
            return False
        if period == "MIDDAY" and cond.trigger_type not in (
            "price_and_volume",
            "price_driven",
            "volume_driven",
        ):
            return False
        tracking = self.quality_tracking.get(ticker)
        if tracking is not None:
            since = now - tracking[0]
            if since < QUALITY_COOLDOWN.get(period, 90):
                return False
            count = 0 if since > 1800 else tracking[1]
            if count >= QUALITY_MAX_COUNT.get(period, 3):
                return False
        else:
            tracking = self.quality_tracking[ticker] = [0.0, 0]
        if (
            cond.thresholds_used.get("volatility_class") == "LOW"
            and period == "MIDDAY"
            and pct_abs < 3.5
        ):
            return False
        tracking[0] = now
        tracking[1] += 1
        return True

    def _emit(
        self,
        tick: TickData,
        stock_data: StockData,
        surge: SurgeData,
        metrics: surge_engine.SurgeMetrics,
        cond: surge_engine.SurgeConditions,
        now: float,
    ) -> SurgeEvent:
        ticker = tick.ticker
        counts = self.surge_counts.setdefault(ticker, {"up": 0, "down": 0})
        direction = metrics.direction
        last_direction = self.last_surge_direction.get(ticker)
        reversal = None
        if last_direction == "up" and direction == "down":
            reversal = "up-now-down"
        elif last_direction == "down" and direction == "up":
            reversal = "down-now-up"
        if direction in counts:
            counts[direction] += 1
        if direction != "neutral":
            self.last_surge_direction[ticker] = direction
        price = tick.price
        vwap = tick.vwap
        actual = metrics.actual_volume
        base, _ = get_base_price(
            stock_data, stock_data.market_status, stock_data.market_open_price, price
        )
        trigger = cond.trigger_type
        label = f"{map_direction_symbol(direction)} {_LABEL_TRIGGERS.get(trigger, trigger)}"
        pct = metrics.price_change_pct
        self._emitted += 1
        event = SurgeEvent(
            ticker=ticker,
            type="surge",
            price=price,
            time=now,
            event_id=make_event_id(ticker, "surge", tick.timestamp, self._emitted),
            direction=direction,
            reversal=reversal if reversal else False,
            count=counts["up"] + counts["down"],
            count_up=counts["up"],
            count_down=counts["down"],
            percent_change=calculate_percent_change(price, base),
            vwap=vwap,
            vwap_divergence=calculate_vwap_divergence(price, vwap),
            volume=actual or 0,
            rel_volume=calculate_relative_volume(actual, None),
            label=label,
            surge_magnitude=pct,
            surge_strength=cond.surge_strength,
            surge_trigger_type=trigger,
            surge_score=cond.surge_score,
            surge_volume_multiplier=metrics.volume_multiplier,
            surge_calculation=self._calculation(metrics, cond, actual),
            surge_description=f"Surge {direction} {trigger.replace('_', '/')} ({abs(pct):.1f}%)",
            surge_expiration=now + EXPIRATION_SECONDS,
            surge_daily_count=surge.daily_surge_count + 1,
            surge_age=0,
        )
        surge.surge_history.append(
            {
                "direction": direction,
                "trigger_type": trigger,
                "price": price,
                "price_change_pct": pct,
                "score": cond.surge_score,
                "timestamp": now,
                "expiration": event.surge_expiration,
            }
        )
        surge.last_surge_time = now
        surge.surge_count += 1
        surge.daily_surge_count += 1
        return event

    def _calculation(
        self,
        metrics: surge_engine.SurgeMetrics,
        cond: surge_engine.SurgeConditions,
        actual: float | None,
    ) -> dict[str, Any]:
        """The `surge_calculation` transparency block, as TickStock builds it."""
        avg = metrics.avg_volume
        return {
            "baseline_price": metrics.baseline_price,
            "baseline_window": f"Previous price from buffer (t-{self.interval_seconds}s)",
            "price_change_pct": metrics.price_change_pct,
            "volume_baseline": avg,
            "volume_current": actual,
            "volume_multiplier_formula": (
                f"({actual} / {avg}) = {metrics.volume_multiplier:.2f}" if avg > 0 else "N/A"
            ),
            "magnitude_calculation": {
                "formula": f"abs(price_change_pct) = abs({metrics.price_change_pct:.2f})",
                "components": {
                    "baseline_price": metrics.baseline_price,
                    "absolute_change": metrics.price_change_abs,
                    "percent_change": metrics.price_change_pct,
                },
            },
            "score_calculation": {
                "formula": f"price_score({cond.price_score:.1f}) + "
                f"volume_score({cond.volume_score:.1f})",
                "weights": {"price_weight": self.price_weight, "volume_weight": self.volume_weight},
                "result": cond.surge_score,
            },
            "trigger_evaluation": {
                "thresholds_checked": dict(cond.thresholds_used),
                "price_surge": cond.is_price_surge,
                "volume_surge": cond.is_volume_surge,
                "trigger_type": cond.trigger_type,
            },
            "strength_derivation": f"Score {cond.surge_score:.1f} → "
            f"'{cond.surge_strength}' (strong>=80, moderate>=60)",
        }
