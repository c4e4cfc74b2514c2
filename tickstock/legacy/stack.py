"""The legacy stack behind the Stack protocol (design.md §4): `tickstock.stacks:legacy` builds it.

Its config keys are listed in tickstock/stacks.py. The multi-channel stack extends this class
(tickstock/multichannel/stack.py), which is why it lives here and not in the factory module:
factories import stacks, stacks never import factories.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from tickstock.legacy.adapter import TickAdapter
from tickstock.legacy.config import ConfigError, ConfigManager
from tickstock.legacy.publishing import RecordingWebSocketManager
from tickstock.legacy.service import MarketDataService
from tickstock.legacy.tick import InvalidTickError
from tickstock.legacy.users import parse_subscriptions

#: Transport fields that differ between runs or stacks without meaning a behaviour change:
#: `event_id` embeds a per-detector counter; `surge_age` is serialisation time − event time
#: (0.0 in replay, wall-clock dependent live).
LEGACY_IGNORABLE_FIELDS = ("event_id", "surge_age")
_LEGACY_KEYS = frozenset({"mode", "tickstock", "config_file", "environment", "universes", "users"})


class LegacyStack:
    """The legacy direct path behind the Stack protocol."""

    name = "legacy"

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        config = dict(config or {})
        unknown = set(config) - _LEGACY_KEYS
        if unknown:
            raise ConfigError(f"legacy stack: unknown config keys {sorted(unknown)}")
        mode = config.get("mode", "replay")
        if mode not in ("replay", "live"):
            raise ConfigError(f"legacy stack: mode must be 'replay' or 'live', got {mode!r}")
        self.mode = mode
        environ = os.environ if config.get("environment", True) else None
        self.config = ConfigManager(
            config.get("tickstock"), path=config.get("config_file"), environ=environ
        )
        subs = parse_subscriptions(config.get("users"), config.get("universes"))
        self.websocket_mgr = RecordingWebSocketManager(subs)
        self.service = MarketDataService(
            self.config, live=mode == "live", websocket_mgr=self.websocket_mgr, subscriptions=subs
        )
        self._adapter = TickAdapter()
        self._tap: list[dict[str, Any]] = []
        self.service.display_queue.tap = self._tap
        self._last_seq_by_ticker: dict[str, int] = {}
        self._adapter_invalid: dict[str, int] = {}
        if mode == "live":
            self.service.start()

    def _take(self, seq: int | None) -> list[dict[str, Any]]:
        tap = self._tap
        if not tap:
            return []
        if seq is not None:
            out = [dict(d, tick_seq=seq) for d in tap]
        else:  # live: workers run asynchronously; attribute to the ticker's latest tick
            last = self._last_seq_by_ticker
            out = [dict(d, tick_seq=last.get(d["ticker"], -1)) for d in tap]
        tap.clear()
        return out

    def process(self, tick: Any) -> list[dict[str, Any]]:
        try:
            td = self._adapter(tick)
        except InvalidTickError as exc:
            self.service.record_invalid(exc.reason)
            return []
        if self.mode == "live":
            self._last_seq_by_ticker[td.ticker] = tick.seq
            self.service.handle_constructed_tick(td)
            return self._take(None)
        self.service.handle_constructed_tick(td)
        return self._take(tick.seq) if self._tap else []

    def flush(self) -> list[dict[str, Any]]:
        self.service.flush()
        return self._take(None)

    def stats(self) -> dict[str, Any]:
        s = self.service.stats()
        s["mode"] = self.mode
        s["emitted_per_user"] = dict(sorted(self.websocket_mgr.events_per_user.items()))
        s["ignorable_fields"] = list(LEGACY_IGNORABLE_FIELDS)
        s["config_overrides"] = self.config.overrides()
        return s

    def close(self) -> None:
        if self.mode == "live":
            self.service.flush()
        self.service.display_queue.tap = None
