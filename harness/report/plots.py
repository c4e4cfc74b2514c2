"""Report figures (matplotlib, Agg): latency CDFs, per-ticker ratios, events per minute, mismatches.

Each function takes small, already-aggregated arrays (quantiles, counts) so plotting cost does not
grow with the day, and returns PNG bytes that the report embeds and writes to plots/*.png.
Figures are plain `matplotlib.figure.Figure`s on the Agg canvas: no pyplot (its import and global
figure registry cost more than drawing four small PNGs) and nothing to close.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

_PRIMARY = "#1f77b4"
_CANDIDATE = "#d62728"


def _figure(width: float, height: float) -> tuple[Figure, Any]:
    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    # Fixed margins: tight_layout measures every tick label and costs more than the drawing.
    fig.subplots_adjust(left=0.14, right=0.97, top=0.95, bottom=0.2)
    fig.savefig(buf, format="png", dpi=90)
    return buf.getvalue()


def latency_cdf(q: np.ndarray, primary_us: np.ndarray, candidate_us: np.ndarray) -> bytes:
    """CDF of per-tick processing time of both stacks, from quantiles (log x axis)."""
    fig, ax = _figure(7, 3.6)
    ax.plot(primary_us, q, color=_PRIMARY, label="primary")
    ax.plot(candidate_us, q, color=_CANDIDATE, label="candidate")
    both = np.concatenate([primary_us, candidate_us])
    if np.isfinite(both).any() and np.nanmin(both) > 0:
        ax.set_xscale("log")
    ax.set_xlabel("processing time per tick (µs)")
    ax.set_ylabel("share of ticks")
    ax.grid(alpha=0.3)
    ax.legend()
    return _png(fig)


def ticker_ratios(per_ticker: pd.DataFrame, top: int = 25) -> bytes:
    """Candidate/primary median ratio of the tickers furthest from 1.0 (significant ones filled)."""
    df = per_ticker.dropna(subset=["ratio_median"]).copy()
    df["dist"] = (np.log(df["ratio_median"].clip(lower=1e-9))).abs()
    df = df.sort_values("dist", ascending=False).head(top).iloc[::-1]
    fig, ax = _figure(7, max(2.0, 0.22 * len(df) + 0.8))
    colors = [_CANDIDATE if s else "#bbbbbb" for s in df["significant"]]
    ax.barh(df["ticker"].astype(str), df["ratio_median"] - 1.0, left=1.0, color=colors)
    ax.axvline(1.0, color="black", lw=0.8)
    ax.set_xlabel("median latency ratio candidate/primary (red: BH q < 0.05)")
    ax.grid(alpha=0.3, axis="x")
    return _png(fig)


def events_per_minute(minutes: pd.DataFrame) -> bytes:
    """Events emitted per minute by each stack over the session (columns minute, primary, candidate)."""
    fig, ax = _figure(7, 3.2)
    if len(minutes):
        ax.plot(minutes["minute"], minutes["primary"], color=_PRIMARY, label="primary", lw=1)
        ax.plot(
            minutes["minute"],
            minutes["candidate"],
            color=_CANDIDATE,
            label="candidate",
            lw=1,
            ls="--",
        )
        ax.legend()
    ax.set_ylabel("events / minute")
    ax.set_xlabel("time (US/Eastern)")
    ax.grid(alpha=0.3)
    fig.autofmt_xdate()
    return _png(fig)


def mismatch_bars(counts: pd.DataFrame) -> bytes:
    """Stacked bars of differences by class, split into unexplained and accepted."""
    fig, ax = _figure(7, 3.0)
    if len(counts):
        x = np.arange(len(counts))
        ax.bar(x, counts["unexplained"], color=_CANDIDATE, label="unexplained")
        ax.bar(
            x, counts["accepted"], bottom=counts["unexplained"], color="#999999", label="accepted"
        )
        ax.set_xticks(x, counts["class"].astype(str))
        ax.legend()
    else:
        ax.text(0.5, 0.5, "no differences", ha="center", va="center", transform=ax.transAxes)
    ax.set_ylabel("diff rows")
    ax.grid(alpha=0.3, axis="y")
    return _png(fig)
