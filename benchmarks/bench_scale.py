"""Scale benchmark: a synthetic market day shadow-replayed sharded on Dask, figures vs targets.

Prints each figure next to its target and appends them to benchmarks/results.md with the date,
machine and commit. The issue's figure is a 10M-tick, 4,000-ticker day (the default); set
BENCH_TICKS / BENCH_TICKERS for a quicker, smaller run (the result line says which size ran):

    make bench                              # 10M ticks: tens of minutes on 2 cores
    BENCH_TICKS=200000 .venv/bin/python benchmarks/bench_scale.py
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from harness.pipeline.lifecycle import RunSetup, start_run
from harness.pipeline.request import ReplayRequest
from harness.pipeline.sharded import replay_sharded
from harness.recordings.reader import open_recording
from harness.replay.outcome import RunOptions
from harness.replay.shadow import RunSpec, StackSpec
from harness.replay.stack import load_stack
from harness.scale.shards import Shard, plan_shards
from harness.scale.worker import run_shard
from harness.store.runs import open_run

HERE = Path(__file__).resolve().parent
TICKS = int(os.environ.get("BENCH_TICKS", "10000000"))
TICKERS = int(os.environ.get("BENCH_TICKERS", str(min(4000, max(1, TICKS // 50)))))
DATA = Path(os.environ.get("BENCH_DATA", Path(tempfile.gettempdir()) / "tickstock-bench"))
PRIMARY = StackSpec("tickstock.stacks:legacy", {})
CANDIDATE = StackSpec("tickstock.stacks:multichannel", {"phase": "phase_1_parallel_testing"})
OPTIONS = RunOptions(seed=7, tick_timeout_s=None)
SPEC = RunSpec(PRIMARY, CANDIDATE, OPTIONS)
BUCKETS = 16
#: BENCH_SCALING=0 skips the 1-worker run (the scaling figure), which doubles a 10M benchmark.
SCALING = os.environ.get("BENCH_SCALING", "1") != "0"


def _day() -> Path:
    from harness.recordings.synth import SynthSpec, synthesize_day

    path = DATA / f"day-{TICKS}-{TICKERS}"
    if not (path / "recording.json").exists():
        t0 = time.perf_counter()
        synthesize_day(
            path, SynthSpec("2026-03-10", tickers=TICKERS, ticks=TICKS, seed=7), overwrite=True
        )
        print(
            f"synthesised {TICKS:,} ticks / {TICKERS:,} tickers in {time.perf_counter() - t0:.1f} s"
        )
    return path


def _bare_vs_harness(day: Path, runs: Path) -> tuple[float, float, float, int]:
    """CPU seconds of the bare stacks vs the harness runner on the same shard (one bucket of 16),
    and the shard's tick count (which scales the bare figure to the day's floor).

    Like for like, as a user reads "harness overhead vs the bare stacks": the bare side is the two
    stacks processing the shard's ticks read from the same recording with the same reader call
    (`Recording.ticks` with the shard's filter and the run's batch size), streamed, under the
    interpreter's default GC — what a plain script replaying the shard through both stacks does
    (loading and closing the stacks included on both sides). Each side starts from a collected
    heap, so neither pays for collecting the cyclic garbage the run before it left behind (the
    harness's end-of-shard collection otherwise freed the bare runs' stacks too, ~1 µs/tick).
    The harness side is `run_shard`: the same read and stacks plus per-call timing,
    the watchdog, collecting results, and writing observations and events as Parquet. CPU time
    (`process_time`), not wall, because the benchmark machine is shared. Also returned, for
    reference only, the bare stacks on ticks built before the clock starts (the old figure, which
    left reading and building the ticks out of the bare side but not the harness side).
    """
    manifest = open_recording(day).manifest
    shard = plan_shards(manifest, BUCKETS).shards[0]
    rec = open_recording(day)

    def bare(ticks: Iterable[Any] | None) -> float:
        gc.collect()
        t0 = time.process_time()
        p = load_stack(PRIMARY.factory, PRIMARY.config)
        c = load_stack(CANDIDATE.factory, CANDIDATE.config)
        pp, cp = p.process, c.process
        if ticks is None:
            ticks = rec.ticks(shard.tickers, shard.start_ns, shard.end_ns, OPTIONS.batch_size)
        for t in ticks:
            pp(t)
            cp(t)
        p.flush()
        c.flush()
        spent = time.process_time() - t0
        p.close()
        c.close()
        return spent

    streamed = bare(None)
    prebuilt = bare(list(rec.ticks(shard.tickers, shard.start_ns, shard.end_ns)))
    writer = start_run(SPEC, RunSetup(runs_dir=runs))
    gc.collect()
    t0 = time.process_time()
    report = run_shard(str(writer.path), str(day), shard, SPEC)
    harness = time.process_time() - t0
    writer.finish("incomplete", reason="benchmark probe")
    return streamed, harness, prebuilt, report.outcome.read


def _rss_first_last(shards: list[dict[str, Any]]) -> tuple[float, float, int]:
    """Peak RSS of the worker that ran the most shards: after its first shard and after its last.

    A worker runs its shards one after another in one process, so a peak that keeps rising from
    shard to shard is memory that grows with the day (more shards per worker), not with a shard.
    """
    by_pid: dict[int, list[dict[str, Any]]] = {}
    for s in shards:
        by_pid.setdefault(s["pid"], []).append(s)
    mine = max(by_pid.values(), key=len)
    peaks = [s["peak_rss_mb"] for s in mine]  # ru_maxrss: monotone within the process
    return min(peaks), max(peaks), len(mine)


def _shard_peak_rss(day: Path, runs: Path, shard: Shard) -> tuple[float, int]:
    """Peak RSS (MB) and ticks of `shard` run alone in a fresh process, as a worker's first shard.

    A process's peak only rises, so each length needs its own process.
    """
    writer = start_run(SPEC, RunSetup(runs_dir=runs))
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=spawn) as pool:
        job = pool.submit(run_shard, str(writer.path), str(day), shard, SPEC)
        report = job.result()
    writer.finish("incomplete", reason="benchmark probe")
    return report.peak_rss_mb, report.outcome.read


def _rss_by_day_length(day: Path, runs: Path) -> tuple[float, int, float, int]:
    """Peak RSS of one shard (same tickers) over the first tenth of the day and over all of it.

    Ten times the ticks per shard, as a day ten times longer gives: memory that grows with the
    day shows here even when every shard of a run is the same length.
    """
    rec = open_recording(day)
    shard = plan_shards(rec.manifest, BUCKETS).shards[0]
    tenth = replace(shard, end_ns=_ts_after_rows(rec.files(), rec.tick_count // 10))
    return (*_shard_peak_rss(day, runs, tenth), *_shard_peak_rss(day, runs, shard))


def _ts_after_rows(files: list[Path], rows: int) -> int:
    """The largest ts of the row group holding the day's `rows`-th row (files in ts order)."""
    seen = 0
    for path in files:
        meta = pq.ParquetFile(path).metadata
        ts = meta.schema.to_arrow_schema().get_field_index("ts")
        for i in range(meta.num_row_groups):
            seen += meta.row_group(i).num_rows
            if seen >= rows:
                return int(meta.row_group(i).column(ts).statistics.max_raw)
    raise ValueError(f"{files[0].parent}: fewer than {rows} rows")


def _replay(day: Path, runs: Path, workers: int) -> tuple[float, object]:
    t0 = time.perf_counter()
    request = ReplayRequest(
        day, PRIMARY, CANDIDATE, OPTIONS, runs_dir=runs, workers=workers, shards=BUCKETS
    )
    res = replay_sharded(request)
    return time.perf_counter() - t0, res


def _commit() -> str:
    out = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        cwd=HERE,
        check=False,
    )
    return out.stdout.strip() or "?"


def _machine() -> str:
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.node()} {os.cpu_count()} cores {model}, Python {platform.python_version()}"


def main() -> int:
    from harness.report.build import build_report

    day = _day()
    runs = Path(tempfile.mkdtemp(prefix="bench-runs-"))
    bare, harnessed, prebuilt, shard_ticks = _bare_vs_harness(day, runs)
    # issue 20 target 3: the floor is the bare stacks' CPU for the whole day spread over 2 cores
    # (the one-shard bare figure, measured in this run, scaled by the day's ticks over the shard's)
    floor = bare * TICKS / shard_ticks / 2
    rss_short, ticks_short, rss_long, ticks_long = _rss_by_day_length(day, runs)
    wall2, res2 = _replay(day, runs, 2)
    t0 = time.perf_counter()
    build_report(Path(res2.path))
    report_s = time.perf_counter() - t0
    total2 = wall2 + report_s
    wall1, res1 = _replay(day, runs, 1) if SCALING else (float("nan"), res2)
    sharding = open_run(res2.path).manifest["sharding"]
    rss = sharding["peak_rss_mb"]
    rss_first, rss_last, per_worker = _rss_first_last(sharding["shards"])
    same = res1.summary["event_hash"] == res2.summary["event_hash"] if SCALING else None
    size = f"{TICKS:,} ticks / {TICKERS:,} tickers"
    rows = [
        (
            "day replayed (2 workers) + diff + gates + report",
            f"{total2:.1f} s",
            "≤ 300 s (stretch ≤ 60 s) at 10M ticks",
            total2 <= 300 * TICKS / 10_000_000,
        ),
        (
            "  vs the bare-stack floor (bare CPU of the day / 2 cores)",
            f"{total2 / floor:.2f}× (floor {floor:.0f} s)",
            "≤ 1.15×",
            total2 <= 1.15 * floor,
        ),
        ("  of which replay + diff (2 workers)", f"{wall2:.1f} s", "", None),
        ("  of which gates + report", f"{report_s:.1f} s", "", None),
        (
            "scaling 2 workers vs 1 worker",
            f"{wall1 / wall2:.2f}×" if SCALING else "not run",
            "≥ 1.7×",
            wall1 / wall2 >= 1.7 if SCALING else None,
        ),
        (
            "harness overhead vs bare stacks (one shard)",
            f"{harnessed / bare:.3f}×",
            "≤ 1.10×",
            harnessed / bare <= 1.10,
        ),
        ("peak RSS per worker", f"{rss:.0f} MB", "≤ 1,536 MB", rss <= 1536),
        (
            f"  peak RSS after a worker's shard 1 → shard {per_worker}",
            f"{rss_first:.0f} → {rss_last:.0f} MB",
            "flat (≤ +10 %)",
            rss_last <= 1.10 * rss_first,
        ),
        (
            "  peak RSS of one shard, 1/10 of the day → all of it",
            f"{rss_short:.0f} → {rss_long:.0f} MB",
            "flat (≤ +10 %)",
            rss_long <= 1.10 * rss_short,
        ),
        (
            "    (that shard's ticks)",
            f"{ticks_short:,} → {ticks_long:,}",
            "",
            None,
        ),
        ("throughput (2 workers, replay + diff)", f"{TICKS / wall2:,.0f} ticks/s", "", None),
        ("same event hash 1 vs 2 workers", str(same), "True", same),
        ("bare stacks, one shard, reading it (CPU)", f"{bare:.1f} s", "", None),
        ("harness on the same shard (CPU)", f"{harnessed:.1f} s", "", None),
        (
            "  (vs bare stacks on pre-built ticks, reading not counted)",
            f"{harnessed / prebuilt:.3f}×",
            "",
            None,
        ),
    ]
    print(f"bench_scale: {size}, status {res2.status}")
    for name, value, target, ok in rows:
        mark = "" if ok is None else ("  ok" if ok else "  MISSED")
        print(f"{name:<50} {value:>16}   target {target or '-'}{mark}")
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"\n## {stamp} — bench_scale, {size}, commit {_commit()}\n",
        f"Machine: {_machine()}. Stacks: legacy vs multichannel phase_1, {BUCKETS} buckets.\n",
        "\n| figure | measured | target |\n|---|---|---|\n",
    ]
    for name, value, target, ok in rows:
        mark = "" if ok is None else (" ✓" if ok else " ✗ missed")
        lines.append(f"| {name.strip()} | {value} | {target or '-'}{mark} |\n")
    with open(HERE / "results.md", "a", encoding="utf-8") as fh:
        fh.writelines(lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
