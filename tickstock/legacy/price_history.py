"""PriceHistory: Trend's per-ticker price history (last 300 points) with O(log n) window statistics.

TickStock keeps a list of {price, vwap, volume, timestamp} and, on every tick, recomputes three
recency-weighted components over each of three time windows — O(window) work per tick. A window
is always a suffix of the history, and every weighted sum has the form Σ decay^(end-1-i)·xᵢ over
a suffix, which equals E_end − decay^len·E_start for the running sum Eₖ = decay·Eₖ₋₁ + xₖ₋₁.
Storing Eₖ (and plain prefix sums) per point therefore makes each component O(1) after one
bisection. Results equal the direct sums up to floating-point rounding (≈1e-15 relative).
The statistics assume time order; a point older than its predecessor switches the history to
the direct computation for the rest of its life (`ordered` = False).
"""

from __future__ import annotations

from bisect import bisect_left
from functools import lru_cache
from typing import Any, NamedTuple

CAP = 300
_TRIM_AT = 2048
_TRIM_BY = 1024


class PricePoint(NamedTuple):
    """One Trend history point ({price, vwap, volume, timestamp} in TickStock)."""

    price: float
    vwap: float | None
    volume: float | None
    timestamp: float


class WindowComponents(NamedTuple):
    """Raw price/vwap/volume components of one window and its point count."""

    data_points: int
    price: float
    vwap: float
    volume: float


@lru_cache(maxsize=8)
def _powers(decay: float) -> tuple[float, ...]:
    return tuple(decay**k for k in range(_TRIM_AT + 2))


@lru_cache(maxsize=8)
def _totals(decay: float) -> tuple[float, ...]:
    """W_m = Σ_{k<m} decay^k summed as TickStock sums its weight list (index m)."""
    out = [0.0]
    for m in range(1, CAP + 3):
        out.append(sum(decay ** (m - i - 1) for i in range(m)))
    return tuple(out)


class PriceHistory:
    """Append-only (plus undo of the last append) history with suffix-window statistics."""

    __slots__ = (
        "ordered", "_base", "_ts", "_price", "_vwap", "_volume", "_sp", "_ep",
        "_v_idx", "_v_r", "_v_er", "_v_ed", "_q_idx", "_q_vol", "_q_price", "_q_sq", "_q_eq", "_decay",
        "_sq", "_ref", "_memo", "_stash", "_broke_order_at",
    )  # fmt: skip

    def __init__(self, decay: float = 0.9) -> None:
        self.ordered = True
        self._decay = decay
        self._base = 0  # absolute index of _ts[0]
        self._ts: list[float] = []
        self._price: list[float] = []
        self._vwap: list[float | None] = []
        self._volume: list[Any] = []
        self._sp: list[float] = []  # Σ prices before this point
        self._ep: list[float] = []  # EW sum of price changes up to this point
        self._sq: list[float] = []  # Σ (price - ref)² before this point (volatility)
        self._ref: float = 0.0
        self._memo: dict[int, WindowComponents] = {}  # window start → components (this end)
        # memo of a popped point, restored if the same point is appended again (the trend flag
        # check appends, computes, pops; then Trend appends the very same point)
        self._stash: tuple[Any, ...] | None = None
        self._broke_order_at = -1  # absolute index of the point that cleared `ordered`
        self._v_idx: list[int] = []  # absolute index of each point with vwap > 0
        self._v_r: list[float] = []  # (price - vwap) / vwap
        self._v_er: list[float] = []  # EW sum of r before this vwap point
        self._v_ed: list[float] = []  # EW sum of r changes up to this vwap point
        self._q_idx: list[int] = []  # absolute index of each point with volume > 0
        self._q_vol: list[Any] = []
        self._q_price: list[float] = []
        self._q_sq: list[Any] = []  # Σ volumes before this volume point
        self._q_eq: list[float] = []  # EW sum of sign(Δp)·volume up to this volume point

    @property
    def decay(self) -> float:
        return self._decay

    # --- sequence view (TickStock's list, capped at 300) ---
    def __len__(self) -> int:
        return min(len(self._ts), CAP)

    def __bool__(self) -> bool:
        return bool(self._ts)

    def first_timestamp(self, cap: int = CAP) -> float:
        ts = self._ts
        return ts[max(0, len(ts) - cap)]

    def last_timestamp(self) -> float:
        return self._ts[-1]

    def points(self, cap: int = CAP) -> list[PricePoint]:
        """The capped list TickStock would hold (used by the direct computation and tests)."""
        start = max(0, len(self._ts) - cap)
        return [
            PricePoint(self._price[i], self._vwap[i], self._volume[i], self._ts[i])
            for i in range(start, len(self._ts))
        ]

    # --- mutation ---
    def append(self, price: float, vwap: float | None, volume: Any, ts: float) -> None:
        n = len(self._ts)
        d = self._decay
        if n:
            if ts < self._ts[-1] and self.ordered:
                self.ordered = False
                self._broke_order_at = self._base + n
            last = self._price[-1]
            self._sp.append(self._sp[-1] + last)
            self._ep.append(d * self._ep[-1] + (price - last))
            dev = last - self._ref
            self._sq.append(self._sq[-1] + dev * dev)
        else:
            self._ref = price
            self._sp.append(0.0)
            self._ep.append(0.0)
            self._sq.append(0.0)
        absolute = self._base + n
        stash = self._stash
        if stash is not None:
            self._stash = None
            self._memo = stash[1] if stash[0] == (absolute, price, vwap, volume, ts) else {}
        else:
            self._memo = {}
        if vwap is not None and vwap > 0:
            r = (price - vwap) / vwap
            if self._v_r:
                last_r = self._v_r[-1]
                self._v_er.append(d * self._v_er[-1] + last_r)
                self._v_ed.append(d * self._v_ed[-1] + (r - last_r))
            else:
                self._v_er.append(0.0)
                self._v_ed.append(0.0)
            self._v_idx.append(absolute)
            self._v_r.append(r)
        if volume is not None and volume > 0:
            if self._q_vol:
                change = price - self._q_price[-1]
                sign = 1 if change > 0 else -1 if change < 0 else 0
                self._q_sq.append(self._q_sq[-1] + self._q_vol[-1])
                self._q_eq.append(d * self._q_eq[-1] + sign * self._q_vol[-1])
            else:
                self._q_sq.append(0)
                self._q_eq.append(0.0)
            self._q_idx.append(absolute)
            self._q_vol.append(volume)
            self._q_price.append(price)
        self._ts.append(ts)
        self._price.append(price)
        self._vwap.append(vwap)
        self._volume.append(volume)
        if n + 1 >= _TRIM_AT:
            self._trim()

    def pop(self) -> None:
        """Undo the last append (the lightweight trend check's temporary point)."""
        absolute = self._base + len(self._ts) - 1
        if absolute == self._broke_order_at:
            self.ordered = True
            self._broke_order_at = -1
        point = (absolute, self._price[-1], self._vwap[-1], self._volume[-1], self._ts[-1])
        self._stash = (point, self._memo)
        self._memo = {}
        lists: list[list[Any]] = [
            self._ts, self._price, self._vwap, self._volume, self._sp, self._ep, self._sq,
        ]  # fmt: skip
        if self._v_idx and self._v_idx[-1] == absolute:
            lists += [self._v_idx, self._v_r, self._v_er, self._v_ed]
        if self._q_idx and self._q_idx[-1] == absolute:
            lists += [self._q_idx, self._q_vol, self._q_price, self._q_sq, self._q_eq]
        for lst in lists:
            lst.pop()

    def _trim(self) -> None:
        cut = _TRIM_BY
        self._base += cut
        for lst in (self._ts, self._price, self._vwap, self._volume, self._sp, self._ep, self._sq):
            del lst[:cut]
        base = self._base
        k = bisect_left(self._v_idx, base)
        for lst in (self._v_idx, self._v_r, self._v_er, self._v_ed):
            del lst[:k]
        k = bisect_left(self._q_idx, base)
        for lst in (self._q_idx, self._q_vol, self._q_price, self._q_sq, self._q_eq):
            del lst[:k]

    # --- statistics over suffix windows ---
    def _start(self, start_ts: float, cap: int) -> int:
        lo = max(0, len(self._ts) - cap)
        return bisect_left(self._ts, start_ts, lo)

    def count_since(self, start_ts: float, cap: int = CAP) -> int:
        return len(self._ts) - self._start(start_ts, cap)

    def window(self, start_ts: float, cap: int = CAP) -> WindowComponents:
        """Components of the points with timestamp ≥ start_ts among the last `cap` points."""
        ts = self._ts
        end = len(ts)
        a = bisect_left(ts, start_ts, max(0, end - cap))
        absolute = self._base + a
        memo = self._memo
        hit = memo.get(absolute)
        if hit is not None:
            return hit
        n = end - a
        if n < 2:
            result = WindowComponents(n, 0, 0, 0)
            memo[absolute] = result
            return result
        d = self._decay
        powers = _powers(d)
        totals = _totals(d)
        # price: Σ w·Δ / (1 % of the mean price)
        ep = self._ep
        weighted = (ep[end - 1] - powers[n - 1] * ep[a]) / totals[n - 1]
        mean = (self._sp[end - 1] + self._price[end - 1] - self._sp[a]) / n
        pc = 0.0
        if mean > 0:
            pc = weighted / (mean * 0.01)
            pc = -1 if pc < -1 else 1 if pc > 1 else pc
        # vwap: 5·Σ w·r + 10·Σ w·(r_{i+1} − r_i)
        vc = 0.0
        v_idx = self._v_idx
        nv_all = len(v_idx)
        s = a if nv_all == end and v_idx[0] == self._base else bisect_left(v_idx, absolute)
        nv = nv_all - s
        if nv >= 2:
            er, ed, r = self._v_er, self._v_ed, self._v_r
            total = totals[nv]
            position = (d * er[-1] + r[-1] - powers[nv] * er[s]) / total
            vc = position * 5 + d * (ed[-1] - powers[nv - 1] * ed[s]) / total * 10
            vc = -1 if vc < -1 else 1 if vc > 1 else vc
        # volume: Σ w·sign(Δp)·vol / mean(vol) / 3
        qc = 0.0
        q_idx = self._q_idx
        nq_all = len(q_idx)
        s = a if nq_all == end and q_idx[0] == self._base else bisect_left(q_idx, absolute)
        nq = nq_all - s
        if nq >= 3:
            avg = (self._q_sq[-1] + self._q_vol[-1] - self._q_sq[s]) / nq
            if avg > 0:
                eq = self._q_eq
                qc = (eq[-1] - powers[nq - 1] * eq[s]) / totals[nq - 1] / avg / 3
                qc = -1 if qc < -1 else 1 if qc > 1 else qc
        result = WindowComponents(n, pc, vc, qc)
        memo[absolute] = result
        return result

    def price_dispersion(self, start_ts: float, cap: int = CAP) -> tuple[int, float, float]:
        """(count, mean, sample std) of prices with timestamp ≥ start_ts (Trend's volatility)."""
        a = self._start(start_ts, cap)
        end = len(self._ts)
        n = end - a
        if n < 2:
            return n, (self._price[a] if n else 0.0), 0.0
        last = self._price[-1]
        total = self._sp[-1] + last - self._sp[a]
        dev = last - self._ref
        total_sq = self._sq[-1] + dev * dev - self._sq[a]
        mean = total / n
        shifted = total - n * self._ref
        var = (total_sq - shifted * shifted / n) / (n - 1)
        return n, mean, var**0.5 if var > 0 else 0.0
