"""The shadow runner: feeds every tick to primary and candidate, timing and recording each call.

Per tick both stacks run in a seeded random order, each call timed with `perf_counter_ns` (wall;
`thread_time_ns` CPU on a sample of ticks, since a CPU clock read is a syscall); exceptions become
error observations and the watchdog turns a hanging call into a timeout observation (design.md
§5). The hot loop appends a few machine integers per tick (no object per tick); batches leave through a `Sink` (the run store
writes each as Parquet parts), so memory does not grow with the day::

    outcome = ShadowRunner(primary, candidate, sink, RunOptions(seed=7)).run(ticks)
"""

from __future__ import annotations

import gc
import json
import math
import random
import time
import tracemalloc
from array import array
from collections.abc import Callable, Iterable
from typing import Any

from harness.replay.outcome import RunOptions, RunOutcome, Sink, StackCounts
from harness.replay.threads import ThreadLedger
from harness.replay.watchdog import TickTimeout, Watchdog
from harness.store.batches import (
    BatchTape,
    EventColumns,
    SideTape,
    observations_table,
)

#: Per-tick call modes: plain, with thread CPU time, with the memory probe.
PLAIN, CPU, PROBE = 0, 1, 2


def call_modes(opt: RunOptions) -> bytes:
    """The call mode of tick `read` is `modes[read % len(modes)]`: CPU time on every
    `cpu_sample`-th tick, the memory probe on every `memory_probe`-th, placed between CPU-sampled
    ticks (a CPU tick that coincides keeps its CPU sample). Someone else's tracemalloc session
    (PYTHONTRACEMALLOC) must not be stopped by the probe: then there is none."""
    sample = opt.cpu_sample
    probe = opt.memory_probe if not tracemalloc.is_tracing() else 0
    period = math.lcm(sample or 1, probe or 1)
    modes = bytearray(period)
    for read in range(period):
        if sample and read % sample == 0:
            modes[read] = CPU
        elif probe and read % probe == (probe // 2 + 1) % probe:
            modes[read] = PROBE
    return bytes(modes)


class _Side:
    """One stack with its counters, filled once per batch from the raw results."""

    def __init__(self, stack: Any) -> None:
        self.stack = stack
        self.process = stack.process
        self.processed = self.errored = self.timed_out = self.events = 0
        self.pos = 0  # emit_pos of the next event
        self.hangs: dict[str, int] = {}  # consecutive timeouts per ticker


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


class ShadowRunner:
    """Runs primary and candidate side by side over any iterable of ticks."""

    def __init__(
        self,
        primary: Any,
        candidate: Any,
        sink: Sink,
        options: RunOptions,
        skip: int = 0,
        threads: ThreadLedger | None = None,
    ) -> None:
        self.sides = {"primary": _Side(primary), "candidate": _Side(candidate)}
        #: the stacks' own threads (`ThreadLedger.before()` taken before they were built)
        self.threads = threads if threads is not None else ThreadLedger.before()
        self.sink = sink
        self.opt = options
        #: resuming: the first `skip` ticks are already stored; they rebuild both stacks' state
        #: (every call made as before, in the same order) and are counted, but not written again
        self.skip = skip
        self.dog = Watchdog(options.tick_timeout_s)
        self._batches = 0

    def run(
        self, ticks: Iterable[Any], progress: Callable[[int], None] | None = None
    ) -> RunOutcome:
        """Shadow every tick; returns the outcome even when the run aborts on a hanging stack."""
        started = time.perf_counter_ns()
        # A collection triggered by the harness's (or the other stack's) allocations would be billed
        # to whichever call crossed the threshold; so the cyclic GC runs between batches instead.
        gc_was_on = gc.isenabled()
        if self.opt.gc_between_batches:
            gc.disable()
        try:
            with self.dog:
                self.threads.start()
                read, aborted = self._loop(ticks, progress)
                flush_problems = self._finish()
                threads = self.threads.used()
        finally:
            if gc_was_on:
                gc.enable()
        wall = time.perf_counter_ns() - started
        stats = {side: _safe_stats(s.stack) for side, s in self.sides.items()}
        counts = {
            side: StackCounts(s.processed, s.errored, s.timed_out, s.events)
            for side, s in self.sides.items()
        }
        problems = list(flush_problems) + _audit(read, counts, stats, aborted)
        return RunOutcome(
            read,
            counts["primary"],
            counts["candidate"],
            stats,
            wall,
            aborted,
            tuple(problems),
            threads,
        )

    def _make_call(
        self, side: _Side, tape: SideTape, seq: array
    ) -> Callable[[Any, int, int], bool]:
        """The guarded, timed call of one stack, with everything it needs bound as locals.

        It appends the call's wall (and on `CPU` ticks thread CPU) time to the side's tape and
        returns whether the call timed out; events, errors and timeouts are kept by row index,
        and each call's events are recorded as it returns them (`take`; `seq`: the batch's
        tick seqs). One closure per side, so the per-tick path does no attribute lookups.

        On a `PROBE` tick the call also measures the bytes the stack kept (`tape.held`): bytes
        allocated during the call (traced by `tracemalloc`, started just for it, outside the
        timed window) still alive once the harness has let go of what the call returned, i.e.
        the stack's own state growth on that tick. A correct stack's state grows with new
        tickers and bounded histories; a leak keeps bytes on every tick. Only calls that
        returned no events are recorded (event calls would bill the harness's encoding to the
        stack), and the cyclic GC is off inside batches, so no collection lands inside the
        window. Probed ticks are rare (`RunOptions.memory_probe`): tracing slows allocations
        (a probed call takes several times as long, more for a stack that allocates more), so
        the row is marked (`tape.probed`) and no latency statistic counts its times. Tracing
        stops on every way out of the call, a `TickTimeout` from the watchdog included.
        """
        cur = self.dog.cur
        limit = self.dog.timeout_ns
        pc, tt = time.perf_counter_ns, time.thread_time_ns
        start, traced, stop = tracemalloc.start, tracemalloc.get_traced_memory, tracemalloc.stop
        timeout_text = f"TickTimeout: exceeded {self.opt.tick_timeout_s} s"
        process, hangs = side.process, side.hangs
        wall, cpu_ns, take = tape.wall.append, tape.cpu.append, tape.take
        held, probed = tape.held, tape.probed.append

        def call(tick: Any, mode: int, row: int) -> bool:
            cpu = mode == CPU
            probe = mode == PROBE
            c0 = tt() if cpu else 0
            t0 = 0
            if probe:
                probed(row)
                start(1)
            try:
                t0 = cur[0] = pc()
                events = process(tick)
                if type(events) is not list:  # a lazy sequence must not do its work untimed
                    events = [] if events is None else list(events)
                t1 = pc()
                cur[0] = 0
            except TickTimeout:
                t1 = pc()
                cur[0] = 0
                if probe:
                    stop()
                return self._timed_out(side, tape, tick, row, t1 - t0, timeout_text)
            except Exception as exc:  # the system under test failing is data, not a crash
                t1 = pc()
                cur[0] = 0
                if probe:
                    stop()
                wall(t1 - t0)
                cpu_ns(tt() - c0 if cpu else -1)
                tape.errors[row] = _error_text(exc)
                return False
            except BaseException:
                if probe:
                    stop()
                raise
            if probe:
                if not events:
                    events = None  # released: what is still traced is what the stack kept
                    held[row] = traced()[0]
                stop()
            if limit and t1 - t0 > limit:  # too slow even if never interrupted (other threads)
                return self._timed_out(side, tape, tick, row, t1 - t0, timeout_text)
            if hangs:
                hangs.pop(tick.ticker, None)
            wall(t1 - t0)
            cpu_ns(tt() - c0 if cpu else -1)
            if events:  # recorded now: a stack changing the dicts later cannot change the record
                take(row, seq[row], events)
            return False

        return call

    def _timed_out(
        self, side: _Side, tape: SideTape, tick: Any, row: int, wall: int, text: str
    ) -> bool:
        side.hangs[tick.ticker] = side.hangs.get(tick.ticker, 0) + 1
        tape.wall.append(wall)
        tape.cpu.append(-1)
        tape.errors[row] = text
        tape.timeouts.append(row)
        return True

    def _loop(
        self, ticks: Iterable[Any], progress: Callable[[int], None] | None
    ) -> tuple[int, str | None]:
        opt = self.opt
        prim, cand = self.sides["primary"], self.sides["candidate"]
        order = random.Random(f"order:{opt.seed}:{opt.shard}")
        tape = BatchTape()
        pcall = self._make_call(prim, tape.primary, tape.seq)
        ccall = self._make_call(cand, tape.candidate, tape.seq)
        seqs, tss, names = tape.seq.append, tape.ts.append, tape.ticker.append
        batch, flush_ns = opt.batch_size, int(opt.flush_interval_s * 1e9)
        modes = call_modes(opt)
        period = len(modes)
        skip = self.skip
        bits = order.randbytes(batch)
        k = read = 0
        last_flush = time.perf_counter_ns()
        aborted: str | None = None
        for tick in ticks:
            mode = modes[read % period]
            read += 1
            seqs(tick.seq)
            tss(tick.ts)
            names(tick.ticker)
            if bits[k] & 1:
                hung = ccall(tick, mode, k) | pcall(tick, mode, k)
            else:
                hung = pcall(tick, mode, k) | ccall(tick, mode, k)
            k += 1
            if hung:
                aborted = self._hang_check(tick)
                if aborted:
                    break
            if (
                k == batch
                or read == skip
                or (not k & 255 and time.perf_counter_ns() - last_flush > flush_ns)
            ):
                tape.first = bits[:k]
                self._write(tape, read <= skip)
                tape.clear()
                self._collect()
                self.threads.sample()
                if progress is not None:
                    progress(k)
                bits = bits[k:] + order.randbytes(k)
                k = 0
                last_flush = time.perf_counter_ns()
        tape.first = bits[:k]
        self._write(tape)
        if progress is not None and k:
            progress(k)
        return read, aborted

    def _hang_check(self, tick: Any) -> str | None:
        for name, side in self.sides.items():
            if side.hangs.get(tick.ticker, 0) >= self.opt.max_hangs:
                return (
                    f"{name} hung on ticker {tick.ticker} at seq {tick.seq} "
                    f"({self.opt.max_hangs} consecutive timeouts of {self.opt.tick_timeout_s} s)"
                )
        return None

    def _collect(self) -> None:
        """Collect between batches, after the batch's rows are released, so the collector walks
        the stacks' live state and not a batch of ticks and events that are about to be freed."""
        if self.opt.gc_between_batches:
            self._batches += 1
            gc.collect(2 if self._batches % 16 == 0 else 1)

    def _write(self, tape: BatchTape, stored: bool = False) -> None:
        """Count, tabulate and hand one batch to the sink: its event parts first, then its
        observations (the batch's commit marker). `stored`: the batch is already in the run."""
        if not len(tape):
            return
        for name, st in (("primary", tape.primary), ("candidate", tape.candidate)):
            side = self.sides[name]
            failed = len(st.errors)  # timeouts are in errors too
            side.timed_out += len(st.timeouts)
            side.errored += failed - len(st.timeouts)
            side.processed += len(tape) - failed
            self._emit(side, name, st.events, stored)
        if not stored:
            self.sink.write_observations(observations_table(tape, self.opt.shard))

    def _emit(self, side: _Side, name: str, events: EventColumns, stored: bool = False) -> None:
        if len(events):
            table = events.table(side.pos, self.opt.shard)
            side.pos += table.num_rows
            side.events += table.num_rows
            if not stored:
                self.sink.write_events(name, table)

    def _finish(self) -> list[str]:
        """flush() both stacks; their pending events get emit_seq -1."""
        problems = []
        for name, side in self.sides.items():
            try:
                events = list(side.stack.flush() or [])
            except Exception as exc:
                problems.append(f"{name} flush() raised {_error_text(exc)}")
                continue
            self._emit(side, name, EventColumns.of([(-1, events)]))
        return problems


def _safe_stats(stack: Any) -> dict[str, Any]:
    try:
        return json.loads(json.dumps(dict(stack.stats()), default=str))
    except Exception as exc:
        return {"stats_error": _error_text(exc)}


def _audit(
    read: int, counts: dict[str, StackCounts], stats: dict[str, Any], aborted: str | None
) -> list[str]:
    """Tick conservation per stack, also against the stack's own `ticks_processed` if reported."""
    problems = []
    for side, c in counts.items():
        seen = c.processed + c.errored + c.timed_out
        if seen != read:
            problems.append(
                f"{side}: read {read} ≠ processed {c.processed} + errored {c.errored} "
                f"+ timed out {c.timed_out}"
            )
        own = stats.get(side, {}).get("ticks_processed")
        if isinstance(own, int) and not isinstance(own, bool):
            rejected = stats[side].get("ticks_rejected", 0)
            rejected = rejected if isinstance(rejected, int) else 0
            # a call that timed out or raised may or may not have counted itself
            if not c.processed <= own + rejected <= c.processed + c.errored + c.timed_out:
                problems.append(
                    f"{side}: stack reports ticks_processed {own} + ticks_rejected {rejected} "
                    f"but the harness saw {c.processed} successful process() calls "
                    f"({c.processed - own - rejected} ticks silently skipped)"
                )
    return problems
