"""What one replay of a recording depends on: the `ReplayRequest`, and its record in the run.

The manifest's `replay_request` is this request written down (`recorded`), so a killed run can
be resumed with the same input (`from_recorded`); its two shapes ("one-process", "sharded")
are those of the runs already on disk.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.diff.align import DiffConfig
from harness.pipeline.lifecycle import recorded_spec
from harness.replay.faults import FaultSpec
from harness.replay.outcome import RunOptions
from harness.replay.shadow import RunSpec, StackSpec
from harness.store.runs import DEFAULT_ROOT


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

    @property
    def spec(self) -> RunSpec:
        return RunSpec(self.primary, self.candidate_spec, self.options, self.inject)

    @property
    def filtered(self) -> bool:
        return bool(self.tickers) or self.start_ns is not None or self.end_ns is not None

    def recorded_filters(self) -> dict[str, Any]:
        if self.filters is not None:
            return dict(self.filters)
        return {
            "tickers": list(self.tickers) if self.tickers else None,
            "from": self.start_ns,
            "to": self.end_ns,
            "limit": self.limit,
        }

    def recorded(self, buckets: int | None = None) -> dict[str, Any]:
        """The manifest's `replay_request`: sharded when `buckets` (the plan's) is given."""
        common = {
            "recording": str(self.recording),
            "tickers": list(self.tickers) if self.tickers else None,
            "start_ns": self.start_ns,
            "end_ns": self.end_ns,
        }
        diff = self.diff_config.as_dict() if self.diff_config is not None else None
        if buckets is None:
            request = {"kind": "one-process", **common, "limit": self.limit}
            return {**request, "diff_config": diff} if diff is not None else request
        return {
            "kind": "sharded",
            **common,
            "buckets": buckets,
            "workers": self.workers,
            "scheduler": self.scheduler,
            "shard_timeout_s": self.shard_timeout_s,
            "diff_config": diff,
        }

    @classmethod
    def from_recorded(cls, manifest: Mapping[str, Any], runs_dir: Path) -> ReplayRequest:
        """The request a run recorded, with the stacks, options and faults it ran with."""
        r = manifest["replay_request"]
        spec = recorded_spec(manifest)
        diff = r.get("diff_config")
        return cls(
            recording=Path(r["recording"]),
            primary=spec.primary,
            candidate=spec.candidate,
            options=spec.options,
            inject=spec.inject,
            tickers=r.get("tickers"),
            start_ns=r.get("start_ns"),
            end_ns=r.get("end_ns"),
            limit=r.get("limit"),
            mode=str(manifest.get("mode") or "afap"),
            runs_dir=runs_dir,
            diff_config=DiffConfig.from_dict(diff, "the run's diff config") if diff else None,
            workers=r.get("workers"),
            scheduler=r.get("scheduler"),
            shards=r.get("buckets"),
            shard_timeout_s=r.get("shard_timeout_s"),
            filters=manifest.get("filters"),
        )
