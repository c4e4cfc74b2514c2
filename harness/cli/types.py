"""Parameter types of the command line: paces, fault specs, durations, ticker lists, secrets.

A type that rejects a value raises the domain's own ConfigError: the same one line and exit
code 5 as every other bad input (docs/bad-input.md), not click's usage error.
"""

from __future__ import annotations

import os
from typing import Any

import click

from harness.core.errors import ConfigError


class PaceType(click.ParamType):
    """`--mode`: afap, realtime or speed=N, checked when parsed (kept as text, as recorded)."""

    name = "mode"

    def convert(self, value: Any, param: Any, ctx: Any) -> str:
        from harness.replay.sources import Pace

        Pace.parse(str(value))
        return str(value)


class FaultsType(click.ParamType):
    """`--inject error_rate=,delay_ms=,drop_rate=,hang_ticker=` → a FaultSpec."""

    name = "faults"

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        from harness.replay.faults import FaultSpec

        return value if isinstance(value, FaultSpec) else FaultSpec.parse(value)


class DurationType(click.ParamType):
    """`--duration`: seconds, or a number with s/m/h (30s, 5m, 1h) → seconds."""

    name = "duration"

    def convert(self, value: Any, param: Any, ctx: Any) -> float:
        if isinstance(value, float):
            return value
        units = {"s": 1.0, "m": 60.0, "h": 3600.0}
        raw = str(value).strip().lower()
        factor = units.get(raw[-1:])
        try:
            seconds = float(raw[:-1] if factor else raw) * (factor or 1.0)
        except ValueError:
            raise ConfigError(
                f"--duration must look like 30s, 5m, 1h or 90, got {value!r}"
            ) from None
        if not seconds > 0:
            raise ConfigError(f"--duration must be > 0, got {value!r}")
        return seconds


class TickerListType(click.ParamType):
    """`--tickers A,B,C` → ["A", "B", "C"] (blanks dropped)."""

    name = "tickers"

    def convert(self, value: Any, param: Any, ctx: Any) -> list[str]:
        if isinstance(value, list):
            return value
        return [t.strip() for t in str(value).split(",") if t.strip()]


def secret_from_env(var: str | None) -> str | None:
    """The value of the environment variable named by --key-env (never echoed)."""
    if var is None:
        return None
    value = os.environ.get(var)
    if not value:
        raise ConfigError(f"--key-env {var}: environment variable {var} is not set or empty")
    return value
