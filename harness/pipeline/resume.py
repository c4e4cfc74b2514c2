"""Resume a killed replay: continue from the run's durable point to the same result.

A replay records how to regenerate its input (`manifest["replay_request"]`, a `ReplayRequest`
written down). What is durable:

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
import itertools
from collections.abc import Callable, Mapping
from pathlib import Path

from harness.core.errors import StoreError
from harness.pipeline.lifecycle import RunResult, RunSetup, finish_run, running
from harness.pipeline.replay import tick_feed
from harness.pipeline.request import ReplayRequest
from harness.pipeline.sharded import resume_sharded
from harness.replay.outcome import CONCURRENT
from harness.replay.shadow import load_pair, shadow_shard
from harness.replay.sources import Pace, open_source, paced
from harness.store.parts import committed_batches
from harness.store.runs import RunWriter, read_json

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
    if not isinstance(manifest.get("replay_request"), Mapping):
        raise StoreError(
            f"run {path.name} cannot be resumed: it records no replay request "
            "(live runs and runs of harness versions before resume)"
        )
    writer = RunWriter.resume(path)
    with running(writer):
        for name in DERIVED:
            with contextlib.suppress(FileNotFoundError):
                (path / name).unlink()
        request = ReplayRequest.from_recorded(writer.manifest, path.parent)
        if writer.manifest["replay_request"].get("kind") == "sharded":
            return resume_sharded(writer, request, progress)
        return _resume_one_process(writer, request, progress)


def _resume_one_process(
    writer: RunWriter, request: ReplayRequest, progress: Callable[[int], None] | None
) -> RunResult:
    m = writer.manifest
    batches, stored = committed_batches(writer.path, 0)
    source, ticks, window = open_source(
        request.recording, request.tickers, request.start_ns, request.end_ns, request.limit
    )
    if source.sha256 != (m.get("recording") or {}).get("sha256"):
        raise StoreError(
            f"run {writer.run_id}: recording {request.recording} changed since the run "
            f"started (sha256 {str(source.sha256)[:12]}…, the run has "
            f"{str((m.get('recording') or {}).get('sha256'))[:12]}…); it cannot be resumed"
        )
    writer.note_resume(from_ticks=stored)
    pace = Pace.parse(request.mode)
    if pace.label != "afap":  # the stored prefix is rebuilt as fast as possible, then paced
        ticks = itertools.chain(itertools.islice(ticks, stored), paced(ticks, pace))
    spec = request.spec
    stacks = load_pair(spec.primary, spec.candidate)
    feed = tick_feed(request, pace.speed, stored) if spec.options.sides == CONCURRENT else None
    outcome = shadow_shard(writer.path, ticks, spec, progress, stacks, stored, batches, feed)
    setup = RunSetup(expected=source.expected, diff_config=request.diff_config, tick_lookup=window)
    return finish_run(writer, [outcome], setup)
