"""Benchmark: `harness shrink` on seeded defects over the whole sample day (issue 21 target:
the divergence reproduced with <= 1 % of the day's ticks in <= 2 minutes).

Each case replays recordings/sample-day legacy vs a defect mutant of legacy, then shrinks the
run; it prints the ticks kept, the trials and the wall time beside the targets, and checks that
the shrunk recording reproduces the same first divergence.
Usage: python benchmarks/bench_shrink.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DAY = ROOT / "recordings" / "sample-day"
TARGET_FRACTION, TARGET_S = 0.01, 120.0
MUTANT = ["--primary", "tickstock.stacks:legacy", "--candidate", "harness.replay.mutants:mutant",
          "--set", "candidate.mutant.inner=tickstock.stacks:legacy"]  # fmt: skip
CASES = {
    "shift prices (2 %)": ["--set", "candidate.mutant.defect=shift"],
    "drop midday trends (5 %)": ["--set", "candidate.mutant.defect=drop",
                                 "--set", "candidate.mutant.type=trend",
                                 "--set", "candidate.mutant.rate=0.05",
                                 "--set", "candidate.mutant.period=MIDDAY"],
    "swap direction (2 %)": ["--set", "candidate.mutant.defect=swap_direction"],
}  # fmt: skip


def harness(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness", *args], capture_output=True, text=True, check=True
    )


def main() -> None:
    total = json.loads(harness("info", str(DAY), "--json").stdout)["ticks"]
    print(
        f"sample day: {total:,} ticks; targets: <= {TARGET_FRACTION:.0%} of them, <= {TARGET_S:.0f} s"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for name, extra in CASES.items():
            runs = Path(tmp) / "runs"
            run = json.loads(
                harness(
                    "replay", str(DAY), *MUTANT, *extra, "--runs-dir", str(runs), "--json"
                ).stdout
            )["path"]
            out = Path(tmp) / f"shrunk-{len(list(Path(tmp).iterdir()))}"
            started = time.perf_counter()
            done = harness("shrink", run, "--out", str(out), "--runs-dir", str(runs))
            wall = time.perf_counter() - started
            kept = json.loads(harness("info", str(out), "--json").stdout)["ticks"]
            first = json.loads((Path(run) / "first_divergence.json").read_text())
            again = json.loads(
                harness(
                    "replay", str(out), *MUTANT, *extra, "--runs-dir", str(runs), "--json"
                ).stdout
            )["first_divergence"]
            same = again and again["ticker"] == first["ticker"] and again["class"] == first["class"]
            print(
                f"{name:26s} {first['ticker']} {first['class']} at seq {first['seq']:,}: kept "
                f"{kept:,} ticks = {kept / total:.4%} (target <= {TARGET_FRACTION:.0%}), "
                f"{wall:.1f} s (target <= {TARGET_S:.0f} s), reproduced: {'yes' if same else 'NO'}"
            )
            print("   " + done.stdout.splitlines()[0])


if __name__ == "__main__":
    main()
