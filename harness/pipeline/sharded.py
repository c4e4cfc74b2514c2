"""Sharded replay of a recording: plan shards, pin global decisions, run them, finish one run.

The coordinator owns the run directory and manifest; each shard runs on a worker
(`harness.scale.worker.run_shard`) and writes its own part files. A shard whose worker dies is
rerun (Dask's `allowed-failures`, plus `retries` for exceptions); a shard that still fails makes
the run `incomplete`, never a partial pass.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from harness.core.errors import ConfigError
from harness.diff.days import add_day_breakdown
from harness.pipeline.lifecycle import RunResult, RunSetup, finish_run, running, start_run
from harness.pipeline.request import ReplayRequest
from harness.recordings.reader import check_recording, open_recording
from harness.replay.outcome import CONCURRENT, RunOutcome
from harness.replay.pinning import pin_rollout
from harness.replay.shadow import RunSpec
from harness.scale.cluster import dask_client, executor_label
from harness.scale.shards import GLOBAL_DECISIONS, ShardPlan, balance, expected_ticks, plan_shards
from harness.scale.worker import (
    SHARDS_DIR,
    ShardReport,
    commit,
    committed_report,
    run_on_dask,
    run_shard,
)
from harness.store.parts import discard_attempts, make_part_dirs, remove_shard_parts
from harness.store.runs import RunWriter, read_json


def sharded_plan(request: ReplayRequest) -> ShardPlan | None:
    """The plan when this replay should run sharded, else None (the one-process runner).

    Sharded is the default for multi-shard inputs (several days, or a day large enough for
    several buckets) and whenever workers, a scheduler or a shard count is asked for. Pacing
    (realtime / speed=N) and --limit (a prefix in time order) need the one-process runner.
    """
    asked = (
        request.workers is not None or request.scheduler is not None or request.shards is not None
    )
    if request.mode != "afap" or request.limit is not None:
        if asked:
            raise ConfigError(
                "sharded replay (--workers/--scheduler/--shards) needs --mode afap and no --limit"
            )
        return None
    manifest = open_recording(request.recording).manifest
    plan = plan_shards(manifest, request.shards, request.tickers, request.start_ns, request.end_ns)
    if not (asked or len(plan) > 1):
        return None
    if request.options.sides == CONCURRENT and (request.workers != 0 or request.scheduler):
        raise ConfigError(
            "--sides concurrent runs each shard's two stacks in processes of their own: shard "
            "in this process (--workers 0), or keep the sides interleaved on Dask workers"
        )
    return plan


def replay_sharded(
    request: ReplayRequest,
    plan: ShardPlan | None = None,
    progress: Callable[[int], None] | None = None,
) -> RunResult:
    """Replay a recording shard by shard: `workers=0` in this process, else on Dask.

    `workers=None` means one Dask worker per core; `scheduler` an existing cluster's address
    (tcp://host:port). The result is the same for every executor and worker count.
    """
    check_recording(request.recording)  # validation happens before any replay (design.md §3)
    rec = open_recording(request.recording)
    tickers = request.tickers
    if plan is None:
        plan = plan_shards(rec.manifest, request.shards, tickers, request.start_ns, request.end_ns)
    first = plan.shards[0] if plan.shards else None
    lo, hi = (first.start_ns, first.end_ns) if first else (request.start_ns, request.end_ns)
    spec = request.spec
    candidate, rollout = pin_rollout(spec.candidate, rec.ticks(tickers or None, lo, hi))
    primary = (
        candidate if spec.aa else pin_rollout(spec.primary, rec.ticks(tickers or None, lo, hi))[0]
    )
    spec = replace(spec, primary=primary, candidate=candidate)
    sharding: dict[str, Any] = {
        "plan": plan.as_dict(),
        "balance": balance(plan),
        "executor": executor_label(request.workers, request.scheduler),
        "shard_dates": {str(s.index): s.date for s in plan.shards},
        "rollout": rollout,
        "global_decisions": GLOBAL_DECISIONS,
    }
    setup = RunSetup(
        runs_dir=request.runs_dir,
        recording={
            "path": str(request.recording),
            "name": rec.name,
            "sha256": rec.sha256,
            "tick_count": rec.tick_count,
        },
        mode=request.mode,
        filters=request.recorded_filters(),
        shards=len(plan),
        extra={"sharding": sharding, "replay_request": request.recorded(plan.buckets)},
        expected=expected_ticks(rec.manifest, request.filtered),
        diff_config=request.diff_config,
        tick_lookup=_tick_lookup(rec),
    )
    writer = start_run(spec, setup)
    return _execute(writer, request, spec, plan, setup, progress, {})


def resume_sharded(
    writer: RunWriter, request: ReplayRequest, progress: Callable[[int], None] | None
) -> RunResult:
    """Resume a killed sharded replay: committed shards stay, the others run again."""
    m = writer.manifest
    check_recording(request.recording)
    rec = open_recording(request.recording)
    if rec.sha256 != (m.get("recording") or {}).get("sha256"):
        raise ConfigError(
            f"run {writer.run_id}: recording {request.recording} changed since the run "
            "started; it cannot be resumed"
        )
    plan = plan_shards(
        rec.manifest, request.shards, request.tickers, request.start_ns, request.end_ns
    )
    discard_attempts(writer.path)
    done: dict[int, ShardReport] = {}
    for s in plan.shards:
        record = writer.path / SHARDS_DIR / f"{s.index:03d}.json"
        if record.exists():
            done[s.index] = committed_report(read_json(record))
        else:
            remove_shard_parts(writer.path, s.index)
    writer.note_resume(shards_kept=sorted(done))
    setup = RunSetup(
        runs_dir=request.runs_dir,
        expected=expected_ticks(rec.manifest, request.filtered),
        diff_config=request.diff_config,
        tick_lookup=_tick_lookup(rec),
    )
    return _execute(writer, request, request.spec, plan, setup, progress, done)


def _tick_lookup(rec: Any) -> Callable[[str, int, int], list[dict[str, Any]]]:
    def tick_lookup(ticker: str, lo_ns: int, hi_ns: int) -> list[dict[str, Any]]:
        return [t._asdict() for t in rec.ticks([ticker], lo_ns, hi_ns + 1)]

    return tick_lookup


def _execute(
    writer: RunWriter,
    request: ReplayRequest,
    spec: RunSpec,
    plan: ShardPlan,
    setup: RunSetup,
    progress: Callable[[int], None] | None,
    done: dict[int, ShardReport],
) -> RunResult:
    """Run the shards not in `done` (in-process or on Dask), then merge, diff and finish."""
    todo = tuple(s for s in plan.shards if s.index not in done)
    run_dir, recording = str(writer.path), str(request.recording)
    started = time.perf_counter()
    reports: list[ShardReport] = list(done.values())
    failed: list[tuple[int, RunOutcome]] = []
    if progress is not None and done:
        progress(sum(r.outcome.read for r in done.values()))
    with running(writer, on_abort=lambda: discard_attempts(writer.path)):
        make_part_dirs(writer.path)
        if todo and request.workers == 0:
            for s in todo:
                report = run_shard(run_dir, recording, s, spec, progress)
                commit(writer.path, report)
                reports.append(report)
        elif todo:  # (none left: every shard was committed before the crash, only the finish)
            with dask_client(request.workers, request.scheduler) as client:
                new, failed = run_on_dask(
                    client, run_dir, recording, todo, spec, request.shard_timeout_s, progress
                )
                reports += new
    reports.sort(key=lambda r: r.index)
    discard_attempts(writer.path)  # a failed shard contributes nothing, not a fragment
    sharding = dict(writer.manifest["sharding"])
    sharding["shards"] = [r.as_dict() for r in reports]
    sharding["failed"] = [o.aborted for _, o in failed]
    sharding["wall_s"] = round(time.perf_counter() - started, 3)
    sharding["peak_rss_mb"] = round(max((r.peak_rss_mb for r in reports), default=0.0), 1)
    writer.update(sharding=sharding)
    outcomes = [r.outcome for r in reports] + [o for _, o in failed]
    result = finish_run(writer, outcomes, setup)
    add_day_breakdown(result.path)
    return result
