"""Concurrent sides: primary and candidate each in a process of its own, over the same ticks.

Why: interleaving both stacks per tick on one core makes each evict the other's state from the
core's caches (the bundled stacks: +15–35 % each, benchmarks/bench_cores.py) and leaves the
second core idle. Here each stack runs alone on a core: each side process reads the ticks from
the recording itself (`TickFeed`), calls its stack exactly as the interleaved runner does
(the same guarded, timed call, CPU samples, memory probes, watchdog), and sends every batch of
raw results to this process, which merges the two sides row by row into the same part files an
interleaved run writes. Events, errors, timeouts and the audit are those of an interleaved run;
latencies are each stack's own, measured while the other stack runs on the other core; the
observations' `first` says `concurrent`. Batches end every `batch_size` ticks (never on a timer,
so both sides cut at the same rows).

Fair latencies: the sides trade cores every `SWAP_TICKS` ticks in lockstep (harness.replay.
coreswap), so a core's speed cancels out of the paired ratio (A/A 1.002–1.009; docs/scaling.md)::

    outcome = SplitRunner(spec, TickFeed("recordings/sample-day"), sink).run()
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import multiprocessing as mp
import os
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from harness.core.model import SIDES
from harness.replay.coreswap import CoreSwap, exit_when_orphaned, swap_cpus
from harness.replay.faults import FaultyStack
from harness.replay.outcome import SWAP_TICKS, RunOutcome, Sink, StackCounts
from harness.replay.runner import (
    ShadowRunner,
    _audit,
    _error_text,
    _safe_stats,
    _Side,
    call_modes,
)
from harness.replay.stack import load_stack
from harness.replay.threads import ThreadCpu, ThreadLedger
from harness.replay.watchdog import Watchdog
from harness.store.batches import BatchTape, EventColumns, SideTape

__all__ = ["SideProcessError", "SplitRunner", "TickFeed"]


@dataclass(frozen=True, slots=True)
class TickFeed:
    """How a side process reads the run's ticks itself: the recording, its filters, its pace.

    Picklable; the parent has validated the recording. `rebuild`: resuming, the ticks already
    stored are replayed unpaced before pacing starts (as the interleaved resume does)."""

    recording: str
    tickers: tuple[str, ...] | None = None
    start_ns: int | None = None
    end_ns: int | None = None
    limit: int | None = None
    speed: float = 0.0
    rebuild: int = 0

    def ticks(self) -> Iterator[Any]:
        from harness.recordings.reader import open_recording
        from harness.replay.sources import Pace, paced

        tickers = list(self.tickers) if self.tickers else None
        it: Iterator[Any] = iter(
            open_recording(self.recording).ticks(tickers, self.start_ns, self.end_ns)
        )
        if self.limit is not None:
            it = itertools.islice(it, self.limit)
        if self.speed:
            it = itertools.chain(itertools.islice(it, self.rebuild), paced(it, Pace(self.speed)))
        return it


@dataclass(slots=True)
class _Batch:
    """One side's batch as sent to the parent: tick keys, the side's tape, how the side ended."""

    stored: bool
    tape: BatchTape  # seq, ts, ticker and the side's results in `.primary`
    final: bool = False
    aborted: str | None = None


class _SideRunner(ShadowRunner):
    """The interleaved runner's per-tick call for one stack, batches sent down a pipe."""

    def __init__(
        self,
        stack: Any,
        name: str,
        conn: Any,
        options: Any,
        skip: int,
        swap: CoreSwap | None,
        threads: ThreadLedger,
    ) -> None:
        self.sides = {name: _Side(stack)}
        self.threads = threads
        self.name = name
        self.conn = conn
        self.opt = options
        self.skip = skip
        self.swap = swap
        self.dog = Watchdog(options.tick_timeout_s)
        self._batches = 0

    def run_side(self, ticks: Iterator[Any]) -> None:
        gc_was_on = gc.isenabled()
        if self.opt.gc_between_batches:
            gc.disable()
        try:
            with self.dog:
                self.threads.start()
                read = self._side_loop(ticks)
                threads = self.threads.used()
        finally:
            if gc_was_on:
                gc.enable()
        side = self.sides[self.name]
        problems, flushed = [], EventColumns()
        try:
            flushed = EventColumns.of([(-1, list(side.stack.flush() or []))])
        except Exception as exc:
            problems.append(f"{self.name} flush() raised {_error_text(exc)}")
        self.conn.send(("end", read, problems, flushed, _safe_stats(side.stack), threads))

    def _side_loop(self, ticks: Iterator[Any]) -> int:
        """`ShadowRunner._loop` for one side; the same call modes on the same rows."""
        opt = self.opt
        side = self.sides[self.name]
        tape = BatchTape()
        call = self._make_call(side, tape.primary, tape.seq)
        seqs, tss, names = tape.seq.append, tape.ts.append, tape.ticker.append
        batch, skip = opt.batch_size, self.skip
        modes = call_modes(opt)
        period = len(modes)
        hangs, max_hangs = side.hangs, opt.max_hangs
        # the next core swap: a countdown costs the per-tick path one comparison (-1: never)
        swap = self.swap
        next_swap = 0 if swap is not None else -1
        k = read = 0
        for tick in ticks:
            if read == next_swap and swap is not None:
                swap.at(read // SWAP_TICKS)
                next_swap += SWAP_TICKS
            mode = modes[read % period]
            read += 1
            seqs(tick.seq)
            tss(tick.ts)
            names(tick.ticker)
            hung = call(tick, mode, k)
            k += 1
            if hung and hangs.get(tick.ticker, 0) >= max_hangs:
                aborted = (
                    f"{self.name} hung on ticker {tick.ticker} at seq {tick.seq} "
                    f"({max_hangs} consecutive timeouts of {opt.tick_timeout_s} s)"
                )
                if swap is not None:  # the other side runs on to its batch end, unswapped
                    swap.leave()
                self._send(tape, False, aborted)
                return read
            if k == batch or read == skip:
                self._send(tape, read <= skip)
                tape.clear()
                self._collect()
                self.threads.sample()
                k = 0
        self._send(tape, False, None, final=True)
        return read

    def _send(
        self, tape: BatchTape, stored: bool, aborted: str | None = None, final: bool = False
    ) -> None:
        self.conn.send(("batch", _Batch(stored, tape, final or aborted is not None, aborted)))


def _side_process(
    conn: Any, name: str, spec: Any, feed: TickFeed, skip: int, swap: CoreSwap | None
) -> None:
    """A side process: load the stack (the candidate with its faults), run it, report back."""
    if swap is not None:  # only the barrier can block a side whose parent is gone
        threading.Thread(target=exit_when_orphaned, args=(os.getppid(),), daemon=True).start()
    try:
        stack_spec = spec.primary if name == "primary" else spec.candidate
        threads = ThreadLedger.before()  # this process's threads so far are the harness's
        stack = load_stack(stack_spec.factory, stack_spec.config)
        threads.built()
        if name == "candidate" and spec.inject.active:
            stack = FaultyStack(stack, spec.inject, spec.options.seed)
        try:
            _SideRunner(stack, name, conn, spec.options, skip, swap, threads).run_side(feed.ticks())
        finally:
            with contextlib.suppress(Exception):
                stack.close()
    except BaseException as exc:  # the parent turns it into the run's error
        if swap is not None:
            swap.leave()
        with contextlib.suppress(Exception):
            conn.send(("failed", f"{_error_text(exc)}\n{traceback.format_exc(limit=8)}"))
    finally:
        conn.close()


class SideProcessError(RuntimeError):
    """A side process failed or died: the run is an error (the stacks' own exceptions are data)."""


class SplitRunner(ShadowRunner):
    """Runs each side in its own process; merges their batches into the run's parts."""

    def __init__(self, spec: Any, feed: TickFeed, sink: Sink, skip: int = 0) -> None:
        self.spec = spec
        self.feed = feed
        self.sink = sink
        self.opt = spec.options
        self.skip = skip
        self.sides = {name: _Side(_Detached()) for name in SIDES}
        self._procs: dict[str, Any] = {}
        self._conns: dict[str, Any] = {}
        self._barrier: Any = None

    def run(self, ticks: Any = None, progress: Callable[[int], None] | None = None) -> RunOutcome:
        started = time.perf_counter_ns()
        ctx = mp.get_context("spawn")  # no inherited threads or locks; the stacks load fresh
        cpus = swap_cpus()
        barrier = self._barrier = ctx.Barrier(2) if cpus is not None else None
        try:
            for name in SIDES:
                receive, send = ctx.Pipe(duplex=False)
                swap = None if cpus is None else CoreSwap(barrier, cpus, name == "candidate")
                proc = ctx.Process(
                    target=_side_process,
                    args=(send, name, self.spec, self.feed, self.skip, swap),
                    name=f"harness-{name}",
                    daemon=True,
                )
                proc.start()
                send.close()
                self._procs[name], self._conns[name] = proc, receive
            read, aborted = self._merge(progress)
            stats, problems, threads = self._ends(aborted)
            self._stop(wait=aborted is None)
        finally:
            self._stop(wait=False)
        counts = {
            name: StackCounts(s.processed, s.errored, s.timed_out, s.events)
            for name, s in self.sides.items()
        }
        problems += _audit(read, counts, stats, aborted)
        return RunOutcome(
            read,
            counts["primary"],
            counts["candidate"],
            stats,
            time.perf_counter_ns() - started,
            aborted,
            tuple(problems),
            threads,
        )

    def _recv(self, name: str) -> tuple[Any, ...]:
        """The next message of side `name`. While waiting, a side process that died (a nonzero
        exit: killed, `os._exit`; a side that ends or fails normally exits 0) is an error at
        once: the side we wait for may be blocked at the core-swap barrier for that partner.
        One that exited normally is done with the barrier: break it, so no side waits there."""
        conn = self._conns[name]
        while not conn.poll(0.5):
            for other, proc in self._procs.items():
                if proc.exitcode not in (None, 0):
                    raise SideProcessError(
                        f"the {other} side process died (exit code {proc.exitcode})"
                    )
                if proc.exitcode == 0 and self._barrier is not None:
                    self._barrier.abort()
        try:
            msg: tuple[Any, ...] = conn.recv()
        except (EOFError, OSError):
            proc = self._procs[name]
            proc.join(5)
            raise SideProcessError(
                f"the {name} side process died (exit code {proc.exitcode})"
            ) from None
        if msg[0] == "failed":
            raise SideProcessError(f"the {name} side process failed: {msg[1]}")
        return msg

    def _merge(self, progress: Callable[[int], None] | None) -> tuple[int, str | None]:
        """Receive batch i of both sides, merge and write it; until both end or one aborts."""
        read = 0
        while True:
            p = self._recv("primary")[1]
            c = self._recv("candidate")[1]
            n = min(len(p.tape), len(c.tape))
            aborted = p.aborted or c.aborted
            if len(p.tape) != len(c.tape) and aborted is None:
                raise SideProcessError(
                    f"the sides read different ticks: {len(p.tape)} vs {len(c.tape)} in a batch"
                )
            if p.tape.seq[:n] != c.tape.seq[:n]:
                raise SideProcessError("the sides read different ticks (seq differs in a batch)")
            merged = p.tape
            merged.candidate = c.tape.primary
            if aborted is not None:
                _truncate(merged, n)
            merged.first = None  # neither ran first: concurrent
            read += n
            self._write(merged, p.stored)
            if progress is not None and n:
                progress(n)
            if aborted is not None:
                return read, aborted
            if p.final or c.final:
                if not (p.final and c.final):
                    raise SideProcessError("one side ended before the other on the same ticks")
                return read, None

    def _ends(self, aborted: str | None) -> tuple[dict[str, Any], list[str], ThreadCpu]:
        """Flush events and stats of each side; after an abort only the side that stopped
        reports (the other ran on and is stopped: its flush and stats would not match the rows)."""
        stats: dict[str, Any] = {}
        problems: list[str] = []
        threads = ThreadCpu()
        for name in SIDES:
            if aborted is not None and not aborted.startswith(name):
                stats[name] = {"stats_error": "not collected: the run aborted on the other side"}
                continue
            _, _read, flush_problems, flushed, side_stats, side_threads = self._recv(name)
            problems += flush_problems
            self._emit(self.sides[name], name, flushed)
            stats[name] = side_stats
            threads = threads.plus(side_threads)
        return stats, problems, threads

    def _stop(self, wait: bool) -> None:
        """Reap the side processes: after a clean end they exit by themselves; otherwise (an
        abort, an error, Ctrl-C) a side may still be running or blocked on the pipe."""
        for proc in self._procs.values():
            if wait:
                proc.join(timeout=10)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
                proc.join()
        for conn in self._conns.values():
            conn.close()
        self._procs.clear()
        self._conns.clear()


class _Detached:
    """The parent's stand-in for a stack that lives in a side process."""

    def process(self, tick: Any) -> Any:
        raise RuntimeError("this stack runs in a side process")

    def stats(self) -> dict[str, Any]:
        return {}


def _truncate(tape: BatchTape, n: int) -> None:
    """Keep the first `n` rows of a merged batch (a side aborted there; the other ran on)."""
    del tape.seq[n:], tape.ts[n:]
    del tape.ticker[n:]
    for side in (tape.primary, tape.candidate):
        _truncate_side(side, n)


def _truncate_side(side: SideTape, n: int) -> None:
    del side.wall[n:], side.cpu[n:]
    side.held = {r: b for r, b in side.held.items() if r < n}
    side.probed = [r for r in side.probed if r < n]
    side.errors = {r: t for r, t in side.errors.items() if r < n}
    side.timeouts = [r for r in side.timeouts if r < n]
    keep = sum(1 for r in side.rows if r < n)  # calls with events, in row order
    events = sum(side.counts[:keep])
    del side.rows[keep:], side.counts[keep:]
    ev = side.events
    for name in EventColumns.__slots__:
        del getattr(ev, name)[events:]
