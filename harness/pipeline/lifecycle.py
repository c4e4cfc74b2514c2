"""A run's life, written once: start (manifest, rules), running (abort → error/incomplete),
finish (audit, stack stats, diff, summary, status).

Every way of running — one process, sharded, resumed, live — goes through `start_run`, the
`running` context manager and `finish_run`, so a run ends the same way whichever path made it::

    writer = start_run(spec, setup)
    with running(writer):
        outcome = shadow_shard(writer.path, ticks, spec)
        return finish_run(writer, [outcome], setup)
"""

from __future__ import annotations

import contextlib
import functools
import platform
import subprocess
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import harness
from harness.core.errors import IncompleteRunError
from harness.core.model import SIDES
from harness.diff import rulebook
from harness.diff.align import DiffConfig
from harness.diff.classify import TickLookup, classify, event_hashes, first_divergence
from harness.diff.rules_file import load_rules
from harness.diff.summary import build
from harness.replay.faults import FaultSpec
from harness.replay.outcome import RunOptions, RunOutcome, StackCounts
from harness.replay.shadow import RunSpec, StackSpec
from harness.replay.threads import ThreadCpu
from harness.store.runs import DEFAULT_ROOT, Run, RunWriter, require_finished


@dataclass(frozen=True, slots=True)
class RunResult:
    """What a finished run hands back: where it is, how it ended, its summary."""

    run_id: str
    path: Path
    status: str
    summary: dict[str, Any]
    reason: str | None = None


@dataclass(frozen=True)
class RunSetup:
    """Where a run is stored, what its manifest says about its input, and how it is diffed."""

    runs_dir: str | Path = DEFAULT_ROOT
    recording: Mapping[str, Any] | None = None  # {path, name, sha256, tick_count}
    mode: str = "afap"
    filters: Mapping[str, Any] | None = None
    shards: int = 1
    extra: Mapping[str, Any] = field(default_factory=dict)  # more manifest fields
    expected: int | None = None  # ticks the source holds: the audit's reference
    diff_config: DiffConfig | None = None
    tick_lookup: TickLookup | None = None  # full recording ticks for first_divergence.json


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


def start_run(spec: RunSpec, setup: RunSetup = RunSetup()) -> RunWriter:
    """Create the run directory and its `running` manifest (status, heartbeat, inputs, seed)."""
    options = spec.options
    manifest = {
        "recording": dict(setup.recording) if setup.recording else None,
        "primary": spec.primary.as_dict(),
        "candidate": spec.candidate.as_dict(),
        "aa": spec.aa,
        "versions": _versions(),
        "git_sha": _git_sha(),
        "seed": options.seed,
        "mode": setup.mode,
        "filters": dict(setup.filters or {}),
        "inject": spec.inject.as_dict() if spec.inject.active else None,
        "options": {
            "tick_timeout_s": options.tick_timeout_s,
            "max_hangs": options.max_hangs,
            "batch_size": options.batch_size,
            "cpu_sample": options.cpu_sample,
            "memory_probe": options.memory_probe,
            "sides": options.sides,
        },
        "shards": setup.shards,
        **dict(setup.extra),
    }
    # The rules this run will be judged by are fixed now, from where the recording lives (not from
    # wherever a later `harness gate` happens to run): validated before the run directory exists.
    rec_path = (setup.recording or {}).get("path")
    rules_file = rulebook.discover(rec_path if rec_path else Path.cwd())
    if rules_file is not None:
        load_rules(rules_file)
    writer = RunWriter(setup.runs_dir, manifest)
    writer.update(accepted_differences=rulebook.snapshot(writer.path, rules_file))
    return writer


@contextlib.contextmanager
def running(writer: RunWriter, on_abort: Callable[[], None] | None = None) -> Iterator[RunWriter]:
    """The body of a started run: if it raises, the run is marked before the error goes on.

    Ctrl-C marks it `incomplete` ("interrupted") and raises IncompleteRunError (exit 5); any
    other exception marks it `error` with the exception as reason. `on_abort` runs first (e.g.
    discard staged shard parts, stop a live feed). A run the body already finished (a failed
    diff marks its own error) is left as it is."""
    try:
        yield writer
    except BaseException as exc:
        if on_abort is not None:
            on_abort()
        interrupted = isinstance(exc, KeyboardInterrupt)
        if writer.manifest.get("status") == "running":
            if interrupted:
                writer.finish("incomplete", reason="interrupted")
            else:
                writer.finish("error", reason=f"{type(exc).__name__}: {exc}")
        if interrupted:
            raise IncompleteRunError(
                f"run {writer.run_id} interrupted; marked incomplete"
            ) from None
        raise


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
    setup: RunSetup = RunSetup(),
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
    expected = setup.expected
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
        functools.reduce(ThreadCpu.plus, (o.threads for o in outcomes), ThreadCpu()),
    )
    audit = total.audit()
    audit["expected"] = expected
    status = "complete" if total.audit_ok else "incomplete"
    reason = aborted or ("; ".join(problems) if problems else None)
    writer.write_json("stack_stats.json", total.stats)
    writer.update(
        audit=audit,
        wall_s=round(total.wall_ns / 1e9, 3),
        reason=reason,
        stack_threads=total.threads.as_dict(),
    )
    try:
        # the summary reports the status the run is about to get
        final = {**writer.manifest, "status": status}
        summary = diff_run(Run(writer.path), setup.diff_config, setup.tick_lookup, manifest=final)
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


def recorded_spec(manifest: Mapping[str, Any]) -> RunSpec:
    """The stacks, options and faults exactly as `start_run` recorded them (pinned configs too)."""
    p, c = manifest["primary"], manifest["candidate"]
    inject = manifest.get("inject")
    return RunSpec(
        StackSpec(p["factory"], dict(p.get("config") or {})),
        StackSpec(c["factory"], dict(c.get("config") or {})),
        RunOptions(seed=int(manifest.get("seed", 0)), **dict(manifest.get("options") or {})),
        FaultSpec(**inject) if inject else FaultSpec(),
    )
