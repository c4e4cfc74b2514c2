"""Small recordings and helpers shared by the feed / live tests (not a test module)."""

from __future__ import annotations

from pathlib import Path

from harness.core.model import Tick
from harness.recordings.reader import RecordingWriter

BASE_NS = 1_767_364_200_000_000_000  # 2026-01-02 14:30:00 UTC, a trading day's open


def sample_ticks(n: int = 120, ns_offset: int = 123) -> list[Tick]:
    """Trades and per-second aggregates for three tickers, ts not on whole ms (ns must survive)."""
    ticks = []
    for i in range(n):
        agg = i % 2 == 0
        price = 100 + (i % 17) * 0.25
        ticks.append(
            Tick(
                seq=i,
                ts=BASE_NS + i * 37_000_000 + ns_offset,
                ticker=("AAPL", "MSFT", "BRK.B")[i % 3],
                price=price,
                volume=100 * (i % 5 + 1),
                bid=price - 0.01 if i % 4 == 0 else None,
                ask=price + 0.01 if i % 4 == 0 else None,
                tick_open=price - 0.5 if agg else None,
                tick_high=price + 0.5 if agg else None,
                tick_low=price - 0.75 if agg else None,
                tick_close=price if agg else None,
                tick_vwap=price - 0.1 if agg else None,
                tick_volume=100 * (i % 5 + 1) if agg else None,
                accumulated_volume=1000 + 10 * i if agg else None,
                vwap=price - 0.2 if agg else None,
                market_open_price=100.0 if agg and i > 10 else None,
                source="synthetic",
            )
        )
    return ticks


def write_recording(path: Path, ticks: list[Tick]) -> Path:
    """Write `ticks` (in (ts, seq) order) as a finalised recording."""
    with RecordingWriter(path, source="synthetic") as writer:
        writer.write_ticks(ticks)
    return path
