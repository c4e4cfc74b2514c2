"""Core immutable values shared by every harness stage (recording → runner → diff → gates)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

#: Where run directories go unless told otherwise (design.md §7); the one spelling of it.
DEFAULT_RUNS_DIR = Path("reports/runs")

#: The two sides of every comparison, in their canonical order.
SIDES: tuple[str, str] = ("primary", "candidate")

#: Required recording columns, in their canonical order (design.md §3).
REQUIRED_COLUMNS: tuple[str, ...] = ("seq", "ts", "ticker", "price", "volume")

#: Optional recording columns, in their canonical order (design.md §3).
OPTIONAL_COLUMNS: tuple[str, ...] = (
    "bid",
    "ask",
    "tick_open",
    "tick_high",
    "tick_low",
    "tick_close",
    "tick_vwap",
    "tick_volume",
    "accumulated_volume",
    "vwap",
    "market_open_price",
    "recv_ts",
    "source",
)

TICK_FIELDS: tuple[str, ...] = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
#: The optional columns a market feed provides (not the receiver's `recv_ts` / `source`).
MARKET_COLUMNS: tuple[str, ...] = OPTIONAL_COLUMNS[: OPTIONAL_COLUMNS.index("recv_ts")]
#: Tick columns that make a tick an aggregate (Polygon ``A``) rather than a trade (``T``).
AGGREGATE_FIELDS: tuple[str, ...] = tuple(c for c in MARKET_COLUMNS if c not in ("bid", "ask"))


class Tick(NamedTuple):
    """One tick of a recording or live feed, as stacks see it (design.md §4).

    A NamedTuple rather than a dataclass: it is immutable, attribute access is a C slot read, and
    `Tick._make(row)` builds ten million of them from Arrow columns without per-field Python work.
    `ts` and `recv_ts` are integer nanoseconds since the epoch, UTC. Absent optional columns are
    `None`.
    """

    seq: int
    ts: int
    ticker: str
    price: float
    volume: int
    bid: float | None = None
    ask: float | None = None
    tick_open: float | None = None
    tick_high: float | None = None
    tick_low: float | None = None
    tick_close: float | None = None
    tick_vwap: float | None = None
    tick_volume: int | None = None
    accumulated_volume: int | None = None
    vwap: float | None = None
    market_open_price: float | None = None
    recv_ts: int | None = None
    source: str | None = None


#: TickStock's detector tuning periods by US/Eastern time of day (tickstock/legacy/market_hours.py;
#: like TickStock's, no weekday check). CLOSED is before 04:00 and from 20:00.
PERIODS: dict[str, tuple[str, str]] = {
    "PREMARKET": ("04:00", "09:30"),
    "OPENING": ("09:30", "09:45"),
    "MIDDAY": ("09:45", "15:30"),
    "CLOSING": ("15:30", "16:00"),
    "AFTERHOURS": ("16:00", "20:00"),
}


def pick(value: object, *names: str) -> dict[str, Any]:
    """The named attributes of a value as a dict, in the order given: how result values become
    JSON. Explicit names, so the stored key order never follows a dataclass's field order."""
    return {name: getattr(value, name) for name in names}
