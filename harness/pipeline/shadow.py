"""One process, any tick iterable (a recording, a feed, a test's list) → one finished run.

result = run_shadow(ticks, primary="tickstock.stacks:legacy",
                    candidate="tickstock.stacks:multichannel",
                    candidate_config={"phase": "phase_1_parallel_testing"})
result.status, result.path, result.summary
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from harness.pipeline.lifecycle import RunResult, RunSetup, finish_run, running, start_run
from harness.replay.shadow import RunSpec, close_quietly, load_pair, shadow_shard
from harness.store.runs import DEFAULT_ROOT


def shadow_run(
    ticks: Iterable[Any],
    spec: RunSpec,
    setup: RunSetup | None = None,
    progress: Callable[[int], None] | None = None,
    feed: Any = None,
) -> RunResult:
    """Shadow `spec`'s two stacks over `ticks` as one run: start, shadow, finish.

    `feed`: the same ticks as a `TickFeed`, for `options.sides == "concurrent"`."""
    setup = setup or RunSetup()
    stacks = load_pair(spec.primary, spec.candidate)  # a stack that cannot start: no run dir
    try:
        writer = start_run(spec, setup)
    except BaseException:
        close_quietly(*stacks)
        raise
    with running(writer):
        outcome = shadow_shard(writer.path, ticks, spec, progress, stacks, feed=feed)
        return finish_run(writer, [outcome], setup)


def run_shadow(
    ticks: Iterable[Any],
    primary: str,
    candidate: str | None = None,
    *,
    root: str | Path = DEFAULT_ROOT,
    **stacks: Any,
) -> RunResult:
    """Shadow primary and candidate (the primary again when None: A/A) over any tick iterable.

    `stacks`: primary_config, candidate_config, options, inject, as `RunSpec.of` takes them. The
    notebook-friendly form of `shadow_run`; recordings go through `harness.pipeline.replay`
    (validation, sharding, resume)."""
    spec = RunSpec.of(primary, candidate, **stacks)
    return shadow_run(ticks, spec, RunSetup(runs_dir=root))
