"""Synthetic market days: seeded, vectorised tick generation with real-day shape, streamed to a recording.

The day runs 04:00–20:00 US/Eastern (pre-market, regular, after-hours). Ticker activity is heavy
tailed (lognormal weights), intraday activity and volatility are U-shaped, prices follow a
geometric random walk with Student-t innovations plus scheduled *events*: sustained trends,
surges (a burst of trades with 3–6× size and a 2–6 % move in seconds) and rare price gaps. Trades
print inside the bid/ask; per-second aggregate fields (tick_open/high/low/close/vwap/volume) are
running values of the tick's (ticker, second) bucket, and day fields (accumulated_volume, vwap,
market_open_price = first regular-session trade) are running per ticker. The day is generated
in time chunks and written as it goes, so memory does not grow with the tick count.

    synthesize_day("recordings/day", SynthSpec("2026-03-10", tickers=4000, ticks=10_000_000, seed=7))
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date as Date
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa

from harness.core.errors import ConfigError
from harness.core.model import MARKET_COLUMNS
from harness.recordings.schema import TS_TYPE
from harness.recordings.writer import PartLayout, RecordingWriter

ET = ZoneInfo("America/New_York")
DAY_SECONDS = 16 * 3600  # 04:00–20:00 ET
REGULAR_START = 5.5 * 3600  # 09:30 ET, seconds after 04:00
REGULAR_END = 12 * 3600  # 16:00 ET
CHUNK = 300  # seconds per generated chunk; surge windows never straddle one
SURGE_WINDOW = 30
MIN_TICKS_PER_TICKER = 5
COLUMNS = list(MARKET_COLUMNS)
#: Well-known names for the most active tickers, with plausible price levels.
FAMOUS = [
    ("NVDA", 180),
    ("TSLA", 420),
    ("AAPL", 250),
    ("AMD", 210),
    ("AMZN", 230),
    ("MSFT", 500),
    ("META", 700),
    ("PLTR", 170),
    ("SPY", 670),
    ("QQQ", 600),
    ("GOOGL", 250),
    ("SOFI", 28),
    ("F", 12),
    ("INTC", 37),
    ("NIO", 6),
    ("BAC", 52),
    ("MARA", 18),
    ("SMCI", 45),
    ("AVGO", 340),
    ("BRK.B", 490),
]


def _profile(minutes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Activity and volatility multipliers by minute after 04:00 ET (U-shaped regular session)."""
    m = minutes.astype(float)
    reg = (m >= 330) & (m < 720)
    pre, post = m < 330, m >= 720
    act = np.where(reg, 1.0 + 3.5 * np.exp(-(m - 330) / 25) + 2.0 * np.exp(-(719 - m) / 20), 0.0)
    act += np.where(pre, 0.04 + 0.35 * (m / 330) ** 4, 0.0)
    act += np.where(post, 0.03 + 0.45 * np.exp(-(m - 720) / 30), 0.0)
    vol = np.where(reg, 1.0 + 1.6 * np.exp(-(m - 330) / 20) + 0.5 * np.exp(-(719 - m) / 25), 1.4)
    return act, vol


def _ticker_names(n: int, rng: np.random.Generator) -> list[str]:
    names = [f for f, _ in FAMOUS[:n]]
    seen = set(names)
    letters = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    while len(names) < n:
        length = int(rng.choice([1, 2, 3, 4, 4, 4, 5]))
        sym = "".join(rng.choice(letters, length))
        if rng.random() < 0.02:
            sym += "." + str(rng.choice(["A", "B"]))
        if sym not in seen:
            seen.add(sym)
            names.append(sym)
    return names


class _Day:
    """Per-ticker parameters and running state of one synthetic day."""

    def __init__(self, n: int, ticks: int, rng: np.random.Generator) -> None:
        self.rng = rng
        self.names = _ticker_names(n, rng)
        weights = np.sort(rng.lognormal(0.0, 2.0, n))[::-1]
        self.counts = MIN_TICKS_PER_TICKER + rng.multinomial(
            ticks - MIN_TICKS_PER_TICKER * n, weights / weights.sum()
        )
        base = np.exp(rng.normal(3.3, 1.0, n)).clip(1.5, 900)
        for i, (_, px) in enumerate(FAMOUS[:n]):
            base[i] = px * rng.uniform(0.9, 1.1)
        self.p0 = base
        self.sigma = rng.uniform(0.012, 0.045, n) / np.sqrt(23_400)  # per second, regular session
        self.half_bps = rng.lognormal(np.log(3.0), 0.8, n) + 15.0 / np.sqrt(1 + self.counts / 500)
        self.size_mu = np.log(rng.uniform(60, 250, n))
        self.walk = np.zeros(n)
        self.last_t = np.full(n, np.nan)
        self.cum_v = np.zeros(n, np.int64)
        self.cum_pv = np.zeros(n)
        self.open_px = np.full(n, np.nan)
        self._plan(n)

    def _plan(self, n: int) -> None:
        rng = self.rng
        minutes = np.arange(DAY_SECONDS // 60)
        act, _ = _profile(minutes)
        per_chunk = act.reshape(-1, CHUNK // 60).sum(axis=1)
        nchunks = per_chunk.size
        noise = rng.gamma(2.0, 0.5, (n, nchunks))
        pvals = per_chunk[None, :] * noise
        pvals /= pvals.sum(axis=1, keepdims=True)
        # Surges: more for active tickers, mostly in the regular session.
        active = np.log1p(self.counts) / np.log1p(self.counts.max())
        n_surge = rng.poisson(0.3 + 1.7 * active)
        surge_chunks = np.sqrt(per_chunk) / np.sqrt(per_chunk).sum()
        self.surges: list[
            tuple[int, int, float, int, float]
        ] = []  # ticker, chunk, start, ticks, size
        extra = np.zeros(n, np.int64)
        for i in np.flatnonzero(n_surge).tolist():
            for _ in range(int(n_surge[i])):
                c = int(rng.choice(nchunks, p=surge_chunks))
                expected = self.counts[i] * pvals[i, c] * SURGE_WINDOW / CHUNK
                k = int(np.clip(4 * expected + 15, 15, 3000))
                if self.counts[i] - extra[i] - k < MIN_TICKS_PER_TICKER:
                    continue
                start = c * CHUNK + rng.uniform(0, CHUNK - SURGE_WINDOW - 1)
                size = rng.choice([-1.0, 1.0]) * rng.uniform(0.02, 0.06)
                self.surges.append((int(i), c, float(start), k, float(size)))
                extra[i] += k
        self.chunk_counts = rng.multinomial(self.counts - extra, pvals)
        # Price-path events: (start s, duration s, log size); trends, surge moves, gaps.
        events: list[list[tuple[float, float, float]]] = [[] for _ in range(n)]
        for i, _, start, _, size in self.surges:
            events[i].append((start + 1.0, rng.uniform(3, 15), size))
        for i in range(n):
            for _ in range(int(rng.poisson(1.0))):
                start = rng.uniform(REGULAR_START, REGULAR_END - 600)
                events[i].append(
                    (start, rng.uniform(600, 5400), rng.choice([-1, 1]) * rng.uniform(0.01, 0.05))
                )
            for _ in range(int(rng.poisson(0.15))):
                events[i].append(
                    (
                        rng.uniform(0, DAY_SECONDS),
                        1.0,
                        rng.choice([-1, 1]) * rng.uniform(0.015, 0.08),
                    )
                )
        k = max(1, max(len(e) for e in events))
        self.ev = np.zeros((3, n, k))
        self.ev[1] = 1.0
        for i, evs in enumerate(events):
            for j, e in enumerate(evs):
                self.ev[:, i, j] = e

    def drift(self, tid: np.ndarray, t: np.ndarray) -> np.ndarray:
        start, dur, size = self.ev[0][tid], self.ev[1][tid], self.ev[2][tid]
        return (size * np.clip((t[:, None] - start) / dur, 0.0, 1.0)).sum(axis=1)


def _segments(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For rows sorted by `key`: the index of each row's segment start, and the segment number."""
    is_start = np.r_[True, key[1:] != key[:-1]]
    idx = np.arange(key.size)
    return np.maximum.accumulate(np.where(is_start, idx, 0)), np.cumsum(is_start) - 1


def _seg_cumsum(x: np.ndarray, starts: np.ndarray) -> np.ndarray:
    cs = np.cumsum(x)
    return cs - (cs[starts] - x[starts])


def _seg_cummax(x: np.ndarray, seg: np.ndarray) -> np.ndarray:
    big = 2.0 * float(np.abs(x).max()) + 1.0
    off = seg * big
    return np.maximum.accumulate(x + off) - off


def _round_px(x: np.ndarray, how: Callable[[np.ndarray], np.ndarray] = np.round) -> np.ndarray:
    step = np.where(x >= 1.0, 100.0, 10_000.0)
    return how(x * step) / step


def _chunk(day: _Day, c: int) -> dict[str, np.ndarray] | None:
    rng = day.rng
    counts = day.chunk_counts[:, c]
    tid = np.repeat(np.arange(counts.size), counts)
    t = c * CHUNK + rng.random(tid.size) * CHUNK
    vmult = np.ones(tid.size)
    s_tid, s_t, s_v = [], [], []
    for i, sc, start, k, _ in day.surges:
        if sc == c:
            s_tid.append(np.full(k, i))
            s_t.append(start + rng.exponential(SURGE_WINDOW / 3, k).clip(0, SURGE_WINDOW))
            s_v.append(rng.uniform(3, 6, k))
    if s_tid:
        tid = np.r_[tid, np.concatenate(s_tid)]
        t = np.r_[t, np.concatenate(s_t)]
        vmult = np.r_[vmult, np.concatenate(s_v)]
    if tid.size == 0:
        return None
    order = np.lexsort((t, tid))
    tid, t, vmult = tid[order], t[order], vmult[order]
    starts, _ = _segments(tid)
    first = starts == np.arange(tid.size)
    prev = np.r_[np.nan, t[:-1]]
    prev[first] = day.last_t[tid[first]]
    dt = np.nan_to_num(t - prev, nan=0.0)
    act, volm = _profile((t // 60).astype(np.int64))
    z = rng.standard_t(4, tid.size) / np.sqrt(2.0)
    inc = day.sigma[tid] * volm * np.sqrt(dt) * z
    walk = day.walk[tid[starts]] + _seg_cumsum(inc, starts)
    mid = day.p0[tid] * np.exp(walk + day.drift(tid, t))
    outside = (t < REGULAR_START) | (t >= REGULAR_END)
    half = np.maximum(0.005, mid * day.half_bps[tid] * np.where(outside, 3.0, 1.0) / 1e4)
    price = _round_px(mid + half * rng.uniform(-1, 1, tid.size))
    bid = _round_px(mid - half, np.floor)
    ask = _round_px(mid + half, np.ceil)
    price = np.maximum(price, np.where(mid >= 1.0, 0.01, 0.0001))
    bid = np.minimum(bid, price)
    ask = np.maximum(ask, price)
    size = rng.lognormal(day.size_mu[tid], 1.0) * np.sqrt(act) * vmult
    lots = rng.random(tid.size) < 0.6
    volume = np.where(
        lots, np.maximum(1, np.round(size / 100)) * 100, np.maximum(1, np.round(size % 100))
    )
    volume = volume.astype(np.int64)
    # Per-second aggregate of the (ticker, second) bucket so far.
    bucket = tid * CHUNK + (np.floor(t).astype(np.int64) - c * CHUNK)
    b_start, b_seg = _segments(bucket)
    pv = price * volume
    tick_volume = _seg_cumsum(volume, b_start)
    tick_vwap = np.round(_seg_cumsum(pv, b_start) / tick_volume, 4)
    tick_high = np.round(_seg_cummax(price, b_seg), 4)
    tick_low = np.round(-_seg_cummax(-price, b_seg), 4)
    # Day fields.
    acc = day.cum_v[tid] + _seg_cumsum(volume, starts)
    vwap = np.round((day.cum_pv[tid] + _seg_cumsum(pv, starts)) / acc, 4)
    reg = t >= REGULAR_START
    if reg.any():
        tr, idx = np.unique(tid[reg], return_index=True)
        first_px = price[np.flatnonzero(reg)[idx]]
        day.open_px[tr] = np.where(np.isnan(day.open_px[tr]), first_px, day.open_px[tr])
    open_px = np.where(reg, day.open_px[tid], np.nan)
    last = np.r_[tid[1:] != tid[:-1], True]
    day.last_t[tid[last]] = t[last]
    day.walk[tid[last]] = walk[last]
    day.cum_v[tid[last]] = acc[last]
    day.cum_pv[tid[last]] += _seg_cumsum(pv, starts)[last]
    return {
        "tid": tid,
        "t": t,
        "price": price,
        "volume": volume,
        "bid": bid,
        "ask": ask,
        "tick_open": price[b_start],
        "tick_high": tick_high,
        "tick_low": tick_low,
        "tick_close": price,
        "tick_vwap": tick_vwap,
        "tick_volume": tick_volume,
        "accumulated_volume": acc,
        "vwap": vwap,
        "market_open_price": open_px,
    }


@dataclass(frozen=True, slots=True)
class SynthSpec:
    """Which day to generate: same spec, same ticks (seeded)."""

    date: str | Date = "2026-03-10"
    tickers: int = 4000
    ticks: int = 10_000_000
    seed: int = 0


def synthesize_day(
    path: str | os.PathLike[str],
    spec: SynthSpec | None = None,
    *,
    name: str | None = None,
    overwrite: bool = False,
    layout: PartLayout | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Generate one seeded market day into a recording at `path`; return its manifest."""
    spec = spec or SynthSpec()
    date, tickers, ticks, seed = spec.date, spec.tickers, spec.ticks, spec.seed
    day_date = Date.fromisoformat(date) if isinstance(date, str) else date
    if day_date.weekday() >= 5:
        raise ConfigError(f"--date {day_date} is a weekend; pick a trading day (Mon–Fri)")
    if tickers < 1 or ticks < MIN_TICKS_PER_TICKER * tickers:
        raise ConfigError(
            f"need ticks ≥ {MIN_TICKS_PER_TICKER} × tickers (got {ticks} ticks, {tickers} tickers)"
        )
    start_ns = int(datetime.combine(day_date, time(4, 0), ET).timestamp()) * 1_000_000_000
    rng = np.random.default_rng(seed)
    day = _Day(tickers, ticks, rng)
    names = pa.array(day.names, pa.string())
    notes = {
        "generator": "harness.recordings.synth.synthesize_day",
        "params": {"date": str(day_date), "tickers": tickers, "ticks": ticks, "seed": seed},
        "surges": len(day.surges),
    }
    seq0, nchunks = 0, DAY_SECONDS // CHUNK
    with RecordingWriter(
        path,
        name=name,
        source="synthetic",
        notes=notes,
        columns=COLUMNS,
        overwrite=overwrite,
        layout=layout,
    ) as writer:
        for c in range(nchunks):
            cols = _chunk(day, c)
            if cols is not None:
                ts = start_ns + np.round(cols.pop("t") * 1e9).astype(np.int64)
                tid = cols.pop("tid")
                order = np.lexsort((tid, ts))
                n = order.size
                arrays: dict[str, Any] = {
                    "seq": pa.array(np.arange(seq0, seq0 + n, dtype=np.int64)),
                    "ts": pa.array(ts[order]).cast(TS_TYPE),
                    "ticker": pa.DictionaryArray.from_arrays(
                        pa.array(tid[order].astype(np.int32)), names
                    ),
                    "price": cols.pop("price")[order],
                    "volume": cols.pop("volume")[order],
                }
                mop = cols.pop("market_open_price")[order]
                for key, values in cols.items():
                    arrays[key] = values[order]
                arrays["market_open_price"] = pa.array(mop, mask=np.isnan(mop))
                writer.write_batch(pa.table(arrays))
                seq0 += n
            if progress:
                progress(c + 1, nchunks)
        return writer.finalise()
