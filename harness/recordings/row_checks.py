"""The row checks of recording validation: every batch of every part file, vectorised.

Each check finds the first offending row (by seq) and how many rows share the problem, so a
10M-tick day is checked at NumPy speed and still reported file, column and row.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from harness.core.model import REQUIRED_COLUMNS
from harness.core.problem import Problem
from harness.recordings.schema import TICKER_MAX_LEN, TICKER_PATTERN, partition_dates


class Collector:
    """Groups repeated problems per (file, kind, column): first row kept, occurrences counted."""

    def __init__(self) -> None:
        self.first: dict[tuple[str, str, str | None], Problem] = {}
        self.count: dict[tuple[str, str, str | None], int] = {}

    def add(self, problem: Problem, n: int = 1) -> None:
        key = (problem.file, problem.kind, problem.column)
        if key not in self.first:
            self.first[key] = problem
        self.count[key] = self.count.get(key, 0) + n

    def problems(self) -> list[Problem]:
        out = []
        for key, p in self.first.items():
            n = self.count[key]
            msg = p.message if n == 1 else f"{p.message} ({n} rows in this file)"
            out.append(Problem(p.kind, p.file, p.column, p.row, msg))
        return out


class RowState:
    """Carries order and schema across files, which are checked in manifest order."""

    def __init__(self) -> None:
        self.last_ts: int | None = None
        self.last_seq: int | None = None
        self.schema: pa.Schema | None = None
        self.schema_file = ""
        self.last_rows = 0
        self.all_read = True


def check_batch(
    rel: str, batch: pa.RecordBatch, day: int | None, state: RowState, out: Collector
) -> None:
    seq_col = batch.column("seq")
    seq = seq_col.fill_null(0).to_numpy()
    ts_col = batch.column("ts").cast(pa.int64())

    def at(mask: np.ndarray) -> tuple[int | None, int]:
        idx = np.flatnonzero(mask)
        first = int(idx[0])
        return (int(seq[first]) if seq_col[first].is_valid else None), int(idx.size)

    def report(kind: str, column: str, mask: np.ndarray, message: str) -> None:
        if mask.any():
            row, n = at(mask)
            out.add(Problem(kind, rel, column, row, message), n)

    for name in REQUIRED_COLUMNS:
        col = batch.column(name)
        if col.null_count:
            report("null_required", name, np.asarray(col.is_null()), "null in a required column")
    price = batch.column("price").to_numpy(zero_copy_only=False)
    with np.errstate(invalid="ignore"):
        report("bad_price", "price", np.isnan(price), "price is NaN; expected a finite price > 0")
        report(
            "bad_price", "price", np.isinf(price), "price is infinite; expected a finite price > 0"
        )
        report("bad_price", "price", price == 0, "price is 0; expected a finite price > 0")
        report("bad_price", "price", price < 0, "price is negative; expected a finite price > 0")
    for name in ("volume", "tick_volume", "accumulated_volume"):
        if name in batch.schema.names:
            vol = batch.column(name).fill_null(0).to_numpy()
            report("negative_volume", name, vol < 0, f"{name} is negative; expected ≥ 0")
    if "bid" in batch.schema.names and "ask" in batch.schema.names:
        crossed = pc.fill_null(pc.greater(batch.column("bid"), batch.column("ask")), False)
        report("bid_above_ask", "bid", np.asarray(crossed), "bid > ask; expected bid ≤ ask")
    _check_tickers(batch, report)
    ts = ts_col.fill_null(0).to_numpy()
    if day is not None and ts_col.null_count < len(ts_col):
        days = partition_dates(batch.column("ts"))
        outside = (days != day) & np.asarray(ts_col.is_valid())
        report(
            "ts_outside_partition",
            "ts",
            outside,
            f"timestamp not on the partition's trading day (America/New_York) {np.datetime64(day, 'D')}",
        )
    prev_ts = ts if state.last_ts is None else np.r_[state.last_ts, ts]
    prev_seq = seq if state.last_seq is None else np.r_[state.last_seq, seq]
    offset = 0 if state.last_ts is None else 1
    dseq = np.diff(prev_seq)
    dts = np.diff(prev_ts)
    mask_dup = np.zeros(len(seq), bool)
    mask_dup[1 - offset :] = dseq == 0
    mask_back = np.zeros(len(seq), bool)
    mask_back[1 - offset :] = dseq < 0
    mask_ts = np.zeros(len(seq), bool)
    mask_ts[1 - offset :] = (dts < 0) & (dseq > 0)
    report(
        "duplicate_seq",
        "seq",
        mask_dup,
        "seq equals the previous row's; expected strictly increasing seq",
    )
    report(
        "seq_order",
        "seq",
        mask_back,
        "seq lower than the previous row's; expected strictly increasing seq",
    )
    report(
        "seq_order",
        "ts",
        mask_ts,
        "ts earlier than the previous row's although seq is higher; expected rows in (ts, seq) order",
    )
    if len(seq):
        state.last_ts, state.last_seq = int(ts[-1]), int(seq[-1])


def _check_tickers(batch: pa.RecordBatch, report: Any) -> None:
    col = batch.column("ticker")
    if pa.types.is_dictionary(col.type):
        values, indices = col.dictionary, col.indices
    else:
        values, indices = col, None
    texts = values.to_pylist()
    bad: dict[str, list[int]] = {"empty": [], "too long": [], "illegal characters": []}
    for i, t in enumerate(texts):
        if t is None:
            continue
        if t == "":
            bad["empty"].append(i)
        elif len(t) > TICKER_MAX_LEN:
            bad["too long"].append(i)
        elif not TICKER_PATTERN.match(t):
            bad["illegal characters"].append(i)
    for what, idx in bad.items():
        if not idx:
            continue
        if indices is None:
            mask = np.zeros(len(col), bool)
            mask[idx] = True
        else:
            mask = np.asarray(pc.fill_null(pc.is_in(indices, pa.array(idx, indices.type)), False))
        expected = f"1–{TICKER_MAX_LEN} chars of A–Z a–z 0–9 . - / : ^ _"
        report("bad_ticker", "ticker", mask, f"ticker {what}; expected {expected}")
