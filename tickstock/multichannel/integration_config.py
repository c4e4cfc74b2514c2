"""IntegrationConfig and the environment overrides the seed maps onto it (typed, never silent).

`apply_environment_overrides(cfg)` walks `CHANNEL_CONFIG_OVERRIDES`; each variable that is set
goes through `set_nested_config_value`, which converts the text to the type of the value it
replaces (bool / int / float / str) and raises `EnvironmentOverrideError` naming the variable when
it cannot.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tickstock.multichannel.errors import EnvironmentOverrideError

CHANNEL_CONFIG_OVERRIDES: dict[str, str] = {
    "ENABLE_MULTICHANNEL": "enable_multi_channel",
    "CHANNEL_TIMEOUT_MS": "channel_timeout_ms",
    "FALLBACK_TO_LEGACY": "fallback_to_legacy",
    "TICK_CHANNEL_ENABLED": "tick_channel.enabled",
    "HIGHLOW_DETECTION_ENABLED": "tick_channel.highlow_detection.enabled",
}

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass
class TickChannelSwitches:
    """Operational switches for the tick channel that environment variables can flip."""

    enabled: bool = True
    highlow_detection: dict[str, Any] = field(default_factory=lambda: {"enabled": True})


@dataclass
class IntegrationConfig:
    """How the integrator routes ticks (mutable: operations flip it at run time)."""

    enable_multi_channel: bool = False
    fallback_to_legacy: bool = True
    channel_timeout_ms: float = 100.0
    enable_parallel_processing: bool = False
    enable_performance_comparison: bool = False
    tick_channel: TickChannelSwitches = field(default_factory=TickChannelSwitches)

    def as_dict(self) -> dict[str, Any]:
        return {
            "enable_multi_channel": self.enable_multi_channel,
            "fallback_to_legacy": self.fallback_to_legacy,
            "channel_timeout_ms": self.channel_timeout_ms,
            "enable_parallel_processing": self.enable_parallel_processing,
            "enable_performance_comparison": self.enable_performance_comparison,
            "tick_channel": {
                "enabled": self.tick_channel.enabled,
                "highlow_detection": dict(self.tick_channel.highlow_detection),
            },
        }


def convert_text(raw: str, like: Any, name: str) -> Any:
    """Convert `raw` to the type of `like`; a value that does not convert names `name`."""
    text = raw.strip()
    if isinstance(like, bool):
        lowered = text.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise EnvironmentOverrideError(
            f"{name}={raw!r} is not a boolean (use one of {sorted(_TRUE | _FALSE)})"
        )
    if isinstance(like, int):
        try:
            return int(text)
        except ValueError:
            raise EnvironmentOverrideError(f"{name}={raw!r} is not an integer") from None
    if isinstance(like, float):
        try:
            value = float(text)
        except ValueError:
            raise EnvironmentOverrideError(f"{name}={raw!r} is not a number") from None
        if value != value or value in (float("inf"), float("-inf")) or value < 0:
            raise EnvironmentOverrideError(f"{name}={raw!r} must be a finite number >= 0")
        return value
    return text


def set_nested_config_value(
    config: Any, config_path: str, raw_value: str, source: str | None = None
) -> Any:
    """Set `config_path` (dotted: attributes, then dict keys) to `raw_value` converted by type."""
    name = source or config_path
    parts = config_path.split(".")
    target = config
    for part in parts[:-1]:
        target = _child(target, part, name)
    last = parts[-1]
    if isinstance(target, dict):
        if last not in target:
            raise EnvironmentOverrideError(f"{name}: no setting {config_path!r}")
        value = convert_text(raw_value, target[last], name)
        target[last] = value
    else:
        if not hasattr(target, last):
            raise EnvironmentOverrideError(f"{name}: no setting {config_path!r}")
        value = convert_text(raw_value, getattr(target, last), name)
        setattr(target, last, value)
    return value


def _child(target: Any, part: str, name: str) -> Any:
    if isinstance(target, dict):
        if part not in target:
            raise EnvironmentOverrideError(f"{name}: no setting {part!r}")
        return target[part]
    if not hasattr(target, part):
        raise EnvironmentOverrideError(f"{name}: no setting {part!r}")
    return getattr(target, part)


def apply_environment_overrides(
    integration_config: IntegrationConfig, environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Apply environment variable overrides; returns {variable: converted value} applied."""
    env = os.environ if environ is None else environ
    applied: dict[str, Any] = {}
    for env_var, config_path in CHANNEL_CONFIG_OVERRIDES.items():
        if env_value := env.get(env_var):
            applied[env_var] = set_nested_config_value(
                integration_config, config_path, env_value, source=env_var
            )
    return applied
