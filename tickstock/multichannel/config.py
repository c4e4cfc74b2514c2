"""Channel configuration: channel files merged with the global detection keys the seed names.

`ChannelConfigurationManager.load_configuration("default_tick", ChannelType.TICK)` reads
`tickstock/config/channels/default_tick.json` and then, exactly as integration-patterns.md says,
overwrites HighLow's min price change / min percent change / cooldown with the global
`HIGHLOW_*` keys and Surge's threshold multiplier / volume threshold / min data points with the
global `SURGE_*_MIDDAY` keys. `TickChannelConfig.detector_config()` then turns the merged dicts
into the `get(key, default)` view the detectors read: every period-tuned key answers the channel's
single value for the whole day, and keys the channel does not set answer the detector's own code
default (the channel never falls back to the global config). See docs/known-divergences.md.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Protocol

from tickstock.multichannel.errors import ChannelConfigError

CHANNELS_DIR = Path(__file__).resolve().parent.parent / "config" / "channels"

#: Every period the detectors tune by (tickstock.legacy.market_hours), CLOSED included, so a
#: channel value holds for the whole day.
PERIODS: tuple[str, ...] = ("PREMARKET", "OPENING", "MIDDAY", "CLOSING", "AFTERHOURS", "CLOSED")

#: channel-file parameter → detector key; "{P}" expands to every period in PERIODS.
DETECTOR_KEYS: dict[str, dict[str, str]] = {
    "highlow_detection": {
        "min_price_change": "HIGHLOW_MIN_PRICE_CHANGE",
        "min_percent_change": "HIGHLOW_MIN_PERCENT_CHANGE",
        "cooldown_seconds": "HIGHLOW_COOLDOWN_SECONDS",
        # opt-in fix (docs/tickstock-semantics.md): a high before any low reports the session low
        "fill_current_low": "FIX_HIGHLOW_CURRENT_LOW",
    },
    "trend_detection": {
        "direction_threshold": "TREND_DIRECTION_THRESHOLD_{P}",
        "strength_threshold": "TREND_STRENGTH_THRESHOLD_{P}",
        "global_sensitivity": "TREND_GLOBAL_SENSITIVITY_{P}",
        "min_data_points_per_window": "TREND_MIN_DATA_POINTS_PER_WINDOW_{P}",
        "warmup_period_seconds": "TREND_WARMUP_PERIOD_SECONDS_{P}",
        "retracement_threshold": "TREND_RETRACEMENT_THRESHOLD_{P}",
        "min_emission_interval": "TREND_MIN_EMISSION_INTERVAL_{P}",
        # opt-in fix (docs/tickstock-semantics.md): a tick without VWAP uses its price
        "fill_missing_vwap": "FIX_TREND_MISSING_VWAP",
    },
    "surge_detection": {
        "threshold_multiplier": "SURGE_THRESHOLD_MULTIPLIER_{P}",
        "volume_threshold": "SURGE_VOLUME_THRESHOLD_{P}",
        "global_sensitivity": "SURGE_GLOBAL_SENSITIVITY_{P}",
        "min_data_points": "SURGE_MIN_DATA_POINTS_{P}",
        "interval_seconds": "SURGE_INTERVAL_SECONDS_{P}",
        "price_threshold_percent": "SURGE_PRICE_THRESHOLD_PERCENT_{P}",
        "detection_mode": "SURGE_DETECTION_MODE_{P}",
    },
}

#: The seed's merge for the TICK channel: section → {channel parameter: global key}.
GLOBAL_MERGE: dict[str, dict[str, str]] = {
    "highlow_detection": {
        "min_price_change": "HIGHLOW_MIN_PRICE_CHANGE",
        "min_percent_change": "HIGHLOW_MIN_PERCENT_CHANGE",
        "cooldown_seconds": "HIGHLOW_COOLDOWN_SECONDS",
    },
    "surge_detection": {
        "threshold_multiplier": "SURGE_THRESHOLD_MULTIPLIER_MIDDAY",
        "volume_threshold": "SURGE_VOLUME_THRESHOLD_MIDDAY",
        "min_data_points": "SURGE_MIN_DATA_POINTS_MIDDAY",
    },
}

_TOP_KEYS = {
    "name",
    "channel_type",
    "enabled",
    "stock_data_refresh",
    "processing",
    *DETECTOR_KEYS,
}
_PROCESSING_KEYS = {
    "max_queue_size",
    "processing_timeout_ms",
    "circuit_breaker_threshold",
    "circuit_breaker_timeout_seconds",
    "priority",
}
_REFRESH_MODES = ("before_detection", "after_detection")


class ChannelType(Enum):
    """The kinds of data a channel processes (only TICK is built here, as in the reference)."""

    TICK = "tick"
    OHLCV = "ohlcv"
    FMV = "fmv"


class GlobalConfig(Protocol):
    """Anything with ConfigManager's `get(key, default)`."""

    def get(self, key: str, default: Any = None) -> Any: ...


class DetectorConfigView:
    """Read-only `get(key, default)` over the keys a channel sets; all else is the caller's default."""

    __slots__ = ("_values", "get")

    def __init__(self, values: Mapping[str, Any]) -> None:
        self._values = dict(values)
        #: `get(key, default=None)`: the dict's own method (detectors read keys on every tick)
        self.get: Callable[..., Any] = self._values.get

    def __contains__(self, key: object) -> bool:
        return key in self._values

    def as_dict(self) -> dict[str, Any]:
        """The explicit keys, sorted, for stats and docs."""
        return dict(sorted(self._values.items()))


@dataclass
class TickChannelConfig:
    """A TICK channel's merged configuration (mutable: the seed `update()`s its dicts)."""

    name: str
    channel_type: ChannelType = ChannelType.TICK
    enabled: bool = True
    stock_data_refresh: str = "before_detection"
    processing: dict[str, Any] = field(default_factory=dict)
    highlow_detection: dict[str, Any] = field(default_factory=dict)
    trend_detection: dict[str, Any] = field(default_factory=dict)
    surge_detection: dict[str, Any] = field(default_factory=dict)

    def detector_enabled(self, section: str) -> bool:
        """Whether the detector of `section` (e.g. "highlow_detection") runs."""
        return bool(getattr(self, section).get("enabled", True))

    def detector_config(self) -> DetectorConfigView:
        """The detector keys this channel answers (period keys expanded over the whole day)."""
        values: dict[str, Any] = {}
        for section, mapping in DETECTOR_KEYS.items():
            params: dict[str, Any] = getattr(self, section)
            for param, template in mapping.items():
                if param not in params or params[param] is None:
                    continue
                if "{P}" in template:
                    for period in PERIODS:
                        values[template.replace("{P}", period)] = params[param]
                else:
                    values[template] = params[param]
        return DetectorConfigView(values)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (stats, docs)."""
        return {
            "name": self.name,
            "channel_type": self.channel_type.value,
            "enabled": self.enabled,
            "stock_data_refresh": self.stock_data_refresh,
            "processing": dict(self.processing),
            "highlow_detection": dict(self.highlow_detection),
            "trend_detection": dict(self.trend_detection),
            "surge_detection": dict(self.surge_detection),
        }


def _default_global_config() -> GlobalConfig:
    """The legacy app's ConfigManager (Profile 2), used when the seed constructs us without one."""
    from tickstock.legacy.config import ConfigManager

    return ConfigManager()


class ChannelConfigurationManager:
    """Loads channel files and merges the global detection parameters the seed lists."""

    def __init__(
        self,
        global_config_manager: GlobalConfig | None = None,
        config_dir: Path | str | None = None,
    ) -> None:
        self.global_config = (
            global_config_manager if global_config_manager is not None else _default_global_config()
        )
        self.config_dir = Path(config_dir) if config_dir is not None else CHANNELS_DIR

    def load_configuration(self, config_name: str, channel_type: ChannelType) -> TickChannelConfig:
        """Load channel config with global config integration (integration-patterns.md)."""
        channel_config = self._load_channel_file(config_name)
        if channel_config.channel_type is not channel_type:
            raise ChannelConfigError(
                f"channel file {config_name!r} is a {channel_config.channel_type.value} channel, "
                f"not {channel_type.value}"
            )
        if channel_type is ChannelType.TICK:
            for section, keys in GLOBAL_MERGE.items():
                getattr(channel_config, section).update(
                    {param: self._global(key) for param, key in keys.items()}
                )
        return channel_config

    def _global(self, key: str) -> Any:
        value = self.global_config.get(key, None)
        if value is None:
            raise ChannelConfigError(f"global configuration has no value for {key}")
        return value

    def _load_channel_file(self, config_name: str) -> TickChannelConfig:
        if not config_name or "/" in config_name or "\\" in config_name or ".." in config_name:
            raise ChannelConfigError(f"invalid channel configuration name {config_name!r}")
        path = self.config_dir / f"{config_name}.json"
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ChannelConfigError(f"{path}: channel configuration file not found") from None
        except (OSError, json.JSONDecodeError) as exc:
            raise ChannelConfigError(f"{path}: unreadable channel configuration: {exc}") from None
        return parse_channel_config(raw, source=str(path))


def parse_channel_config(raw: Any, source: str = "<channel config>") -> TickChannelConfig:
    """Validate a channel-file object; unknown keys and wrong types are errors naming the key."""
    if not isinstance(raw, dict):
        raise ChannelConfigError(f"{source}: expected a JSON object")
    unknown = sorted(set(raw) - _TOP_KEYS)
    if unknown:
        raise ChannelConfigError(f"{source}: unknown key(s) {', '.join(unknown)}")
    try:
        channel_type = ChannelType(raw.get("channel_type", "tick"))
    except ValueError:
        raise ChannelConfigError(
            f"{source}: channel_type {raw.get('channel_type')!r} is not one of "
            f"{[t.value for t in ChannelType]}"
        ) from None
    refresh = raw.get("stock_data_refresh", "before_detection")
    if refresh not in _REFRESH_MODES:
        raise ChannelConfigError(f"{source}: stock_data_refresh must be one of {_REFRESH_MODES}")
    processing = _section(raw, "processing", _PROCESSING_KEYS, source)
    sections = {
        name: _section(raw, name, set(keys) | {"enabled"}, source)
        for name, keys in DETECTOR_KEYS.items()
    }
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise ChannelConfigError(f"{source}: 'name' must be a non-empty string")
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ChannelConfigError(f"{source}: 'enabled' must be true or false")
    return TickChannelConfig(
        name=name,
        channel_type=channel_type,
        enabled=enabled,
        stock_data_refresh=refresh,
        processing=processing,
        **sections,
    )


def _section(raw: dict[str, Any], name: str, allowed: set[str], source: str) -> dict[str, Any]:
    value = raw.get(name, {})
    if not isinstance(value, dict):
        raise ChannelConfigError(f"{source}: '{name}' must be an object")
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise ChannelConfigError(f"{source}: unknown key(s) in '{name}': {', '.join(unknown)}")
    for key, item in value.items():
        if key == "enabled" and not isinstance(item, bool):
            raise ChannelConfigError(f"{source}: '{name}.enabled' must be true or false")
        if key not in ("enabled", "detection_mode") and (
            isinstance(item, bool) or not isinstance(item, int | float)
        ):
            raise ChannelConfigError(f"{source}: '{name}.{key}' must be a number, got {item!r}")
    return dict(value)
