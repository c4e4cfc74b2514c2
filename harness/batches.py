"""Observation and event batches: their Arrow schemas and the per-batch conversion of raw results.

The runner's hot loop only appends one tuple per tick; everything columnar — splitting the
tuples into columns, counting, JSON-encoding events (keys sorted) — happens here once per batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

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


def encode_event(d: Any) -> str:
    """Canonical event JSON: keys sorted, compact; non-JSON values as str (orjson: ~10× json)."""
    return orjson.dumps(d, default=str, option=_OPTS).decode()


#: One stack call's raw result: (wall ns, cpu ns | None, events | None, error text | None, timed out)
Result = tuple[int, int | None, Sequence[dict[str, Any]] | None, str | None, bool]
#: One tick's row: (tick, candidate ran first, primary result, candidate result)
Row = tuple[Any, int, Result, Result]


def observations_table(rows: list[Row], shard: int) -> pa.Table:
    """The observation rows (design.md §5) of one batch."""
    ticks = [r[0] for r in rows]
    p = [r[2] for r in rows]
    c = [r[3] for r in rows]
    arrays = [
        pa.array([t.seq for t in ticks], pa.int64()),
        pa.array([t.ticker for t in ticks], pa.string()),
        pa.array([t.ts for t in ticks], pa.timestamp("ns", tz="UTC")),
        pa.array(["candidate" if r[1] & 1 else "primary" for r in rows], pa.string()),
        pa.array([x[0] for x in p], pa.int64()),
        pa.array([x[0] for x in c], pa.int64()),
        pa.array([x[1] for x in p], pa.int64()),
        pa.array([x[1] for x in c], pa.int64()),
        pa.array([x[3] for x in p], pa.string()),
        pa.array([x[3] for x in c], pa.string()),
        pa.array([x[4] for x in p], pa.bool_()),
        pa.array([x[4] for x in c], pa.bool_()),
        pa.array([len(x[2]) if x[2] else 0 for x in p], pa.int32()),
        pa.array([len(x[2]) if x[2] else 0 for x in c], pa.int32()),
        pa.array([shard] * len(rows), pa.int32()),
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


def events_table(
    calls: list[tuple[int, Sequence[dict[str, Any]]]], first_pos: int, shard: int
) -> pa.Table:
    """Events of one batch from (emit_seq, events of that call) pairs, in emission order."""
    dicts: list[dict[str, Any]] = []
    emit: list[int] = []
    index: list[int] = []
    for seq, events in calls:
        n = len(events)
        dicts.extend(events)
        emit.extend([seq] * n)
        index.extend(range(n))
    if not all(type(d) is dict for d in dicts):
        dicts = [d if isinstance(d, dict) else {"value": d} for d in dicts]
    n = len(dicts)
    own = [d.get("tick_seq") for d in dicts]
    tick_seq = [s if type(s) is int else e for s, e in zip(own, emit, strict=True)]
    return pa.table(
        [
            pa.array(tick_seq, pa.int64()),
            pa.array(emit, pa.int64()),
            pa.array(index, pa.int32()),
            pa.array(range(first_pos, first_pos + n), pa.int64()),
            _column([d.get("ticker") for d in dicts], pa.string(), _str),
            _column([d.get("type") for d in dicts], pa.string(), _str),
            _column([d.get("direction") for d in dicts], pa.string(), _str),
            _column([d.get("price") for d in dicts], pa.float64(), _float),
            pa.array([encode_event(d) for d in dicts], pa.string()),
            pa.array([shard] * n, pa.int32()),
        ],
        schema=EVENT_SCHEMA,
    )
