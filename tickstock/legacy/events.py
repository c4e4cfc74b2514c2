"""TickStock's typed market events (BaseEvent, HighLowEvent, TrendEvent, SurgeEvent) and their transport dicts.

Faithful to `src/core/domain/events/` of TickStock generation A, with the replay fixes of
docs/tickstock-semantics.md ("Detectors and events"): `event_id` is derived from ticker, type,
tick time and a per-detector counter (no uuid, no wall clock); the transport `time` string is the
tick time in US/Eastern (not the server's zone); like TickStock's, a transport dict has no
top-level `timestamp` unless EVENT_TIMESTAMP_FIELD asks for it; `surge_age` is computed from a caller-supplied `now` (its Clock), 0.0 without one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tickstock.legacy.market_hours import format_et_hms

HIGHLOW_PERIODS = frozenset({"session", "52week", "alltime", "day"})
TREND_STRENGTHS = frozenset({"weak", "moderate", "strong", "neutral"})
VWAP_POSITIONS = frozenset({"above", "below", "unknown"})
SURGE_STRENGTHS = frozenset({"weak", "moderate", "strong"})
SURGE_TRIGGERS = frozenset(
    {"price", "volume", "price_and_volume", "unknown", "price_driven", "volume_driven"}
)


def make_event_id(ticker: str, event_type: str, tick_time: float, counter: int) -> str:
    """Deterministic event id: same ticks and config give the same ids on every replay."""
    return f"{ticker}_{event_type}_{tick_time:.6f}_{counter}"


@dataclass(frozen=True, slots=True)
class BaseEvent:
    """Fields every TickStock event carries; `time` is the detector clock's now (tick time in replay)."""

    ticker: str
    type: str
    price: float
    time: float
    event_id: str = ""
    direction: str = "→"
    reversal: Any = False
    count: int = 0
    count_up: int = 0
    count_down: int = 0
    percent_change: float = 0.0
    vwap: float | None = None
    vwap_divergence: float = 0.0
    volume: float = 0
    rel_volume: float = 0.0
    label: str = ""

    def __post_init__(self) -> None:
        if not self.event_id:
            object.__setattr__(
                self, "event_id", make_event_id(self.ticker, self.type, self.time, 0)
            )
        self.validate()

    def validate(self) -> bool:
        """Raise ValueError on a non-positive price, empty ticker or empty type (as TickStock)."""
        if not self.price > 0:
            raise ValueError(f"Invalid price: {self.price}")
        if not self.ticker:
            raise ValueError("Empty ticker")
        if not self.type:
            raise ValueError("Empty event type")
        return True

    def get_event_specific_data(self) -> dict[str, Any]:
        """The type's own fields, nested under `event_specific_data` in `to_dict()`."""
        return {}

    def to_dict(self) -> dict[str, Any]:
        """TickStock's S18/19/20 dict: common fields plus `event_specific_data`."""
        return {
            "ticker": self.ticker,
            "type": self.type,
            "price": self.price,
            "time": self.time,
            "event_id": self.event_id,
            "direction": self.direction,
            "reversal": self.reversal,
            "count": self.count,
            "count_up": self.count_up,
            "count_down": self.count_down,
            "percent_change": self.percent_change,
            "vwap": self.vwap,
            "vwap_divergence": self.vwap_divergence,
            "volume": self.volume,
            "rel_volume": self.rel_volume,
            "label": self.label,
            "event_specific_data": self.get_event_specific_data(),
        }

    def to_transport_dict(
        self, now: float | None = None, with_timestamp: bool = False
    ) -> dict[str, Any]:
        """What the worker puts on the display queue; `now` only matters for surge_age.

        TickStock's transport dict has no top-level `timestamp` (§9); `with_timestamp`
        (EVENT_TIMESTAMP_FIELD) adds one, equal to the event time."""
        d = self.to_dict()
        if with_timestamp:
            d["timestamp"] = self.time
        return d


@dataclass(frozen=True, slots=True)
class HighLowEvent(BaseEvent):
    """A new session high or low."""

    current_high: float | None = None
    current_low: float | None = None
    previous_high: float | None = None
    previous_low: float | None = None
    session_high: float | None = None
    session_low: float | None = None
    period: str = "session"
    is_initial: bool = False
    last_update: float | None = None
    trend_flag: str | None = None
    surge_flag: str | None = None
    significance_score: float = 0.0
    reversal_info: dict[str, Any] | None = None
    thresholds_used: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        kind = self.type
        if kind in ("session_high", "high"):
            kind = "high"
        elif kind in ("session_low", "low"):
            kind = "low"
        else:
            kind = "high" if self.direction in ("up", "↑") else "low"
        object.__setattr__(self, "type", kind)
        BaseEvent.__post_init__(self)

    def validate(self) -> bool:
        BaseEvent.validate(self)
        if self.period not in HIGHLOW_PERIODS:
            raise ValueError(f"Invalid period: {self.period}")
        return True

    def get_event_specific_data(self) -> dict[str, Any]:
        is_high = self.type == "high"
        prev = self.previous_high or self.previous_low or self.price
        return {
            "highlow_current_high": self.current_high,
            "highlow_current_low": self.current_low,
            "highlow_previous_high": self.previous_high,
            "highlow_previous_low": self.previous_low,
            "highlow_session_high": self.session_high,
            "highlow_session_low": self.session_low,
            "highlow_period": self.period,
            "highlow_is_initial": self.is_initial,
            "highlow_last_update": self.last_update,
            "highlow_vwap_distance": self.vwap_divergence,
            "highlow_trend_flag": self.trend_flag,
            "highlow_surge_flag": self.surge_flag,
            "highlow_significance_score": self.significance_score,
            "highlow_reversal_info": self.reversal_info,
            "highlow_thresholds_used": self.thresholds_used,
            "highlow_calc_transparency": {
                "session_open_price": None,
                "base_price_source": None,
                "price_change_amount": self.price - prev,
                "percent_change_formula": f"percent_change = {self.percent_change:.2f}%",
                "threshold_type": "price_comparison",
                "threshold_value": self.previous_high if is_high else self.previous_low,
                "detection_logic": (
                    f"{self.price} > {self.previous_high}"
                    if is_high
                    else f"{self.price} < {self.previous_low}"
                ),
                "session_start": None,
                "session_end": None,
                "events_in_session": self.count,
                "vwap_at_detection": self.vwap,
                "significance_score": self.significance_score,
                "vwap_distance_formula": (
                    f"(({self.price} - {self.vwap}) / {self.vwap}) * 100" if self.vwap else None
                ),
            },
        }

    def to_transport_dict(
        self, now: float | None = None, with_timestamp: bool = False
    ) -> dict[str, Any]:
        d = BaseEvent.to_transport_dict(self, now, with_timestamp)
        d.update(
            {
                "current_high": self.current_high,
                "current_low": self.current_low,
                "previous_high": self.previous_high,
                "previous_low": self.previous_low,
                "session_high": self.session_high,
                "session_low": self.session_low,
                "period": self.period,
                "is_initial": self.is_initial,
                "last_update": self.last_update,
                "trend_flag": self.trend_flag,
                "surge_flag": self.surge_flag,
                "significance_score": self.significance_score,
                "reversal_info": self.reversal_info,
                "time": format_et_hms(self.time),
                "event_id": self.event_id,
            }
        )
        return d


@dataclass(frozen=True, slots=True)
class TrendEvent(BaseEvent):
    """A multi-window trend (type is always 'trend')."""

    trend_strength: str = "neutral"
    trend_score: float = 0.0
    trend_short_score: float = 0.0
    trend_medium_score: float = 0.0
    trend_long_score: float = 0.0
    trend_vwap_position: str = "unknown"
    trend_age: float = 0.0
    trend_calc_transparency: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "type", "trend")
        BaseEvent.__post_init__(self)

    def validate(self) -> bool:
        BaseEvent.validate(self)
        if self.trend_strength not in TREND_STRENGTHS:
            raise ValueError(f"Invalid trend strength: {self.trend_strength}")
        if self.trend_vwap_position not in VWAP_POSITIONS:
            raise ValueError(f"Invalid VWAP position: {self.trend_vwap_position}")
        if not -100 <= self.trend_score <= 100:
            raise ValueError(f"Trend score out of range: {self.trend_score}")
        return True

    def get_event_specific_data(self) -> dict[str, Any]:
        return {
            "trend_strength": self.trend_strength,
            "trend_score": self.trend_score,
            "trend_calc_transparency": self.trend_calc_transparency,
            "trend_short_score": self.trend_short_score,
            "trend_medium_score": self.trend_medium_score,
            "trend_long_score": self.trend_long_score,
            "trend_vwap_position": self.trend_vwap_position,
            "trend_age": self.trend_age,
        }

    def to_transport_dict(
        self, now: float | None = None, with_timestamp: bool = False
    ) -> dict[str, Any]:
        d = BaseEvent.to_transport_dict(self, now, with_timestamp)
        d.update(
            {
                "trend_strength": self.trend_strength,
                "trend_score": self.trend_score,
                "trend_short_score": self.trend_short_score,
                "trend_medium_score": self.trend_medium_score,
                "trend_long_score": self.trend_long_score,
                "trend_vwap_position": self.trend_vwap_position,
                "trend_age": self.trend_age,
                "last_trend_update": self.time,
                "time": format_et_hms(self.time),
                "event_id": self.event_id,
            }
        )
        return d


@dataclass(frozen=True, slots=True)
class SurgeEvent(BaseEvent):
    """A price/volume surge (type is always 'surge')."""

    surge_magnitude: float = 0.0
    surge_score: float = 0.0
    surge_strength: str = "weak"
    surge_trigger_type: str = "unknown"
    surge_volume_multiplier: float = 1.0
    surge_calculation: dict[str, Any] = field(default_factory=dict)
    surge_description: str = ""
    surge_expiration: float = 0.0
    surge_daily_count: int = 0
    surge_age: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "type", "surge")
        BaseEvent.__post_init__(self)

    def validate(self) -> bool:
        BaseEvent.validate(self)
        if self.surge_strength not in SURGE_STRENGTHS:
            raise ValueError(f"Invalid surge strength: {self.surge_strength}")
        if self.surge_trigger_type not in SURGE_TRIGGERS:
            raise ValueError(f"Invalid surge trigger type: {self.surge_trigger_type}")
        return True

    def get_event_specific_data(self) -> dict[str, Any]:
        return {
            "surge_magnitude": self.surge_magnitude,
            "surge_score": self.surge_score,
            "surge_strength": self.surge_strength,
            "surge_trigger_type": self.surge_trigger_type,
            "surge_volume_multiplier": self.surge_volume_multiplier,
            "surge_calculation": self.surge_calculation,
            "surge_description": self.surge_description,
            "surge_expiration": self.surge_expiration,
            "surge_daily_count": self.surge_daily_count,
            "surge_age": self.surge_age,
        }

    def to_transport_dict(
        self, now: float | None = None, with_timestamp: bool = False
    ) -> dict[str, Any]:
        """`surge_age` = now − time with the caller's clock reading, 0.0 when none is given."""
        d = BaseEvent.to_transport_dict(self, now, with_timestamp)
        d.update(
            {
                "magnitude": self.surge_magnitude,
                "score": self.surge_score,
                "strength": self.surge_strength,
                "trigger_type": self.surge_trigger_type,
                "description": self.surge_description,
                "volume_multiplier": self.surge_volume_multiplier,
                "event_key": f"{self.ticker}_{self.direction}_{self.time}",
                "surge_age": (now - self.time) if now is not None else 0.0,
                "expiration": self.surge_expiration,
                "daily_surge_count": self.surge_daily_count,
                "last_surge_timestamp": self.time,
                "time": format_et_hms(self.time),
                "event_id": self.event_id,
            }
        )
        return d
