"""Both stacks over one tick stream into one shard's part files: the unit every run is made of.

A one-process replay is one such shard, a sharded replay many (one per Dask task), a live
session one fed from the socket; the run around them (manifest, diff, status) is the
pipeline's (`harness.pipeline.lifecycle`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.replay.faults import FaultSpec, FaultyStack
from harness.replay.outcome import CONCURRENT, RunOptions, RunOutcome
from harness.replay.runner import ShadowRunner
from harness.replay.stack import load_stack
from harness.replay.threads import ThreadLedger
from harness.store.parts import PartSink


@dataclass(frozen=True, slots=True)
class StackSpec:
    """A stack factory string and its config."""

    factory: str
    config: Mapping[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"factory": self.factory, "config": dict(self.config)}


@dataclass(frozen=True, slots=True)
class RunSpec:
    """The two stacks of a run and how they are driven: all a shard needs besides its ticks."""

    primary: StackSpec
    candidate: StackSpec
    options: RunOptions = field(default_factory=RunOptions)
    inject: FaultSpec = field(default_factory=FaultSpec)

    @property
    def aa(self) -> bool:
        return self.primary == self.candidate

    @classmethod
    def of(
        cls,
        primary: str,
        candidate: str | None = None,
        primary_config: Mapping[str, Any] | None = None,
        candidate_config: Mapping[str, Any] | None = None,
        options: RunOptions | None = None,
        inject: FaultSpec | None = None,
    ) -> RunSpec:
        """From factory strings; no candidate means A/A (the primary again, a fresh instance)."""
        p = StackSpec(primary, dict(primary_config or {}))
        c = p if candidate is None else StackSpec(candidate, dict(candidate_config or {}))
        return cls(p, c, options or RunOptions(), inject or FaultSpec())


def close_quietly(*stacks: Any) -> None:
    """Close stacks whose run is over: a stack failing to close is not the run's problem."""
    for stack in stacks:
        with contextlib.suppress(Exception):
            stack.close()


@dataclass(frozen=True, slots=True)
class LoadedPair:
    """Both stacks, built; `threads` was taken before they were, so the threads they start are
    theirs (harness/replay/threads.py). Unpacks as (primary, candidate)."""

    primary: Any
    candidate: Any
    threads: ThreadLedger

    def __iter__(self) -> Iterator[Any]:
        return iter((self.primary, self.candidate))


def load_pair(primary: StackSpec, candidate: StackSpec) -> LoadedPair:
    """Build both stacks (fresh instances even in A/A); closes the first if the second fails."""
    threads = ThreadLedger.before()
    p = load_stack(primary.factory, primary.config)
    try:
        c = load_stack(candidate.factory, candidate.config)
    except BaseException:
        close_quietly(p)
        raise
    threads.built()
    return LoadedPair(p, c, threads)


def shadow_shard(
    run_dir: str | Path,
    ticks: Iterable[Any],
    spec: RunSpec,
    progress: Callable[[int], None] | None = None,
    stacks: LoadedPair | None = None,
    skip: int = 0,
    first_batch: int = 0,
    feed: Any = None,
) -> RunOutcome:
    """Load both stacks (unless given), shadow `ticks` into run_dir's parts for `options.shard`.

    Resuming: the first `skip` ticks (batches before `first_batch`) are already stored.
    `feed` (a `TickFeed` of the same ticks): with `options.sides == "concurrent"` each stack
    runs in a process of its own, reading the ticks from it (`harness.replay.split`)."""
    if feed is not None and spec.options.sides == CONCURRENT:
        from harness.replay.split import SplitRunner

        if stacks is not None:  # loaded to fail fast; the side processes load their own
            close_quietly(*stacks)
        sink = PartSink(Path(run_dir), spec.options.shard, first_batch)
        return SplitRunner(spec, feed, sink, skip).run(progress=progress)
    pair = stacks if stacks is not None else load_pair(spec.primary, spec.candidate)
    p, c = pair
    if spec.inject.active:
        c = FaultyStack(c, spec.inject, spec.options.seed)
    try:
        sink = PartSink(Path(run_dir), spec.options.shard, first_batch)
        return ShadowRunner(p, c, sink, spec.options, skip, pair.threads).run(ticks, progress)
    finally:
        close_quietly(p, c)
