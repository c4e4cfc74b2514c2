"""PriceHistory: Trend's per-ticker price history (last 300 points) with O(log n) window statistics.

TickStock keeps a list of {price, vwap, volume, timestamp} and, on every tick, recomputes three
recency-weighted components over each of three time windows — O(window) work per tick. A window
is always a suffix of the history, and every weighted sum has the form Σ decay^(end-1-i)·xᵢ over
a suffix, which equals E_end − decay^len·E_start for the running sum Eₖ = decay·Eₖ₋₁ + xₖ₋₁.
Storing Eₖ (and plain prefix sums) per point therefore makes each component O(1) after one
bisection. Results equal the direct sums up to floating-point rounding (≈1e-15 relative).
The statistics assume time order; a point older than its predecessor switches the history to
the direct computation for the rest of its life (`ordered` = False). Only the points a window
can still reach are kept (trimmed in blocks), so memory per ticker is bounded.
"""

from __future__ import annotations

from bisect import bisect_left
from functools import lru_cache
from typing import Any, NamedTuple

CAP = 300
# Windows reach back at most CAP + 1 points (the lightweight check's copy plus its new point);
# trimming in blocks of _TRIM_BY once _TRIM_AT points are stored keeps ≥ CAP + 20 of them.
_TRIM_AT = 640
_TRIM_BY = 320


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


_components = tuple.__new__  # WindowComponents without the generated __new__'s Python frame


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
        "_v_idx", "_v_r", "_v_er", "_v_ed", "_q_idx", "_q_vol", "_q_price", "_q_sq", "_q_eq", "decay",
        "_sq", "_ref", "_broke_order_at", "_powers", "_totals",
    )  # fmt: skip

    def __init__(self, decay: float = 0.9) -> None:
        self.ordered = True
        self.decay = decay  # a plain attribute: Trend compares it with its own decay per tick
        self._powers = _powers(decay)
        self._totals = _totals(decay)
        self._base = 0  # absolute index of _ts[0]
        self._ts: list[float] = []
        self._price: list[float] = []
        self._vwap: list[float | None] = []
        self._volume: list[Any] = []
        self._sp: list[float] = []  # Σ prices before this point
        self._ep: list[float] = []  # EW sum of price changes up to this point
        self._sq: list[float] = []  # Σ (price - ref)² before this point (volatility)
        self._ref: float = 0.0
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

    # --- sequence view (TickStock's list, capped at 300) ---
    def __len__(self) -> int:
        return min(len(self._ts), CAP)

    def __bool__(self) -> bool:
        return bool(self._ts)

    def span(self, cap: int = CAP) -> tuple[int, float]:
        """(len, first timestamp) of the capped list in one call (Trend's warm-up test)."""
        ts = self._ts
        n = len(ts)
        if n > cap:
            return cap, ts[n - cap]
        return n, ts[0]

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
        ts_list = self._ts
        n = len(ts_list)
        d = self.decay
        prices = self._price
        sp, ep, sq = self._sp, self._ep, self._sq
        if n:
            if ts < ts_list[-1] and self.ordered:
                self.ordered = False
                self._broke_order_at = self._base + n
            last = prices[-1]
            sp.append(sp[-1] + last)
            ep.append(d * ep[-1] + (price - last))
            dev = last - self._ref
            sq.append(sq[-1] + dev * dev)
        else:
            self._ref = price
            sp.append(0.0)
            ep.append(0.0)
            sq.append(0.0)
        absolute = self._base + n
        if vwap is not None and vwap > 0:
            r = (price - vwap) / vwap
            v_r = self._v_r
            if v_r:
                last_r = v_r[-1]
                er, ed = self._v_er, self._v_ed
                er.append(d * er[-1] + last_r)
                ed.append(d * ed[-1] + (r - last_r))
            else:
                self._v_er.append(0.0)
                self._v_ed.append(0.0)
            self._v_idx.append(absolute)
            v_r.append(r)
        if volume is not None and volume > 0:
            q_vol = self._q_vol
            q_price = self._q_price
            if q_vol:
                last_vol = q_vol[-1]
                change = price - q_price[-1]
                sign = 1 if change > 0 else -1 if change < 0 else 0
                q_sq, q_eq = self._q_sq, self._q_eq
                q_sq.append(q_sq[-1] + last_vol)
                q_eq.append(d * q_eq[-1] + sign * last_vol)
            else:
                self._q_sq.append(0)
                self._q_eq.append(0.0)
            self._q_idx.append(absolute)
            q_vol.append(volume)
            q_price.append(price)
        ts_list.append(ts)
        prices.append(price)
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
        return self.windows(start_ts, (0,), cap)[0]

    def windows(
        self, end_time: float, spans: tuple[float, ...], cap: int = CAP, min_points: int = 0
    ) -> tuple[WindowComponents, ...]:
        """Components of the windows starting at `end_time - span` for each span, among the
        last `cap` points (Trend's short/medium/long windows in one pass). A window with fewer
        than `min_points` points gets zero components: Trend scores such a window 0 and never
        reads them, so they are not computed."""
        ts = self._ts
        end = len(ts)
        if not end:
            return tuple(WindowComponents(0, 0, 0, 0) for _ in spans)
        lo = end - cap
        if lo < 0:
            lo = 0
        d = self.decay
        powers = self._powers
        totals = self._totals
        ep = self._ep
        sp = self._sp
        ep_end = ep[-1]
        sp_end = sp[-1] + self._price[-1]
        base = self._base
        v_idx = self._v_idx
        nv_all = len(v_idx)
        v_dense = nv_all == end and v_idx[0] == base
        if nv_all >= 2:
            er, ed, v_r = self._v_er, self._v_ed, self._v_r
            er_end = d * er[-1] + v_r[-1]
            ed_end = ed[-1]
        q_idx = self._q_idx
        nq_all = len(q_idx)
        q_dense = nq_all == end and q_idx[0] == base
        if nq_all >= 3:
            q_sq, eq = self._q_sq, self._q_eq
            q_end = q_sq[-1] + self._q_vol[-1]
            eq_end = eq[-1]
        need = min_points if min_points > 2 else 2
        out: list[WindowComponents] = []
        prev_a = -1
        result: WindowComponents | None = None
        for span in spans:
            a = bisect_left(ts, end_time - span, lo)
            if a == prev_a:
                out.append(result)  # type: ignore[arg-type]
                continue
            prev_a = a
            n = end - a
            if n < need:
                result = _components(WindowComponents, (n, 0, 0, 0))
                out.append(result)
                continue
            # price: Σ w·Δ / (1 % of the mean price)
            weighted = (ep_end - powers[n - 1] * ep[a]) / totals[n - 1]
            mean = (sp_end - sp[a]) / n
            pc = 0.0
            if mean > 0:
                pc = weighted / (mean * 0.01)
                pc = -1 if pc < -1 else 1 if pc > 1 else pc
            # vwap: 5·Σ w·r + 10·Σ w·(r_{i+1} − r_i)
            vc = 0.0
            if nv_all >= 2:
                s = a if v_dense else bisect_left(v_idx, base + a)
                nv = nv_all - s
                if nv >= 2:
                    total = totals[nv]
                    position = (er_end - powers[nv] * er[s]) / total
                    vc = position * 5 + d * (ed_end - powers[nv - 1] * ed[s]) / total * 10
                    vc = -1 if vc < -1 else 1 if vc > 1 else vc
            # volume: Σ w·sign(Δp)·vol / mean(vol) / 3
            qc = 0.0
            if nq_all >= 3:
                s = a if q_dense else bisect_left(q_idx, base + a)
                nq = nq_all - s
                if nq >= 3:
                    avg = (q_end - q_sq[s]) / nq
                    if avg > 0:
                        qc = (eq_end - powers[nq - 1] * eq[s]) / totals[nq - 1] / avg / 3
                        qc = -1 if qc < -1 else 1 if qc > 1 else qc
            result = _components(WindowComponents, (n, pc, vc, qc))
            out.append(result)
        return tuple(out)

    def price_dispersion(self, start_ts: float, cap: int = CAP) -> tuple[int, float, float]:
        """(count, mean, sample std) of prices with timestamp ≥ start_ts (Trend's volatility)."""
        ts = self._ts
        end = len(ts)
        lo = end - cap
        a = bisect_left(ts, start_ts, lo if lo > 0 else 0)
        n = end - a
        if n < 2:
            return n, (self._price[a] if n else 0.0), 0.0
        last = self._price[-1]
        sp = self._sp
        total = sp[-1] + last - sp[a]
        ref = self._ref
        dev = last - ref
        sq = self._sq
        total_sq = sq[-1] + dev * dev - sq[a]
        mean = total / n
        shifted = total - n * ref
        var = (total_sq - shifted * shifted / n) / (n - 1)
        return n, mean, var**0.5 if var > 0 else 0.0
