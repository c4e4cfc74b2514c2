"""Benchmark: synth time for a 10M-tick day, Parquet→Arrow read throughput, Tick delivery rate.

    python benchmarks/bench_recording.py [--ticks 10000000] [--tickers 4000] [--keep DIR]

Prints each figure next to its target (issue 4). Wall-clock figures on a shared machine vary
with load, so the process CPU time is printed too, and raw pyarrow on the same files is the
baseline the reader is compared with.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq

from harness.recordings.reader import open_recording
from harness.recordings.synth import SynthSpec, synthesize_day


def timed(fn: Callable[[], int]) -> tuple[int, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    n = fn()
    return n, time.perf_counter() - wall, time.process_time() - cpu


def best_of(runs: int, fn: Callable[[], int]) -> tuple[int, float, float]:
    results = [timed(fn) for _ in range(runs)]
    return min(results, key=lambda r: r[1])


def line(label: str, value: str, target: str) -> None:
    print(f"{label:44s} {value:>24s}   target {target}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ticks", type=int, default=10_000_000)
    ap.add_argument("--tickers", type=int, default=4000)
    ap.add_argument("--keep", type=Path, default=None, help="write the day here and keep it")
    args = ap.parse_args()
    print(f"cpus: {os.cpu_count()}, load average: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    tmp = Path(tempfile.mkdtemp(prefix="bench-rec-"))
    path = args.keep or tmp / "day"
    try:
        n, wall, cpu = timed(
            lambda: synthesize_day(
                path,
                SynthSpec("2026-03-10", tickers=args.tickers, ticks=args.ticks, seed=7),
                overwrite=True,
            )["tick_count"]
        )
        line(f"synth {n:,} ticks", f"{wall:.1f} s (cpu {cpu:.1f} s)", "<= 60 s for 10M ticks")
        rec = open_recording(path)
        files = rec.files()
        size = sum(f.stat().st_size for f in files)
        print(f"recording: {len(files)} file(s), {size / 1e6:.0f} MB")

        def raw() -> int:
            return sum(
                b.num_rows
                for f in files
                for b in pq.ParquetFile(f, read_dictionary=["ticker"]).iter_batches(65_536)
            )

        def batches() -> int:
            return sum(b.num_rows for b in rec.batches())

        n, wall, cpu = best_of(3, raw)
        line("pyarrow iter_batches (baseline)", f"{n / wall / 1e6:.1f} M rows/s", "(reference)")
        n, wall, cpu = best_of(3, batches)
        line(
            "Recording.batches() Parquet->Arrow", f"{n / wall / 1e6:.1f} M rows/s", ">= 10 M rows/s"
        )
        top = [t["ticker"] for t in _top(rec, 10)]
        n, wall, cpu = best_of(3, lambda: sum(b.num_rows for b in rec.batches(tickers=top)))
        line(
            f"batches(tickers=top 10) -> {n:,} rows",
            f"{rec.tick_count / wall / 1e6:.1f} M scanned/s",
            "(pushdown)",
        )
        limit = min(rec.tick_count, 2_000_000)

        def ticks() -> int:
            count = 0
            for _ in rec.ticks():
                count += 1
                if count >= limit:
                    break
            return count

        n, wall, cpu = best_of(2, ticks)
        line(
            f"Recording.ticks() ({n:,} Tick values)",
            f"{n / wall / 1e6:.2f} M ticks/s",
            "as cheap as Python allows",
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _top(rec, k: int) -> list[dict]:
    from harness.recordings.describe import summarize_recording

    return summarize_recording(rec.path, top=k)["top_tickers"]


if __name__ == "__main__":
    main()
