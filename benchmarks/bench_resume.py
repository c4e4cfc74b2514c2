"""Kill-point matrix on whole days: kill -9 a replay at seeded moments, resume it, compare.

For each kill point: the replay is SIGKILLed (its process group: Dask workers too), every
reader must refuse the run (exit 5), `harness replay --resume` must finish it, and the resumed
run must equal an uninterrupted one in event hashes, diff counts, diff rows and the phase-1
verdict. Prints, per point, where it was killed, what was kept, and the resume's wall time next
to a full replay's. Target: every point identical (0 mismatches).

    python benchmarks/bench_resume.py [--recording recordings/sample-day] [--points 10] [--dask]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
PHASE = "phase_1_parallel_testing"
STACKS = ["--candidate", "tickstock.stacks:multichannel", "--set", f"candidate.phase={PHASE}",
          "--no-progress"]  # fmt: skip
ENV = {**os.environ, "PYTHONHASHSEED": "0"}


def harness(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "harness", *args], capture_output=True, text=True, env=ENV
    )


def outcome(run: Path) -> tuple:
    s = json.loads((run / "summary.json").read_text())
    con = duckdb.connect()
    rows = con.execute(
        f"""SELECT count(*), sum(hash(ticker, type, direction, tick_seq, class, primary_index,
                                      candidate_index, fields::VARCHAR))
            FROM read_parquet('{run}/diff.parquet')"""
    ).fetchone()
    con.close()
    g = harness("gate", str(run), "--phase", PHASE, "--json")
    v = json.loads(g.stdout)
    checks = sorted((c["check"], c["status"]) for c in v["checks"] if "latency" not in c["check"])
    return {"event_hash": json.dumps(s["event_hash"], sort_keys=True),
            "diff": json.dumps(s["diff"], sort_keys=True), "diff_rows": rows,
            "gate_exit": g.returncode, "checks": checks}  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--recording", default=str(ROOT / "recordings" / "sample-day"))
    ap.add_argument("--points", type=int, default=10)
    ap.add_argument("--dask", action="store_true", help="sharded on a 2-worker LocalCluster")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    args = [a.recording, *STACKS] + (["--workers", "2", "--shards", "4"] if a.dask else
                                     ["--batch-size", "16384"])  # fmt: skip
    bad = 0
    with tempfile.TemporaryDirectory(prefix="bench-resume-") as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        p = harness("replay", *args, "--runs-dir", str(root / "ref"))
        full = time.perf_counter() - t0
        if p.returncode != 0:
            print(p.stderr)
            return 1
        expected = outcome(next((root / "ref").iterdir()))
        # control: a second uninterrupted replay, to tell run-to-run noise from resume defects
        harness("replay", *args, "--runs-dir", str(root / "control"))
        control = outcome(next((root / "control").iterdir()))
        noisy = [k for k in expected if control[k] != expected[k]]
        print(f"  control (a second uninterrupted replay): "
              f"{'identical' if not noisy else 'differs in ' + ', '.join(noisy)}")  # fmt: skip
        print(flush=True)
        print(f"== {Path(a.recording).name} ({'Dask, 2 workers' if a.dask else 'one process'}): "
              f"uninterrupted replay {full:.1f} s")  # fmt: skip
        rng = random.Random(a.seed)
        for i in range(a.points):
            delay = rng.uniform(0.1, 0.9) * full
            runs = root / f"k{i}"
            proc = subprocess.Popen(
                [sys.executable, "-m", "harness", "replay", *args, "--runs-dir", str(runs)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV,
                start_new_session=True,
            )  # fmt: skip
            time.sleep(delay)
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            made = sorted(runs.iterdir()) if runs.exists() else []
            if not made:
                print(f"  kill at {delay:6.1f} s: before the run directory existed")
                continue
            run = made[-1]
            status = json.loads((run / "manifest.json").read_text())["status"]
            refused = harness("gate", str(run), "--phase", PHASE).returncode
            t1 = time.perf_counter()
            if status != "complete":
                r = harness("replay", "--resume", str(run))
                if r.returncode != 0:
                    print(r.stderr[-500:])
            took = time.perf_counter() - t1
            got = outcome(run)
            same = got == expected
            bad += not same
            differ = [k for k in expected if got[k] != expected[k]]
            if "checks" in differ:
                differ += [
                    f"{a} vs {b}"
                    for a, b in zip(expected["checks"], got["checks"], strict=False)
                    if a != b
                ]
            kept = json.loads((run / "manifest.json").read_text()).get("resumed", [{}])[-1]
            kept.pop("at", None), kept.pop("pid", None)
            print(f"  kill at {delay:6.1f} s: status {status:<9} gate before resume exit "
                  f"{refused}; resume {took:5.1f} s (full replay {full:.1f} s), kept {kept}; "
                  f"{'identical' if same else 'DIFFERENT: ' + ', '.join(map(str, differ))}")  # fmt: skip
    print(f"  mismatches: {bad} of {a.points} (target 0)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
