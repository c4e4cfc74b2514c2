"""Issue 20, target 1 — both cores on every day: shadow wall vs (primary alone + candidate alone).

On one recording (default: the bundled sample day, legacy vs multichannel phase 1), each figure in
fresh processes, all in one run so the ratios share the machine's state:

  * primary alone, candidate alone: the bare stack over the day's ticks (built before timing)
  * both bare stacks at once, one process each: what this machine gives two stacks running
    concurrently — the ceiling of any two-process design (stacks fed from one reader)
  * both bare stacks in one process, interleaved per tick (no harness): what sharing one core
    costs the stacks themselves
  * `harness replay`, one process, both stacks interleaved per tick (the default),
  * `harness replay --sides concurrent`: each stack in a process of its own, and
  * `harness replay --workers 2 --shards 2` (a local Dask cluster, two ticker buckets),
    each as the whole command and as its shadow part (the manifest's `wall_s` per shard).

Prints every wall next to the ratio to (primary alone + candidate alone); target ≤ 0.60. Then
the fairness condition of the target: an A/A replay (legacy vs legacy) per way of running the
sides, with the gate's latency ratio (median, bootstrap 95 % CI): within 1.00 ± 0.02, and the
CI no wider than the interleaved one.

    .venv/bin/python benchmarks/bench_cores.py [--recording recordings/sample-day] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET = 0.60
CANDIDATE = ("tickstock.stacks:multichannel", "phase_1_parallel_testing")

_BARE = """
import gc, sys, time
from harness.recordings.reader import open_recording
from tickstock.stacks import legacy, multichannel
ticks = list(open_recording(sys.argv[1]).ticks())
make = lambda name: legacy({}) if name == "legacy" else multichannel({"phase": name})
stacks = [make(name) for name in sys.argv[2].split("+")]  # a+b: both, interleaved per tick
calls = [s.process for s in stacks]
gc.disable()
print("ready", flush=True)
sys.stdin.readline()  # start together when two run at once
t = time.perf_counter()
for tick in ticks:
    for process in calls:
        try:
            process(tick)
        except Exception:
            pass
for s in stacks:
    s.flush()
print(time.perf_counter() - t, flush=True)
"""


def bare(recording: str, sides: list[str]) -> list[float]:
    """Seconds of each bare stack over the day; several sides run at the same moment."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _BARE, recording, side],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for side in sides
    ]
    for p in procs:
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    out = []
    for p in procs:
        assert p.stdout is not None
        out.append(float(p.stdout.readline()))
        p.wait()
    return out


def replay(recording: str, runs: Path, extra: list[str]) -> tuple[float, list[float]]:
    """(whole command seconds, shadow seconds per shard) of one `harness replay`."""
    runs.mkdir(parents=True, exist_ok=True)
    before = set(runs.iterdir())
    t = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "harness", "replay", recording, "--candidate", CANDIDATE[0],
         "--set", f"candidate.phase={CANDIDATE[1]}", "--no-progress", "--json",
         "--runs-dir", str(runs), *extra],
        check=True, capture_output=True,
    )  # fmt: skip
    took = time.perf_counter() - t
    (run,) = set(runs.iterdir()) - before
    manifest = json.loads((run / "manifest.json").read_text())
    sharding = manifest.get("sharding") or {}
    shards = [float(s["wall_s"]) for s in sharding.get("shards", [])]
    return took, shards or [float(manifest["wall_s"])]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recording", default="recordings/sample-day")
    ap.add_argument("--rounds", type=int, default=2, help="interleaved rounds; medians printed")
    args = ap.parse_args()
    rec = args.recording
    figures: dict[str, list[float]] = {}

    def add(name: str, value: float) -> None:
        figures.setdefault(name, []).append(value)

    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            p_alone = bare(rec, ["legacy"])[0]
            c_alone = bare(rec, [CANDIDATE[1]])[0]
            both = bare(rec, ["legacy", CANDIDATE[1]])
            add("primary alone", p_alone)
            add("candidate alone", c_alone)
            add("both bare stacks at once (slower of the two)", max(both))
            add("  primary / candidate slowdown when concurrent", both[0] / p_alone)
            add("  (candidate)", both[1] / c_alone)
            add(
                "both bare stacks interleaved per tick, one process",
                bare(rec, [f"legacy+{CANDIDATE[1]}"])[0],
            )
            whole, (shadow,) = replay(rec, Path(tmp) / f"one-{r}", [])
            add("harness replay, one process: whole command", whole)
            add("harness replay, one process: shadow part", shadow)
            whole, (shadow,) = replay(rec, Path(tmp) / f"split-{r}", ["--sides", "concurrent"])
            add("harness replay --sides concurrent: whole command", whole)
            add("harness replay --sides concurrent: shadow part", shadow)
            whole, shards = replay(
                rec, Path(tmp) / f"dask-{r}", ["--workers", "2", "--shards", "2"]
            )
            add("harness replay, 2 Dask workers: whole command", whole)
            add("harness replay, 2 Dask workers: slower shard", max(shards))
    med = {k: statistics.median(v) for k, v in figures.items()}
    base = med["primary alone"] + med["candidate alone"]
    print(
        f"recording {rec}, legacy vs {CANDIDATE[0]} {CANDIDATE[1]}, {args.rounds} rounds (medians)"
    )
    for name, value in med.items():
        if name.startswith("  "):
            print(f"{name:<52} {value:6.2f}×")
            continue
        ratio = value / base
        mark = "" if name.endswith("alone") else (" ✓" if ratio <= TARGET else " ✗")
        target = "" if name.endswith("alone") else f"  (target ≤ {TARGET:.2f}){mark}"
        print(f"{name:<52} {value:6.2f} s  = {ratio:4.2f} × (primary + candidate alone){target}")
    with tempfile.TemporaryDirectory() as tmp:
        widths = {}
        for sides in ("interleaved", "concurrent"):
            point, low, high = aa_ratio(rec, Path(tmp) / sides, sides)
            widths[sides] = high - low
            ok = "✓" if abs(point - 1) <= 0.02 else "✗"
            print(f"A/A {sides:<12} latency ratio {point:.4f}, 95 % CI [{low:.4f}, {high:.4f}] "
                  f"(width {high - low:.4f}); target 1.00 ± 0.02 {ok}")  # fmt: skip
        wider = widths["concurrent"] / widths["interleaved"]
        print(f"A/A CI width concurrent / interleaved: {wider:.2f} (target ≤ 1.00)")
    return 0


def aa_ratio(rec: str, runs: Path, sides: str) -> tuple[float, float, float]:
    """The gate's latency ratio (median, CI) of an A/A replay (legacy twice) run this way."""
    from harness.gates.bootstrap import CONCURRENT_MARGIN
    from harness.gates.evidence import open_evidence

    runs.mkdir(parents=True)
    subprocess.run(
        [sys.executable, "-m", "harness", "replay", rec, "--aa", "--no-progress", "--json",
         "--sides", sides, "--runs-dir", str(runs)],
        check=True, capture_output=True,
    )  # fmt: skip
    (run,) = runs.iterdir()
    ev = open_evidence(run)
    # a concurrent run's gate CI arrives widened by the concurrent margin: compare the bootstraps
    iv = ev.latency.ratio_median.widened(-CONCURRENT_MARGIN * bool(ev.latency.clusters))
    return iv.point, iv.low, iv.high


if __name__ == "__main__":
    sys.exit(main())
