"""One shadow replay end to end: stacks → runner → run store → diff → summary (the Runner API).

Any tick iterable works (a recording, a websocket feed, a shard of tickers)::

    result = run_shadow(ticks, primary="tickstock.stacks:legacy",
                        candidate="tickstock.stacks:multichannel",
                        candidate_config={"phase": "phase_1_parallel_testing"})
    result.status, result.path, result.summary

Sharded runs (Dask) call `start_run` once, `shadow_shard` per shard (each writes its own part
files into the same run directory) and `finish_run` with all shard outcomes.
"""

from __future__ import annotations

import contextlib
import platform
import subprocess
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import harness
from harness import rulebook
from harness.align import DiffConfig
from harness.compare import TickLookup, classify, event_hashes, first_divergence
from harness.errors import IncompleteRunError
from harness.faults import FaultSpec, FaultyStack
from harness.ignore import load_rules
from harness.run_summary import build
from harness.runner import SIDES, RunOptions, RunOutcome, ShadowRunner, StackCounts
from harness.stack import load_stack
from harness.store import DEFAULT_ROOT, Run, RunWriter, require_finished

DEFAULT_OPTIONS = RunOptions()
NO_FAULTS = FaultSpec()


@dataclass(frozen=True, slots=True)
class StackSpec:
    """A stack factory string and its config."""

    factory: str
    config: Mapping[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"factory": self.factory, "config": dict(self.config)}


@dataclass(frozen=True, slots=True)
class RunResult:
    """What a finished run hands back: where it is, how it ended, its summary."""

    run_id: str
    path: Path
    status: str
    summary: dict[str, Any]
    reason: str | None = None


def _git_sha() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(harness.__file__).parent,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None


def _versions() -> dict[str, str | None]:
    try:
        import tickstock

        ts_version = getattr(tickstock, "__version__", None)
    except ImportError:
        ts_version = None
    return {
        "harness": harness.__version__,
        "tickstock": ts_version,
        "python": platform.python_version(),
    }


def start_run(
    primary: StackSpec,
    candidate: StackSpec,
    options: RunOptions = DEFAULT_OPTIONS,
    inject: FaultSpec = NO_FAULTS,
    root: str | Path = DEFAULT_ROOT,
    recording: Mapping[str, Any] | None = None,
    mode: str = "afap",
    filters: Mapping[str, Any] | None = None,
    shards: int = 1,
    extra: Mapping[str, Any] | None = None,
) -> RunWriter:
    """Create the run directory and its `running` manifest (status, heartbeat, inputs, seed)."""
    manifest = {
        "recording": dict(recording) if recording else None,
        "primary": primary.as_dict(),
        "candidate": candidate.as_dict(),
        "aa": primary == candidate,
        "versions": _versions(),
        "git_sha": _git_sha(),
        "seed": options.seed,
        "mode": mode,
        "filters": dict(filters or {}),
        "inject": inject.as_dict() if inject.active else None,
        "options": {
            "tick_timeout_s": options.tick_timeout_s,
            "max_hangs": options.max_hangs,
            "batch_size": options.batch_size,
            "cpu_sample": options.cpu_sample,
            "memory_probe": options.memory_probe,
        },
        "shards": shards,
        **dict(extra or {}),
    }
    # The rules this run will be judged by are fixed now, from where the recording lives (not from
    # wherever a later `harness gate` happens to run): validated before the run directory exists.
    rec_path = (recording or {}).get("path")
    rules_file = rulebook.discover(rec_path if rec_path else Path.cwd())
    if rules_file is not None:
        load_rules(rules_file)
    writer = RunWriter(root, manifest)
    writer.update(accepted_differences=rulebook.snapshot(writer.path, rules_file))
    return writer


def shadow_shard(
    run_dir: str | Path,
    ticks: Iterable[Any],
    primary: StackSpec,
    candidate: StackSpec,
    options: RunOptions = DEFAULT_OPTIONS,
    inject: FaultSpec = NO_FAULTS,
    progress: Callable[[int], None] | None = None,
    stacks: tuple[Any, Any] | None = None,
    skip: int = 0,
    first_batch: int = 0,
) -> RunOutcome:
    """Load both stacks (unless given), shadow `ticks` into run_dir's parts for `options.shard`.

    Resuming: the first `skip` ticks (batches before `first_batch`) are already stored."""
    from harness.store import PartSink

    p, c = stacks if stacks is not None else load_pair(primary, candidate)
    if inject.active:
        c = FaultyStack(c, inject, options.seed)
    try:
        sink = PartSink(Path(run_dir), options.shard, first_batch)
        return ShadowRunner(p, c, sink, options, skip).run(ticks, progress)
    finally:
        for stack in (p, c):
            with contextlib.suppress(
                Exception
            ):  # a stack failing to close is not the run's problem
                stack.close()


def load_pair(primary: StackSpec, candidate: StackSpec) -> tuple[Any, Any]:
    """Build both stacks (fresh instances even in A/A); closes the first if the second fails."""
    p = load_stack(primary.factory, primary.config)
    try:
        c = load_stack(candidate.factory, candidate.config)
    except BaseException:
        with contextlib.suppress(Exception):
            p.close()
        raise
    return p, c


def _merge_stats(outcomes: list[RunOutcome]) -> dict[str, Any]:
    if len(outcomes) == 1:
        return outcomes[0].stats
    merged: dict[str, Any] = {}
    for side in SIDES:
        acc: dict[str, Any] = dict(outcomes[0].stats.get(side, {}))
        for o in outcomes[1:]:
            for k, v in o.stats.get(side, {}).items():
                if (
                    isinstance(v, int | float)
                    and not isinstance(v, bool)
                    and isinstance(acc.get(k), int | float)
                ):
                    acc[k] = acc[k] + v
        merged[side] = acc
    merged["by_shard"] = [o.stats for o in outcomes]
    return merged


def finish_run(
    writer: RunWriter,
    outcomes: list[RunOutcome],
    expected: int | None = None,
    diff_config: DiffConfig | None = None,
    tick_lookup: TickLookup | None = None,
    problems: Sequence[str] = (),
) -> RunResult:
    """Merge shard audits, write stack stats, diff and summary, and set the final status.

    `problems`: what the source itself reports it could not deliver (e.g. unreadable feed
    frames); any makes the run incomplete."""
    read = sum(o.read for o in outcomes)
    counts = {
        side: StackCounts(
            *(
                sum(getattr(getattr(o, side), f) for o in outcomes)
                for f in ("processed", "errored", "timed_out", "events")
            )
        )
        for side in SIDES
    }
    problems = [*problems, *(p for o in outcomes for p in o.audit_problems)]
    aborted = next((o.aborted for o in outcomes if o.aborted), None)
    if expected is not None and aborted is None and read != expected:
        problems.append(f"read {read} ticks but the source holds {expected}")
    total = RunOutcome(
        read,
        counts["primary"],
        counts["candidate"],
        _merge_stats(outcomes),
        sum(o.wall_ns for o in outcomes),
        aborted,
        tuple(problems),
    )
    audit = total.audit()
    audit["expected"] = expected
    status = "complete" if total.audit_ok else "incomplete"
    reason = aborted or ("; ".join(problems) if problems else None)
    writer.write_json("stack_stats.json", total.stats)
    writer.update(audit=audit, wall_s=round(total.wall_ns / 1e9, 3), reason=reason)
    try:
        # the summary reports the status the run is about to get
        final = {**writer.manifest, "status": status}
        summary = diff_run(Run(writer.path), diff_config, tick_lookup, manifest=final)
    except BaseException as exc:
        writer.finish("error", reason=f"diff failed: {type(exc).__name__}: {exc}")
        raise
    writer.finish(status)
    return RunResult(writer.run_id, writer.path, status, summary, reason)


def diff_run(
    run: Run,
    diff_config: DiffConfig | None = None,
    tick_lookup: TickLookup | None = None,
    manifest: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """(Re-)diff a stored run: writes diff.parquet, first_divergence.json, summary.json.

    Without `manifest` (a re-diff of a stored run, not the finish of a replay) the run must have
    finished: a killed replay's parts are a fragment (`store.require_finished`)."""
    if manifest is None:
        require_finished(run.path, run.manifest)
    stats: dict[str, Any] = {}
    if (run.path / "stack_stats.json").exists():
        stats = run.json("stack_stats.json")
    # Only the primary (the reference) may declare fields ignorable: a candidate that declared
    # `price` ignorable would otherwise hide its own price changes from the diff.
    declared = list((stats.get("primary", {}) or {}).get("ignorable_fields", []))
    cfg = (diff_config or DiffConfig()).with_ignored(declared)
    con = run.connect(with_diff=False)
    try:
        classify(con, cfg)
        run.write_query_parquet("select * from diff", "diff.parquet", con)
        divergence = first_divergence(con, ticks=tick_lookup)
        run.write_json("first_divergence.json", divergence if divergence else {"seq": None})
        summary = build(
            con, dict(manifest or run.manifest), event_hashes(con, cfg.ignore), divergence
        )
    finally:
        con.close()
    summary["diff_config"] = cfg.as_dict()
    summary["reason"] = (manifest or run.manifest).get("reason")
    run.write_json("summary.json", summary)
    run.refresh()
    return summary


def run_shadow(
    ticks: Iterable[Any],
    primary: str,
    candidate: str | None = None,
    primary_config: Mapping[str, Any] | None = None,
    candidate_config: Mapping[str, Any] | None = None,
    options: RunOptions = DEFAULT_OPTIONS,
    inject: FaultSpec = NO_FAULTS,
    root: str | Path = DEFAULT_ROOT,
    recording: Mapping[str, Any] | None = None,
    expected: int | None = None,
    mode: str = "afap",
    filters: Mapping[str, Any] | None = None,
    diff_config: DiffConfig | None = None,
    tick_lookup: TickLookup | None = None,
    progress: Callable[[int], None] | None = None,
    extra_manifest: Mapping[str, Any] | None = None,
    replay_request: Mapping[str, Any] | None = None,
) -> RunResult:
    """Shadow primary and candidate (the primary again when None: A/A) over any tick iterable.

    `replay_request` (recording path and filters that regenerate `ticks`) makes the run
    resumable after a crash (`harness.resume`)."""
    if replay_request is not None:
        request = {"kind": "one-process", **dict(replay_request)}
        if diff_config is not None:
            request["diff_config"] = diff_config.as_dict()
        extra_manifest = {**dict(extra_manifest or {}), "replay_request": request}
    p = StackSpec(primary, dict(primary_config or {}))
    c = p if candidate is None else StackSpec(candidate, dict(candidate_config or {}))
    stacks = load_pair(p, c)  # a stack that cannot start fails before a run directory exists
    try:
        writer = start_run(p, c, options, inject, root, recording, mode, filters, 1, extra_manifest)
    except BaseException:
        for stack in stacks:
            with contextlib.suppress(Exception):
                stack.close()
        raise
    try:
        outcome = shadow_shard(writer.path, ticks, p, c, options, inject, progress, stacks)
    except KeyboardInterrupt:
        writer.finish("incomplete", reason="interrupted")
        raise IncompleteRunError(f"run {writer.run_id} interrupted; marked incomplete") from None
    except BaseException as exc:
        writer.finish("error", reason=f"{type(exc).__name__}: {exc}")
        raise
    return finish_run(writer, [outcome], expected, diff_config, tick_lookup)
