"""HighLowDetector: new session highs and lows (TickStock §3.1), with its quirks kept.

Kept on purpose: last_price is overwritten before the gate (so only |%chg from base| can open
it), session bounds move only when an event is emitted, significance tops out at 50, counts are
not reset on a status change, the market-aware multipliers are read but unused. Event time,
cooldown and reversal windows read the injected clock (the tick time in replay).
"""

from __future__ import annotations

from collections import deque
from typing import Any

from tickstock.clock import Clock
from tickstock.legacy.detectors.utils import (
    LightweightChecks,
    calculate_relative_volume,
    calculate_vwap_divergence,
)
from tickstock.legacy.events import HighLowEvent, make_event_id
from tickstock.legacy.stock_data import StockData
from tickstock.legacy.tick import TickData

_INF = float("inf")


class HighLowState:
    """Per-ticker state (`ticker_data[t]`); None marks keys the seeded variant does not have."""

    __slots__ = (
        "session_high", "session_low", "last_price", "market_status", "last_market_status",
        "market_open_price", "initial_seed_price", "high_count", "low_count", "last_event_type",
        "last_event_time", "last_event_price", "event_history", "last_reversal",
        "reversal_count", "last_significance_score", "session_start_time", "previous_high",
        "previous_low", "current_high", "current_low", "volume", "vwap", "volume_history",
        "volume_total", "average_volume", "percent_change",
    )  # fmt: skip

    def __init__(self, session_high: float, session_low: float, market_status: str | None) -> None:
        self.session_high = session_high
        self.session_low = session_low
        self.last_price: float | None = None
        self.market_status = market_status
        self.last_market_status = market_status
        self.market_open_price: float = 0
        self.initial_seed_price: float | None = None
        self.high_count = 0
        self.low_count = 0
        self.last_event_type: str | None = None
        self.last_event_time: float | None = None
        self.last_event_price: float | None = None
        self.event_history: deque[tuple[str, float, float, float]] = deque(maxlen=10)
        self.last_reversal: dict[str, Any] | None = None
        self.reversal_count = 0
        self.last_significance_score: float = 0
        self.session_start_time: float | None = None
        self.previous_high: float | None = None
        self.previous_low: float | None = None
        self.current_high: float | None = None
        self.current_low: float | None = None
        self.volume: float | None = None
        self.vwap: float | None = None
        self.volume_history: list[float] = []
        # sum(volume_history), kept as it changes: volumes are ints (TickData.validate), so the
        # running total is exactly the sum TickStock recomputed on every tick
        self.volume_total: float = 0
        self.average_volume: float | None = None
        self.percent_change = 0.0


class HighLowDetector:
    """Detects session highs/lows; `detect_highlow(tick, stock_data)` → list of HighLowEvent."""

    def __init__(self, config: Any, clock: Clock) -> None:
        g = config.get
        self.config = config
        self.clock = clock
        self.base_min_price_change = float(g("HIGHLOW_MIN_PRICE_CHANGE", 0.01))
        self.base_min_percent_change = float(g("HIGHLOW_MIN_PERCENT_CHANGE", 0.1))
        self.cooldown_seconds = float(g("HIGHLOW_COOLDOWN_SECONDS", 1))
        self.market_aware = g("HIGHLOW_MARKET_AWARE", True)
        self.extended_multiplier = float(g("HIGHLOW_EXTENDED_HOURS_MULTIPLIER", 2.0))
        self.opening_multiplier = float(g("HIGHLOW_OPENING_MULTIPLIER", 1.5))
        self.enable_significance = g("HIGHLOW_SIGNIFICANCE_SCORING", True)
        self.volume_weight = float(g("HIGHLOW_SIGNIFICANCE_VOLUME_WEIGHT", 0.5))
        self.track_reversals = g("HIGHLOW_TRACK_REVERSALS", True)
        # TickStock's state starts with current_low None, and a high reads it as it is (§9)
        self.fill_current_low = bool(g("FIX_HIGHLOW_CURRENT_LOW", False))
        self.reversal_window = float(g("HIGHLOW_REVERSAL_WINDOW", 300))
        self.ticker_data: dict[str, HighLowState] = {}
        self.checks = LightweightChecks(config)
        self._emitted = 0
        base_p, base_pct = self.base_min_price_change, self.base_min_percent_change
        self._bands = (
            (1.0, base_p * 0.5, base_pct * 2),
            (5.0, base_p, base_pct * 1.5),
            (25.0, base_p * 2, base_pct),
            (100.0, base_p * 5, base_pct * 0.8),
        )
        self._top_band = (base_p * 10, base_pct * 0.5)

    # --- state seeding and resets (called by the pipeline) ---
    def initialize_highlow_event_data(
        self,
        ticker: str,
        session_high: float | None = None,
        session_low: float | None = None,
        market_status: str | None = None,
        last_price: float | None = None,
        market_open_price: float | None = None,
    ) -> None:
        """The pipeline's seeding of a new ticker (bounds only move outwards)."""
        state = self.ticker_data.get(ticker)
        if state is None:
            state = self.ticker_data[ticker] = HighLowState(-_INF, _INF, market_status)
        if market_open_price is not None:
            state.market_open_price = market_open_price
            if market_status == "REGULAR" and (
                state.session_high == -_INF or state.session_low == _INF
            ):
                if session_high is None:
                    state.session_high = market_open_price
                if session_low is None:
                    state.session_low = market_open_price
        if session_high is not None and (
            state.session_high == -_INF or session_high > state.session_high
        ):
            state.session_high = session_high
        if session_low is not None and (
            state.session_low == _INF or session_low < state.session_low
        ):
            state.session_low = session_low
        if last_price is not None:
            state.last_price = last_price
        if market_status is not None:
            state.last_market_status = market_status
            state.market_status = market_status

    def reset_for_new_market_session(self, market_status: str) -> None:
        for state in self.ticker_data.values():
            state.session_high = -_INF
            state.session_low = _INF
            state.last_price = _INF
            state.market_status = market_status
            state.last_market_status = market_status

    def _new_state(self, tick: TickData) -> HighLowState:
        op = tick.market_open_price
        initial = op if tick.market_status == "REGULAR" and op and op > 0 else tick.price
        state = HighLowState(initial, initial, tick.market_status)
        state.last_price = tick.price
        state.market_open_price = op or tick.price
        state.initial_seed_price = initial
        state.session_start_time = tick.timestamp
        state.current_high = initial
        state.current_low = initial if self.fill_current_low else None
        state.volume = tick.volume
        state.vwap = tick.vwap
        return state

    def price_thresholds(self, price: float) -> dict[str, float]:
        for bound, min_p, min_pct in self._bands:
            if price < bound:
                return {"min_price_change": min_p, "min_percent_change": min_pct}
        return {"min_price_change": self._top_band[0], "min_percent_change": self._top_band[1]}

    # --- detection ---
    def detect_highlow(self, tick: TickData, stock_data: StockData) -> list[HighLowEvent]:
        ticker = tick.ticker
        price = tick.price
        status = tick.market_status
        state = self.ticker_data.get(ticker)
        if state is None:
            state = self.ticker_data[ticker] = self._new_state(tick)
        op = tick.market_open_price
        if status == "REGULAR" and op and op > 0:  # get_base_price, inlined (hot path)
            base = op
        else:
            last = stock_data.last_price
            base = last if last > 0 else price
        pct = (price - base) / base * 100 if base > 0 else 0.0
        state.percent_change = pct
        # update_ticker_state: last_price before the gate (quirk), volume history
        state.last_price = price
        volume = tick.volume
        state.volume = volume
        state.vwap = tick.vwap
        if volume and volume > 0:
            history = state.volume_history
            history.append(volume)
            total = state.volume_total + volume
            if len(history) > 20:
                total -= history[0]
                del history[0]
            state.volume_total = total
            if len(history) >= 5:
                state.average_volume = total / len(history)
        if state.market_status != status:
            state.last_market_status = state.market_status
            state.market_status = status
            sh, sl = state.session_high, state.session_low
            state.previous_high = sh if sh != -_INF else None
            state.previous_low = sl if sl != _INF else None
            state.session_high = state.session_low = price
            state.current_high = state.current_low = price
        # TickStock checks cooldown, then the gate, then the bounds; all three are side-effect
        # free, so the cheapest (the bounds, which most ticks fail) goes first.
        if price > state.session_high:
            kind = "high"
        elif price < state.session_low:
            kind = "low"
        else:
            return []
        now = self.clock.now()
        if (
            self.cooldown_seconds > 0
            and state.last_event_time is not None
            and now - state.last_event_time < self.cooldown_seconds
        ):
            return []
        thresholds = self.price_thresholds(price)
        if not (
            abs(pct) >= thresholds["min_percent_change"]
            or abs(price - price) >= thresholds["min_price_change"]
        ):
            return []  # last_price was set to price above: only the % test can pass (quirk)
        # TickStock computes the flags before the cooldown and gate; they have no side effects,
        # so computing them only for an emitted event gives the same events with less work.
        checks = self.checks
        trend_flag = checks.trend_flag(stock_data, price, tick.vwap, tick.volume, now)
        surge_flag = checks.surge_flag(stock_data, price, tick.volume, tick.tick_volume, now)
        return [
            self._emit(tick, stock_data, state, kind, pct, now, trend_flag, surge_flag, thresholds)
        ]

    def _emit(
        self,
        tick: TickData,
        stock_data: StockData,
        state: HighLowState,
        kind: str,
        pct: float,
        now: float,
        trend_flag: str | None,
        surge_flag: str | None,
        thresholds: dict[str, float],
    ) -> HighLowEvent:
        price = tick.price
        high = kind == "high"
        previous = state.session_high if high else state.session_low
        is_initial = previous == (-_INF if high else _INF)
        if high:
            state.high_count += 1
            count = state.high_count
        else:
            state.low_count += 1
            count = state.low_count
        reversal_info = self._reversal(kind, state, now) if self.track_reversals else None
        volume = state.volume
        avg = state.average_volume
        significance = self._significance(volume, avg, pct)
        prev_value = previous if not is_initial else None
        if high:
            state.previous_high = prev_value
            state.session_high = state.current_high = price
        else:
            state.previous_low = prev_value
            state.session_low = state.current_low = price
        state.last_event_type = kind
        state.last_event_time = now
        state.last_event_price = price
        state.last_significance_score = significance
        state.event_history.append((kind, price, now, significance))
        vwap = state.vwap
        sh, sl = state.session_high, state.session_low
        self._emitted += 1
        event = HighLowEvent(
            ticker=tick.ticker,
            type=kind,
            price=price,
            time=now,
            event_id=make_event_id(tick.ticker, kind, tick.timestamp, self._emitted),
            count=state.high_count + state.low_count,
            percent_change=pct,
            vwap=vwap,
            volume=volume or 0,
            direction="up" if high else "down",
            reversal=bool(reversal_info),
            count_up=state.high_count,
            count_down=state.low_count,
            vwap_divergence=calculate_vwap_divergence(price, vwap),
            rel_volume=calculate_relative_volume(volume, avg),
            label=f"HIGH #{count}" if high else f" LOW #{count}",
            current_high=price if high else _or(state.current_high, sh),
            current_low=(
                (_or(state.current_low, sl) if self.fill_current_low else state.current_low)
                if high
                else price
            ),
            previous_high=prev_value if high else state.previous_high,
            previous_low=state.previous_low if high else prev_value,
            period="session",
            session_high=price if high else (sh if sh != -_INF else None),
            session_low=(sl if sl != _INF else None) if high else price,
            is_initial=is_initial,
            last_update=tick.timestamp,
            trend_flag=trend_flag,
            surge_flag=surge_flag,
            significance_score=significance,
            reversal_info=reversal_info,
            thresholds_used=thresholds,
        )
        if reversal_info:
            state.last_reversal = reversal_info
            state.reversal_count += 1
        return event

    def _reversal(self, kind: str, state: HighLowState, now: float) -> dict[str, Any] | None:
        last_type = state.last_event_type
        if not last_type:
            return None
        since = now - (state.last_event_time or 0)
        if since > self.reversal_window:
            return None
        if last_type == "low" and kind == "high":
            rtype = "V-bottom"
        elif last_type == "high" and kind == "low":
            rtype = "V-top"
        else:
            return None
        info: dict[str, Any] = {
            "type": rtype,
            "time_span": since,
            "is_rapid": since < 60,
            "previous_type": last_type,
            "previous_price": state.last_event_price,
        }
        h = state.event_history
        if len(h) >= 3:
            if kind == "high" and (h[-1][0], h[-2][0], h[-3][0]) == ("low", "high", "low"):
                info["pattern"] = "W-bottom"
            elif kind == "low" and (h[-1][0], h[-2][0], h[-3][0]) == ("high", "low", "high"):
                info["pattern"] = "M-top"
        return info

    def _significance(self, volume: float | None, avg: float | None, pct: float) -> float:
        """price part ≤ 50, volume part ≤ 50, blended by the volume weight: tops out at 50."""
        if not self.enable_significance:
            return 0
        price_score = min(abs(pct) * 10, 50)
        volume_score: float = 0
        if avg and avg > 0 and volume and volume > 0:
            volume_score = min(volume / avg * 25, 50)
        return price_score * (1 - self.volume_weight) + volume_score * self.volume_weight


def _or(value: float | None, fallback: float) -> float | None:
    """`state.get(key, fallback)`: a missing key (None here) falls back; ±inf bounds stay as-is."""
    return fallback if value is None else value
