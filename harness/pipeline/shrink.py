"""`harness shrink RUN`: the smallest recording that still shows a run's first divergence.

A divergence on a 200,000-tick day is hard to debug; the same divergence on 40 ticks of one
ticker is not. The shrinker replays candidate cuts of the run's input through the run's own
stacks, configs, seed and faults (the one pipeline, `replay(request)`, each trial a real run in a
scratch directory) and keeps a cut when its first divergence is still the target: the same
ticker, class, event type and field paths. Cuts, cheapest first:

1. the ticks after the divergent tick (the stacks see ticks in order: later ones cannot matter)
   and every other ticker — the divergent ticker's ticks are read alone first, streamed, and the
   other tickers only when it needs some (then delta debugging over them);
2. the head of the day, by bisection on the first tick kept;
3. delta debugging (Zeller's ddmin) over the ticks that remain, the divergent tick always kept,
   until no single chunk can go or the time budget is spent.

Ticks keep their original `seq` and timestamps: market periods and seeded (seq-keyed) choices
such as the defect mutants' see exactly what they saw in the run. The result is a valid recording
whose manifest notes say how it was cut.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from harness.core.errors import ConfigError, StoreError
from harness.pipeline.replay import replay
from harness.pipeline.request import ReplayRequest
from harness.recordings.reader import open_recording
from harness.recordings.writer import RecordingWriter


@dataclass(frozen=True)
class Divergence:
    """What makes a first divergence the same one: ticker, class, event type, field paths."""

    ticker: str
    cls: str
    type: str
    fields: tuple[str, ...]

    @classmethod
    def of_run(cls, run_dir: Path) -> Divergence | None:
        path = run_dir / "first_divergence.json"
        if not path.is_file():
            return None
        first = json.loads(path.read_text(encoding="utf-8"))
        rows = [d for d in first.get("differences") or [] if d.get("class") == first.get("class")]
        if not first or not rows:
            return None
        row = rows[0]
        paths = tuple(sorted(str(f.get("path")) for f in row.get("fields") or []))
        return cls(str(first["ticker"]), str(first["class"]), str(row.get("type")), paths)

    def __str__(self) -> str:
        where = f" in {', '.join(self.fields)}" if self.fields else ""
        return f"{self.ticker} {self.type} {self.cls}{where}"


@dataclass
class ShrinkResult:
    """The shrunk recording and how it was reached."""

    recording: Path
    target: Divergence
    seq: int
    ticks: int
    original_ticks: int
    tickers: list[str]
    trials: int
    seconds: float
    steps: list[str] = field(default_factory=list)
    complete: bool = True  # False: the time budget ended delta debugging early

    @property
    def fraction(self) -> float:
        return self.ticks / max(self.original_ticks, 1)


class _Trials:
    """Replays candidate cuts and remembers the smallest that reproduces the target."""

    def __init__(self, request: ReplayRequest, target: Divergence, scratch: Path) -> None:
        self.request, self.target, self.scratch = request, target, scratch
        self.count = 0

    def reproduces(self, table: pa.Table) -> bool:
        self.count += 1
        trial = self.scratch / f"trial-{self.count}"
        rec = trial / "recording"
        with RecordingWriter(rec, name="shrink-trial", source="shrink") as w:
            w.write_batch(table)
        request = ReplayRequest(
            rec,
            self.request.primary,
            self.request.candidate,
            self.request.options,
            self.request.inject,
            runs_dir=trial / "runs",
            diff_config=self.request.diff_config,
        )
        try:
            result = replay(request)
            return Divergence.of_run(result.path) == self.target
        finally:
            shutil.rmtree(trial, ignore_errors=True)


def _ddmin(
    items: np.ndarray, keep: Callable[[np.ndarray], bool], deadline: float
) -> tuple[np.ndarray, bool]:
    """Zeller's ddmin over row indices: the smallest subset found for which `keep` holds."""
    n = 2
    while len(items) >= 2:
        chunks = np.array_split(items, n)
        for i in range(n):
            if time.monotonic() > deadline:
                return items, False
            rest = np.concatenate([c for j, c in enumerate(chunks) if j != i])
            if len(rest) and keep(rest):
                items, n = rest, max(n - 1, 2)
                break
        else:
            if n >= len(items):
                return items, True
            n = min(2 * n, len(items))
    return items, True


def shrink_run(
    run_dir: Path,
    out: Path,
    *,
    budget_s: float = 110.0,
    overwrite: bool = False,
    on_step: Callable[[str], None] | None = None,
) -> ShrinkResult:
    """Cut the run's input down to a small recording with the same first divergence."""
    from harness.store.runs import load_manifest

    started = time.monotonic()
    deadline = started + budget_s
    manifest = load_manifest(run_dir)
    target = Divergence.of_run(run_dir)
    if target is None:
        raise StoreError(f"{run_dir}: the run has no divergence to shrink to")
    if "replay_request" not in manifest:
        raise ConfigError(f"{run_dir}: not a recorded replay (a live run cannot be shrunk)")
    request = ReplayRequest.from_recorded(manifest, run_dir.parent)
    seq = int(json.loads((run_dir / "first_divergence.json").read_text())["seq"])
    source = open_recording(request.recording)
    original = int((manifest.get("audit") or {}).get("read") or source.tick_count)
    steps: list[str] = []

    def say(line: str) -> None:
        steps.append(line)
        if on_step:
            on_step(line)

    with tempfile.TemporaryDirectory(prefix="harness-shrink-") as tmp:
        trials = _Trials(request, target, Path(tmp))
        # streamed, and only what a cut can keep: ticks up to the divergent one, the divergent
        # ticker's alone first (all tickers are read only when it needs others)
        window = (request.start_ns, request.end_ns)
        alone = _prefix(source, [target.ticker], window, seq)
        say(
            f"{target.ticker}'s ticks up to the divergent tick {seq}: {alone.num_rows:,} of {original:,}"
        )
        if trials.reproduces(alone):
            table = alone
        else:
            table = _prefix(source, request.tickers, window, seq)
            say(f"every ticker up to the divergent tick: {table.num_rows:,} ticks")
            table = _cut_tickers(table, target, trials, deadline, say)
        table = _cut_head(table, seq, trials, say)
        rows, complete = _cut_ticks(table, seq, trials, deadline)
        table = table.take(pa.array(rows))
        say(f"delta debugging: {table.num_rows:,} ticks" + ("" if complete else " (budget spent)"))
        result = ShrinkResult(
            out,
            target,
            seq,
            table.num_rows,
            original,
            sorted(set(table["ticker"].to_pylist())),
            trials.count,
            time.monotonic() - started,
            steps,
            complete,
        )
        _write(out, table, result, run_dir, manifest, overwrite)
    return result


def _cut_tickers(
    table: pa.Table,
    target: Divergence,
    trials: _Trials,
    deadline: float,
    say: Callable[[str], None],
) -> pa.Table:
    """The divergent ticker needs others: delta debugging over them (after checking that all of
    them together reproduce the divergence at all)."""
    ticker = target.ticker
    if not trials.reproduces(table):
        raise StoreError(
            f"replaying the run's input up to the divergent tick does not reproduce {target}: "
            "the divergence depends on something the recording does not hold"
        )
    others = np.array(sorted(set(table["ticker"].to_pylist()) - {ticker}), dtype=object)

    def keep(names: np.ndarray) -> bool:
        return trials.reproduces(
            table.filter(pc.is_in(table["ticker"], pa.array([ticker, *names])))
        )

    kept, _ = _ddmin(others, keep, deadline)
    table = table.filter(pc.is_in(table["ticker"], pa.array([ticker, *kept])))
    say(f"{ticker} needs {len(kept)} other ticker(s): {table.num_rows:,} ticks")
    return table


def _prefix(
    source: Any, tickers: Sequence[str] | None, window: tuple[int | None, int | None], seq: int
) -> pa.Table:
    """The recording's ticks (of `tickers`, in the time window) up to tick `seq`, streamed: the
    reader yields (ts, seq) order, so the first batch past `seq` ends the read."""
    parts = []
    for batch in source.batches(tickers, window[0], window[1]):
        seqs = batch.column("seq")
        parts.append(batch.filter(pc.less_equal(seqs, seq)))
        if pc.max(seqs).as_py() > seq:
            break
    return pa.Table.from_batches(parts, schema=source.schema()).combine_chunks()


def _cut_head(table: pa.Table, seq: int, trials: _Trials, say: Callable[[str], None]) -> pa.Table:
    """Bisect the first tick kept: the latest start whose suffix still reproduces."""
    lo, hi = 0, table.num_rows - 1  # hi: the divergent tick itself (the last row)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if trials.reproduces(table.slice(mid)):
            lo = mid
        else:
            hi = mid - 1
    if lo:
        table = table.slice(lo)
        say(f"head of the day: starts at seq {table['seq'][0].as_py()}: {table.num_rows:,} ticks")
    return table


def _cut_ticks(
    table: pa.Table, seq: int, trials: _Trials, deadline: float
) -> tuple[list[int], bool]:
    seqs = table["seq"].to_numpy()
    last = int(np.flatnonzero(seqs == seq)[0])
    others = np.delete(np.arange(table.num_rows), last)

    def keep(rows: np.ndarray) -> bool:
        return trials.reproduces(table.take(pa.array(np.sort(np.append(rows, last)))))

    rows, complete = _ddmin(others, keep, deadline)
    return sorted([*map(int, rows), last]), complete


def _write(
    out: Path,
    table: pa.Table,
    result: ShrinkResult,
    run_dir: Path,
    manifest: dict[str, Any],
    overwrite: bool,
) -> None:
    rec = manifest.get("recording") or {}
    notes = {
        "shrunk_from": {
            "run": manifest.get("run_id"),
            "run_path": str(run_dir),
            "recording": rec.get("name"),
            "recording_sha256": rec.get("sha256"),
            "primary": manifest.get("primary"),
            "candidate": manifest.get("candidate"),
            "seed": manifest.get("seed"),
        },
        "divergence": {
            "seq": result.seq,
            "ticker": result.target.ticker,
            "class": result.target.cls,
            "type": result.target.type,
            "fields": list(result.target.fields),
        },
        "cut": result.steps,
        "ticks": result.ticks,
        "original_ticks": result.original_ticks,
        "trials": result.trials,
        "complete": result.complete,
    }
    name = f"{rec.get('name') or 'recording'}-shrunk-{manifest.get('run_id')}"
    with RecordingWriter(out, name=name, source="shrink", notes=notes, overwrite=overwrite) as w:
        w.write_batch(table)


def repro_command(result: ShrinkResult, manifest: dict[str, Any]) -> Sequence[str]:
    """The `harness replay` line that shows the divergence on the shrunk recording."""
    line = ["harness", "replay", str(result.recording)]
    for side in ("primary", "candidate"):
        spec = manifest.get(side) or {}
        line += [f"--{side}", str(spec.get("factory"))]
        for key, value in _flat(spec.get("config") or {}):
            line += [
                "--set",
                f"{side}.{key}={json.dumps(value) if not isinstance(value, str) else value}",
            ]
    return [*line, "--seed", str(manifest.get("seed", 0))]


def _flat(config: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for k, v in config.items():
        if isinstance(v, dict):
            out += _flat(v, f"{prefix}{k}.")
        else:
            out.append((f"{prefix}{k}", v))
    return out
