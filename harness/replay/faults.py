"""Seeded fault injection for the candidate stack: errors, delays, dropped events, a hanging ticker.

Faults exist to prove that the diff, the gates and the fallback logic react (design.md §5)::

    spec = FaultSpec.parse("error_rate=0.01,delay_ms=2,drop_rate=0.005,hang_ticker=XYZ")
    candidate = FaultyStack(candidate, spec, seed=42)
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from harness.core.errors import ConfigError


class InjectedFault(RuntimeError):
    """The exception an injected error raises inside the candidate's process()."""


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """What to inject into the candidate; all zero/None means nothing."""

    error_rate: float = 0.0
    delay_ms: float = 0.0
    drop_rate: float = 0.0
    hang_ticker: str | None = None

    @property
    def active(self) -> bool:
        return bool(self.error_rate or self.delay_ms or self.drop_rate or self.hang_ticker)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def parse(cls, text: str | None) -> FaultSpec:
        """Parse `key=value,key=value`; unknown keys and out-of-range rates are errors."""
        if not text:
            return cls()
        values: dict[str, Any] = {}
        for item in text.split(","):
            if not item.strip():
                continue
            key, sep, raw = item.partition("=")
            key, raw = key.strip(), raw.strip()
            if not sep:
                raise ConfigError(f"--inject {item!r} must look like key=value")
            if key == "hang_ticker":
                values[key] = raw
                continue
            if key not in ("error_rate", "delay_ms", "drop_rate"):
                raise ConfigError(
                    f"--inject: unknown key {key!r}; known error_rate, delay_ms, drop_rate, hang_ticker"
                )
            try:
                number = float(raw)
            except ValueError as exc:
                raise ConfigError(f"--inject {key}={raw!r} is not a number") from exc
            if number < 0 or (key.endswith("_rate") and number > 1):
                raise ConfigError(f"--inject {key}={raw}: out of range")
            values[key] = number
        return cls(**values)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> FaultSpec:
        return cls(**dict(data or {}))


class FaultyStack:
    """Wraps a stack and injects the spec's faults before/after each process() call, seeded."""

    def __init__(self, inner: Any, spec: FaultSpec, seed: int) -> None:
        self.inner = inner
        self.name = getattr(inner, "name", "candidate")
        self.spec = spec
        self._rng = random.Random(f"faults:{seed}")
        self._delay_s = spec.delay_ms / 1000.0
        self.injected = {"errors": 0, "delays": 0, "dropped_events": 0, "hangs": 0}

    def process(self, tick: Any) -> Any:
        spec = self.spec
        if spec.hang_ticker is not None and tick.ticker == spec.hang_ticker:
            self.injected["hangs"] += 1
            time.sleep(3600)
        if self._delay_s:
            self.injected["delays"] += 1
            time.sleep(self._delay_s)
        if spec.error_rate and self._rng.random() < spec.error_rate:
            self.injected["errors"] += 1
            raise InjectedFault(f"injected error on {tick.ticker} seq {tick.seq}")
        events = self.inner.process(tick)
        if spec.drop_rate and events:
            kept = [ev for ev in events if self._rng.random() >= spec.drop_rate]
            self.injected["dropped_events"] += len(events) - len(kept)
            return kept
        return events

    def flush(self) -> Any:
        return self.inner.flush()

    def stats(self) -> dict[str, Any]:
        inner = dict(self.inner.stats())
        inner["injected_faults"] = dict(self.injected)
        return inner

    def close(self) -> None:
        self.inner.close()
