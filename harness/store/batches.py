"""Observation and event batches: their Arrow schemas and the per-batch conversion of raw results.

The runner's hot loop appends machine integers to a `BatchTape` (no object per tick); everything
columnar — building the columns, counting, JSON-encoding events (keys sorted) — happens here once
per batch.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import orjson
import pyarrow as pa

OBSERVATION_SCHEMA = pa.schema(
    [
        ("seq", pa.int64()),
        ("ticker", pa.string()),
        ("ts", pa.timestamp("ns", tz="UTC")),
        ("first", pa.string()),
        ("primary_ns", pa.int64()),
        ("candidate_ns", pa.int64()),
        ("primary_cpu_ns", pa.int64()),  # thread CPU time; null on ticks not sampled for CPU
        ("candidate_cpu_ns", pa.int64()),
        # bytes allocated in the call that the stack still held after it (tracemalloc); null on
        # ticks not memory-probed and on calls that returned events
        ("primary_held_bytes", pa.int64()),
        ("candidate_held_bytes", pa.int64()),
        # the tick's calls ran under the memory probe: tracing slowed them, so their wall and CPU
        # times are not latency observations (every latency statistic leaves these rows out)
        ("memory_probed", pa.bool_()),
        ("primary_error", pa.string()),
        ("candidate_error", pa.string()),
        ("primary_timeout", pa.bool_()),
        ("candidate_timeout", pa.bool_()),
        ("primary_events", pa.int32()),
        ("candidate_events", pa.int32()),
        ("shard", pa.int32()),
    ]
)

EVENT_SCHEMA = pa.schema(
    [
        ("tick_seq", pa.int64()),  # seq of the tick that caused it (the event's own, else emit_seq)
        ("emit_seq", pa.int64()),  # seq of the tick whose process() returned it; -1 for flush()
        ("emit_index", pa.int32()),  # order within that process()/flush() call
        ("emit_pos", pa.int64()),  # order of emission over the whole run (per stack and shard)
        ("ticker", pa.string()),
        ("type", pa.string()),
        ("direction", pa.string()),
        ("price", pa.float64()),
        ("event_json", pa.string()),  # the whole transport dict, keys sorted
        ("shard", pa.int32()),
    ]
)

_OPTS = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY
_FAST = orjson.OPT_SORT_KEYS | orjson.OPT_SERIALIZE_NUMPY  # str keys only: ~8 % cheaper


def encode_event(d: Any) -> str:
    """Canonical event JSON: keys sorted, compact; non-JSON values as str (orjson: ~10× json)."""
    return encode_event_bytes(d).decode()


def encode_event_bytes(d: Any) -> bytes:
    """`encode_event` as UTF-8 bytes (Arrow takes them as strings; decoding costs ~¼ of dumps)."""
    try:
        return orjson.dumps(d, default=str, option=_FAST)
    except TypeError:  # a non-str key: same text as with non-str keys allowed from the start
        return orjson.dumps(d, default=str, option=_OPTS)


class EventColumns:
    """One batch of one stack's events as column lists, filled as the stack returns them.

    Why: the runner records each call's events when the call returns (`add_call`), so what is
    stored is what the stack returned then, even if it changes the dicts afterwards (a candidate
    that returned a wrong price and put it right on its next call was stored right for 31 of
    every 32 events while the runner encoded 32 calls at a time); and no batch of dicts (~5 KB
    each) lives until the batch ends. The Arrow columns are built once per batch by `table`,
    exactly as from all the events at once.
    """

    __slots__ = ("tick_seq", "emit", "index", "ticker", "type", "direction", "price", "json")

    def __init__(self) -> None:
        self.tick_seq: list[int] = []
        self.emit: list[int] = []
        self.index: list[int] = []
        self.ticker: list[Any] = []
        self.type: list[Any] = []
        self.direction: list[Any] = []
        self.price: list[Any] = []
        self.json: list[bytes] = []

    @classmethod
    def of(cls, calls: Iterable[tuple[int, Sequence[Any]]]) -> EventColumns:
        """The columns of (emit_seq, events of that call) pairs, in emission order."""
        columns = cls()
        columns.add(calls)
        return columns

    def __len__(self) -> int:
        return len(self.emit)

    def add(self, calls: Iterable[tuple[int, Sequence[Any]]]) -> None:
        """Append the events of (emit_seq, events of that call) pairs, in emission order."""
        for seq, events in calls:
            self.add_call(seq, events)

    def add_call(self, seq: int, events: Sequence[Any]) -> None:
        """Append one call's events (emit_seq `seq`), encoded now."""
        for i, d in enumerate(events):
            if not isinstance(d, dict):
                d = {"value": d}
            own = d.get("tick_seq")
            self.tick_seq.append(own if type(own) is int else seq)
            self.emit.append(seq)
            self.index.append(i)
            self.ticker.append(d.get("ticker"))
            self.type.append(d.get("type"))
            self.direction.append(d.get("direction"))
            self.price.append(d.get("price"))
            self.json.append(encode_event_bytes(d))

    def table(self, first_pos: int, shard: int) -> pa.Table:
        """The event rows (design.md §7) of the batch; emit_pos counts on from `first_pos`."""
        n = len(self)
        return pa.table(
            [
                pa.array(self.tick_seq, pa.int64()),
                pa.array(self.emit, pa.int64()),
                pa.array(self.index, pa.int32()),
                pa.array(range(first_pos, first_pos + n), pa.int64()),
                _column(self.ticker, pa.string(), _str),
                _column(self.type, pa.string(), _str),
                _column(self.direction, pa.string(), _str),
                _column(self.price, pa.float64(), _float),
                pa.array(self.json, pa.string()),
                pa.array([shard] * n, pa.int32()),
            ],
            schema=EVENT_SCHEMA,
        )

    def clear(self) -> None:
        for name in self.__slots__:
            getattr(self, name).clear()


class SideTape:
    """One stack's raw results for one batch, appended by the hot loop as machine integers.

    Why not a tuple per call: a batch of result tuples (and the ticks they pin) is ~1 KB of live
    objects per tick that the stacks' own allocations then have to work around; arrays of int64
    hold 16 bytes per tick and no objects. Only the rare outcomes (events, errors, timeouts) keep
    Python objects, keyed by the row index within the batch; a call's events become `events`
    columns when it returns (`take`).
    """

    __slots__ = (
        "wall", "cpu", "held", "probed", "rows", "counts", "events", "errors", "timeouts"
    )  # fmt: skip

    def __init__(self) -> None:
        self.wall = array("q")  # wall ns of each call
        self.cpu = array("q")  # thread CPU ns, -1 when not sampled (or timed out)
        self.held: dict[int, int] = {}  # row → bytes the stack kept (memory-probed calls only)
        self.probed: list[int] = []  # rows whose call ran under the memory probe
        self.rows = array("q")  # calls that returned events: row index …
        self.counts = array("q")  # … and how many events it returned
        self.events = EventColumns()
        self.errors: dict[int, str] = {}  # row → error text (timeouts included)
        self.timeouts: list[int] = []  # rows whose call timed out

    def take(self, row: int, seq: int, events: Sequence[Any]) -> None:
        """Record one call's events now (emit_seq `seq`): what it returned, as it returned it."""
        self.rows.append(row)
        self.counts.append(len(events))
        self.events.add_call(seq, events)

    def clear(self) -> None:
        del self.wall[:], self.cpu[:], self.rows[:], self.counts[:]
        self.held.clear()
        self.probed.clear()
        self.events.clear()
        self.errors.clear()
        self.timeouts.clear()


class BatchTape:
    """One batch of the shadow loop: tick keys, who ran first, and both stacks' tapes."""

    __slots__ = ("seq", "ts", "ticker", "first", "primary", "candidate")

    def __init__(self) -> None:
        self.seq = array("q")
        self.ts = array("q")
        self.ticker: list[str] = []
        #: low bit 1: the candidate ran first (one byte per row); None: the two stacks ran at
        #: the same time in processes of their own (harness.replay.split)
        self.first: bytes | None = b""
        self.primary = SideTape()
        self.candidate = SideTape()

    def __len__(self) -> int:
        return len(self.seq)

    def clear(self) -> None:
        del self.seq[:], self.ts[:]
        self.ticker.clear()
        self.first = b""
        self.primary.clear()
        self.candidate.clear()


def _int64(values: array, null_below_zero: bool = False) -> pa.Array:
    a = np.frombuffer(values, dtype=np.int64) if len(values) else np.empty(0, np.int64)
    if null_below_zero:
        return pa.array(a, pa.int64(), mask=a < 0)
    return pa.array(a, pa.int64())


def _side_columns(side: SideTape, n: int) -> tuple[pa.Array, ...]:
    errors = [None] * n
    for i, text in side.errors.items():
        errors[i] = text  # type: ignore[call-overload]
    timeout = np.zeros(n, bool)
    timeout[side.timeouts] = True
    counts = np.zeros(n, np.int32)
    if len(side.rows):
        counts[np.frombuffer(side.rows, np.int64)] = np.frombuffer(side.counts, np.int64)
    held = np.zeros(n, np.int64)
    sampled = np.zeros(n, bool)
    if side.held:
        rows = np.fromiter(side.held.keys(), np.int64, len(side.held))
        held[rows] = np.fromiter(side.held.values(), np.int64, len(side.held))
        sampled[rows] = True
    return (
        _int64(side.wall),
        _int64(side.cpu, null_below_zero=True),
        pa.array(held, pa.int64(), mask=~sampled),
        pa.array(errors, pa.string()),
        pa.array(timeout, pa.bool_()),
        pa.array(counts, pa.int32()),
    )


def observations_table(tape: BatchTape, shard: int) -> pa.Table:
    """The observation rows (design.md §5) of one batch."""
    n = len(tape)
    if tape.first is None:
        names = np.full(n, "concurrent", dtype=object)
    else:
        first = np.frombuffer(tape.first, np.uint8, count=n) & 1
        names = np.array(["primary", "candidate"], dtype=object)[first]
    p = _side_columns(tape.primary, n)
    c = _side_columns(tape.candidate, n)
    probed = np.zeros(n, bool)
    probed[tape.primary.probed] = True
    probed[tape.candidate.probed] = True
    arrays = [
        _int64(tape.seq),
        pa.array(tape.ticker, pa.string()),
        _int64(tape.ts).cast(pa.timestamp("ns", tz="UTC")),
        pa.array(names, pa.string()),
        p[0],
        c[0],
        p[1],
        c[1],
        p[2],
        c[2],
        pa.array(probed, pa.bool_()),
        p[3],
        c[3],
        p[4],
        c[4],
        p[5],
        c[5],
        pa.array(np.full(n, shard, np.int32), pa.int32()),
    ]
    return pa.table(arrays, schema=OBSERVATION_SCHEMA)


def _str(v: Any) -> str | None:
    return None if v is None else str(v)


def _float(v: Any) -> float | None:
    try:
        return None if v is None or isinstance(v, bool) else float(v)
    except (TypeError, ValueError):
        return None


def _column(values: list[Any], typ: pa.DataType, fix: Any) -> pa.Array:
    """Arrow column from raw event values; the rare odd value (a number as ticker…) via `fix`."""
    try:
        return pa.array(values, typ)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
        return pa.array([fix(v) for v in values], typ)
