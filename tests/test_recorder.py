"""The live recorder: rolling, crash-safe part files while a session runs."""

from __future__ import annotations

from pathlib import Path

from _livedata import sample_ticks

from harness.core.model import OPTIONAL_COLUMNS
from harness.live.recorder import LiveRecorder
from harness.recordings.reader import (
    RecordingWriter,
    check_recording,
    open_recording,
    repair_recording,
)


def _writer(path: Path) -> RecordingWriter:
    return RecordingWriter(path, source="polygon", columns=list(OPTIONAL_COLUMNS))


def test_every_n_ticks_a_part_file_is_closed_and_finalise_writes_the_manifest(
    tmp_path: Path,
) -> None:
    recorder = LiveRecorder(_writer(tmp_path / "rec"), flush_ticks=25, flush_seconds=3600)
    ticks = sample_ticks(60)
    for tick in ticks:
        recorder.write(tick)
    recorder.wait()
    assert recorder.flushes == 2 and len(list((tmp_path / "rec").glob("date=*/*.parquet"))) == 2
    manifest = recorder.finalise()
    assert manifest["tick_count"] == 60 and len(manifest["files"]) == 3
    check_recording(tmp_path / "rec")
    assert list(open_recording(tmp_path / "rec").ticks()) == ticks


def test_a_quiet_feed_is_flushed_after_t_seconds(tmp_path: Path) -> None:
    now = [0.0]
    recorder = LiveRecorder(
        _writer(tmp_path / "rec"), flush_ticks=1000, flush_seconds=5, clock=lambda: now[0]
    )
    ticks = sample_ticks(3)
    recorder.write(ticks[0])
    now[0] = 4.9
    recorder.write(ticks[1])
    recorder.wait()
    assert recorder.flushes == 0
    now[0] = 5.1
    recorder.write(ticks[2])
    recorder.wait()
    assert recorder.flushes == 1 and recorder.written == 3


def test_a_crash_loses_only_the_unflushed_buffer_and_the_recording_is_repairable(
    tmp_path: Path,
) -> None:
    recorder = LiveRecorder(_writer(tmp_path / "rec"), flush_ticks=20, flush_seconds=3600)
    ticks = sample_ticks(50)
    for tick in ticks:
        recorder.write(tick)
    recorder.wait()  # the two full blocks reached disk
    # the process dies here: no finalise(), 10 ticks still buffered
    repair_recording(tmp_path / "rec")
    check_recording(tmp_path / "rec")
    assert list(open_recording(tmp_path / "rec").ticks()) == ticks[:40]


def test_a_write_failure_in_the_flusher_surfaces_as_a_recording_error(tmp_path: Path) -> None:
    import pytest

    from harness.core.errors import RecordingError

    recorder = LiveRecorder(_writer(tmp_path / "rec"), flush_ticks=2, flush_seconds=3600)
    ticks = sample_ticks(4)
    for tick in [ticks[1], ticks[0]]:  # out of (ts, seq) order: the writer refuses the block
        recorder.write(tick)
    with pytest.raises(RecordingError, match="live recording failed"):
        recorder.finalise()
