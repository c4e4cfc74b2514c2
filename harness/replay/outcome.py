"""What a shadow runner is told (`RunOptions`), where its batches go (`Sink`) and what it
reports (`RunOutcome`: the conservation audit, stats, why it stopped early)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import pyarrow as pa

from harness.core.errors import ConfigError
from harness.core.model import SIDES
from harness.replay.threads import ThreadCpu

#: How the two stacks of a run share the machine (`RunOptions.sides`); CONCURRENT runs each in
#: a process of its own (harness.replay.split).
INTERLEAVED, CONCURRENT = "interleaved", "concurrent"
SIDE_MODES = (INTERLEAVED, CONCURRENT)
#: A concurrent run's side processes trade cores every SWAP_TICKS ticks (harness.replay.split);
#: a swap cycle (two blocks) times each side once on each core, and is what the gates' cluster
#: bootstrap resamples (harness.gates.bootstrap.swap_cycles). Measured on the sample day (A/A,
#: legacy twice, the gate's ratio of medians): never swapping 0.93–1.14; every 512 ticks
#: 1.003–1.013 (65,536-tick batches then always end at the same block parity, so the parent's
#: merge work always lands beside the same side); every 500 ticks 1.002–1.003; every 128 no
#: better and slower.
SWAP_TICKS = 500


class Sink(Protocol):
    """Where batches go: the run store writes each as one Parquet part file."""

    def write_observations(self, table: pa.Table) -> None: ...

    def write_events(self, side: str, table: pa.Table) -> None: ...


@dataclass(frozen=True, slots=True)
class RunOptions:
    """Knobs of one shadow run; all recorded in the manifest."""

    seed: int = 0
    tick_timeout_s: float | None = 5.0
    max_hangs: int = 3  # consecutive timeouts on one ticker that abort the run
    batch_size: int = 65_536
    flush_interval_s: float = 5.0  # write a partial batch at least this often (live feeds)
    cpu_sample: int = 16  # measure CPU time on every Nth tick (0 = never, 1 = every tick)
    memory_probe: int = 64  # measure the bytes each stack keeps on every Nth tick (0 = never)
    gc_between_batches: bool = True  # collect garbage between batches, never inside a timed call
    shard: int = 0
    #: "interleaved": both stacks in this process, in a seeded order per tick; "concurrent":
    #: each in a process of its own (harness.replay.split; one-process replays of a recording)
    sides: str = INTERLEAVED

    def __post_init__(self) -> None:
        if self.sides not in SIDE_MODES:
            raise ConfigError(f"sides {self.sides!r}: use one of {', '.join(SIDE_MODES)}")


@dataclass(frozen=True, slots=True)
class StackCounts:
    """What the harness saw one stack do."""

    processed: int
    errored: int
    timed_out: int
    events: int


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """The runner's account of a run: conservation audit, stats, why it stopped early (if so)."""

    read: int
    primary: StackCounts
    candidate: StackCounts
    stats: dict[str, Any]
    wall_ns: int
    aborted: str | None = None
    audit_problems: tuple[str, ...] = field(default_factory=tuple)
    #: CPU of threads the stacks started, used while shadowed (not in any call's time)
    threads: ThreadCpu = field(default_factory=ThreadCpu)

    @property
    def audit_ok(self) -> bool:
        return not self.audit_problems and self.aborted is None

    def audit(self) -> dict[str, Any]:
        """The manifest's `audit` block: ticks read = processed + errored + timed_out, per stack."""
        out: dict[str, Any] = {"read": self.read}
        for side in SIDES:
            c: StackCounts = getattr(self, side)
            out[side] = {
                "processed": c.processed,
                "errored": c.errored,
                "timed_out": c.timed_out,
                "events": c.events,
            }
        out["ok"] = self.audit_ok
        out["problems"] = list(self.audit_problems)
        return out
