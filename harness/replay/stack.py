"""The Stack contract (design.md §4), `load_stack` for "package.module:function" specs, and FakeStack.

FakeStack is the fake shipped beside the real stacks: a small deterministic event generator
(session highs/lows and volume surges per ticker, derived only from the ticks) with seeded defect
knobs, so tests and the readiness gates can prove they catch dropped, altered, extra, slow,
raising or silently skipped work::

    stack = load_stack("harness.replay.stack:fake", {"drop_rate": 0.01, "seed": 7})
"""

from __future__ import annotations

import importlib
import os
import random
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from harness.core.errors import ConfigError


@runtime_checkable
class Stack(Protocol):
    """A system under test: turns ticks into transport-dict events."""

    name: str

    def process(self, tick: Any) -> Sequence[dict[str, Any]]: ...

    def flush(self) -> Sequence[dict[str, Any]]: ...

    def stats(self) -> Mapping[str, Any]: ...

    def close(self) -> None: ...


def load_stack(spec: str, config: Mapping[str, Any] | None = None) -> Stack:
    """Import `package.module:function` and call it with `config`; any importable factory works."""
    factory = resolve_factory(spec)
    try:
        stack = factory(dict(config or {}))
    except ConfigError:
        raise
    except Exception as exc:  # a factory that cannot start is a configuration problem of the run
        raise ConfigError(f"stack {spec!r} failed to start: {type(exc).__name__}: {exc}") from exc
    missing = [
        m for m in ("process", "flush", "stats", "close") if not callable(getattr(stack, m, None))
    ]
    if missing:
        raise ConfigError(f"stack {spec!r} lacks Stack methods: {', '.join(missing)}")
    return stack


def resolve_factory(spec: str) -> Any:
    """The factory callable named by `package.module:function` (ConfigError if there is none)."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ConfigError(f"stack spec {spec!r} must look like 'package.module:function'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"stack spec {spec!r}: cannot import {module_name!r}: {exc}") from exc
    factory = getattr(module, attr, None)
    if factory is None or not callable(factory):
        raise ConfigError(f"stack spec {spec!r}: {module_name!r} has no callable {attr!r}")
    return factory


_FAKE_KNOBS: dict[str, type] = {
    "name": str,
    "seed": int,
    "drop_rate": float,  # drop an event with this probability (→ missing)
    "shift_price": float,  # add this to the price of altered events (→ field_mismatch)
    "alter_rate": float,  # probability an event gets shift_price (default 1 when shift_price set)
    "extra_rate": float,  # add a spurious event after a tick with this probability (→ extra)
    "slowdown": float,  # busy-wait this factor × base work per tick (latency regressions)
    "work_us": float,  # base busy work per tick in microseconds
    "raise_rate": float,  # raise on a tick with this probability (→ error observation)
    "skip_rate": float,  # silently ignore a tick with this probability (audit must notice)
    "hang_ticker": str,  # sleep for an hour on this ticker's ticks (timeout handling)
    "swap_order": bool,  # emit a tick's events in reverse order (→ order)
    "surge_factor": float,  # volume multiple of the running mean that counts as a surge
    "wallclock_ids": bool,  # add a wall-clock `event_id` that the diff must ignore
    "exit_on_seq": int,  # kill the whole process (os._exit) on this tick: a dying worker
    "exit_marker": str,  # with exit_on_seq: die only if this file is absent, creating it first
}


class FakeStack:
    """Deterministic tick → event generator with seeded, configurable defects."""

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        cfg = dict(config or {})
        unknown = sorted(set(cfg) - set(_FAKE_KNOBS))
        if unknown:
            raise ConfigError(
                f"fake stack: unknown config keys {unknown}; known {sorted(_FAKE_KNOBS)}"
            )
        for key, value in cfg.items():
            want = _FAKE_KNOBS[key]
            if want is float and isinstance(value, int) and not isinstance(value, bool):
                cfg[key] = float(value)
            elif not isinstance(value, want):
                raise ConfigError(f"fake stack: {key} must be {want.__name__}, got {value!r}")
        self.name: str = cfg.get("name", "fake")
        self._rng = random.Random(cfg.get("seed", 0))
        self._drop = cfg.get("drop_rate", 0.0)
        self._shift = cfg.get("shift_price", 0.0)
        self._alter = cfg.get("alter_rate", 1.0 if self._shift else 0.0)
        self._extra = cfg.get("extra_rate", 0.0)
        self._slow = cfg.get("slowdown", 1.0)
        self._work_ns = int(cfg.get("work_us", 0.0) * 1000)
        self._raise = cfg.get("raise_rate", 0.0)
        self._skip = cfg.get("skip_rate", 0.0)
        self._hang = cfg.get("hang_ticker")
        self._swap = cfg.get("swap_order", False)
        self._surge = cfg.get("surge_factor", 3.0)
        self._wall_ids = cfg.get("wallclock_ids", False)
        self._exit_seq = cfg.get("exit_on_seq")
        self._exit_marker = cfg.get("exit_marker")
        self._defective = any((self._drop, self._alter, self._extra, self._raise, self._skip))
        # per ticker: [high, low, mean volume, ticks seen]
        self._state: dict[str, list[float]] = {}
        self._ticks = 0
        self._done = 0
        self._events = 0
        self._skipped = 0
        self._raised = 0
        self._damage_counts = {"dropped": 0, "altered": 0, "extra": 0}

    def process(self, tick: Any) -> list[dict[str, Any]]:
        self._ticks += 1
        if self._exit_seq is not None and tick.seq == self._exit_seq:
            self._die()
        if self._work_ns:
            _busy(int(self._work_ns * self._slow))
        if self._hang is not None and tick.ticker == self._hang:
            time.sleep(3600)
        if self._defective:
            rng = self._rng.random
            if self._skip and rng() < self._skip:
                self._skipped += 1
                return []
            if self._raise and rng() < self._raise:
                self._raised += 1
                raise RuntimeError(f"fake stack failure on {tick.ticker} seq {tick.seq}")
        events = self._detect(tick)
        if self._defective and (events or self._extra):
            events = self._damage(tick, events)
        if self._swap and len(events) > 1:
            events.reverse()
        self._events += len(events)
        self._done += 1
        return events

    def _detect(self, tick: Any) -> list[dict[str, Any]]:
        price, volume, ticker = tick.price, tick.volume, tick.ticker
        st = self._state.get(ticker)
        if st is None:
            self._state[ticker] = [price, price, float(volume), 1.0]
            return []
        events: list[dict[str, Any]] = []
        if price > st[0]:
            st[0] = price
            events.append(self._event(tick, "high", "up"))
        elif price < st[1]:
            st[1] = price
            events.append(self._event(tick, "low", "down"))
        if st[3] >= 5 and volume > self._surge * st[2] > 0:
            ev = self._event(tick, "surge", "up" if price >= st[0] else "down")
            ev["volume_multiplier"] = round(volume / st[2], 6)
            events.append(ev)
        st[3] += 1
        st[2] += (volume - st[2]) / st[3]
        return events

    def _event(self, tick: Any, kind: str, direction: str) -> dict[str, Any]:
        ev: dict[str, Any] = {
            "ticker": tick.ticker,
            "type": kind,
            "direction": direction,
            "price": tick.price,
            "volume": tick.volume,
            "time": tick.ts / 1e9,
            "tick_seq": tick.seq,
        }
        if self._wall_ids:
            ev["event_id"] = f"{time.time():.6f}_{self._events}"
        return ev

    def _damage(self, tick: Any, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        rng = self._rng.random
        counts = self._damage_counts
        out = []
        for ev in events:
            if self._drop and rng() < self._drop:
                counts["dropped"] += 1
                continue
            if self._alter and rng() < self._alter:
                counts["altered"] += 1
                ev["price"] = ev["price"] + self._shift
            out.append(ev)
        if self._extra and rng() < self._extra:
            counts["extra"] += 1
            out.append(self._event(tick, "extra", "none"))
        return out

    def _die(self) -> None:
        """Simulate a killed worker: no exception, no cleanup, the process is just gone."""
        if self._exit_marker is not None:
            marker = Path(self._exit_marker)
            if marker.exists():
                return
            marker.touch()
        os._exit(17)

    def flush(self) -> list[dict[str, Any]]:
        return []

    def stats(self) -> dict[str, Any]:
        return {
            "ticks": self._ticks,
            # ticks handled to the end; a silent skip leaves this short of the harness's count
            "ticks_processed": self._done,
            "events": self._events,
            "skipped": self._skipped,
            "raised": self._raised,
            "tickers": len(self._state),
            "defects": dict(self._damage_counts),
            "ignorable_fields": ["event_id"] if self._wall_ids else [],
        }

    def close(self) -> None:
        self._state.clear()


def _busy(ns: int) -> None:
    """Spin for `ns` nanoseconds: simulated CPU work that, unlike sleep, shows up in CPU time."""
    end = time.perf_counter_ns() + ns
    while time.perf_counter_ns() < end:
        pass


def fake(config: Mapping[str, Any]) -> FakeStack:
    """Factory for `harness.replay.stack:fake`."""
    return FakeStack(config)


class NullStack:
    """A stack that sees every tick and finds nothing: with it on both sides, what a replay
    costs is the harness's own cost (benchmarks/bench_overhead.py)."""

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        extra = sorted(set(config or {}) - {"name"})
        if extra:
            raise ConfigError(f"null stack: the only config key is 'name', got {extra}")
        #: a name makes the other side a different stack (a run, not an A/A calibration)
        self.name = str((config or {}).get("name", "null"))
        self._ticks = 0

    def process(self, tick: Any) -> list[dict[str, Any]]:
        self._ticks += 1
        return []

    def flush(self) -> list[dict[str, Any]]:
        return []

    def stats(self) -> dict[str, Any]:
        return {"ticks": self._ticks, "ticks_processed": self._ticks}

    def close(self) -> None:
        pass


def null(config: Mapping[str, Any] | None = None) -> NullStack:
    """Factory for `harness.replay.stack:null`."""
    return NullStack(config)
