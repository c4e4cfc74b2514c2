"""The one way a recording is replayed: a `ReplayRequest` in, a finished run out.

Every entry point — `harness replay`, the CI regression gate and its pytest plugin, calibration —
builds a request and calls `replay(request)`, so each gets the same preconditions: the recording
is validated before anything runs (design.md §3), days with several shards are sharded (and
their rollout tickers pinned once), and the run records how to regenerate its input, so a killed
replay can be resumed (`harness.resume`)::

    result = replay(ReplayRequest(Path("recordings/sample-day"),
                                  StackSpec("tickstock.stacks:legacy", {}),
                                  StackSpec("tickstock.stacks:multichannel",
                                            {"phase": "phase_1_parallel_testing"}),
                                  limit=20_000))
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.align import DiffConfig
from harness.faults import FaultSpec
from harness.replay import RunResult, StackSpec, run_shadow
from harness.runner import RunOptions
from harness.store import DEFAULT_ROOT


@dataclass(frozen=True)
class ReplayRequest:
    """Everything one replay of a recording depends on (and nothing about how it is shown)."""

    recording: Path
    primary: StackSpec
    candidate: StackSpec | None = None  # None: A/A, the primary again (a fresh instance)
    options: RunOptions = field(default_factory=RunOptions)
    inject: FaultSpec = field(default_factory=FaultSpec)
    tickers: Sequence[str] | None = None
    start_ns: int | None = None
    end_ns: int | None = None
    limit: int | None = None  # the first N ticks (one-process runner only)
    mode: str = "afap"  # afap | realtime | speed=N
    runs_dir: Path = DEFAULT_ROOT
    diff_config: DiffConfig | None = None
    workers: int | None = None  # sharded: Dask workers (0: shards in this process)
    scheduler: str | None = None  # sharded: an existing cluster, tcp://host:port
    shards: int | None = None  # ticker buckets per day
    shard_timeout_s: float | None = None
    #: what the manifest's `filters` says, as the user gave it (default: from the fields above)
    filters: Mapping[str, Any] | None = None

    @property
    def candidate_spec(self) -> StackSpec:
        return self.primary if self.candidate is None else self.candidate

    def recorded_filters(self) -> dict[str, Any]:
        if self.filters is not None:
            return dict(self.filters)
        return {
            "tickers": list(self.tickers) if self.tickers else None,
            "from": self.start_ns,
            "to": self.end_ns,
            "limit": self.limit,
        }


def sharded(request: ReplayRequest) -> Any:
    """The shard plan when this request replays sharded, else None (the one-process runner)."""
    from harness.distributed import sharded_plan

    return sharded_plan(
        request.recording,
        request.workers,
        request.scheduler,
        request.shards,
        request.mode,
        request.limit,
        request.tickers,
        request.start_ns,
        request.end_ns,
    )


def expected_ticks(request: ReplayRequest, plan: Any) -> int | None:
    """How many ticks the run should see (the progress bar's total), given `sharded(request)`."""
    if plan is not None:
        return int(plan.stored_rows)
    from harness.recording import open_recording

    count = open_recording(request.recording).tick_count
    if request.tickers or request.start_ns is not None or request.end_ns is not None:
        return request.limit or count  # an upper bound
    return min(count, request.limit) if request.limit is not None else count


_UNPLANNED: Any = object()


def replay(
    request: ReplayRequest,
    progress: Callable[[int], None] | None = None,
    plan: Any = _UNPLANNED,
) -> RunResult:
    """Validate, pin, replay (one process or sharded), diff and finish one run.

    `plan`: `sharded(request)` when the caller already has it (the CLI, for its progress bar)."""
    if plan is _UNPLANNED:
        plan = sharded(request)  # validates the options; the recording is validated below
    if plan is not None:
        from harness.distributed import replay_recording

        return replay_recording(
            request.recording,
            request.primary,
            request.candidate_spec,
            request.options,
            request.inject,
            request.runs_dir,
            request.workers,
            request.scheduler,
            plan.buckets,
            list(request.tickers) if request.tickers else None,
            request.start_ns,
            request.end_ns,
            request.mode,
            request.recorded_filters(),
            request.diff_config,
            None,
            progress,
            request.shard_timeout_s,
        )
    from harness.sources import Pace, open_source, paced

    source, ticks, window = open_source(  # validates the recording first
        request.recording, request.tickers, request.start_ns, request.end_ns, request.limit
    )
    pace = Pace.parse(request.mode)
    candidate = request.candidate
    return run_shadow(
        paced(ticks, pace),
        request.primary.factory,
        None if candidate is None else candidate.factory,
        dict(request.primary.config),
        None if candidate is None else dict(candidate.config),
        request.options,
        request.inject,
        request.runs_dir,
        source.as_dict(),
        source.expected,
        pace.label,
        request.recorded_filters(),
        request.diff_config,
        window,
        progress,
        replay_request={
            "recording": str(request.recording),
            "tickers": list(request.tickers) if request.tickers else None,
            "start_ns": request.start_ns,
            "end_ns": request.end_ns,
            "limit": request.limit,
        },
    )
