"""Issue 20, target 2 — the harness's own cost: null stack vs null stack, everything but the stacks.

`harness replay` with `harness.replay.stack:null` on both sides (a stack that sees every tick and
finds nothing; the candidate named apart so the run is an A/B run, not an A/A calibration) costs
only what the harness does: validate and read the Parquet recording, build ticks, time each call,
store the observation parts, diff, summarise. Run as the CLI (fresh process, CPU time of the
child) on two synthetic days of the same tickers, `--small` and `--large` ticks, interleaved for
`--rounds` rounds; the slope between the two sizes is the per-tick cost and the intercept is
start-up + finish, so neither hides the other. Then the start-up of a command that does no work
(`harness --version`), and the per-event cost of the diff on a real run (legacy vs multichannel:
`harness diff` re-run on the stored run, whose events carry an ignored `event_id`).

    .venv/bin/python benchmarks/bench_overhead.py [--rounds 3] [--small 40000] [--large 400000]
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


def _replay(rec: Path | str, runs: Path, extra: list[str]) -> tuple[float, float]:
    return _child([*HARNESS, "replay", str(rec), "--runs-dir", str(runs), "--no-progress", *extra])


def _synth(out: Path, ticks: int, tickers: int) -> Path:
    cmd = [*HARNESS, "synth", str(out), "--ticks", str(ticks), "--tickers", str(tickers)]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--small", type=int, default=40_000, help="ticks of the short day")
    ap.add_argument("--large", type=int, default=400_000, help="ticks of the long day")
    ap.add_argument("--tickers", type=int, default=500)
    ap.add_argument("--recording", default="recordings/sample-day", help="for the diff figure")
    args = ap.parse_args()
    nulls = ["--primary", NULL, "--candidate", NULL, "--set", "candidate.name=b"]
    cpu: dict[int, list[float]] = {args.small: [], args.large: []}
    wall: dict[int, list[float]] = {args.small: [], args.large: []}
    version = []
    with tempfile.TemporaryDirectory() as tmp:
        runs = Path(tmp) / "runs"
        days = {n: _synth(Path(tmp) / f"day{n}", n, args.tickers) for n in cpu}
        _replay(days[args.small], runs, nulls)  # warm the page cache and .pyc files
        for _ in range(args.rounds):
            for n, day in days.items():
                w, c = _replay(day, runs, nulls)
                wall[n].append(w)
                cpu[n].append(c)
            version.append(_child([*HARNESS, "--version"])[0])
        med = {n: statistics.median(v) for n, v in cpu.items()}
        per_tick = (med[args.large] - med[args.small]) / (args.large - args.small)
        fixed = med[args.small] - per_tick * args.small
        real_runs = Path(tmp) / "real"
        _replay(args.recording, real_runs, ["--candidate", "tickstock.stacks:multichannel",
                "--set", "candidate.phase=phase_1_parallel_testing"])  # fmt: skip
        run_dir = next(real_runs.iterdir())
        summary = json.loads((run_dir / "summary.json").read_text())
        events = sum(sum(summary["events"][side].values()) for side in ("primary", "candidate"))
        ticks = int(summary["ticks"])
        diff = [_child([*HARNESS, "diff", str(run_dir)])[1] for _ in range(args.rounds)]
    diff_cpu = statistics.median(diff)

    def row(name: str, measured: str, target: str) -> None:
        print(f"| {name} | {measured} | {target} |")

    print(f"synthetic days of {args.tickers} tickers: {args.small:,} and {args.large:,} ticks; "
          f"rounds {args.rounds}; load average at the end {os.getloadavg()[0]:.2f}\n")  # fmt: skip
    print("| figure | measured | target |\n|---|---|---|")
    for n in cpu:
        row(f"null vs null replay, {n:,} ticks (CPU / wall, medians)",
            f"{med[n]:.2f} s / {statistics.median(wall[n]):.2f} s", "-")  # fmt: skip
    ok = "✓" if per_tick * 1e6 <= TARGET_US_PER_TICK else "✗"
    row("harness own cost per tick (slope, CPU)", f"{per_tick * 1e6:.2f} µs/tick",
        f"≤ {TARGET_US_PER_TICK} µs/tick {ok}")  # fmt: skip
    ok = "✓" if fixed <= TARGET_FIXED_S else "✗"
    row("replay start-up + finish (intercept, CPU)", f"{fixed:.2f} s", f"≤ {TARGET_FIXED_S} s {ok}")
    ok = "✓" if statistics.median(version) <= TARGET_FIXED_S else "✗"
    row("`harness --version` (wall)", f"{statistics.median(version):.3f} s",
        f"≤ {TARGET_FIXED_S} s {ok}")  # fmt: skip
    row(f"`harness diff` of a legacy vs multichannel run of {args.recording} (CPU, whole command)",
        f"{diff_cpu:.2f} s: {events:,} events, {ticks:,} ticks", "-")  # fmt: skip


if __name__ == "__main__":
    main()
