"""A live shadow session: feed → live source (recording as it goes) → shadow runner → run directory.

The same runner, run store, diff and summary as `harness replay` (the pipeline's lifecycle), so
a live run directory is indistinguishable from a replay's except for `mode: live` and a `live`
block in its manifest (gaps, drops, bad messages, lag). The recording is finalised even when the
session ends by Ctrl-C, duration, a lost feed or an error, so every session is replayable.

    result = run_live(LiveRequest(LiveConfig(url, key=key, duration_s=30),
                                  RunSpec.of(primary, candidate),
                                  record=RecordOptions(Path("recordings/live-test"))))
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from harness.core.model import OPTIONAL_COLUMNS
from harness.diff.align import DiffConfig
from harness.live.client import LiveConfig, LiveSource, LiveSummary
from harness.live.recorder import LiveRecorder
from harness.pipeline.lifecycle import RunResult, RunSetup, finish_run, running, start_run
from harness.recordings.manifest import WRITING_MARKER
from harness.recordings.reader import RecordingWriter
from harness.replay.shadow import RunSpec, shadow_shard
from harness.store.runs import DEFAULT_ROOT


@dataclass(frozen=True, slots=True)
class RecordOptions:
    """Where and how often the live recording is written."""

    path: Path
    flush_ticks: int = 20_000
    flush_seconds: float = 10.0
    overwrite: bool = False


@dataclass(frozen=True, slots=True)
class LiveResult:
    """A finished live session: the run, what the feed did, and the recording's manifest."""

    run: RunResult
    live: LiveSummary
    recording: dict[str, Any] | None


def public_url(url: str) -> str:
    """The URL without user info or query (where a key could hide): safe to log and store."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _recording_ref(
    record: RecordOptions | None, manifest: Mapping[str, Any] | None
) -> dict[str, Any] | None:
    if record is None:
        return None
    ref: dict[str, Any] = {"path": str(record.path), "name": record.path.name, "sha256": None}
    if manifest is not None:
        from harness.recordings.reader import open_recording

        ref.update(sha256=open_recording(record.path).sha256, tick_count=manifest.get("tick_count"))
    return ref


class _Interrupts:
    """While active, Ctrl-C ends the live source gracefully instead of tearing the run down."""

    def __init__(self, source: LiveSource) -> None:
        self._source = source
        self._previous: Any = None
        self._active = threading.current_thread() is threading.main_thread()

    def __enter__(self) -> _Interrupts:
        if self._active:
            self._previous = signal.signal(signal.SIGINT, self._on_sigint)
        return self

    def _on_sigint(self, signum: int, frame: FrameType | None) -> None:
        # first Ctrl-C: stop receiving, shadow what is queued, finalise; a second one aborts
        self._source.stop("interrupted")
        signal.signal(signal.SIGINT, signal.default_int_handler)

    def __exit__(self, *exc: object) -> None:
        if self._active:
            signal.signal(signal.SIGINT, self._previous)


@dataclass(frozen=True)
class LiveRequest:
    """Everything one live session depends on: the feed, the two stacks, where it goes."""

    live: LiveConfig
    spec: RunSpec
    runs_dir: str | Path = DEFAULT_ROOT
    record: RecordOptions | None = None
    diff_config: DiffConfig | None = None


def run_live(
    request: LiveRequest,
    progress: Callable[[int], None] | None = None,
    on_start: Callable[[str], None] | None = None,
) -> LiveResult:
    """Shadow both stacks on a live feed until duration / Ctrl-C / end of feed; record as it goes.

    Raises LiveError before creating anything when the feed is unreachable or refuses the key.
    The run goes through the pipeline's lifecycle (`start_run`, `running`, `finish_run`): a live
    run ends like any replay.
    """
    live, record, spec = request.live, request.record, request.spec
    recorder = None
    if record is not None:
        notes = {"url": public_url(live.url), "subscriptions": live.subscriptions}
        writer = RecordingWriter(
            record.path,
            source="polygon",
            notes=notes,
            columns=list(OPTIONAL_COLUMNS),
            overwrite=record.overwrite,
        )
        recorder = LiveRecorder(writer, record.flush_ticks, record.flush_seconds)
    source = LiveSource(live, sink=recorder)
    try:
        source.start()
    except BaseException:
        if recorder is not None:
            _discard_empty(recorder.writer)
        raise
    block = {
        "url": public_url(live.url),
        "subscriptions": live.subscriptions,
        "queue_size": live.queue_size,
        "duration_s": live.duration_s,
    }
    setup = RunSetup(
        runs_dir=request.runs_dir,
        recording=_recording_ref(record, None),
        mode="live",
        extra={"live": block},
        diff_config=request.diff_config,
    )
    run = start_run(spec, setup)
    if on_start is not None:
        on_start(str(run.path))

    def abort() -> None:
        source.stop("error")
        source.join()
        summary = source.summary()
        manifest = recorder.finalise() if recorder is not None else None
        run.update(live={**block, **summary.as_dict()}, recording=_recording_ref(record, manifest))

    with running(run, on_abort=abort), _Interrupts(source):
        outcome = shadow_shard(run.path, _stopping(source), spec, progress)
    source.stop("end")
    source.join()
    summary = source.summary()
    with running(run, on_abort=lambda: run.update(live={**block, **summary.as_dict()})):
        try:
            manifest = recorder.finalise() if recorder is not None else None
        except Exception as exc:
            run.finish("error", reason=f"recording failed: {exc}")
            raise
    run.update(live={**block, **summary.as_dict()}, recording=_recording_ref(record, manifest))
    bad = summary.bad_message_problem()
    setup = replace(setup, expected=summary.received)
    result = finish_run(run, [outcome], setup, problems=[bad] if bad else [])
    return LiveResult(result, summary, manifest)


def _stopping(source: LiveSource) -> Iterator[Any]:
    """Iterate the source; if the consumer stops early, stop the receiver too."""
    try:
        yield from source
    finally:
        source.stop("end")


def _discard_empty(writer: RecordingWriter) -> None:
    """Remove a recording directory this session created but never wrote a tick to."""
    writer.close_unfinalised()
    path = writer.path
    if any(path.glob("date=*/*.parquet")):
        return
    (path / WRITING_MARKER).unlink(missing_ok=True)
    for d in sorted(path.glob("date=*")):
        if d.is_dir() and not any(d.iterdir()):
            d.rmdir()
    if path.is_dir() and not any(path.iterdir()):
        path.rmdir()
