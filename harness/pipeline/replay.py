"""The one way a recording is replayed: a `ReplayRequest` in, a finished run out.

Every entry point — `harness replay`, the CI regression gate and its pytest plugin, calibration,
resume — builds a request and calls `replay(request)`, so each gets the same preconditions: the
recording is validated before anything runs (design.md §3), days with several shards are
sharded (and their rollout tickers pinned once), and the run records how to regenerate its
input, so a killed replay can be resumed (`harness.pipeline.resume`)::

    result = replay(ReplayRequest(Path("recordings/sample-day"),
                                  StackSpec("tickstock.stacks:legacy", {}),
                                  StackSpec("tickstock.stacks:multichannel",
                                            {"phase": "phase_1_parallel_testing"}),
                                  limit=20_000))
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness.pipeline.lifecycle import RunResult, RunSetup
from harness.pipeline.request import ReplayRequest
from harness.pipeline.shadow import shadow_run
from harness.pipeline.sharded import replay_sharded, sharded_plan
from harness.recordings.reader import open_recording
from harness.replay.outcome import CONCURRENT
from harness.replay.sources import Pace, open_source, paced
from harness.replay.split import TickFeed


def expected_ticks(request: ReplayRequest, plan: Any) -> int | None:
    """How many ticks the run should see (the progress bar's total), given `sharded_plan`."""
    if plan is not None:
        return int(plan.stored_rows)
    count = open_recording(request.recording).tick_count
    if request.filtered:
        return request.limit or count  # an upper bound
    return min(count, request.limit) if request.limit is not None else count


_UNPLANNED: Any = object()


def replay(
    request: ReplayRequest,
    progress: Callable[[int], None] | None = None,
    plan: Any = _UNPLANNED,
) -> RunResult:
    """Validate, pin, replay (one process or sharded), diff and finish one run.

    `plan`: `sharded_plan(request)` when the caller already has it (the CLI, for its progress
    bar)."""
    if plan is _UNPLANNED:
        plan = sharded_plan(request)  # validates the options; the recording is validated below
    if plan is not None:
        return replay_sharded(request, plan, progress)
    source, ticks, window = open_source(  # validates the recording first
        request.recording, request.tickers, request.start_ns, request.end_ns, request.limit
    )
    pace = Pace.parse(request.mode)
    setup = RunSetup(
        runs_dir=request.runs_dir,
        recording=source.as_dict(),
        mode=pace.label,
        filters=request.recorded_filters(),
        extra={"replay_request": request.recorded()},
        expected=source.expected,
        diff_config=request.diff_config,
        tick_lookup=window,
    )
    feed = tick_feed(request, pace.speed) if request.options.sides == CONCURRENT else None
    return shadow_run(paced(ticks, pace), request.spec, setup, progress, feed)


def tick_feed(request: ReplayRequest, speed: float, rebuild: int = 0) -> TickFeed:
    """The request's ticks as the side processes of a concurrent run read them."""
    return TickFeed(
        str(request.recording),
        tuple(request.tickers) if request.tickers else None,
        request.start_ns,
        request.end_ns,
        request.limit,
        speed,
        rebuild,
    )
