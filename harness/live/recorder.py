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

import queue
import threading
import time
from collections.abc import Callable
from typing import Any

import pyarrow as pa

from harness.core.errors import ConfigError, RecordingError
from harness.core.model import OPTIONAL_COLUMNS, TICK_FIELDS, Tick
from harness.recordings.reader import RecordingWriter
from harness.recordings.schema import canonical_schema

_STOP = object()


class LiveRecorder:
    """A TickSink writing to a RecordingWriter; flushes every N ticks or T seconds.

    The writer must be created with `columns=OPTIONAL_COLUMNS` (a live feed may bring any of
    them at any time). `write` only appends to a buffer (it runs on the socket's receiver thread); full buffers go
    to a flusher thread that owns the writer, so Parquet encoding and compression — which
    release the GIL in pyarrow — overlap with receiving and shadowing instead of delaying them.
    """

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
        self._blocks: queue.Queue[Any] = queue.Queue()
        self._error: BaseException | None = None
        self._schema = canonical_schema(list(OPTIONAL_COLUMNS))
        self.written = 0
        self.flushes = 0
        self._thread = threading.Thread(target=self._flusher, name="harness-recorder", daemon=True)
        self._thread.start()

    def write(self, tick: Tick) -> None:
        with self._lock:
            self._buffer.append(tick)
            if (
                len(self._buffer) >= self.flush_ticks
                or self._clock() - self._last_flush >= self.flush_seconds
            ):
                self._hand_over_locked()

    def flush(self) -> None:
        """Hand over the buffer and wait until every block is in a closed part file."""
        with self._lock:
            self._hand_over_locked()
        self.wait()

    def wait(self) -> None:
        """Block until the flusher has written every block handed to it."""
        self._blocks.join()
        if self._error is not None:
            raise RecordingError(f"{self.writer.path}: live recording failed: {self._error}")

    def finalise(self) -> dict[str, Any]:
        """Flush what is left, stop the flusher and write `recording.json`; returns the manifest."""
        self.flush()
        self._blocks.put(_STOP)
        self._thread.join()
        return self.writer.finalise()

    def _hand_over_locked(self) -> None:
        self._last_flush = self._clock()
        if self._buffer:
            self._blocks.put(self._buffer)
            self._buffer = []

    def _flusher(self) -> None:
        while True:
            block = self._blocks.get()
            try:
                if block is _STOP:
                    return
                if self._error is None:
                    self.writer.write_batch(_table(block, self._schema))
                    self.writer.flush()
                    self.written += len(block)
                    self.flushes += 1
            except Exception as exc:  # reported by wait()/finalise() on the session's thread
                self._error = exc
            finally:
                self._blocks.task_done()


_INDEX = {name: i for i, name in enumerate(TICK_FIELDS)}


def _table(block: list[Tick], schema: pa.Schema) -> pa.Table:
    """Columns straight from the tick tuples (a C-level transpose), typed like the recording."""
    columns = list(zip(*block, strict=True))
    arrays = []
    for field in schema:
        typ = field.type
        raw = (
            pa.int64()
            if pa.types.is_timestamp(typ)
            else pa.string()
            if pa.types.is_dictionary(typ)
            else typ
        )
        arrays.append(pa.array(columns[_INDEX[field.name]], type=raw).cast(typ))
    return pa.Table.from_arrays(arrays, schema=schema)
