"""The evidence's per-tick measurement: one fetch of a run's observations turned into every per-tick statistic.

Timings and failure flags come from DuckDB as Arrow columns; the ticker of each row comes as a
small integer code read with pyarrow from the Parquet files' dictionary pages (in a thread, while
DuckDB fetches), so no 10M-string column is materialised or looked up anywhere.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from harness.gates.bootstrap import CONCURRENT_MARGIN, MIN_CLUSTERS, ci_design
from harness.gates.statistics import LatencyStats, SeedFigures, latency_stats, seed_figures
from harness.replay.outcome import SWAP_TICKS


@dataclass(frozen=True, slots=True)
class Paired:
    """Per-tick times of the ticks both stacks processed: file order (pairs) and each sorted.

    Sorted once here, so every order statistic the report needs (median, p50/p90/p99, CDF
    points) is a lookup or a cheap partition of sorted data instead of a fresh 10M-row select.
    """

    primary: np.ndarray
    candidate: np.ndarray
    primary_sorted: np.ndarray
    candidate_sorted: np.ndarray
    #: per pair, the index of its ticker in `ticker_names` (-1: no ticker)
    ticker_codes: np.ndarray
    ticker_names: np.ndarray

    @classmethod
    def of(
        cls,
        primary: np.ndarray,
        candidate: np.ndarray,
        ticker_codes: np.ndarray | None = None,
        ticker_names: np.ndarray | None = None,
    ) -> Paired:
        codes = np.full(primary.size, -1, np.int32) if ticker_codes is None else ticker_codes
        names = np.empty(0, dtype=object) if ticker_names is None else ticker_names
        # numpy sorts without the GIL: the two 10M-element sorts run on both cores at once
        with ThreadPoolExecutor(max_workers=1) as pool:
            candidate_sorted = pool.submit(np.sort, candidate)
            primary_sorted = np.sort(primary)
            return cls(primary, candidate, primary_sorted, candidate_sorted.result(), codes, names)

    @property
    def sorted(self) -> tuple[np.ndarray, np.ndarray]:
        return self.primary_sorted, self.candidate_sorted


def ticker_codes(files: list[Path]) -> tuple[np.ndarray, np.ndarray]:
    """(sorted ticker names, per observation row in file order its index in them or -1).

    Read from the dictionary pages of the `ticker` column (pyarrow, no string per row); names
    are the tickers that occur, sorted by code point as DuckDB's ORDER BY sorts VARCHAR.
    """
    chunks = [
        chunk
        for f in files
        for chunk in pq.ParquetFile(f, read_dictionary=["ticker"])
        .read(columns=["ticker"], use_threads=False)
        .column(0)
        .chunks
    ]
    total = sum(len(c) for c in chunks)
    if not chunks:
        return np.empty(0, dtype=object), np.empty(0, np.int32)
    column = pa.chunked_array(chunks).unify_dictionaries()
    values = column.chunk(0).dictionary.to_numpy(zero_copy_only=False)
    index = np.empty(total, np.int64)
    pos = 0
    for c in column.chunks:
        index[pos : pos + len(c)] = c.indices.fill_null(-1).to_numpy(zero_copy_only=False)
        pos += len(c)
    present = np.zeros(values.size + 1, bool)  # last slot: rows without a ticker (index -1)
    present[index] = True
    keep = np.flatnonzero(present[:-1] & np.array([v is not None for v in values], bool))
    names = np.array(sorted(values[keep]), dtype=object)
    code_of = np.full(values.size + 1, -1, np.int32)
    code_of[keep] = np.searchsorted(names, values[keep]).astype(np.int32)
    return names, code_of[index]


def create_ticker_ticks(
    con: duckdb.DuckDBPyConnection, names: np.ndarray, codes: np.ndarray
) -> None:
    """Table `ticker_ticks(ticker, ticks)`: observations per ticker, sorted by ticker."""
    counts = np.bincount(codes[codes >= 0], minlength=names.size).astype(np.int64)
    src = pa.table({"ticker": pa.array(list(names), pa.string()), "ticks": counts})
    con.register("_ticker_ticks_src", src)
    try:
        con.execute(
            "CREATE TABLE ticker_ticks AS SELECT ticker::VARCHAR AS ticker, ticks::BIGINT AS ticks "
            "FROM _ticker_ticks_src ORDER BY ticker"
        )
    finally:
        con.unregister("_ticker_ticks_src")


def measure(
    con: duckdb.DuckDBPyConnection,
    files: list[Path],
    seed: int,
    rollout: list[str],
    concurrent: bool = False,
) -> tuple[LatencyStats, SeedFigures, SeedFigures | None, Paired]:
    """Every per-tick statistic of the run from ONE fetch of the observations, in file order.

    Memory-probed ticks (`memory_probed`) count everywhere but in the timing: tracemalloc slows
    those calls several-fold, by how much a stack allocates, not by how fast it is.
    The fetch has no join (a join would let DuckDB reorder rows and the seeded subsamples would
    differ between runs); the rollout scope is a mask over the ticker codes of the same rows.
    Also creates `ticker_ticks` from the codes. `concurrent` (a `--sides concurrent` run): the
    latency CIs resample whole swap cycles (file order = tick order) and are widened by
    `CONCURRENT_MARGIN`.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        tickers = pool.submit(ticker_codes, files)
        cols = con.sql(
            "SELECT coalesce(primary_ns, 0)::DOUBLE AS p, coalesce(candidate_ns, 0)::DOUBLE AS c, "
            "primary_error IS NOT NULL AS pf, candidate_error IS NOT NULL AS cf, "
            "coalesce(candidate_timeout, false) AS t, "
            "coalesce(memory_probed, false) AS mp FROM observations"
        ).to_arrow_table()
        names, k = tickers.result()
    p, c = (cols[n].to_numpy() for n in ("p", "c"))
    pf, cf, t, mp = (cols[n].to_numpy().astype(bool, copy=False) for n in ("pf", "cf", "t", "mp"))
    create_ticker_ticks(con, names, k)
    fig = seed_figures(p, c, pf, cf, t, untimed=mp)
    rollout_fig = None
    if rollout:
        r = np.isin(k, np.flatnonzero(np.isin(names, rollout)))
        rollout_fig = seed_figures(p[r], c[r], pf[r], cf[r], t[r], untimed=mp[r])
    ok = ~pf & ~cf & ~t & ~mp  # a memory-probed call's time is the tracer's, not the stack's
    paired = Paired.of(p[ok], c[ok], k[ok], names)
    clusters, widen = ci_design(ok, concurrent)
    lat = latency_stats(
        paired.primary,
        paired.candidate,
        seed=seed,
        presorted=paired.sorted,
        clusters=clusters,
        widen=widen,
    )
    return lat, fig, rollout_fig, paired


def stat_rows(scope: str, lat: LatencyStats | None, fig: SeedFigures) -> list[tuple]:
    """The `stats` table rows of one scope: seed figures, and the latency statistics if given."""
    rows: list[tuple] = [(scope, k, float(v), None, None, None) for k, v in fig.to_dict().items()]
    if lat is not None:
        for name, iv in (("ratio_median", lat.ratio_median), ("ratio_mean", lat.ratio_mean)):
            note = f"bootstrap {lat.bootstrap_resamples}× on {lat.bootstrap_sample} of {lat.n} paired ticks, seed {lat.seed}"
            rows.append((scope, name, iv.point, iv.low, iv.high, note))
        for stack, pc in (("primary", lat.primary), ("candidate", lat.candidate)):
            for q in ("p50", "p90", "p99", "mean"):
                rows.append((scope, f"{stack}_{q}_ns", getattr(pc, q), None, None, None))
        rows += [
            (scope, "latency_n", float(lat.n), None, None, None),
            (scope, "wilcoxon_p", lat.wilcoxon_p, None, None, f"on {lat.wilcoxon_sample} ticks"),
            (scope, "hl_shift_ns", lat.hl_shift_ns, None, None, f"on {lat.hl_sample} ticks"),
            (scope, "min_detectable_change", lat.min_detectable_change, None, None, lat.power_note),
            (scope, "too_small", float(lat.too_small), None, None, lat.power_note),
        ]
    return [
        (s, m, None if v is None or math.isnan(v) else v, lo, hi, n) for s, m, v, lo, hi, n in rows
    ]


def concurrent_rows(lat: LatencyStats) -> list[tuple]:
    """The `stats` rows that say how a concurrent run's latency CIs were made (gates/sql/_setup.sql
    reads them: too few cycles is not decided; the reason cites the cycles and the margin)."""
    note = f"swap cycles of {2 * SWAP_TICKS} ticks resampled by the latency CIs"
    widened = "both latency ratio CIs are this much wider than the cycle bootstrap gives"
    return [
        ("all", "latency_clusters", float(lat.clusters), None, None, note),
        ("all", "min_latency_clusters", float(MIN_CLUSTERS), None, None, note),
        ("all", "concurrent_margin", CONCURRENT_MARGIN, None, None, widened),
    ]
