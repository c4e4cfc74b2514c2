"""Shard planning: a recording cut into independent (trading day × ticker bucket) pieces.

Detector state is per ticker and per session, so a recording shards exactly by a stable hash of
the ticker (zlib.crc32 mod `buckets`) and by its `date=` partitions. The plan depends only on the
recording and the bucket count — never on how many workers run it — so 1 worker, N workers and
the in-process executor replay identical shards and produce identical events::

    plan = plan_shards(open_recording("recordings/day"), buckets=16)
    [(s.index, s.date, len(s.tickers)) for s in plan.shards]
"""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from harness.core.errors import ConfigError

#: Below this many ticks per day one bucket per day is the default (Dask startup would dominate).
SMALL_DAY_TICKS = 500_000
#: Default bucket count for large days: enough pieces to balance 2–8 workers dynamically.
LARGE_DAY_BUCKETS = 16
_DATE_RE = re.compile(r"(?:^|/)date=(\d{4}-\d{2}-\d{2})/")


#: What sharding changes for decisions that are not per ticker (also written to the manifest).
GLOBAL_DECISIONS = {
    "rollout": "rollout tickers are selected once by the coordinator, before sharding, and passed "
    "to every shard as an explicit list",
    "fallback": "automatic fallback, error-rate alerts and integration metrics are judged per "
    "shard (ticker bucket × day): one shard falling back does not switch the others",
    "days": "each trading day starts from fresh stack state (a new session), as in production",
}


def ticker_bucket(ticker: str, buckets: int) -> int:
    """Stable bucket of a ticker: the same in every process, Python version and run."""
    return zlib.crc32(ticker.encode("utf-8")) % buckets


@dataclass(frozen=True, slots=True)
class Shard:
    """One independent piece of a replay: the tickers of one bucket on one trading day."""

    index: int
    date: str | None  # the `date=` partition (None: the recording has no date partitions)
    bucket: int
    buckets: int
    tickers: tuple[str, ...] | None  # None: every ticker (one bucket, no ticker filter)
    start_ns: int | None  # ts range read for this shard, [start_ns, end_ns)
    end_ns: int | None
    stored_rows: int  # rows of the day's files (all buckets): an upper bound, for the progress bar

    def as_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "date": self.date,
            "bucket": self.bucket,
            "tickers": None if self.tickers is None else len(self.tickers),
        }


@dataclass(frozen=True, slots=True)
class ShardPlan:
    """Every shard of a replay, in (date, bucket) order."""

    shards: tuple[Shard, ...]
    buckets: int
    dates: tuple[str | None, ...]

    def __len__(self) -> int:
        return len(self.shards)

    @property
    def stored_rows(self) -> int:
        """Rows stored for the planned days (the progress total of an unfiltered replay)."""
        return sum({s.date: s.stored_rows for s in self.shards}.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "buckets": self.buckets,
            "dates": list(self.dates),
            "shards": len(self.shards),
            "hash": "zlib.crc32(ticker utf-8) mod buckets",
        }


def file_date(path: str) -> str | None:
    """The `date=YYYY-MM-DD` partition of a manifest file path, if any."""
    m = _DATE_RE.search(path)
    return m.group(1) if m else None


def default_buckets(manifest: dict[str, Any]) -> int:
    """Bucket count from the data alone: 1 for small days, LARGE_DAY_BUCKETS for large ones."""
    files = manifest.get("files") or []
    per_day: dict[str | None, int] = {}
    for f in files:
        d = file_date(str(f.get("path", "")))
        per_day[d] = per_day.get(d, 0) + int(f.get("rows", 0))
    biggest = max(per_day.values(), default=0)
    return 1 if biggest < SMALL_DAY_TICKS else LARGE_DAY_BUCKETS


def _days(manifest: dict[str, Any]) -> list[tuple[str | None, int | None, int | None, int]]:
    """(date, first_ts, last_ts + 1, rows) per date partition, in date order."""
    days: dict[str | None, list[Any]] = {}
    for f in manifest.get("files") or []:
        d = file_date(str(f.get("path", "")))
        lo, hi = f.get("first_ts"), f.get("last_ts")
        acc = days.setdefault(d, [lo, hi, 0])
        acc[0] = None if lo is None or acc[0] is None else min(acc[0], lo)
        acc[1] = None if hi is None or acc[1] is None else max(acc[1], hi)
        acc[2] += int(f.get("rows", 0))
    out = []
    for d in sorted(days, key=lambda x: x or ""):
        lo, hi, rows = days[d]
        out.append((d, lo, None if hi is None else hi + 1, rows))
    return out


def _clip(
    lo: int | None, hi: int | None, start: int | None, end: int | None
) -> tuple[int | None, int | None]:
    if start is not None:
        lo = start if lo is None else max(lo, start)
    if end is not None:
        hi = end if hi is None else min(hi, end)
    return lo, hi


def plan_shards(
    manifest: dict[str, Any],
    buckets: int | None = None,
    tickers: Sequence[str] | None = None,
    start_ns: int | None = None,
    end_ns: int | None = None,
) -> ShardPlan:
    """Cut a recording (its manifest) into date × bucket shards, honouring ticker/time filters."""
    b = default_buckets(manifest) if buckets is None else buckets
    if b < 1:
        raise ConfigError(f"--shards must be ≥ 1, got {b}")
    universe: Iterable[str] = tickers if tickers else (manifest.get("tickers") or [])
    names = sorted(set(universe))
    if b > 1 and not names:
        raise ConfigError("cannot shard by ticker: the recording manifest lists no tickers")
    groups: list[tuple[str, ...] | None]
    if b == 1:
        groups = [tuple(names) if tickers else None]
    else:
        by_bucket: dict[int, list[str]] = {}
        for t in names:
            by_bucket.setdefault(ticker_bucket(t, b), []).append(t)
        groups = [tuple(by_bucket.get(k, ())) for k in range(b)]
    days = _days(manifest)
    single_day = len(days) == 1
    shards: list[Shard] = []
    for date, lo, hi, rows in days:
        lo, hi = _clip(lo, hi, start_ns, end_ns)
        if lo is not None and hi is not None and lo >= hi:
            continue  # the time filter excludes the whole day
        if single_day:  # one day: no time filter unless asked (a cheaper scan)
            lo, hi = start_ns, end_ns
        for bucket, group in enumerate(groups):
            if group is not None and not group:
                continue
            shards.append(Shard(len(shards), date, bucket, b, group, lo, hi, rows))
    return ShardPlan(tuple(shards), b, tuple(d for d, *_ in days))


def expected_ticks(manifest: dict[str, Any], filtered: bool) -> int | None:
    """Ticks the whole plan must read (the audit's `expected`), when knowable without a scan."""
    count = manifest.get("tick_count")
    return None if filtered or not isinstance(count, int) else count


def balance(plan: ShardPlan) -> dict[str, Any]:
    """Ticker counts per shard: min / max / mean, to spot a skewed bucket."""
    sizes = [len(s.tickers) for s in plan.shards if s.tickers is not None]
    if not sizes:
        return {}
    return {
        "tickers_min": min(sizes),
        "tickers_max": max(sizes),
        "tickers_mean": round(sum(sizes) / len(sizes), 1),
        "cv": _cv(sizes),
    }


def _cv(xs: list[int]) -> float:
    m = sum(xs) / len(xs)
    if not m:
        return 0.0
    return round(math.sqrt(sum((x - m) ** 2 for x in xs) / len(xs)) / m, 4)
