"""Issue 20, target 2 — the harness's own cost: null stack vs null stack, everything but the stacks.

`harness replay` with `harness.replay.stack:null` on both sides (a stack that sees every tick and
finds nothing) costs only what the harness does: read the Parquet recording, build ticks, time
each call, capture, store the observation parts, diff, summarise. Run as the CLI (fresh process,
CPU time of the child) over a short slice and over the whole recording, interleaved for `--rounds`
rounds; the slope between the two sizes is the per-tick cost and the intercept is start-up +
finish, so neither hides the other. Then the start-up of a command that does no work
(`harness --version`), and the per-event cost of the diff on a real run (legacy vs multichannel:
`harness diff` re-run on the stored run, whose events carry an ignored `event_id`).

    .venv/bin/python benchmarks/bench_overhead.py [--recording recordings/sample-day] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_US_PER_TICK = 1.5
TARGET_FIXED_S = 0.2
NULL = "harness.replay.stack:null"
HARNESS = [sys.executable, "-m", "harness"]


def _child(cmd: list[str]) -> tuple[float, float]:
    """(wall s, CPU s) of one fresh process running `cmd` to the end."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def _replay(rec: str, runs: Path, limit: int | None, extra: list[str] = ()) -> tuple[float, float]:
    cmd = [*HARNESS, "replay", rec, "--runs-dir", str(runs), "--no-progress", *extra]
    if limit:
        cmd += ["--limit", str(limit)]
    return _child(cmd)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--recording", default="recordings/sample-day")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--small", type=int, default=20_000, help="ticks of the short slice")
    args = ap.parse_args()
    manifest = json.loads((Path(args.recording) / "recording.json").read_text())
    full = int(manifest["tick_count"])
    nulls = ["--primary", NULL, "--candidate", NULL]
    small_cpu, full_cpu, small_wall, full_wall, version = [], [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        runs = Path(tmp) / "runs"
        _replay(args.recording, runs, args.small, nulls)  # warm the page cache and .pyc files
        for _ in range(args.rounds):
            w, c = _replay(args.recording, runs, args.small, nulls)
            small_wall.append(w)
            small_cpu.append(c)
            w, c = _replay(args.recording, runs, None, nulls)
            full_wall.append(w)
            full_cpu.append(c)
            version.append(_child([*HARNESS, "--version"])[0])
        per_tick = (statistics.median(full_cpu) - statistics.median(small_cpu)) / (
            full - args.small
        )
        fixed = statistics.median(small_cpu) - per_tick * args.small
        real_runs = Path(tmp) / "real"
        _replay(args.recording, real_runs, None, ["--candidate", "tickstock.stacks:multichannel",
                "--set", "candidate.phase=phase_1_parallel_testing"])  # fmt: skip
        run_dir = next(real_runs.iterdir())
        summary = json.loads((run_dir / "summary.json").read_text())
        events = sum(summary["events"][side] for side in ("primary", "candidate"))
        diff = [_child([*HARNESS, "diff", str(run_dir)]) for _ in range(args.rounds)]
        base = [_child([*HARNESS, "diff", "--help"]) for _ in range(args.rounds)]
    diff_cpu = statistics.median(c for _, c in diff) - statistics.median(c for _, c in base)

    def row(name: str, measured: str, target: str) -> None:
        print(f"| {name} | {measured} | {target} |")

    print(f"recording {args.recording}: {full:,} ticks; slice {args.small:,}; rounds {args.rounds}")
    print(f"load average at the end: {os.getloadavg()[0]:.2f}\n")
    print("| figure | measured | target |\n|---|---|---|")
    row("null vs null replay, whole day (CPU / wall, medians)",
        f"{statistics.median(full_cpu):.2f} s / {statistics.median(full_wall):.2f} s", "-")  # fmt: skip
    row(f"null vs null replay, {args.small:,}-tick slice (CPU / wall)",
        f"{statistics.median(small_cpu):.2f} s / {statistics.median(small_wall):.2f} s", "-")  # fmt: skip
    ok = "✓" if per_tick * 1e6 <= TARGET_US_PER_TICK else "✗"
    row("harness own cost per tick (slope, CPU)", f"{per_tick * 1e6:.2f} µs/tick",
        f"≤ {TARGET_US_PER_TICK} µs/tick {ok}")  # fmt: skip
    ok = "✓" if fixed <= TARGET_FIXED_S else "✗"
    row("replay start-up + finish (intercept, CPU)", f"{fixed:.2f} s", f"≤ {TARGET_FIXED_S} s {ok}")
    ok = "✓" if statistics.median(version) <= TARGET_FIXED_S else "✗"
    row("`harness --version` (wall)", f"{statistics.median(version):.3f} s",
        f"≤ {TARGET_FIXED_S} s {ok}")  # fmt: skip
    row("`harness diff` of a legacy vs multichannel day, less `diff --help` (CPU)",
        f"{diff_cpu:.2f} s for {events:,} events = {diff_cpu / events * 1e6:.1f} µs/event, "
        f"{diff_cpu / full * 1e6:.2f} µs/tick", "-")  # fmt: skip


if __name__ == "__main__":
    main()
