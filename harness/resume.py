"""Resume a killed replay: continue from the run's durable point to the same result.

A replay records how to regenerate its input (`manifest["replay_request"]`: recording, filters,
executor, diff config). What is durable:

- one-process runs: every batch whose observation part exists (`store.committed_batches`);
  the resumed runner replays the stored prefix through fresh stacks without writing it again
  (deterministic replays rebuild the same state: same ticks, same calls, same order) and
  writes on from there;
- sharded runs: every shard with a commit record (`RUN/shards/<index>.json`, written after its
  parts moved in); the others are replayed from their start.

Diff, summary and verdicts are derived files: removed, then recomputed at the end. The result
is the run an uninterrupted replay would have written: same events (hash), diff and verdict::

    result = resume_run("reports/runs/20261204T101500Z-ab12cd34")
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from harness.errors import IncompleteRunError, StoreError
from harness.faults import FaultSpec
from harness.replay import RunResult, StackSpec, finish_run, load_pair, shadow_shard
from harness.runner import RunOptions
from harness.store import RunWriter, committed_batches, read_json

#: Files computed from the parts: stale once the parts change, recomputed by the resumed run.
DERIVED = (
    "diff.parquet",
    "first_divergence.json",
    "summary.json",
    "stack_stats.json",
    "verdict.json",
    "junit.xml",
    "report.html",
    "report.md",
)


def resume_run(run_dir: str | Path, progress: Callable[[int], None] | None = None) -> RunResult:
    """Finish a killed replay from its last durable point (see the module docstring)."""
    path = Path(run_dir)
    manifest = read_json(path / "manifest.json")
    request = manifest.get("replay_request")
    if not isinstance(request, Mapping):
        raise StoreError(
            f"run {path.name} cannot be resumed: it records no replay request "
            "(live runs and runs of harness versions before resume)"
        )
    writer = RunWriter.resume(path)
    try:
        for name in DERIVED:
            with contextlib.suppress(FileNotFoundError):
                (path / name).unlink()
        if request.get("kind") == "sharded":
            from harness.distributed import resume_sharded

            return resume_sharded(writer, request, progress)
        return _resume_one_process(writer, request, progress)
    except BaseException as exc:
        if writer.manifest.get("status") == "running":
            status = "incomplete" if isinstance(exc, KeyboardInterrupt) else "error"
            why = "interrupted" if status == "incomplete" else f"{type(exc).__name__}: {exc}"
            writer.finish(status, reason=why)
        if isinstance(exc, KeyboardInterrupt):
            raise IncompleteRunError(
                f"run {writer.run_id} interrupted; marked incomplete"
            ) from None
        raise


def specs(manifest: Mapping[str, Any]) -> tuple[StackSpec, StackSpec]:
    """The two stacks exactly as the run configured them (pinned configs included)."""
    p, c = manifest["primary"], manifest["candidate"]
    return (
        StackSpec(p["factory"], dict(p.get("config") or {})),
        StackSpec(c["factory"], dict(c.get("config") or {})),
    )


def options_of(manifest: Mapping[str, Any]) -> RunOptions:
    return RunOptions(seed=int(manifest.get("seed", 0)), **dict(manifest.get("options") or {}))


def faults_of(manifest: Mapping[str, Any]) -> FaultSpec:
    inject = manifest.get("inject")
    return FaultSpec(**inject) if inject else FaultSpec()


def diff_config_of(request: Mapping[str, Any]) -> Any:
    from harness.align import DiffConfig

    data = request.get("diff_config")
    return DiffConfig.from_dict(data, "the run's diff config") if data else None


def _resume_one_process(
    writer: RunWriter, request: Mapping[str, Any], progress: Callable[[int], None] | None
) -> RunResult:
    from harness.sources import Pace, open_source, paced

    m = writer.manifest
    primary, candidate = specs(m)
    options = options_of(m)
    batches, stored = committed_batches(writer.path, 0)
    source, ticks, window = open_source(
        request["recording"],
        request.get("tickers"),
        request.get("start_ns"),
        request.get("end_ns"),
        request.get("limit"),
    )
    if source.sha256 != (m.get("recording") or {}).get("sha256"):
        raise StoreError(
            f"run {writer.run_id}: recording {request['recording']} changed since the run "
            f"started (sha256 {str(source.sha256)[:12]}…, the run has "
            f"{str((m.get('recording') or {}).get('sha256'))[:12]}…); it cannot be resumed"
        )
    writer.note_resume(from_ticks=stored)
    pace = Pace.parse(str(m.get("mode") or "afap"))
    if pace.label != "afap":  # the stored prefix is rebuilt as fast as possible, then paced
        import itertools

        ticks = itertools.chain(itertools.islice(ticks, stored), paced(ticks, pace))
    stacks = load_pair(primary, candidate)
    outcome = shadow_shard(
        writer.path,
        ticks,
        primary,
        candidate,
        options,
        faults_of(m),
        progress,
        stacks,
        skip=stored,
        first_batch=batches,
    )
    return finish_run(writer, [outcome], source.expected, diff_config_of(request), window)
