"""Live recorder: buffers live ticks and flushes them to a recording's rolling part files.

Why flush by count *and* time: a busy feed fills `flush_ticks` in seconds, a quiet one might not
for minutes; either way a crash loses at most the one unflushed buffer. Every flush closes a part
file (`RecordingWriter.flush`), so the parts on disk are complete and `harness validate --repair`
can rebuild the manifest of a session that never reached `finalise()`.

    recorder = LiveRecorder(RecordingWriter(path, source="polygon"), flush_ticks=20_000)
    recorder.write(tick)   # from the receiver thread, per tick
    recorder.finalise()    # at the end: last flush + recording.json
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from harness.errors import ConfigError
from harness.model import Tick
from harness.recording import RecordingWriter


class LiveRecorder:
    """A TickSink writing to a RecordingWriter; thread-safe, flushes every N ticks or T seconds."""

    def __init__(
        self,
        writer: RecordingWriter,
        flush_ticks: int = 20_000,
        flush_seconds: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if flush_ticks < 1 or flush_seconds <= 0:
            raise ConfigError("--flush-ticks must be >= 1 and --flush-seconds > 0")
        self.writer = writer
        self.flush_ticks = flush_ticks
        self.flush_seconds = flush_seconds
        self._clock = clock
        self._buffer: list[Tick] = []
        self._last_flush = clock()
        self._lock = threading.Lock()
        self.written = 0
        self.flushes = 0

    def write(self, tick: Tick) -> None:
        with self._lock:
            self._buffer.append(tick)
            if (
                len(self._buffer) >= self.flush_ticks
                or self._clock() - self._last_flush >= self.flush_seconds
            ):
                self._flush_locked()

    def flush(self) -> None:
        """Write the buffer and close the current part file (a crash-safe point)."""
        with self._lock:
            self._flush_locked()

    def finalise(self) -> dict[str, Any]:
        """Flush what is left and write `recording.json`; returns the recording's manifest."""
        with self._lock:
            self._flush_locked()
            return self.writer.finalise()

    def _flush_locked(self) -> None:
        self._last_flush = self._clock()
        if not self._buffer:
            return
        block, self._buffer = self._buffer, []
        self.writer.write_ticks(block)
        self.writer.flush()
        self.written += len(block)
        self.flushes += 1
