"""Benchmark: the whole `harness report RUN` command on a 10M-tick run (target ≤ 5 s wall), and
gate + report: `harness gate --all` then `harness report` against `harness gate --all --report`
(issue 20 target 4: ≤ 2 s together).

Times the command as a user runs it — a fresh process, imports included, until report.html is
written — and prints wall and CPU time next to the target. RUN is a finished run directory
(e.g. a sharded 10M-tick replay); it is not modified: its files are hard-linked into a scratch
run directory that receives the report. Without RUN, a synthetic run in the run-dir
contract (observations in 2M-row parts, events and diff for ~2 % of ticks) is written first.
Usage: python benchmarks/bench_report.py [RUN_DIR | TICKS]   (default: 10,000,000 synthetic ticks)
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

TARGET_S = 5.0
TARGET_GATE_REPORT_S = 2.0
T0 = 1_773_133_200_000_000_000  # 2026-03-10 09:00 UTC


def make_run(root: Path, ticks: int) -> Path:
    rng = np.random.default_rng(0)
    run = root / "bench-run"
    (run / "observations").mkdir(parents=True)
    names = np.array([f"T{i:04d}" for i in range(4000)])
    part = 2_000_000
    for k, start in enumerate(range(0, ticks, part)):
        n = min(part, ticks - start)
        seq = np.arange(start, start + n, dtype=np.int64)
        base = rng.lognormal(np.log(30_000), 0.3, n)
        p = base.astype(np.int64)
        c = (base * rng.lognormal(0.02, 0.05, n)).astype(np.int64)
        t = pa.table({
            "seq": seq, "ticker": pa.array(names[rng.integers(0, 4000, n)]).dictionary_encode(),
            "ts": pa.array(T0 + seq * 2_300_000, pa.timestamp("ns", tz="UTC")),
            "first": pa.array(np.where(seq % 2 == 0, "primary", "candidate")).dictionary_encode(),
            "primary_ns": p, "candidate_ns": c, "primary_cpu_ns": p, "candidate_cpu_ns": c,
            "primary_error": pa.nulls(n, pa.string()), "candidate_error": pa.nulls(n, pa.string()),
            "candidate_timeout": np.zeros(n, bool), "primary_events": np.zeros(n, np.int32),
            "candidate_events": np.zeros(n, np.int32), "shard": np.zeros(n, np.int32),
        })  # fmt: skip
        pq.write_table(t, run / "observations" / f"part-{k:05d}.parquet")
    ev_seq = np.sort(rng.choice(ticks, ticks // 50, replace=False)).astype(np.int64)
    m = ev_seq.size
    tick = names[rng.integers(0, 4000, m)]
    events = pa.table({"tick_seq": ev_seq, "emit_index": np.zeros(m, np.int32), "ticker": tick,
                       "type": np.full(m, "high"), "direction": np.full(m, "up"),
                       "price": np.full(m, 100.0), "event_json": np.full(m, "{}")})  # fmt: skip
    for side in ("primary", "candidate"):
        pq.write_table(events, run / f"events_{side}.parquet")
    cls = np.where(rng.random(m) < 0.01, "field_mismatch", "match")
    fields = pa.array(
        [[] for _ in range(m)],
        pa.list_(
            pa.struct([("path", pa.string()), ("primary", pa.string()), ("candidate", pa.string())])
        ),
    )
    diff = pa.table({"ticker": tick, "type": np.full(m, "high"), "direction": np.full(m, "up"),
                     "tick_seq": ev_seq, "primary_index": np.zeros(m, np.int32),
                     "candidate_index": np.zeros(m, np.int32), "class": cls, "fields": fields,
                     "accepted_by": pa.nulls(m, pa.string())})  # fmt: skip
    pq.write_table(diff, run / "diff.parquet")
    audit = {"read": ticks, "ok": True}
    (run / "manifest.json").write_text(
        json.dumps(
            {
                "run_id": "bench-run",
                "status": "complete",
                "audit": audit,
                "recording": {"name": "bench", "sha256": "cd" * 32},
            }
        )
    )
    (run / "stack_stats.json").write_text(json.dumps({"primary": {}, "candidate": {}}))
    return run


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)  # same data, no copy; the report only ever adds new files
    except OSError:
        shutil.copy2(src, dst)


def scratch_copy(src: Path, root: Path) -> Path:
    """A run directory of hard links to `src`'s files (copies across devices): the report goes there.

    Not symlinks: the evidence's sandbox only reads files whose real path is inside the run.
    """
    run = root / src.name
    skip = shutil.ignore_patterns("report.*", "plots", "verdict.json", "junit.xml", ".*")
    shutil.copytree(src, run, copy_function=_link_or_copy, ignore=skip)
    for small in run.glob("*.json"):  # rewritten atomically by nobody, but keep them private
        data = small.read_bytes()
        small.unlink()
        small.write_bytes(data)
    return run


def time_command(run: Path, args: tuple[str, ...] = ("report",)) -> tuple[float, float, str]:
    """Wall and CPU seconds of `harness ARGS RUN` in a fresh interpreter, and its output (a gate
    exits 3 or 4 for a failing or inconclusive verdict: that is an answer, not an error)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "harness.cli", args[0], str(run), *args[1:]],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    if done.returncode not in (0, 3, 4):
        raise RuntimeError(f"harness {' '.join(args)} exited {done.returncode}: {done.stderr}")
    out = done.stdout
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, out


def main() -> int:
    arg = sys.argv[1] if len(sys.argv) > 1 else "10000000"
    with tempfile.TemporaryDirectory() as tmp:
        if Path(arg).is_dir():
            run = scratch_copy(Path(arg), Path(tmp))
            label = f"run {Path(arg).name}"
        else:
            ticks = int(arg)
            t = time.perf_counter()
            run = make_run(Path(tmp), ticks)
            print(f"wrote {ticks:,}-tick run in {time.perf_counter() - t:.1f} s")
            label = f"synthetic {ticks:,}-tick run"
        wall, cpu, out = time_command(run)
        print(out.strip().splitlines()[-1])  # the command's own build_report time
        print(
            f"harness report on {label}: {wall:.2f} s wall, {cpu:.2f} s CPU "
            f"(process start to report written; target ≤ {TARGET_S:.0f} s wall on 2 cores)"
        )
        gate_wall = time_command(run, ("gate", "--all"))[0]
        both_wall = time_command(run, ("gate", "--all", "--report"))[0]
        print(
            f"harness gate --all then harness report: {gate_wall:.2f} + {wall:.2f} = "
            f"{gate_wall + wall:.2f} s wall; harness gate --all --report (one measurement): "
            f"{both_wall:.2f} s wall = {both_wall / (gate_wall + wall):.2f}× "
            f"(issue 20 target 4: gate + report ≤ {TARGET_GATE_REPORT_S:.0f} s)"
        )
        return 0 if wall <= TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
