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
# A point costs ~380 bytes (12 lists of floats), so the cap is what a ticker costs: at most
# 384 points (was 640: −40 %), while a trim stays a memmove of 320 pointers per 64 appends.
_TRIM_AT = 384
_TRIM_BY = 64


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
    """Append-only (plus undo of the last append) history with suffix-window statistics.

    While every point has a vwap > 0 and a volume > 0 (`_dense`, the usual case) the vwap and
    volume subsequences are the whole history, so their index lists are not kept. The running
    sums one past the last point (`_sp_end`, `_sq_end`, `_er_end`, `_q_end`) are kept as they
    are computed: the next append stores them, and the window statistics read them instead of
    recomputing them (the same expressions, evaluated once).
    """

    __slots__ = (
        "ordered", "_base", "_ts", "_price", "_vwap", "_volume", "_sp", "_ep",
        "_v_idx", "_v_r", "_v_er", "_v_ed", "_q_idx", "_q_vol", "_q_price", "_q_sq", "_q_eq", "decay",
        "_sq", "_ref", "_broke_order_at", "_powers", "_totals", "_dense", "_sparse_at",
        "_sp_end", "_sq_end", "_er_end", "_q_end",
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
        # every point has vwap > 0 and volume > 0: the _v_/_q_ sums align with the points and
        # _v_idx, _q_idx, _q_vol, _q_price stay empty (they are filled when a point breaks it)
        self._dense = True
        self._sparse_at = -1  # absolute index of the point that cleared `_dense`
        self._v_idx: list[int] = []  # absolute index of each point with vwap > 0
        self._v_r: list[float] = []  # (price - vwap) / vwap
        self._v_er: list[float] = []  # EW sum of r before this vwap point
        self._v_ed: list[float] = []  # EW sum of r changes up to this vwap point
        self._q_idx: list[int] = []  # absolute index of each point with volume > 0
        self._q_vol: list[Any] = []
        self._q_price: list[float] = []
        self._q_sq: list[Any] = []  # Σ volumes before this volume point
        self._q_eq: list[float] = []  # EW sum of sign(Δp)·volume up to this volume point
        # the running sums one past the last point (what the next append stores)
        self._sp_end: float = 0.0
        self._sq_end: float = 0.0
        self._er_end: float = 0.0
        self._q_end: Any = 0

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
        if n:
            if ts < ts_list[-1] and self.ordered:
                self.ordered = False
                self._broke_order_at = self._base + n
            last = prices[-1]
            self._sp.append(self._sp_end)
            ep = self._ep
            ep.append(d * ep[-1] + (price - last))
            self._sq.append(self._sq_end)
        else:
            last = price
            self._ref = price
            self._sp.append(0.0)
            self._ep.append(0.0)
            self._sq.append(0.0)
        self._sp_end = self._sp[-1] + price
        dev = price - self._ref
        self._sq_end = self._sq[-1] + dev * dev
        has_vwap = vwap is not None and vwap > 0
        has_volume = volume is not None and volume > 0
        if self._dense:
            if has_vwap and has_volume:
                r = (price - vwap) / vwap  # type: ignore[operator]
                v_r, er, ed = self._v_r, self._v_er, self._v_ed
                q_sq, q_eq = self._q_sq, self._q_eq
                if n:
                    last_r = v_r[-1]
                    er.append(self._er_end)
                    ed.append(d * ed[-1] + (r - last_r))
                    change = price - last
                    sign = 1 if change > 0 else -1 if change < 0 else 0
                    last_vol = self._volume[-1]
                    q_sq.append(self._q_end)
                    q_eq.append(d * q_eq[-1] + sign * last_vol)
                else:
                    er.append(0.0)
                    ed.append(0.0)
                    q_sq.append(0)
                    q_eq.append(0.0)
                v_r.append(r)
                self._er_end = d * er[-1] + r
                self._q_end = q_sq[-1] + volume
                ts_list.append(ts)
                prices.append(price)
                self._vwap.append(vwap)
                self._volume.append(volume)
                if n + 1 >= _TRIM_AT:
                    self._trim()
                return
            self._go_sparse(n)
        absolute = self._base + n
        if has_vwap:
            r = (price - vwap) / vwap  # type: ignore[operator]
            v_r = self._v_r
            er, ed = self._v_er, self._v_ed
            if v_r:
                last_r = v_r[-1]
                er.append(self._er_end)
                ed.append(d * ed[-1] + (r - last_r))
            else:
                er.append(0.0)
                ed.append(0.0)
            self._v_idx.append(absolute)
            v_r.append(r)
            self._er_end = d * er[-1] + r
        if has_volume:
            q_vol = self._q_vol
            q_price = self._q_price
            q_sq, q_eq = self._q_sq, self._q_eq
            if q_vol:
                last_vol = q_vol[-1]
                change = price - q_price[-1]
                sign = 1 if change > 0 else -1 if change < 0 else 0
                q_sq.append(self._q_end)
                q_eq.append(d * q_eq[-1] + sign * last_vol)
            else:
                q_sq.append(0)
                q_eq.append(0.0)
            self._q_idx.append(absolute)
            q_vol.append(volume)
            q_price.append(price)
            self._q_end = q_sq[-1] + volume
        ts_list.append(ts)
        prices.append(price)
        self._vwap.append(vwap)
        self._volume.append(volume)
        if n + 1 >= _TRIM_AT:
            self._trim()

    def _go_sparse(self, n: int) -> None:
        """A point without vwap or volume arrives: index the vwap and volume subsequences."""
        self._dense = False
        self._sparse_at = self._base + n
        self._v_idx = list(range(self._base, self._base + n))
        self._q_idx = list(range(self._base, self._base + n))
        self._q_vol = self._volume[:]
        self._q_price = self._price[:]

    def pop(self) -> None:
        """Undo the last append (the lightweight trend check's temporary point)."""
        last = len(self._ts) - 1
        absolute = self._base + last
        if absolute == self._broke_order_at:
            self.ordered = True
            self._broke_order_at = -1
        self._ts.pop()
        self._price.pop()
        self._vwap.pop()
        self._volume.pop()
        self._ep.pop()
        self._sp_end = self._sp.pop()
        self._sq_end = self._sq.pop()
        if self._dense:
            popped_v = popped_q = True
        else:
            popped_v = bool(self._v_idx) and self._v_idx[-1] == absolute
            popped_q = bool(self._q_idx) and self._q_idx[-1] == absolute
            if popped_v:
                self._v_idx.pop()
            if popped_q:
                self._q_idx.pop()
                self._q_vol.pop()
                self._q_price.pop()
        if popped_v:
            self._v_r.pop()
            self._v_ed.pop()
            self._er_end = self._v_er.pop()
        if popped_q:
            self._q_eq.pop()
            self._q_end = self._q_sq.pop()
        if absolute == self._sparse_at:  # the history before that point was dense
            self._dense = True
            self._sparse_at = -1
            self._v_idx, self._q_idx, self._q_vol, self._q_price = [], [], [], []

    def _trim(self) -> None:
        cut = _TRIM_BY
        self._base += cut
        for lst in (self._ts, self._price, self._vwap, self._volume, self._sp, self._ep, self._sq):
            del lst[:cut]
        if self._dense:
            for lst in (self._v_r, self._v_er, self._v_ed, self._q_sq, self._q_eq):
                del lst[:cut]
            return
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
        sp_end = self._sp_end
        dense = self._dense
        v_idx = self._v_idx
        q_idx = self._q_idx
        base = self._base
        if dense:
            nv_all = nq_all = end
            v_dense = q_dense = True
        else:
            nv_all = len(v_idx)
            v_dense = nv_all == end and v_idx[0] == base
            nq_all = len(q_idx)
            q_dense = nq_all == end and q_idx[0] == base
        er, ed = self._v_er, self._v_ed
        er_end = self._er_end
        ed_end = ed[-1] if ed else 0.0
        q_sq, eq = self._q_sq, self._q_eq
        q_end = self._q_end
        eq_end = eq[-1] if eq else 0.0
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
        total = self._sp_end - self._sp[a]
        ref = self._ref
        total_sq = self._sq_end - self._sq[a]
        mean = total / n
        shifted = total - n * ref
        var = (total_sq - shifted * shifted / n) / (n - 1)
        return n, mean, var**0.5 if var > 0 else 0.0

    def volatility_category(self, start_ts: float, cap: int = CAP) -> str:
        """`trend_engine.dispersion_category(*price_dispersion(start_ts))` in one call (Trend
        classifies its volatility on every tick): HIGH when std > 2 % of the mean, LOW < 0.5 %."""
        ts = self._ts
        end = len(ts)
        lo = end - cap
        a = bisect_left(ts, start_ts, lo if lo > 0 else 0)
        n = end - a
        if n < 3:
            return "NORMAL"
        total = self._sp_end - self._sp[a]
        mean = total / n
        if mean <= 0:
            return "NORMAL"
        shifted = total - n * self._ref
        var = (self._sq_end - self._sq[a] - shifted * shifted / n) / (n - 1)
        pct = (var**0.5 if var > 0 else 0.0) / mean * 100
        if pct > 2.0:
            return "HIGH"
        if pct < 0.5:
            return "LOW"
        return "NORMAL"
