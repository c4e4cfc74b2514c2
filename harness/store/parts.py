"""A run's part files: one shard's batches as numbered Parquet parts, the durable prefix a
resume starts from, and the staging of shard attempts until the coordinator commits one.

Batch n's event parts are written before its observation part, and all carry n in their name:
the observation part is the batch's commit marker.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from harness.core import files
from harness.core.errors import StoreError

EVENT_DIRS = {"primary": "events_primary", "candidate": "events_candidate"}
PART_DIRS = ("observations", *EVENT_DIRS.values())
#: Shard attempts stage their parts here; only the coordinator moves them into the run's views.
ATTEMPTS_DIR = "_attempts"
#: Part columns worth dictionary-encoding (few distinct values). The others (seqs, times, prices,
#: event JSON) are nearly unique: trying a dictionary on them only to fall back cost ~20 % of a
#: part write.
DICTIONARY_COLUMNS = frozenset(
    {"ticker", "first", "primary_error", "candidate_error", "type", "direction", "shard"}
)


class PartSink:
    """Writes one shard's observation and event batches as numbered Parquet part files.

    Batch n's event parts are written before its observation part, and all carry n in their
    name: an observation part is the batch's commit marker, so after a crash the run's durable
    prefix is its observation parts and any later event part is an orphan (`committed_batches`).
    """

    def __init__(self, run_dir: Path, shard: int = 0, first_batch: int = 0) -> None:
        self.run_dir = Path(run_dir)
        self.shard = shard
        self.rows = {"observations": 0, "primary": 0, "candidate": 0}
        self.batch = first_batch  # number of the batch being written
        make_part_dirs(self.run_dir)

    def _write(self, kind: str, sub: str, table: pa.Table) -> None:
        dictionary = [c for c in table.column_names if c in DICTIONARY_COLUMNS]
        files.atomic_write(
            self.run_dir / sub / part_name(self.shard, self.batch),
            lambda tmp: pq.write_table(table, tmp, use_dictionary=dictionary),
            fsync=False,  # a part is durable once its batch's observation part is renamed in
        )
        self.rows[kind] += table.num_rows

    def write_observations(self, table: pa.Table) -> None:
        self._write("observations", "observations", table)
        self.batch += 1  # committed

    def write_events(self, side: str, table: pa.Table) -> None:
        self._write(side, EVENT_DIRS[side], table)


def part_name(shard: int, batch: int) -> str:
    return f"part-{shard:03d}-{batch:05d}.parquet"


def _part_batch(path: Path) -> tuple[int, int] | None:
    m = re.fullmatch(r"part-(\d+)-(\d+)\.parquet", path.name)
    return (int(m.group(1)), int(m.group(2))) if m else None


def committed_batches(run_dir: Path, shard: int = 0) -> tuple[int, int]:
    """(batches, ticks) of the shard's durable prefix, after removing what lies beyond it.

    Removes the shard's half-written temp files and every event part of a batch whose
    observation part was never written (a crash between the two): a resumed run writes them
    again, identically.
    """
    run_dir = Path(run_dir)
    obs = sorted(
        b
        for p in (run_dir / "observations").glob("part-*.parquet")
        if (b := _part_batch(p)) and b[0] == shard
    )
    batches = [b for _, b in obs]
    if batches != list(range(len(batches))):
        raise StoreError(f"{run_dir}: observation parts of shard {shard} are not contiguous")
    ticks = sum(
        pq.read_metadata(run_dir / "observations" / part_name(shard, b)).num_rows for b in batches
    )
    for sub in PART_DIRS:
        for p in (run_dir / sub).glob(".part-*.tmp"):  # staged by a writer that was killed
            p.unlink()
        for p in (run_dir / sub).glob("part-*.parquet"):
            b = _part_batch(p)
            if b and b[0] == shard and b[1] >= len(batches):
                p.unlink()
    return len(batches), ticks


def remove_shard_parts(run_dir: Path, shard: int) -> int:
    """Delete every part of one shard (a shard that will be replayed again from its start)."""
    n = 0
    for sub in PART_DIRS:
        for p in (Path(run_dir) / sub).glob(f"part-{shard:03d}-*.parquet"):
            p.unlink()
            n += 1
    return n


def make_part_dirs(run_dir: Path) -> None:
    for sub in PART_DIRS:
        (run_dir / sub).mkdir(parents=True, exist_ok=True)


def attempt_dir(run_dir: Path, shard: int, attempt: str) -> Path:
    """Where one attempt of a shard stages its parts (never read by the run's views)."""
    return run_dir / ATTEMPTS_DIR / f"{shard:03d}-{attempt}"


def commit_attempt(run_dir: Path, shard: int, attempt: str) -> int:
    """Move one finished attempt's parts into the run (the attempt the coordinator accepted).

    Why: a shard can run more than once (a retry, or Dask recomputing a result lost with a dead
    worker), possibly while the coordinator already diffs. Attempts write only to their own
    staging directory, so the run's views see exactly one complete attempt per shard.
    """
    src = attempt_dir(run_dir, shard, attempt)
    moved = 0
    for sub in PART_DIRS:
        (run_dir / sub).mkdir(parents=True, exist_ok=True)
        staged = src / sub
        if not staged.is_dir():
            continue
        for part in sorted(staged.glob("part-*.parquet")):
            os.replace(part, run_dir / sub / part.name)
            moved += 1
    shutil.rmtree(src, ignore_errors=True)
    return moved


def discard_attempts(run_dir: Path) -> None:
    """Drop every attempt that was not committed (failed, lost or superseded shards)."""
    shutil.rmtree(run_dir / ATTEMPTS_DIR, ignore_errors=True)
