"""Demo: run the legacy TickStock stack over generated ticks and print the events it emits.

`python -m tickstock.demo` (what `make demo` runs). The ticks are a seeded midday session with a
steady riser, a steady faller, a ticker with a planted surge and random walkers, so all four
event types (high, low, trend, surge) appear; two users with different filters show the per-user
emission.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Sequence
from typing import Any

from tickstock.generated import DEFAULT_START, GeneratedTick, generate_ticks
from tickstock.stacks import legacy

DEMO_CONFIG: dict[str, Any] = {
    "environment": False,
    "universes": {"movers": ["RISE", "FALL", "JUMP"], "walkers": ["A", "B", "C", "D"]},
    "users": {
        "alice": {"universes": {"market": ["movers", "walkers"], "highlow": []}},
        "bob": {
            "universes": {"market": ["movers"], "highlow": []},
            "event_types": ["surge", "trend"],
        },
    },
}


def demo_ticks(seconds: int = 900) -> list[GeneratedTick]:
    """One tick per second for RISE (+0.05 %/s), FALL (−0.05 %/s), JUMP (flat, then a 5 % surge on
    5× volume after 10 minutes) plus four random walkers, from 10:00 ET."""
    start_ns = int(DEFAULT_START.timestamp()) * 10**9
    walkers = generate_ticks(seconds * 4, 4, seed=11, duration_s=float(seconds))
    scripted: list[tuple[int, str, float, int]] = []
    for s in range(seconds):
        ts = start_ns + s * 10**9
        scripted.append((ts, "RISE", round(50.0 * 1.0005**s, 4), 1000 + 10 * (s % 7)))
        scripted.append((ts + 1, "FALL", round(80.0 * 0.9995**s, 4), 900 + 10 * (s % 5)))
        jumped = s >= 600
        price = 120.0 * (1.05 if jumped else 1.0) + 0.01 * (s % 3)
        volume = 5000 if 600 <= s < 640 else 1000
        scripted.append((ts + 2, "JUMP", round(price, 4), volume))
    merged = [(t.ts, t.ticker, t.price, t.volume) for t in walkers] + scripted
    merged.sort()
    opens: dict[str, float] = {}
    traded: dict[str, tuple[float, int]] = {}  # price × volume and volume so far: the day VWAP
    out = []
    for seq, (ts, ticker, price, volume) in enumerate(merged):
        op = opens.setdefault(ticker, price)
        pv, vol = traded.get(ticker, (0.0, 0))
        pv, vol = pv + price * volume, vol + volume
        traded[ticker] = (pv, vol)
        out.append(
            GeneratedTick(
                seq, ts, ticker, price, volume, tick_close=price, tick_vwap=price,
                tick_volume=volume, vwap=round(pv / vol, 4), market_open_price=op,
                source="demo",
            )
        )  # fmt: skip
    return out


def _describe(event: dict[str, Any]) -> str:
    kind = event["type"]
    base = f"{event['time']} seq={event['tick_seq']:<6} {kind:<5} {event['ticker']:<5} {event['direction']:<4} ${event['price']:<9.4f}"
    if kind in ("high", "low"):
        return f"{base} {event['label'].strip()}  {event['percent_change']:+.2f}% vs open"
    if kind == "trend":
        return f"{base} {event['trend_strength']} score={event['trend_score']:+.3f}"
    return f"{base} {event['trigger_type']} {event['magnitude']:+.2f}% vol×{event['volume_multiplier']:.1f}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tickstock.demo", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--seconds",
        type=int,
        default=900,
        help="length of the generated session (≥ 640 for the surge)",
    )
    args = parser.parse_args(argv)
    ticks = demo_ticks(args.seconds)
    stack = legacy(DEMO_CONFIG)
    events: list[dict[str, Any]] = []
    for tick in ticks:
        events.extend(stack.process(tick))
    events.extend(stack.flush())
    stats = stack.stats()
    stack.close()
    by_type = Counter(e["type"] for e in events)
    shown: Counter[str] = Counter()
    print(f"legacy stack: {len(ticks)} generated ticks → {len(events)} events")
    for event in events:
        kind = event["type"]
        if shown[kind] < 6:
            print("  " + _describe(event))
        shown[kind] += 1
    print(
        "events by type: "
        + ", ".join(f"{k}={by_type.get(k, 0)}" for k in ("high", "low", "trend", "surge"))
    )
    print(
        "emitted per user: " + ", ".join(f"{u}={n}" for u, n in stats["emitted_per_user"].items())
    )
    missing = [k for k in ("high", "low", "trend", "surge") if not by_type.get(k)]
    if missing:
        print(f"demo incomplete: no {', '.join(missing)} events", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
