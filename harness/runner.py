"""The shadow runner: feeds every tick to primary and candidate, timing and recording each call.

Per tick both stacks run in a seeded random order, each call timed with `perf_counter_ns` (wall)
and `thread_time_ns` (CPU); exceptions become error observations and a per-tick timeout turns a
hanging call into a timeout observation (design.md §5). Observations and events leave the loop
in batches through a `Sink` (the run store implements it), so memory does not grow with the day::

    outcome = ShadowRunner(primary, candidate, sink, RunOptions(seed=7)).run(ticks)
"""

from __future__ import annotations

import json
import random
import signal
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import pyarrow as pa

OBSERVATION_SCHEMA = pa.schema(
    [
        ("seq", pa.int64()),
        ("ticker", pa.string()),
        ("ts", pa.timestamp("ns", tz="UTC")),
        ("first", pa.string()),
        ("primary_ns", pa.int64()),
        ("candidate_ns", pa.int64()),
        ("primary_cpu_ns", pa.int64()),
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

SIDES = ("primary", "candidate")
_ENCODE = json.JSONEncoder(sort_keys=True, default=str, separators=(",", ":")).encode


class Sink(Protocol):
    """Where batches go: the run store writes each as one Parquet part file."""

    def write_observations(self, table: pa.Table) -> None: ...

    def write_events(self, side: str, table: pa.Table) -> None: ...


class TickTimeout(BaseException):
    """Raised inside a stack call by the per-tick alarm; BaseException so stacks don't swallow it."""


@dataclass(frozen=True, slots=True)
class RunOptions:
    """Knobs of one shadow run; all recorded in the manifest."""

    seed: int = 0
    tick_timeout_s: float | None = 5.0
    max_hangs: int = 3  # consecutive timeouts on one ticker that abort the run
    batch_size: int = 65_536
    flush_interval_s: float = 5.0  # write a partial batch at least this often (live feeds)
    cpu_time: bool = True
    shard: int = 0


@dataclass(frozen=True, slots=True)
class StackCounts:
    """What the harness saw one stack do."""

    processed: int
    errored: int
    timed_out: int
    events: int


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """The runner's account of a run: conservation audit, stats, why it stopped early (if so)."""

    read: int
    primary: StackCounts
    candidate: StackCounts
    stats: dict[str, Any]
    wall_ns: int
    aborted: str | None = None
    audit_problems: tuple[str, ...] = field(default_factory=tuple)

    @property
    def audit_ok(self) -> bool:
        return not self.audit_problems and self.aborted is None

    def audit(self) -> dict[str, Any]:
        """The manifest's `audit` block: ticks read = processed + errored + timed_out, per stack."""
        out: dict[str, Any] = {"read": self.read}
        for side in SIDES:
            c: StackCounts = getattr(self, side)
            out[side] = {
                "processed": c.processed,
                "errored": c.errored,
                "timed_out": c.timed_out,
                "events": c.events,
            }
        out["ok"] = self.audit_ok
        out["problems"] = list(self.audit_problems)
        return out


class _Side:
    """Per-stack counters and event buffers, kept as plain lists for a cheap hot loop."""

    def __init__(self, stack: Any) -> None:
        self.stack = stack
        self.process = stack.process
        self.processed = self.errored = self.timed_out = self.events = 0
        self.ev_dicts: list[Any] = []
        self.ev_emit: list[int] = []
        self.ev_index: list[int] = []
        self.pos = 0
        self.hangs: dict[str, int] = {}

    def take_events(self, shard: int) -> pa.Table:
        dicts, emit, index = self.ev_dicts, self.ev_emit, self.ev_index
        n = len(dicts)
        tick_seq = [_seq(d, e) for d, e in zip(dicts, emit, strict=True)]
        table = pa.table(
            {
                "tick_seq": pa.array(tick_seq, pa.int64()),
                "emit_seq": pa.array(emit, pa.int64()),
                "emit_index": pa.array(index, pa.int32()),
                "emit_pos": pa.array(range(self.pos, self.pos + n), pa.int64()),
                "ticker": pa.array([_str(d, "ticker") for d in dicts], pa.string()),
                "type": pa.array([_str(d, "type") for d in dicts], pa.string()),
                "direction": pa.array([_str(d, "direction") for d in dicts], pa.string()),
                "price": pa.array([_float(d.get("price")) for d in dicts], pa.float64()),
                "event_json": pa.array([_ENCODE(d) for d in dicts], pa.string()),
                "shard": pa.array([shard] * n, pa.int32()),
            },
            schema=EVENT_SCHEMA,
        )
        self.pos += n
        self.ev_dicts, self.ev_emit, self.ev_index = [], [], []
        return table


def _seq(d: Any, emitted: int) -> int:
    s = d.get("tick_seq") if isinstance(d, dict) else None
    return s if isinstance(s, int) and not isinstance(s, bool) else emitted


def _str(d: Any, key: str) -> str | None:
    v = d.get(key) if isinstance(d, dict) else None
    return None if v is None else str(v)


def _float(v: Any) -> float | None:
    try:
        return None if v is None or isinstance(v, bool) else float(v)
    except (TypeError, ValueError):
        return None


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


class ShadowRunner:
    """Runs primary and candidate side by side over any iterable of ticks."""

    def __init__(self, primary: Any, candidate: Any, sink: Sink, options: RunOptions) -> None:
        self.sides = {"primary": _Side(primary), "candidate": _Side(candidate)}
        self.sink = sink
        self.opt = options
        self._armed = [False]
        self._use_alarm = (
            options.tick_timeout_s is not None
            and threading.current_thread() is threading.main_thread()
            and hasattr(signal, "setitimer")
        )

    def _on_alarm(self, signum: int, frame: Any) -> None:
        if self._armed[0]:
            raise TickTimeout

    def run(
        self, ticks: Iterable[Any], progress: Callable[[int], None] | None = None
    ) -> RunOutcome:
        """Shadow every tick; returns the outcome even when the run aborts on a hanging stack."""
        previous = signal.signal(signal.SIGALRM, self._on_alarm) if self._use_alarm else None
        started = time.perf_counter_ns()
        try:
            read, aborted = self._loop(ticks, progress)
            flush_problems = self._finish()
        finally:
            if self._use_alarm:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, previous)
        wall = time.perf_counter_ns() - started
        stats = {side: _safe_stats(s.stack) for side, s in self.sides.items()}
        counts = {
            side: StackCounts(s.processed, s.errored, s.timed_out, s.events)
            for side, s in self.sides.items()
        }
        problems = list(flush_problems) + _audit(read, counts, stats, aborted)
        return RunOutcome(
            read, counts["primary"], counts["candidate"], stats, wall, aborted, tuple(problems)
        )

    def _call(self, side: _Side, tick: Any, seq: int) -> tuple[int, int, int, str | None, bool]:
        """One timed, guarded stack call → (wall ns, cpu ns, n events, error text, timed out)."""
        armed, timeout = self._armed, self.opt.tick_timeout_s or 0.0
        use_alarm, cpu = self._use_alarm, self.opt.cpu_time
        tt = time.thread_time_ns if cpu else _zero
        pc = time.perf_counter_ns
        t0 = c0 = 0
        try:
            if use_alarm:  # armed before the clocks start, so arming is not billed to the stack
                armed[0] = True
                signal.setitimer(signal.ITIMER_REAL, timeout)
            c0 = tt()
            t0 = pc()
            events = side.process(tick)
            t1 = pc()
            if use_alarm:
                signal.setitimer(signal.ITIMER_REAL, 0)
                armed[0] = False
        except TickTimeout:
            armed[0] = False
            return self._timed_out(side, tick, pc() - t0, tt() - c0)
        except Exception as exc:  # the system under test failing is data, not a crash
            if use_alarm:
                signal.setitimer(signal.ITIMER_REAL, 0)
                armed[0] = False
            side.errored += 1
            return pc() - t0, tt() - c0, 0, _error_text(exc), False
        c1 = tt()
        if timeout and not use_alarm and t1 - t0 > timeout * 1e9:
            return self._timed_out(side, tick, t1 - t0, c1 - c0)
        if side.hangs:
            side.hangs.pop(tick.ticker, None)
        n = len(events) if events else 0
        side.processed += 1
        if n:
            side.events += n
            side.ev_dicts.extend(events)
            side.ev_emit.extend([seq] * n)
            side.ev_index.extend(range(n))
        return t1 - t0, c1 - c0, n, None, False

    def _timed_out(
        self, side: _Side, tick: Any, wall: int, cpu: int
    ) -> tuple[int, int, int, str, bool]:
        side.timed_out += 1
        side.hangs[tick.ticker] = side.hangs.get(tick.ticker, 0) + 1
        return wall, cpu, 0, f"TickTimeout: exceeded {self.opt.tick_timeout_s} s", True

    def _loop(
        self, ticks: Iterable[Any], progress: Callable[[int], None] | None
    ) -> tuple[int, str | None]:
        opt = self.opt
        prim, cand = self.sides["primary"], self.sides["candidate"]
        order = random.Random(f"order:{opt.seed}:{opt.shard}")
        cols: dict[str, list[Any]] = {name: [] for name in OBSERVATION_SCHEMA.names}
        seqs, tickers, tss, firsts = cols["seq"], cols["ticker"], cols["ts"], cols["first"]
        p_ns, c_ns, p_cpu, c_cpu = (
            cols["primary_ns"],
            cols["candidate_ns"],
            cols["primary_cpu_ns"],
            cols["candidate_cpu_ns"],
        )
        p_err, c_err, p_to, c_to = (
            cols["primary_error"],
            cols["candidate_error"],
            cols["primary_timeout"],
            cols["candidate_timeout"],
        )
        p_ev, c_ev = cols["primary_events"], cols["candidate_events"]
        call = self._call
        batch, flush_ns = opt.batch_size, int(opt.flush_interval_s * 1e9)
        bits = order.randbytes(batch)
        k = 0
        read = 0
        last_flush = time.perf_counter_ns()
        aborted: str | None = None
        for tick in ticks:
            seq = tick.seq
            read += 1
            seqs.append(seq)
            tickers.append(tick.ticker)
            tss.append(tick.ts)
            if bits[k] & 1:
                firsts.append("candidate")
                cw, cc, cn, ce, ct = call(cand, tick, seq)
                pw, pc_, pn, pe, pt = call(prim, tick, seq)
            else:
                firsts.append("primary")
                pw, pc_, pn, pe, pt = call(prim, tick, seq)
                cw, cc, cn, ce, ct = call(cand, tick, seq)
            p_ns.append(pw)
            c_ns.append(cw)
            p_cpu.append(pc_)
            c_cpu.append(cc)
            p_err.append(pe)
            c_err.append(ce)
            p_to.append(pt)
            c_to.append(ct)
            p_ev.append(pn)
            c_ev.append(cn)
            if pt or ct:
                aborted = self._hang_check(tick)
                if aborted:
                    break
            k += 1
            if k == batch or (time.perf_counter_ns() - last_flush > flush_ns):
                self._write(cols)
                if progress is not None:
                    progress(k)
                if k == batch:
                    bits = order.randbytes(batch)
                    k = 0
                else:
                    bits = bits[k:] + order.randbytes(k)
                    k = 0
                last_flush = time.perf_counter_ns()
        self._write(cols)
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

    def _write(self, cols: dict[str, list[Any]]) -> None:
        if cols["seq"]:
            n = len(cols["seq"])
            cols["shard"] = [self.opt.shard] * n
            table = pa.table(cols, schema=OBSERVATION_SCHEMA)
            self.sink.write_observations(table)
            for values in cols.values():
                values.clear()
        for name, side in self.sides.items():
            if side.ev_dicts:
                self.sink.write_events(name, side.take_events(self.opt.shard))

    def _finish(self) -> list[str]:
        """flush() both stacks (their pending events get emit_seq -1) and write the rest."""
        problems = []
        for name, side in self.sides.items():
            try:
                events = side.stack.flush() or []
            except Exception as exc:
                problems.append(f"{name} flush() raised {_error_text(exc)}")
                continue
            side.events += len(events)
            side.ev_dicts.extend(events)
            side.ev_emit.extend([-1] * len(events))
            side.ev_index.extend(range(len(events)))
        for name, side in self.sides.items():
            if side.ev_dicts:
                self.sink.write_events(name, side.take_events(self.opt.shard))
        return problems


def _zero() -> int:
    return 0


def _safe_stats(stack: Any) -> dict[str, Any]:
    try:
        return json.loads(json.dumps(dict(stack.stats()), default=str))
    except Exception as exc:
        return {"stats_error": _error_text(exc)}


def _audit(
    read: int, counts: dict[str, StackCounts], stats: dict[str, Any], aborted: str | None
) -> list[str]:
    """Tick conservation per stack, also against the stack's own `ticks_processed` if it reports one."""
    problems = []
    for side, c in counts.items():
        seen = c.processed + c.errored + c.timed_out
        if aborted is None and seen != read:
            problems.append(
                f"{side}: read {read} ≠ processed {c.processed} + errored {c.errored} "
                f"+ timed out {c.timed_out}"
            )
        own = stats.get(side, {}).get("ticks_processed")
        if isinstance(own, int) and not isinstance(own, bool):
            rejected = stats[side].get("ticks_rejected", 0)
            rejected = rejected if isinstance(rejected, int) else 0
            if own + rejected != c.processed:
                problems.append(
                    f"{side}: stack reports ticks_processed {own} + ticks_rejected {rejected} "
                    f"but the harness saw {c.processed} successful process() calls "
                    f"({c.processed - own - rejected} ticks silently skipped)"
                )
    return problems
