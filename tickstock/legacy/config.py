"""ConfigManager: TickStock's Profile 2 parameters (`ConfigManager.DEFAULTS`) with typed overrides.

Sources, later wins: `DEFAULTS` → a JSON/TOML file (flat `KEY = value` table) → environment
variables `TICKSTOCK_<KEY>` (prefixed only, so a stray `UPDATE_INTERVAL` in a shell never changes a
replay) → an explicit overrides mapping. Every value is checked against the type of its default
(an int is accepted for a float key; strings from the environment are converted); a wrong type or
an unknown key raises `ConfigError` naming the key and the source.

`get(key)` without a default raises `ConfigError` for a key that is not configured; with a
default it returns the default — detectors probe optional per-period keys such as
`SURGE_DETECTION_MODE_OPENING` that Profile 2 leaves unset.

    cfg = ConfigManager({"SURGE_THRESHOLD_MULTIPLIER_MIDDAY": 0.5})
    cfg.get("SURGE_VOLUME_THRESHOLD_MIDDAY")         # 3.0
    cfg.get("SURGE_DETECTION_MODE_OPENING", None)    # None (optional key)
"""

from __future__ import annotations

import json
import math
import os
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

ENV_PREFIX = "TICKSTOCK_"
_MISSING: Any = object()

PERIODS = ("PREMARKET", "OPENING", "MIDDAY", "CLOSING", "AFTERHOURS")
PRICE_BUCKETS = ("PENNY", "LOW", "MID", "HIGH", "ULTRA")


class ConfigError(ValueError):
    """A configuration key that is unknown, missing, or has a value of the wrong type."""


def _per_period(prefix: str, values: tuple[Any, ...]) -> dict[str, Any]:
    return {f"{prefix}_{p}": v for p, v in zip(PERIODS, values, strict=True)}


def _per_bucket(prefix: str, values: tuple[Any, ...], suffix: str = "") -> dict[str, Any]:
    return {f"{prefix}_{b}{suffix}": v for b, v in zip(PRICE_BUCKETS, values, strict=True)}


# --- Profile 2 (reference §3.4) plus the base values of §3.1–3.3 and the pipeline keys (§2) ---
_HIGHLOW: dict[str, Any] = {
    "HIGHLOW_MIN_PRICE_CHANGE": 0.01,
    "HIGHLOW_MIN_PERCENT_CHANGE": 0.1,
    "HIGHLOW_COOLDOWN_SECONDS": 1.0,
    "HIGHLOW_MARKET_AWARE": True,
    "HIGHLOW_EXTENDED_HOURS_MULTIPLIER": 2.0,
    "HIGHLOW_OPENING_MULTIPLIER": 1.5,
    "HIGHLOW_SIGNIFICANCE_SCORING": True,
    "HIGHLOW_SIGNIFICANCE_VOLUME_WEIGHT": 0.5,
    "HIGHLOW_TRACK_REVERSALS": True,
    "HIGHLOW_REVERSAL_WINDOW": 300.0,
}

_TREND: dict[str, Any] = {
    "TREND_SHORT_WINDOW_SECONDS": 180.0,
    "TREND_MEDIUM_WINDOW_SECONDS": 360.0,
    "TREND_LONG_WINDOW_SECONDS": 600.0,
    "TREND_PRICE_WEIGHT": 0.5,
    "TREND_VWAP_WEIGHT": 0.3,
    "TREND_VOLUME_WEIGHT": 0.2,
    "TREND_RECENCY_DECAY": 0.9,
    "TREND_DIRECTION_THRESHOLD": 0.3,
    "TREND_STRENGTH_THRESHOLD": 0.6,
    "TREND_GLOBAL_SENSITIVITY": 1.0,
    "TREND_RETRACEMENT_THRESHOLD": 0.4,
    "TREND_MIN_EMISSION_INTERVAL": 60.0,
    "TREND_MIN_DATA_POINTS_PER_WINDOW": 10,
    "TREND_WARMUP_PERIOD_SECONDS": 180.0,
    "TREND_MIN_HISTORY_POINTS_REQUIRED": 30,
    "TREND_DYNAMIC_RETRACEMENT": True,
    "TREND_MARKET_OPEN_MULTIPLIER": 1.3,
    "TREND_MARKET_CLOSE_MULTIPLIER": 1.2,
    "TREND_MIDDAY_MULTIPLIER": 0.9,
    "TREND_SHORT_ANALYSIS_INTERVAL": 30.0,
    "TREND_MEDIUM_ANALYSIS_INTERVAL": 60.0,
    "TREND_LONG_ANALYSIS_INTERVAL": 60.0,
    # per period: PREMARKET, OPENING, MIDDAY, CLOSING, AFTERHOURS
    **_per_period("TREND_DIRECTION_THRESHOLD", (0.02, 0.25, 0.025, 0.25, 0.015)),
    **_per_period("TREND_STRENGTH_THRESHOLD", (0.05, 0.45, 0.05, 0.50, 0.04)),
    **_per_period("TREND_GLOBAL_SENSITIVITY", (2.0, 1.0, 1.5, 1.0, 2.5)),
    **_per_period("TREND_MIN_EMISSION_INTERVAL", (120.0, 45.0, 90.0, 30.0, 150.0)),
    **_per_period("TREND_RETRACEMENT_THRESHOLD", (0.2, 0.5, 0.25, 0.6, 0.15)),
    **_per_period("TREND_MIN_DATA_POINTS_PER_WINDOW", (10, 4, 8, 4, 12)),
    **_per_period("TREND_WARMUP_PERIOD_SECONDS", (180.0, 45.0, 90.0, 30.0, 240.0)),
    # per price bucket: PENNY, LOW, MID, HIGH, ULTRA
    **_per_bucket("TREND_DIRECTION_THRESHOLD", (0.04, 0.02, 0.015, 0.01, 0.006)),
    **_per_bucket("TREND_STRENGTH_THRESHOLD", (0.08, 0.05, 0.035, 0.025, 0.02)),
    **_per_bucket("TREND_PRICE_CHANGE_PERCENT", (1.5, 0.75, 0.5, 0.35, 0.2)),
    "TREND_VOLATILITY_MULTIPLIER_HIGH": 0.7,
    "TREND_VOLATILITY_MULTIPLIER_NORMAL": 1.0,
    "TREND_VOLATILITY_MULTIPLIER_LOW": 1.3,
}

_SURGE: dict[str, Any] = {
    # per period: PREMARKET, OPENING, MIDDAY, CLOSING, AFTERHOURS
    **_per_period("SURGE_THRESHOLD_MULTIPLIER", (1.3, 0.7, 0.4, 0.9, 1.5)),
    **_per_period("SURGE_VOLUME_THRESHOLD", (1.2, 3.0, 3.0, 2.5, 1.0)),
    **_per_period("SURGE_GLOBAL_SENSITIVITY", (1.5, 0.5, 0.4, 0.8, 2.0)),
    **_per_period("SURGE_MIN_DATA_POINTS", (4, 4, 8, 3, 5)),
    **_per_period("SURGE_INTERVAL_SECONDS", (12.0, 5.0, 20.0, 2.0, 15.0)),
    **_per_period("SURGE_PRICE_THRESHOLD_PERCENT", (1.25, 4.5, 4.0, 3.5, 1.0)),
    # price bands: upper bounds, then % and $ per band
    "SURGE_PRICE_BAND_PENNY_MAX": 10.0,
    "SURGE_PRICE_BAND_LOW_MAX": 50.0,
    "SURGE_PRICE_BAND_MID_MAX": 200.0,
    "SURGE_PRICE_BAND_HIGH_MAX": 500.0,
    **_per_bucket("SURGE_PRICE_BAND", (8.0, 5.0, 4.0, 3.0, 2.0), "_PCT"),
    **_per_bucket("SURGE_PRICE_BAND", (0.15, 0.75, 1.50, 3.00, 5.00), "_DOLLAR"),
    "SURGE_VOLATILITY_MULTIPLIER_HIGH": 0.8,
    "SURGE_VOLATILITY_MULTIPLIER_NORMAL": 1.0,
    "SURGE_VOLATILITY_MULTIPLIER_LOW": 1.2,
    "SURGE_COOLDOWN_MULTIPLIER_MARKET": 2.0,
    "SURGE_DETECTION_MODE_DEFAULT": "STRICT",
    "SURGE_DETECTION_MODE_MIDDAY": "STRICT",
    "SURGE_BUFFER_MAX_AGE_SECONDS": 120.0,
    "SURGE_UP_THRESHOLD_MULTIPLIER": 1.0,
    "SURGE_DOWN_THRESHOLD_MULTIPLIER": 1.0,
    "SURGE_PRICE_COMPENSATION_MULTIPLIER": 1.5,
    "SURGE_VOLUME_COMPENSATION_MULTIPLIER": 2.0,
    "SURGE_MIN_PRICE_THRESHOLD_PCT": 0.5,
    "SURGE_MIN_VOLUME_THRESHOLD_PCT": 0.7,
    # lightweight check (utils.check_surge_conditions): static matrix "pct,dollar"
    "SURGE_THRESHOLD_ULTRA_LOW": "10,0.005",
    "SURGE_THRESHOLD_VERY_LOW": "9,0.05",
    "SURGE_THRESHOLD_LOW": "7,0.05",
    "SURGE_THRESHOLD_LOW_MID": "5,0.10",
    "SURGE_THRESHOLD_MID": "4,0.25",
    "SURGE_THRESHOLD_MID_HIGH": "3,0.75",
    "SURGE_THRESHOLD_HIGH": "2.5,1.50",
    "SURGE_THRESHOLD_VERY_HIGH": "2,10",
    "SURGE_THRESHOLD_ULTRA_HIGH": "1.5,15",
    "SURGE_DETECTION_MODE": "OR",
    "SURGE_VOLUME_THRESHOLD": 1.3,
    "SURGE_GLOBAL_SENSITIVITY": 1.0,
    "SURGE_MIN_DATA_POINTS": 3,
    "SURGE_TESTING_MODE": False,
    "SURGE_MARKET_OPEN_MULTIPLIER": 2.0,
    "SURGE_MARKET_CLOSE_MULTIPLIER": 1.5,
    "SURGE_MIDDAY_MULTIPLIER": 0.8,
}

_PIPELINE: dict[str, Any] = {
    # PriorityManager (§2.4)
    "MAX_QUEUE_SIZE": 100_000,
    "MAX_EVENT_AGE_MS": 120_000,
    "EVENT_AGE_WARNING_MS": 5_000,
    "QUEUE_ENTRY_MAX_AGE_SECONDS": 60.0,
    "MARKET_OPEN_PRIORITY_TICKERS": ("SPY", "QQQ", "IWM", "DIA"),
    "PRIORITY_TOP_TICKERS": (),
    "PRIORITY_SECONDARY_TICKERS": (),
    "CIRCUIT_BREAKER_FAIL_MAX": 5,
    "CIRCUIT_BREAKER_RESET_SECONDS": 30.0,
    # WorkerPoolManager (§2.5)
    "WORKER_POOL_SIZE": 12,
    "WORKER_POOL_MIN_SIZE": 8,
    "WORKER_POOL_MAX_SIZE": 16,
    "WORKER_EVENT_BATCH_SIZE": 1000,
    "WORKER_COLLECTION_TIMEOUT": 0.5,
    "DISPLAY_QUEUE_SIZE": 10_000,
    # DataPublisher / WebSocketPublisher (§2.6, §2.7)
    "UPDATE_INTERVAL": 0.5,
    "EMISSION_INTERVAL": 1.0,
    "COLLECTION_TIMEOUT": 0.5,
    "COLLECTION_MAX_EVENTS": 1000,
    "MAX_BUFFER_SIZE": 1000,
    "HEARTBEAT_INTERVAL": 2.0,
    "EMISSION_CYCLE_STALE_SECONDS": 10.0,
    # TickProcessor / rules / service (§1.4, §2.1, §2.2)
    "EVENT_RATE_LIMIT": 0.1,
    "DATA_FRESHNESS_SECONDS": 300.0,
    "CORE_UNIVERSE": (),
    "API_HEALTH_WARNING_FAILURES": 5,
    "API_HEALTH_RESPONSE_HISTORY": 10,
}

# Deliberate fixes of what the real pipeline does (tickstock-reference.md §9), each OFF by default:
# the legacy stack is the reference users trust, so it reproduces the original unless asked not
# to. Why each exists: docs/tickstock-semantics.md, "Opt-in fixes".
_FIXES: dict[str, Any] = {
    # the processor stores the tick's market open price on StockData, so Trend's and Surge's
    # percent_change are measured from the open in the regular session (the original never
    # stores it: their base falls back to the previous price)
    "FIX_STORE_MARKET_OPEN_PRICE": False,
    # a high before any low reports the session low as current_low (the original: None)
    "FIX_HIGHLOW_CURRENT_LOW": False,
    # a tick without VWAP takes its price for the trend's VWAP position (the original raises a
    # TypeError inside detect_trend, swallows it and emits no trend)
    "FIX_TREND_MISSING_VWAP": False,
    # transport dicts carry a top-level `timestamp` (= event time); the original's have none
    "EVENT_TIMESTAMP_FIELD": False,
}

DEFAULTS: Mapping[str, Any] = {**_HIGHLOW, **_TREND, **_SURGE, **_PIPELINE, **_FIXES}

# Keys Profile 2 leaves unset but detectors probe with a default: settable, with their type.
OPTIONAL_KEYS: Mapping[str, type] = {
    **{f"SURGE_DETECTION_MODE_{p}": str for p in PERIODS if p != "MIDDAY"},
}

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def _key_type(key: str) -> type:
    if key in DEFAULTS:
        return type(DEFAULTS[key])
    if key in OPTIONAL_KEYS:
        return OPTIONAL_KEYS[key]
    raise ConfigError(f"unknown TickStock config key {key!r}")


def _coerce(key: str, value: Any, source: str) -> Any:
    """Check (or, for environment strings, convert) a value to its key's type."""
    want = _key_type(key)
    bad = ConfigError(
        f"config key {key!r} from {source}: expected {want.__name__}, got {value!r} "
        f"({type(value).__name__})"
    )
    if isinstance(value, str) and source.startswith("environment") and want is not str:
        text = value.strip()
        if want is bool:
            if text.lower() in _TRUE:
                return True
            if text.lower() in _FALSE:
                return False
            raise bad
        if want is tuple:
            return tuple(t.strip() for t in text.split(",") if t.strip())
        try:
            value = want(text)
        except ValueError:
            raise bad from None
    if want is bool:
        if type(value) is not bool:
            raise bad
        return value
    if want is int:
        if type(value) is not int:
            raise bad
        return value
    if want is float:
        if type(value) not in (int, float) or not math.isfinite(value):
            raise bad
        return float(value)
    if want is tuple:
        if not isinstance(value, list | tuple) or not all(isinstance(t, str) for t in value):
            raise bad
        return tuple(value)
    if type(value) is not want:
        raise bad
    return value


def read_config_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A flat `{KEY: value}` table from a .json or .toml file."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ConfigError(f"config file {p}: cannot read ({exc.strerror})") from None
    try:
        if p.suffix.lower() == ".toml":
            data: Any = tomllib.loads(raw.decode("utf-8"))
        elif p.suffix.lower() == ".json":
            data = json.loads(raw)
        else:
            raise ConfigError(f"config file {p}: expected a .json or .toml file")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {p}: not valid {p.suffix[1:]} ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {p}: expected a table of KEY = value at the top level")
    return data


class ConfigManager:
    """Typed, validated TickStock configuration; read-only after construction."""

    DEFAULTS = DEFAULTS

    __slots__ = ("_values", "_overridden")

    def __init__(
        self,
        overrides: Mapping[str, Any] | None = None,
        *,
        path: str | os.PathLike[str] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        values: dict[str, Any] = dict(DEFAULTS)
        overridden: dict[str, Any] = {}
        layers: list[tuple[str, Mapping[str, Any]]] = []
        if path is not None:
            layers.append((f"file {path}", read_config_file(path)))
        if environ is not None:
            env = {k[len(ENV_PREFIX) :]: v for k, v in environ.items() if k.startswith(ENV_PREFIX)}
            layers.append(("environment (TICKSTOCK_*)", env))
        if overrides:
            layers.append(("overrides", overrides))
        for source, layer in layers:
            for key, value in layer.items():
                if not isinstance(key, str):
                    raise ConfigError(f"config key {key!r} from {source}: keys are strings")
                coerced = _coerce(key, value, source)
                values[key] = coerced
                overridden[key] = coerced
        self._values = values
        self._overridden = overridden

    @classmethod
    def from_environment(
        cls,
        overrides: Mapping[str, Any] | None = None,
        *,
        path: str | os.PathLike[str] | None = None,
    ) -> ConfigManager:
        """Defaults ← file ← this process's `TICKSTOCK_*` variables ← overrides."""
        return cls(overrides, path=path, environ=os.environ)

    def get(self, key: str, default: Any = _MISSING) -> Any:
        """The configured value; `default` if given and the key is unset, else ConfigError."""
        value = self._values.get(key, _MISSING)
        if value is _MISSING:
            if default is _MISSING:
                raise ConfigError(f"TickStock config key {key!r} is not configured")
            return default
        return value

    def __getitem__(self, key: str) -> Any:
        return self.get(key)

    def __contains__(self, key: object) -> bool:
        return key in self._values

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def as_dict(self) -> dict[str, Any]:
        """Every configured key and value (tuples as lists, so it is JSON-able)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self._values.items()}

    def overrides(self) -> dict[str, Any]:
        """Only the keys changed from DEFAULTS, for recording a run's effective configuration."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self._overridden.items()}
