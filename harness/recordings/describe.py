"""Summary of a recording for `harness info`: tickers, ticks, span, sessions, top tickers, size."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from harness.recordings.manifest import ns_to_iso
from harness.recordings.reader import open_recording, reading

_NY_TS = pa.timestamp("ns", tz="America/New_York")
_H = 3_600_000_000_000
_M = 60_000_000_000
#: US/Eastern session bounds as TickStock classifies them (minutes after midnight).
SESSIONS: tuple[tuple[str, int, int], ...] = (
    ("pre_market", 4 * 60, 9 * 60 + 30),
    ("regular", 9 * 60 + 30, 16 * 60),
    ("after_hours", 16 * 60, 20 * 60),
)


def session_counts(ts: pa.Array | pa.ChunkedArray) -> dict[str, int]:
    """Ticks per US/Eastern session (`closed` for anything outside 04:00–20:00 ET)."""
    local = pc.local_timestamp(ts.cast(_NY_TS)).cast(pa.int64()).to_numpy(zero_copy_only=False)
    minute = (local % (24 * _H)) // _M
    out: dict[str, int] = {}
    inside = np.zeros(len(minute), bool)
    for name, lo, hi in SESSIONS:
        mask = (minute >= lo) & (minute < hi)
        out[name] = int(mask.sum())
        inside |= mask
    out["closed"] = int((~inside).sum())
    return out


def summarize_recording(path: str | os.PathLike[str], top: int = 10) -> dict[str, Any]:
    """Scan `ts` and `ticker` of a recording (streamed) and describe it."""
    rec = open_recording(path)
    counts: Counter[str] = Counter()
    sessions: Counter[str] = Counter()
    for f in rec.files():
        with reading(rec.path, f):
            pf = pq.ParquetFile(f, read_dictionary=["ticker"])
            for batch in pf.iter_batches(batch_size=1 << 20, columns=["ts", "ticker"]):
                sessions.update(session_counts(batch.column("ts")))
                vc = pc.value_counts(batch.column("ticker").cast(pa.string()))
                counts.update(
                    dict(zip(vc.field(0).to_pylist(), vc.field(1).to_pylist(), strict=True))
                )
    m = rec.manifest
    with reading(rec.path, rec.path):
        size = sum(p.stat().st_size for p in rec.files())
    return {
        "path": str(Path(path)),
        "name": m["name"],
        "source": m["source"],
        "sha256": rec.sha256,
        "ticks": rec.tick_count,
        "tickers": len(counts),
        "first_ts": m.get("first_ts"),
        "last_ts": m.get("last_ts"),
        "first_time": ns_to_iso(m.get("first_ts")),
        "last_time": ns_to_iso(m.get("last_ts")),
        "dates": sorted({f["path"].split("/")[0].removeprefix("date=") for f in m["files"]}),
        "files": len(m["files"]),
        "size_bytes": size,
        "columns": rec.columns,
        "sessions": {
            k: sessions.get(k, 0) for k in ("pre_market", "regular", "after_hours", "closed")
        },
        "top_tickers": [{"ticker": t, "ticks": n} for t, n in counts.most_common(top)],
        "notes": m.get("notes"),
    }
