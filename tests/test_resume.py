"""Kill -9 at seeded random moments, then `harness replay --resume`: the same events, diff and
verdict as an uninterrupted run, in one process and on Dask. Real subprocesses, real SIGKILL."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
REC = str(ROOT / "recordings" / "sample-day")
PHASE = "phase_1_parallel_testing"
STACKS = [
    "--candidate",
    "tickstock.stacks:multichannel",
    "--set",
    f"candidate.phase={PHASE}",
    "--no-progress",
]
ONE_PROCESS = [REC, "--limit", "8000", "--batch-size", "700", *STACKS]
# the sharded runner takes a time window, not --limit: the first ~8,000 ticks of sample-day
SHARDED = [REC, "--to", "2026-03-10T12:46:14Z", "--workers", "2", "--shards", "3", *STACKS]
ENV = {**os.environ, "PYTHONHASHSEED": "0"}


def harness(*args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
    p = subprocess.run(
        [sys.executable, "-m", "harness", *args], capture_output=True, text=True, env=ENV
    )
    if check and p.returncode != 0:
        raise AssertionError(f"harness {' '.join(args)} → {p.returncode}\n{p.stderr[-2000:]}")
    return p


def outcome(run: Path) -> dict[str, object]:
    """What must not change: event hashes, diff counts, the diff's rows and the verdict."""
    summary = json.loads((run / "summary.json").read_text())
    con = duckdb.connect()
    rows = con.execute(
        f"""SELECT count(*), sum(hash(ticker, type, direction, tick_seq, class,
                                  primary_index, candidate_index, fields::VARCHAR))
            FROM read_parquet('{run}/diff.parquet')"""
    ).fetchone()
    events = con.execute(
        f"""SELECT count(*), sum(hash(emit_seq, emit_index, emit_pos, event_json))
            FROM read_parquet('{run}/events_candidate/*.parquet')"""
    ).fetchone()
    con.close()
    gate = harness("gate", str(run), "--phase", PHASE, "--json")
    verdict = json.loads(gate.stdout)
    checks = verdict["checks"]
    timed = sorted((c["check"], c["status"]) for c in checks if _timed(c["check"]))
    return {
        "event_hash": summary["event_hash"],
        "diff": summary["diff"],
        "diff_rows": rows,
        "candidate_events": events,
        "audit_ok": summary.get("audit", {}).get("ok", True),
        # every check that does not read a clock is identical; the timed ones are measured again
        # on resume (README "--resume": a verdict within noise of a latency bar may flip), so only
        # their names are compared, and the verdict only when their statuses agree
        "checks": sorted((c["check"], c["status"]) for c in checks if not _timed(c["check"])),
        "timed_checks": [name for name, _ in timed],
        "verdict": (gate.returncode, verdict["verdict"], timed),
    }  # fmt: skip


#: Checks computed from wall-clock timings (latency, the channel's time-based win rate, its
#: dashboard ladder and routing-latency alert): the only ones a resume measures again.
_TIMED = ("latency_", "performance_", "win_rate", "dashboard_recommendation", "alert_routing")


def _timed(check: str) -> bool:
    return check.startswith(_TIMED)


def same_outcome(got: dict[str, object], expected: dict[str, object]) -> bool:
    """Equal in everything deterministic; the verdict too unless a timed check flipped."""
    keys = [k for k in expected if k != "verdict"]
    if any(got[k] != expected[k] for k in keys):
        return False
    timed_equal = got["verdict"][2] == expected["verdict"][2]  # type: ignore[index]
    return got["verdict"] == expected["verdict"] or not timed_equal


def reference(args: list[str], runs: Path) -> tuple[Path, float]:
    t0 = time.perf_counter()
    harness("replay", *args, "--runs-dir", str(runs), check=True)
    return next(runs.iterdir()), time.perf_counter() - t0


def test_killed_one_process_replays_resume_to_the_same_events_diff_and_verdict(tmp_path):
    """Five kill points drawn over the replay (8,000 ticks in batches of 700: 12 parts): each
    kill lands when a drawn number of parts is durable, so every one is inside the replay."""
    ref_run, _ = reference(ONE_PROCESS, tmp_path / "reference")
    expected = outcome(ref_run)
    rng = random.Random(17)
    parts = sorted(rng.sample(range(1, 12), 5))
    resumed = []
    for i, k in enumerate(parts):
        run = killed_when(
            ONE_PROCESS,
            tmp_path / f"kill-{i}",
            lambda run, k=k: len(list((run / "observations").glob("*.parquet"))) >= k,
        )
        assert run is not None
        assert json.loads((run / "manifest.json").read_text())["status"] != "complete", k
        assert not (run / "verdict.json").exists()
        if i == 0:  # what a killed run answers (the same code at every point: checked once)
            for cmd in (
                ["gate", str(run), "--phase", PHASE],
                ["report", str(run)],
                ["diff", str(run)],
            ):
                p = harness(*cmd)
                assert p.returncode == 5, (cmd, p.returncode, p.stderr)
                assert "incomplete" in p.stderr and "--resume" in p.stderr
                assert len(p.stderr.strip().splitlines()) == 1
            # and a resume killed in turn resumes too
            victim = killed_when(["--resume", str(run)], run.parent, lambda run: False, timeout=1.5)
            assert victim == run
        if json.loads((run / "manifest.json").read_text())["status"] != "complete":
            harness("replay", "--resume", str(run), check=True)
        assert same_outcome(outcome(run), expected), f"killed after {k} parts"
        m = json.loads((run / "manifest.json").read_text())
        assert m["status"] == "complete" and m["resumed"]
        resumed.append(m["resumed"][-1])
    from_ticks = [r.get("from_ticks") for r in resumed]
    assert sum(1 for f in from_ticks if f) >= 3, resumed  # resumed from inside the replay


def killed_when(args: list[str], runs: Path, ready, timeout: float = 120) -> Path | None:
    """Start a replay and SIGKILL it the moment `ready(run_dir)` holds (polled every 10 ms)."""
    p = subprocess.Popen(
        [sys.executable, "-m", "harness", "replay", *args, "--runs-dir", str(runs)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + timeout
    try:
        while p.poll() is None and time.monotonic() < deadline:
            made = sorted(runs.iterdir()) if runs.exists() else []
            if made and ready(made[-1]):
                break
            time.sleep(0.01)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
        p.wait()
    made = sorted(runs.iterdir()) if runs.exists() else []
    return made[-1] if made else None


def _shards_committed(run: Path) -> int:
    return len(list((run / "shards").glob("*.json"))) if (run / "shards").is_dir() else 0


def test_killed_sharded_dask_replays_resume_to_the_same_events_diff_and_verdict(tmp_path):
    """Killed at three moments of a 3-shard run on 2 workers: while the first shards run (no
    shard committed), right after the first shard committed, and after all shards committed
    but before the merge and diff finished. Each resumes to the uninterrupted run's outcome."""
    ref_run, _ = reference(SHARDED, tmp_path / "reference")
    expected = outcome(ref_run)
    moments = {
        "no shard committed": lambda run: (
            (run / "manifest.json").is_file() and any(run.rglob("*.parquet"))
        ),
        "first shard committed": lambda run: _shards_committed(run) >= 1,
        "all shards committed": lambda run: _shards_committed(run) == 3,
    }
    kept = {}
    for i, (name, ready) in enumerate(moments.items()):
        run = killed_when(SHARDED, tmp_path / f"kill-{i}", ready)
        assert run is not None, name
        m = json.loads((run / "manifest.json").read_text())
        assert m["status"] != "complete", f"{name}: the run finished before the kill"
        if i == 0:
            p = harness("gate", str(run), "--phase", PHASE)
            assert p.returncode == 5 and "--resume" in p.stderr, (name, p.stderr)
        harness("replay", "--resume", str(run), check=True)
        assert same_outcome(outcome(run), expected), name
        m = json.loads((run / "manifest.json").read_text())
        assert m["status"] == "complete" and m["resumed"], name
        kept[name] = m["resumed"][-1].get("shards_kept")
    assert kept["all shards committed"] == [0, 1, 2], kept
    assert kept["first shard committed"] and len(kept["first shard committed"]) < 3, kept


def test_a_complete_run_or_one_without_a_replay_request_is_not_resumed(tmp_path):
    from harness.pipeline.shadow import run_shadow
    from harness.recordings.reader import open_recording

    # a run of a plain tick iterable (as live runs are) cannot be regenerated: refused, clearly
    ticks = open_recording(REC).ticks()
    bare = run_shadow(
        (t for _, t in zip(range(200), ticks, strict=False)),
        "harness.replay.stack:fake",
        root=tmp_path / "bare",
    ).path
    m = json.loads((bare / "manifest.json").read_text())
    (bare / "manifest.json").write_text(json.dumps({**m, "status": "running", "pid": 2**22 + 1}))
    p = harness("replay", "--resume", str(bare))
    assert p.returncode == 5 and "records no replay request" in p.stderr
    run, _ = reference(ONE_PROCESS, tmp_path / "ref")  # its own directory: runs holds one run
    p = harness("replay", "--resume", str(run))
    assert p.returncode == 5 and "complete: nothing to resume" in p.stderr
    p = harness("replay", REC, "--resume", str(run))
    assert p.returncode == 5 and "give no RECORDING" in p.stderr


def test_a_gate_killed_at_any_moment_leaves_no_half_verdict_and_gates_again_the_same(tmp_path):
    run, _ = reference(ONE_PROCESS, tmp_path / "ref")  # its own directory: runs holds one run
    t0 = time.perf_counter()
    expected = outcome(run)["verdict"]
    wall = time.perf_counter() - t0
    rng = random.Random(3)
    for _ in range(5):
        (run / "verdict.json").unlink(missing_ok=True)
        p = subprocess.Popen(
            [sys.executable, "-m", "harness", "gate", str(run), "--phase", PHASE],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV,
        )  # fmt: skip
        time.sleep(rng.uniform(0.2, 1.0) * wall)
        p.kill()
        p.wait()
        if (run / "verdict.json").exists():  # whole or absent, never half
            json.loads((run / "verdict.json").read_text())
        assert outcome(run)["verdict"] == expected
