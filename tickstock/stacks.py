"""Stack factories the harness loads by name (design.md §4): `tickstock.stacks:legacy`, …

A Stack takes harness ticks (read by attribute), returns the transport dicts each tick put on the
display queue (each with `tick_seq`), and reports JSON-able `stats()`.

`legacy(config)` keys (all optional):
    mode         "replay" (default; deterministic, tick-time clocks) or "live" (threads, wall clock)
    tickstock    {KEY: value} ConfigManager overrides (Profile 2 keys, see tickstock/legacy/config.py)
    config_file  path of a JSON/TOML file of ConfigManager keys
    environment  read TICKSTOCK_<KEY> variables (default True); every non-default value in effect
                 is reported in stats()["config_overrides"], so a run records what it used
    universes    {name: [tickers]}; users {user_id: {universes, event_types, low_event_filtering}}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tickstock.legacy.stack import LEGACY_IGNORABLE_FIELDS, LegacyStack

if TYPE_CHECKING:
    from tickstock.multichannel.stack import MultichannelStack

__all__ = ["LEGACY_IGNORABLE_FIELDS", "LegacyStack", "legacy", "multichannel"]


def legacy(config: Mapping[str, Any] | None = None) -> LegacyStack:
    """`tickstock.stacks:legacy` — MarketDataService → EventProcessor → … → WebSocketPublisher."""
    return LegacyStack(config)


def multichannel(config: Mapping[str, Any] | None = None) -> MultichannelStack:
    """`tickstock.stacks:multichannel` — MarketDataService with the seed's integrator installed,
    configured for a rollout phase (see tickstock/multichannel/stack.py for the config keys).
    Imported on first use (≈ 55 ms a legacy-only run need not pay); no import cycle either way:
    the multi-channel stack extends tickstock/legacy/stack.py, not this module."""
    from tickstock.multichannel.stack import MultichannelStack

    return MultichannelStack(config)
