"""FeatureFlagConfig: the seed's hierarchical rollout flags, plus which tickers a rollout covers.

Flags are set by name (`apply`) so a phase table or an operator cannot set a flag that does not
exist. `ticker_in_rollout` answers per ticker: the explicit `rollout_tickers` when given, else
every ticker at 100 %, none at 0 %, and otherwise a stable seeded hash bucket (so the same seed
puts the same tickers in the rollout on every run and on every shard).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from tickstock.multichannel.errors import RolloutError


@dataclass
class FeatureFlagConfig:
    """Hierarchical feature flags for gradual rollout."""

    # System level
    multichannel_system_enabled: bool = False
    # Component level
    tick_channel_enabled: bool = False
    router_enabled: bool = False
    integration_layer_enabled: bool = False
    # Testing level
    parallel_processing_enabled: bool = False
    performance_comparison_enabled: bool = False
    # Rollout level
    rollout_percentage: int = 0  # 0-100
    rollout_tickers: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        check_percentage(self.rollout_percentage)

    def is_fully_enabled(self) -> bool:
        """Check if multi-channel is fully enabled."""
        return (
            self.multichannel_system_enabled
            and self.tick_channel_enabled
            and self.router_enabled
            and self.integration_layer_enabled
            and self.rollout_percentage > 0
        )

    def apply(self, flags: Mapping[str, Any]) -> None:
        """Set flags by name; unknown names and wrong types are errors naming the flag."""
        known = {f.name: f for f in fields(self)}
        for name, value in flags.items():
            if name not in known:
                raise RolloutError(f"unknown feature flag {name!r} (known: {sorted(known)})")
            if name == "rollout_percentage":
                check_percentage(value)
            elif name == "rollout_tickers":
                if not isinstance(value, list | tuple) or not all(
                    isinstance(t, str) for t in value
                ):
                    raise RolloutError("feature flag 'rollout_tickers' must be a list of tickers")
                value = sorted(set(value))
            elif not isinstance(value, bool):
                raise RolloutError(f"feature flag {name!r} must be true or false, got {value!r}")
            setattr(self, name, value)

    def copy(self) -> FeatureFlagConfig:
        return FeatureFlagConfig(**{**asdict(self), "rollout_tickers": list(self.rollout_tickers)})

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "fully_enabled": self.is_fully_enabled()}


def check_percentage(value: Any) -> int:
    """A rollout percentage is an integer 0–100."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
        raise RolloutError(f"rollout_percentage must be an integer 0-100, got {value!r}")
    return value


def hash_bucket(seed: int, ticker: str) -> float:
    """A stable value in [0, 100) for (seed, ticker), independent of process and shard."""
    digest = hashlib.blake2b(f"{seed}:{ticker}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 * 100.0


def ticker_in_rollout(flags: FeatureFlagConfig, ticker: str, seed: int) -> bool:
    """Whether `ticker` is covered by the rollout the flags describe."""
    if flags.rollout_tickers:
        return ticker in flags.rollout_tickers
    if flags.rollout_percentage >= 100:
        return True
    if flags.rollout_percentage <= 0:
        return False
    return hash_bucket(seed, ticker) < flags.rollout_percentage
