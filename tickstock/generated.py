"""Generated tick sequences (numpy, seeded) for the demo, tests and benchmarks of the stacks.

Ticks look like the harness's (`seq, ts` ns UTC, `ticker, price, volume` and the optional bar and
VWAP columns), so stacks consume them exactly as they consume recordings. Each ticker follows a
random walk with a per-ticker drift (so trends form), and a small share of ticks are planted
surges: a jump of `surge_pct` with `surge_volume`× the usual volume. Activity is skewed (Zipf-like)
across tickers, as on a real day.

    ticks = generate_ticks(10_000, 20, seed=7)                   # a list, for small runs
    for tick in iter_ticks(generate_columns(2_000_000, 1_500)): …  # streamed
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, NamedTuple

import numpy as np

#: 2026-03-10 14:00 UTC = 10:00 ET, a Tuesday: a MIDDAY-period start for the detectors.
DEFAULT_START = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)


class GeneratedTick(NamedTuple):
    """Same attribute names as harness.core.model.Tick (tickstock may not import harness)."""

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


def ticker_names(n: int) -> list[str]:
    """Distinct upper-case symbols: A, B, …, Z, AA, AB, …"""
    names = []
    for i in range(n):
        s, k = "", i
        while True:
            s = chr(65 + k % 26) + s
            k = k // 26 - 1
            if k < 0:
                break
        names.append(s)
    return names


class GeneratedColumns(NamedTuple):
    """A generated sequence as numpy columns (row i = tick seq i)."""

    names: list[str]
    who: np.ndarray
    ts: np.ndarray
    price: np.ndarray
    volume: np.ndarray
    bid: np.ndarray
    ask: np.ndarray
    accumulated_volume: np.ndarray
    vwap: np.ndarray
    market_open_price: np.ndarray


def generate_columns(
    n_ticks: int,
    n_tickers: int,
    *,
    seed: int = 0,
    start: datetime = DEFAULT_START,
    duration_s: float | None = None,
    step_sigma: float = 0.0008,
    drift_sigma: float = 0.0006,
    surge_rate: float = 0.002,
    surge_pct: float = 0.05,
    surge_volume: float = 8.0,
) -> GeneratedColumns:
    """`n_ticks` ticks over `n_tickers` tickers in time order (default: one tick per ticker-second)."""
    rng = np.random.default_rng(seed)
    names = ticker_names(n_tickers)
    if duration_s is None:
        duration_s = n_ticks / max(1, n_tickers)
    weights = 1.0 / np.arange(1, n_tickers + 1) ** 0.8
    who = rng.choice(n_tickers, size=n_ticks, p=weights / weights.sum())
    t = np.sort(rng.uniform(0.0, duration_s, size=n_ticks))
    base_price = np.exp(rng.uniform(np.log(8.0), np.log(400.0), size=n_tickers))
    drift = rng.normal(0.0, drift_sigma, size=n_tickers)
    surge = rng.random(n_ticks) < surge_rate
    sign = np.where(rng.random(n_ticks) < 0.5, -1.0, 1.0)
    ret = rng.normal(0.0, step_sigma, size=n_ticks) + drift[who] + surge * sign * surge_pct
    base_vol = rng.integers(100, 2000, size=n_tickers)
    volume = (
        base_vol[who] * rng.uniform(0.5, 1.5, size=n_ticks) * np.where(surge, surge_volume, 1.0)
    ).astype(np.int64)

    # per-ticker cumulative sums in time order: group by ticker with a stable sort
    order = np.argsort(who, kind="stable")
    w_sorted = who[order]
    starts = np.r_[0, np.flatnonzero(np.diff(w_sorted)) + 1]
    group_start = np.repeat(starts, np.diff(np.r_[starts, n_ticks]))

    def group_cumsum(x: np.ndarray) -> np.ndarray:
        c = np.cumsum(x[order])
        offset = np.where(group_start > 0, c[group_start - 1], 0.0)
        out = np.empty_like(c)
        out[order] = c - offset
        return out

    price = np.round(base_price[who] * np.exp(group_cumsum(ret)), 4)
    price = np.maximum(price, 0.01)
    cum_vol = group_cumsum(volume.astype(np.float64))
    vwap = np.round(group_cumsum(price * volume) / cum_vol, 4)
    first = np.empty(n_tickers)
    first[w_sorted[starts]] = price[order][starts]
    open_price = first[who]
    spread = np.round(price * 0.0005, 4)
    ts_ns = int(start.timestamp()) * 10**9 + (t * 1e9).astype(np.int64)
    return GeneratedColumns(
        names, who, ts_ns, price, volume, price - spread, price + spread,
        cum_vol.astype(np.int64), vwap, open_price,
    )  # fmt: skip


def iter_ticks(cols: GeneratedColumns, chunk: int = 65_536) -> Iterator[GeneratedTick]:
    """GeneratedTick objects built a chunk at a time (memory stays flat for long sequences)."""
    make = GeneratedTick._make
    names = cols.names
    for lo in range(0, len(cols.ts), chunk):
        hi = min(lo + chunk, len(cols.ts))
        n = hi - lo
        none = [None] * n
        p = cols.price[lo:hi].tolist()
        v = cols.volume[lo:hi].tolist()
        columns = (
            range(lo, hi), cols.ts[lo:hi].tolist(), [names[w] for w in cols.who[lo:hi].tolist()],
            p, v, cols.bid[lo:hi].tolist(), cols.ask[lo:hi].tolist(), none, none, none, p, p, v,
            cols.accumulated_volume[lo:hi].tolist(), cols.vwap[lo:hi].tolist(),
            cols.market_open_price[lo:hi].tolist(), none, ["generated"] * n,
        )  # fmt: skip
        yield from map(make, zip(*columns, strict=True))


def generate_ticks(n_ticks: int, n_tickers: int, **kwargs: Any) -> list[GeneratedTick]:
    """`generate_columns(...)` as a list of ticks (small sequences: demo and tests)."""
    return list(iter_ticks(generate_columns(n_ticks, n_tickers, **kwargs)))
