"""Diff-engine benchmark: seconds per million events on a synthetic pair of event streams.

Builds a run directory with N primary events and a candidate copy in which 1 % of prices are
altered, 0.5 % of events dropped and 0.5 % added, every event carrying an ignorable `event_id`
that differs between the stacks (so every pair takes the slow path: strip ignored fields, then
compare field by field), then times `harness diff` (align, classify, diff.parquet, first
divergence, event hashes, summary). Target: ≤ 2 s per million events.

    python benchmarks/bench_diff.py [--events 500000]   # events per stack
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from harness.diff.align import DiffConfig
from harness.pipeline.lifecycle import diff_run
from harness.store.batches import EVENT_SCHEMA, encode_event
from harness.store.runs import Run, RunWriter


def _table(
    seq: np.ndarray, ticker: list[str], kind: np.ndarray, price: np.ndarray, tag: str
) -> pa.Table:
    n = len(seq)
    dicts = [
        {
            "ticker": t,
            "type": k,
            "direction": "up" if k in ("high", "trend") else "down",
            "price": float(p),
            "tick_seq": int(s),
            "time": int(s) * 0.001,
            "count": 3,
            "label": "x",
            "vwap": round(float(p) * 0.99, 4),
            "event_id": f"{tag}{i}",
        }
        for i, (s, t, k, p) in enumerate(zip(seq, ticker, kind, price, strict=True))
    ]
    return pa.table(
        [
            pa.array(seq, pa.int64()),
            pa.array(seq, pa.int64()),
            pa.array(np.zeros(n, np.int32)),
            pa.array(np.arange(n), pa.int64()),
            pa.array(ticker, pa.string()),
            pa.array(kind.tolist(), pa.string()),
            pa.array([d["direction"] for d in dicts]),
            pa.array(price, pa.float64()),
            pa.array([encode_event(d) for d in dicts]),
            pa.array(np.zeros(n, np.int32)),
        ],
        schema=EVENT_SCHEMA,
    )


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--events", type=int, default=500_000, help="events per stack")
    n = ap.parse_args().events
    rng = np.random.default_rng(1)
    seq = np.sort(rng.choice(n * 5, n, replace=False))
    ticker = np.array([f"T{i:04d}" for i in rng.integers(0, 1000, n)])
    kind = rng.choice(["high", "low", "trend", "surge"], n)
    price = np.round(rng.uniform(10, 500, n), 4)
    keep = rng.random(n) >= 0.005
    price2 = np.where(rng.random(n) < 0.01, price + 0.5, price)
    m = n // 200
    c_seq = np.concatenate([seq[keep], rng.choice(n * 5, m)])
    order = np.argsort(c_seq, kind="stable")
    c_ticker = np.concatenate([ticker[keep], [f"T{i:04d}" for i in rng.integers(0, 1000, m)]])[
        order
    ]
    c_kind = np.concatenate([kind[keep], np.array(["extra"] * m)])[order]
    c_price = np.concatenate([price2[keep], np.ones(m)])[order]
    with tempfile.TemporaryDirectory() as tmp:
        w = RunWriter(Path(tmp), {"bench": "diff"})
        for sub in ("events_primary", "events_candidate", "observations"):
            (w.path / sub).mkdir()
        pq.write_table(
            _table(seq, ticker.tolist(), kind, price, "p"),
            w.path / "events_primary" / "part-000-00000.parquet",
        )
        pq.write_table(
            _table(c_seq[order], c_ticker.tolist(), c_kind, c_price, "c"),
            w.path / "events_candidate" / "part-000-00000.parquet",
        )
        w.finish("complete")
        total = n + len(c_seq)
        wall, cpu = time.perf_counter(), time.process_time()
        summary = diff_run(Run(w.path), DiffConfig())
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    d = summary["diff"]
    print(
        f"diff benchmark: {total:,} events (two stacks); match {d['match']:,}, field_mismatch "
        f"{d['field_mismatch']:,}, missing {d['missing']:,}, extra {d['extra']:,}"
    )
    print(
        f"  diff wall {wall:.2f} s (process CPU {cpu:.2f} s) = {wall / total * 1e6:.2f} s wall, "
        f"{cpu / total * 1e6:.2f} s CPU per million events   target ≤ 2 s wall per million"
    )


if __name__ == "__main__":
    main()
