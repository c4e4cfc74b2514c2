"""`--sides concurrent`: each stack in a process of its own gives the interleaved run's results.

Real recordings, real side processes (spawned), real part files and DuckDB gates: only the
latencies may differ between the two ways of running the same replay. A concurrent run times its
two sides apart, on two cores that trade places every swap block, so the gates bound its latency
ratio by resampling whole swap cycles, and leave it undecided when the run holds too few.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from harness.gates.engine import gate_run
from harness.pipeline.replay import replay
from harness.pipeline.request import ReplayRequest
from harness.replay.faults import FaultSpec
from harness.replay.outcome import SWAP_TICKS, RunOptions
from harness.replay.shadow import StackSpec
from harness.report.build import ticker_table

REC = Path(__file__).resolve().parent.parent / "recordings" / "sample-day"
PHASE = "phase_1_parallel_testing"
KEYS = ["seq", "ticker", "primary_error", "candidate_error", "primary_timeout",
        "candidate_timeout", "primary_events", "candidate_events"]  # fmt: skip


def _request(tmp: Path, sides: str, **kw) -> ReplayRequest:
    base = ReplayRequest(
        REC,
        StackSpec("tickstock.stacks:legacy", {}),
        StackSpec("tickstock.stacks:multichannel", {"phase": PHASE}),
        RunOptions(seed=3, batch_size=1_500, sides=sides),
        FaultSpec(error_rate=0.03),
        limit=5_000,
        runs_dir=tmp / sides,
    )
    return replace(base, **kw)


def _observations(run: Path) -> dict[str, list]:
    table = pq.read_table(run / "observations").sort_by("seq")
    return {k: table.column(k).to_pylist() for k in [*KEYS, "first"]}


@pytest.mark.skipif(
    len(getattr(os, "sched_getaffinity", lambda _: ())(0)) < 2, reason="needs two cores"
)
def test_the_sides_trade_cores_in_lockstep_every_swap_block(tmp_path):
    """Each side spends every other block of SWAP_TICKS ticks on each of the two cores, and the
    two sides are never pinned to the same core in the same block."""
    request = _request(
        tmp_path,
        "concurrent",
        primary=StackSpec("side_stacks:where", {"name": "p"}),
        candidate=StackSpec("side_stacks:where", {"name": "c"}),
        inject=FaultSpec(),
        limit=5 * SWAP_TICKS + 7,
    )
    result = replay(request)
    assert result.status == "complete"
    stats = json.loads((Path(result.path) / "stack_stats.json").read_text())
    first, second = sorted(os.sched_getaffinity(0))[:2]
    blocks = 6  # the first tick of blocks 0..5
    assert stats["primary"]["cpus"] == [[first], [second]] * 3
    assert stats["candidate"]["cpus"] == [[second], [first]] * 3
    assert len(stats["primary"]["cpus"]) == blocks


def test_concurrent_sides_give_the_interleaved_events_errors_diff_and_checks(tmp_path):
    a = replay(_request(tmp_path, "interleaved"))
    b = replay(_request(tmp_path, "concurrent"))
    assert a.status == b.status == "complete"
    for key in ("event_hash", "diff", "events", "errors", "timeouts", "first_divergence"):
        assert b.summary[key] == a.summary[key], key
    oa, ob = _observations(a.path), _observations(b.path)
    assert len(oa["seq"]) == len(ob["seq"]) == 5_000
    for key in KEYS:
        assert ob[key] == oa[key], key
    assert sum(e is not None for e in ob["candidate_error"]) > 50  # the faults are there
    assert set(ob["first"]) == {"concurrent"} and set(oa["first"]) == {"primary", "candidate"}
    manifest = json.loads((Path(b.path) / "manifest.json").read_text())
    assert manifest["options"]["sides"] == "concurrent" and manifest["audit"]["ok"]
    # every check that does not measure time decides the same way
    timed = (
        "latency",
        "performance",
        "win_rate",
        "dashboard",
        "alert_routing",
        "fallback_trigger_lat",
    )
    ga, gb = gate_run(Path(a.path), (PHASE,))[1][0], gate_run(Path(b.path), (PHASE,))[1][0]
    sa = {c.check: c.status for c in ga.checks if not c.check.startswith(timed)}
    sb = {c.check: c.status for c in gb.checks if not c.check.startswith(timed)}
    assert sa == sb and len(sa) >= 20
    # ... and a concurrent run of 5,000 ticks (5 swap cycles) is too short to bound its latency
    lat = next(c for c in gb.checks if c.check == "latency_ratio_ci_upper")
    assert lat.status.value == "INCONCLUSIVE" and "--sides interleaved" in lat.reason
    assert "holds 5 swap cycles, too few" in lat.reason
    assert "--sides" not in next(c for c in ga.checks if c.check == "latency_ratio_ci_upper").reason


def test_a_concurrent_run_of_enough_swap_cycles_decides_latency_and_catches_a_slow_candidate(
    tmp_path,
):
    """21 swap cycles: the CIs resample whole cycles (pairs of one cycle share its cores' noise),
    and the gate decides. An A/A run never FAILs; a candidate 1.5× slower FAILs."""
    slow = StackSpec(
        "harness.replay.mutants:mutant",
        {"mutant": {"defect": "slow", "factor": 1.5, "inner": "tickstock.stacks:legacy"}},
    )
    options = RunOptions(seed=3, batch_size=8_000, sides="concurrent")
    for name, candidate, allowed in (
        ("aa", None, {"PASS", "INCONCLUSIVE"}),
        ("slow", slow, {"FAIL"}),
    ):
        run = replay(
            _request(tmp_path / name, "concurrent", candidate=candidate, inject=FaultSpec(),
                     limit=21 * 2 * SWAP_TICKS, options=options)
        )  # fmt: skip
        assert run.status == "complete"
        evidence, (result,) = gate_run(Path(run.path), (PHASE,))
        clusters = evidence.con.execute(
            "SELECT value FROM stats WHERE metric = 'latency_clusters'"
        ).fetchone()
        _, note = ticker_table(evidence, 0)
        evidence.close()
        assert "not over swap cycles" in note  # the report's per-ticker tests say they do not
        assert clusters == (21.0,)
        lat = next(c for c in result.checks if c.check == "latency_ratio_ci_upper")
        assert lat.status.value in allowed, (name, lat.reason)
        assert (
            "CI over 21 swap cycles, widened by 0.03 on both sides (--sides concurrent)"
            in lat.reason
        )


def test_a_hanging_candidate_aborts_a_concurrent_run_with_both_sides_cut_at_the_same_tick(tmp_path):
    fake = StackSpec("harness.replay.stack:fake", {"hang_ticker": "AAPL"})
    req = _request(
        tmp_path,
        "concurrent",
        primary=StackSpec("harness.replay.stack:fake", {}),
        candidate=fake,
        inject=FaultSpec(),
        options=RunOptions(
            seed=1, batch_size=2_000, tick_timeout_s=0.2, max_hangs=2, sides="concurrent"
        ),  # fmt: skip
    )
    result = replay(req)
    assert result.status == "incomplete"
    manifest = json.loads((Path(result.path) / "manifest.json").read_text())
    assert "candidate hung on ticker AAPL" in manifest["reason"]
    obs = _observations(Path(result.path))
    timeouts = [s for s, t in zip(obs["seq"], obs["candidate_timeout"], strict=True) if t]
    assert len(timeouts) == 2 and obs["seq"][-1] == timeouts[-1]  # cut at the aborting tick
    audit = manifest["audit"]
    side = audit["candidate"]
    assert (
        side["processed"] + side["errored"] + side["timed_out"] == audit["read"] == len(obs["seq"])
    )
    assert audit["primary"]["processed"] == audit["read"]


def test_a_side_process_that_dies_makes_the_run_an_error_that_names_it(tmp_path):
    dying = StackSpec("harness.replay.stack:fake", {"exit_on_seq": 1_200})
    req = _request(tmp_path, "concurrent", primary=StackSpec("harness.replay.stack:fake", {}),
                   candidate=dying, inject=FaultSpec())  # fmt: skip
    with pytest.raises(RuntimeError, match="candidate side process died"):
        replay(req)
    (run,) = (tmp_path / "concurrent").iterdir()
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "error" and "candidate side process died" in manifest["reason"]


def test_a_killed_concurrent_replay_resumes_to_the_interleaved_runs_events_and_diff(tmp_path):
    """SIGKILL to the whole process group (parent and both side processes) once 3 of 8 parts
    are durable; `--resume` runs the sides concurrently again (the manifest says so), rebuilds
    both stacks from the stored prefix and ends with the interleaved run's events and diff."""
    from test_resume import STACKS, harness, killed_when

    args = [str(REC), "--limit", "3000", "--batch-size", "400", *STACKS]
    harness("replay", *args, "--runs-dir", str(tmp_path / "ref"), check=True)
    (ref,) = (tmp_path / "ref").iterdir()
    run = killed_when(
        [*args, "--sides", "concurrent"],
        tmp_path / "killed",
        lambda run: len(list((run / "observations").glob("*.parquet"))) >= 3,
    )
    assert run is not None
    assert json.loads((run / "manifest.json").read_text())["status"] != "complete"
    harness("replay", "--resume", str(run), check=True)
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["resumed"][-1]["from_ticks"] >= 1_200
    assert manifest["options"]["sides"] == "concurrent"
    got, want = (json.loads((r / "summary.json").read_text()) for r in (run, ref))
    for key in ("event_hash", "diff", "events", "errors", "first_divergence"):
        assert got[key] == want[key], key
    assert _observations(run)["seq"] == _observations(ref)["seq"]
    assert set(_observations(run)["first"]) == {"concurrent"}


def test_sharded_in_this_process_runs_each_shard_concurrently_and_dask_workers_refuse(tmp_path):
    """`--workers 0`: shard after shard here, each shard's sides in processes of their own —
    the interleaved sharded run's events and diff. On Dask workers the sides stay interleaved:
    asking for concurrent sides there is a clear configuration error, not a silent fallback."""
    from harness.core.errors import ConfigError
    from harness.pipeline.sharded import sharded_plan
    from harness.replay.sources import parse_time

    window = {"end_ns": parse_time("2026-03-10T12:40:00Z", "--to"), "limit": None, "shards": 2}
    got = {}
    for sides in ("interleaved", "concurrent"):
        req = _request(tmp_path, sides, workers=0, **window)
        got[sides] = replay(req)
        assert got[sides].status == "complete"
        assert json.loads((Path(got[sides].path) / "manifest.json").read_text())["shards"] == 2
        assert got[sides].summary["ticks"] > 1_000
    for key in ("event_hash", "diff", "events", "errors"):
        assert got["concurrent"].summary[key] == got["interleaved"].summary[key], key
    assert set(_observations(Path(got["concurrent"].path))["first"]) == {"concurrent"}
    with pytest.raises(ConfigError, match="--workers 0"):
        sharded_plan(_request(tmp_path, "concurrent", workers=2, **window))


def test_a_concurrent_aa_run_cannot_calibrate_the_noise_floor(tmp_path):
    """The floor the gates widen FAIL by is measured with the sides interleaved; a concurrent A/A
    run's ratio carries two processes' speed difference, so calibration refuses it by name."""
    from harness.core.errors import StoreError
    from harness.gates.calibration import measure_aa

    fake = StackSpec("harness.replay.stack:fake", {})
    result = replay(_request(tmp_path, "concurrent", primary=fake, candidate=None,
                             inject=FaultSpec(), limit=2_000))  # fmt: skip
    assert result.status == "complete"
    assert json.loads((Path(result.path) / "manifest.json").read_text())["aa"]
    with pytest.raises(StoreError, match="--sides concurrent"):
        measure_aa(Path(result.path))
