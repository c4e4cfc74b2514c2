"""User subscriptions: who receives which events, parsed once from plain configuration.

TickStock resolved each user's universes `{'market': [...], 'highlow': [...]}` through a Redis
universe cache and a user database; here both are configuration (reference decision 5):

    universes = {"tech": ["AAPL", "MSFT"], "etf": ["SPY"]}
    users = {"alice": {"universes": {"market": ["tech"], "highlow": ["etf"]},
                       "event_types": ["high", "low"],
                       "low_event_filtering": {"enabled": True, "min_low_count": 2}}}

A user's ticker set is the union of all named universes (as `_resolve_user_universes_to_tickers`);
`event_types` (default: all four) is the user's event-type preference.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tickstock.legacy.config import ConfigError

EVENT_TYPES = frozenset({"high", "low", "trend", "surge"})
_USER_KEYS = frozenset({"universes", "event_types", "low_event_filtering"})


@dataclass(frozen=True, slots=True)
class UserSubscription:
    """One user's resolved filter."""

    user_id: str
    tickers: frozenset[str]
    event_types: frozenset[str]
    low_filter_enabled: bool = False
    min_low_count: int = 2

    def wants(self, event: Mapping[str, Any]) -> bool:
        """TickStock's per-user rule: ticker in the user's set, type wanted, lows above min count."""
        if event.get("ticker") not in self.tickers:
            return False
        kind = event.get("type")
        if kind not in self.event_types:
            return False
        if kind == "low" and self.low_filter_enabled:
            return bool(event.get("count", 0) >= self.min_low_count)
        return True


def _str_list(value: Any, where: str) -> list[str]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: expected a list of strings, got {value!r}")
    return list(value)


def parse_subscriptions(
    users: Mapping[str, Any] | None, universes: Mapping[str, Any] | None
) -> dict[str, UserSubscription]:
    """Validate and resolve the users table; ConfigError names the user and key at fault."""
    table = {
        name: frozenset(_str_list(t, f"universe {name!r}")) for name, t in (universes or {}).items()
    }
    out: dict[str, UserSubscription] = {}
    for user_id, spec in (users or {}).items():
        where = f"user {user_id!r}"
        if not isinstance(spec, Mapping):
            raise ConfigError(f"{where}: expected a table, got {spec!r}")
        unknown = set(spec) - _USER_KEYS
        if unknown:
            raise ConfigError(f"{where}: unknown keys {sorted(unknown)}")
        groups = spec.get("universes", {})
        if not isinstance(groups, Mapping):
            raise ConfigError(f"{where}.universes: expected {{'market': [...], 'highlow': [...]}}")
        tickers: set[str] = set()
        for group, names in groups.items():
            for name in _str_list(names, f"{where}.universes.{group}"):
                if name not in table:
                    raise ConfigError(f"{where}.universes.{group}: unknown universe {name!r}")
                tickers |= table[name]
        types = frozenset(
            _str_list(spec.get("event_types", sorted(EVENT_TYPES)), f"{where}.event_types")
        )
        if types - EVENT_TYPES:
            raise ConfigError(f"{where}.event_types: unknown types {sorted(types - EVENT_TYPES)}")
        low = spec.get("low_event_filtering", {})
        if not isinstance(low, Mapping) or set(low) - {"enabled", "min_low_count"}:
            raise ConfigError(f"{where}.low_event_filtering: expected {{enabled, min_low_count}}")
        enabled = low.get("enabled", False)
        min_count = low.get("min_low_count", 2)
        if type(enabled) is not bool or type(min_count) is not int:
            raise ConfigError(
                f"{where}.low_event_filtering: enabled is a bool, min_low_count an int"
            )
        out[str(user_id)] = UserSubscription(
            str(user_id), frozenset(tickers), types, enabled, min_count
        )
    return out
