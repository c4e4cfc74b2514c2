"""Defect-injecting candidates: a real stack wrapped so that it is wrong in one known way.

They exist to attack the gates: every defect here must FAIL every phase gate whose criteria it
violates (docs/verdict-truth.md has the matrix, tests/test_verdict_truth.py proves it cell by
cell). A mutant is an ordinary stack factory, so it runs in-process and on Dask alike::

    harness replay recordings/sample-day --primary tickstock.stacks:legacy \
        --candidate harness.replay.mutants:mutant --set candidate.mutant.defect=drop \
        --set candidate.mutant.inner=tickstock.stacks:legacy --set candidate.mutant.rate=0.02

Config: the inner stack's own config plus a `mutant` table — `defect` (one of DEFECTS), `inner`
(the wrapped factory), `seed` and the defect's parameters. The inner stack gets the config
without `mutant`, so `phase` stays where gates and run keys look for it. Every random choice is
a pure function of (seed, tick seq, position), so a mutant is as deterministic as its inner
stack, whatever the call order or sharding.
"""

from __future__ import annotations

import copy
import datetime as dt
import multiprocessing
import queue
import threading
import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from harness.core.errors import ConfigError
from harness.core.model import PERIODS
from harness.replay.stack import load_stack

_ET = ZoneInfo("America/New_York")
_SPIN_CHUNK_NS = 50_000


@dataclass(frozen=True, slots=True)
class Defect:
    """One kind of defect: its parameters with defaults and what it violates."""

    name: str
    summary: str
    defaults: Mapping[str, Any]


DEFECTS: dict[str, Defect] = {
    d.name: d
    for d in (
        Defect("drop", "drop a fraction of the events (optionally one type, period or tickers)",
               {"rate": 0.02, "type": None, "period": None, "tickers": None, "limit": None}),
        Defect("duplicate", "emit a fraction of the events twice", {"rate": 0.02}),
        Defect("spurious", "add a surge the primary never emitted on a fraction of ticks",
               {"rate": 0.002}),
        Defect("shift", "add the smallest unit to one field of a fraction of the events",
               {"rate": 0.02, "field": "price", "amount": 0.01}),
        Defect("mend", "as shift, then put the returned dicts right on the next call",
               {"rate": 0.02, "field": "price", "amount": 0.01}),
        Defect("swap_direction", "swap up and down on a fraction of the events", {"rate": 0.02}),
        Defect("reuse_id", "give a fraction of the events the event_id of the event returned "
               "before them (an id the diff ignores, no longer an identifier)", {"rate": 0.02}),
        Defect("delay_time", "stamp a fraction of the events `seconds` late (time, timestamp)",
               {"rate": 0.02, "seconds": 1}),
        Defect("reorder", "reverse the emission order within ticks that emit several events",
               {"rate": 1.0}),
        Defect("late", "return a fraction of the events on their ticker's next tick, unchanged",
               {"rate": 0.02}),
        Defect("raise", "raise instead of processing a fraction of the ticks", {"rate": 0.02}),
        Defect("hang", "stall `hang_s` seconds on the first `count` ticks of one ticker",
               {"ticker": None, "hang_s": 0.3, "count": 3}),
        Defect("slow", "burn `factor - 1` times the inner call's time after every call",
               {"factor": 1.5}),
        Defect("spike", "burn `factor - 1` times the inner call's time on a fraction `rate` of the "
               "ticks (a tail: the median call is untouched, the mean grows)",
               {"rate": 0.02, "factor": 11.0}),
        Defect("offload", "burn `share` times the inner call's time after every call, in a "
               "thread of its own, or a process of its own with `process` (work moved off the "
               "timed path)", {"share": 0.5, "process": False}),
        Defect("leak", "keep `bytes_per_tick` bytes of garbage alive per tick",
               {"bytes_per_tick": 2048}),
    )
}  # fmt: skip


def _unit(seed: int, seq: int, pos: int) -> float:
    """A deterministic number in [0, 1) for (seed, seq, pos): no RNG state, any call order."""
    return zlib.crc32(f"{seed}:{seq}:{pos}".encode()) / 4294967296.0


def _spin(ns: int) -> None:
    """Burn CPU for `ns` nanoseconds (a slow stack computes; it does not sleep)."""
    end = time.perf_counter_ns() + ns
    while time.perf_counter_ns() < end:
        pass


def _burn_queued(work: queue.SimpleQueue[int | None]) -> None:
    """The offload defect's worker: burn each queued amount of CPU until told to stop (None)."""
    while (ns := work.get()) is not None:
        _spin(ns)


def _period(ts_ns: int) -> str:
    hhmm = dt.datetime.fromtimestamp(ts_ns / 1e9, _ET).strftime("%H:%M")
    return next((p for p, (a, b) in PERIODS.items() if a <= hhmm < b), "CLOSED")


def _later(text: Any, seconds: int) -> Any:
    """An "HH:MM:SS" time string `seconds` later (other values unchanged)."""
    try:
        t = dt.datetime.strptime(str(text), "%H:%M:%S")
    except ValueError:
        return text
    return (t + dt.timedelta(seconds=seconds)).strftime("%H:%M:%S")


class MutantStack:
    """A stack wrapped with one defect; stats() passes the inner stack's through, plus a count."""

    def __init__(self, inner: Any, defect: str, params: Mapping[str, Any], seed: int) -> None:
        self.inner = inner
        self.name = f"{getattr(inner, 'name', 'stack')}+{defect}"
        self.defect = defect
        self.p = {**DEFECTS[defect].defaults, **params}
        self.seed = seed
        self.injected = 0
        self._leak: list[bytearray] = []
        # spike: the ticks a multiplicative hash of the sequence number puts below this bound
        self._spike_below = int(float(self.p["rate"]) * 1_000_003) if defect == "spike" else 0
        self._work: Any = None
        self._owed = 0  # offload: CPU (ns) not yet handed to the worker …
        # … every call to a thread; every 64 calls to a process (a pipe write per call would cost
        # more than the work it moves, and a real pool batches too)
        self._hand_every = 64 if defect == "offload" and self.p["process"] else 1
        if defect == "offload" and self.p["process"]:  # a worker process of its own
            ctx = multiprocessing.get_context("spawn")
            self._work = ctx.SimpleQueue()
            self._worker: Any = ctx.Process(
                target=_burn_queued, args=(self._work,), name="mutant-offload", daemon=True
            )
            self._worker.start()
        elif defect == "offload":  # a worker thread of the stack's own, fed after every call
            self._work = queue.SimpleQueue()
            self._worker = threading.Thread(
                target=_burn_queued, args=(self._work,), name="mutant-offload", daemon=True
            )
            self._worker.start()
        self._last_id: Any = None  # reuse_id: the id of the last event returned
        self._held: dict[str, list[dict[str, Any]]] = {}  # late: events waiting for the next tick
        self._mending: list[tuple[dict[str, Any], dict[str, Any]]] = []  # mend: (returned, right)
        # defects acting on the call itself (raise, hang, slow, leak) edit no events
        self._edit: Callable[[Any, list[dict[str, Any]]], list[dict[str, Any]]] = getattr(
            self, f"_{defect}", lambda tick, events: events
        )

    # -- the Stack protocol -------------------------------------------------------------------
    def process(self, tick: Any) -> Sequence[dict[str, Any]]:
        if self._spike_below:  # first and lean: the calls it leaves alone keep their median
            t0 = time.perf_counter_ns()
            events = self.inner.process(tick)
            if (tick.seq * 2654435761 + self.seed) % 1_000_003 < self._spike_below:
                self.injected += 1
                _spin(int((time.perf_counter_ns() - t0) * (float(self.p["factor"]) - 1.0)))
            return events
        if self.defect == "raise" and _unit(self.seed, tick.seq, -1) < self.p["rate"]:
            self.injected += 1
            raise RuntimeError(f"mutant: raised on {tick.ticker} seq {tick.seq}")
        if (
            self.defect == "hang"
            and tick.ticker == self.p["ticker"]
            and self.injected < int(self.p["count"])
        ):
            self.injected += 1
            time.sleep(float(self.p["hang_s"]))
        t0 = time.perf_counter_ns()
        events = list(self.inner.process(tick) or [])
        if self.defect == "slow":
            _spin(int((time.perf_counter_ns() - t0) * (float(self.p["factor"]) - 1.0)))
            return events
        if self._work is not None:
            self._owed += int((time.perf_counter_ns() - t0) * float(self.p["share"]))
            self.injected += 1
            if self.injected % self._hand_every == 0:
                self._work.put(self._owed)
                self._owed = 0
            return events
        if self.defect == "leak":
            self._leak.append(bytearray(int(self.p["bytes_per_tick"])))
            self.injected += 1
            return events
        # spurious adds events, late releases held ones, mend mends: on ticks without events too
        acts_always = self.defect in ("spurious", "late", "mend")
        return self._edit(tick, events) if events or acts_always else events

    def flush(self) -> Sequence[dict[str, Any]]:
        held = [e for events in self._held.values() for e in events]
        self._held.clear()
        return [*held, *(self.inner.flush() or [])]

    def stats(self) -> dict[str, Any]:
        out = dict(self.inner.stats())
        out["mutant"] = {"defect": self.defect, "injected": self.injected}
        return out

    def close(self) -> None:
        if self._work is not None:
            self._work.put(None)
            self._worker.join()
        self.inner.close()

    # -- event edits (one per defect) ---------------------------------------------------------
    def _hit(self, tick: Any, pos: int) -> bool:
        return _unit(self.seed, tick.seq, pos) < float(self.p["rate"])

    def _drop(self, tick: Any, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        p = self.p
        if p["tickers"] and tick.ticker not in p["tickers"]:
            return events
        if p["period"] and _period(tick.ts) != p["period"]:
            return events
        kept: list[dict[str, Any]] = []
        for i, e in enumerate(events):
            dropped = self.injected + i - len(kept)
            full = p["limit"] is not None and dropped >= int(p["limit"])
            if full or (p["type"] and e.get("type") != p["type"]) or not self._hit(tick, i):
                kept.append(e)
        self.injected += len(events) - len(kept)
        return kept

    def _duplicate(self, tick: Any, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for i, e in enumerate(events):
            out.append(e)
            if self._hit(tick, i):
                self.injected += 1
                out.append(copy.deepcopy(e))
        return out

    def _spurious(self, tick: Any, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not self._hit(tick, -2):
            return events
        self.injected += 1
        when = dt.datetime.fromtimestamp(tick.ts / 1e9, _ET)
        fake = {
            "ticker": tick.ticker, "type": "surge", "price": tick.price,
            "time": when.strftime("%H:%M:%S"), "direction": "up", "count": 1,
            "volume": tick.volume, "label": "↑ price & volume", "tick_seq": tick.seq,
            "timestamp": tick.ts / 1e9,
        }  # fmt: skip
        return [*events, fake]

    def _shift(self, tick: Any, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        path = str(self.p["field"]).split(".")
        out = []
        for i, e in enumerate(events):
            if self._hit(tick, i):
                e = copy.deepcopy(e)
                node: Any = e
                for part in path[:-1]:
                    node = node.get(part) if isinstance(node, dict) else None
                leaf = node.get(path[-1]) if isinstance(node, dict) else None
                if isinstance(leaf, int | float) and not isinstance(leaf, bool):
                    node[path[-1]] = leaf + self.p["amount"]  # type: ignore[index]
                    self.injected += 1
            out.append(e)
        return out

    def _mend(self, tick: Any, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for returned, right in self._mending:  # the dicts it returned last call, put right now
            returned.clear()
            returned.update(right)
        out = self._shift(tick, events)
        self._mending = [(s, e) for s, e in zip(out, events, strict=True) if s is not e]
        return out

    def _swap_direction(self, tick: Any, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        swap = {"up": "down", "down": "up"}
        out = []
        for i, e in enumerate(events):
            if self._hit(tick, i) and e.get("direction") in swap:
                e = {**e, "direction": swap[e["direction"]]}
                self.injected += 1
            out.append(e)
        return out

    def _reuse_id(self, tick: Any, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for i, e in enumerate(events):
            if self._hit(tick, i) and self._last_id is not None and "event_id" in e:
                e = {**e, "event_id": self._last_id}
                self.injected += 1
            self._last_id = e.get("event_id", self._last_id)
            out.append(e)
        return out

    def _delay_time(self, tick: Any, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        s = int(self.p["seconds"])
        out = []
        for i, e in enumerate(events):
            if self._hit(tick, i):
                e = {**e, "time": _later(e.get("time"), s)}
                if isinstance(e.get("timestamp"), int | float):
                    e["timestamp"] = e["timestamp"] + s
                self.injected += 1
            out.append(e)
        return out

    def _late(self, tick: Any, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Events held back on an earlier tick of this ticker come out now, before this tick's
        own; each held event keeps its content and tick_seq (only the call that returns it moves)."""
        out = self._held.pop(tick.ticker, [])
        later = []
        for i, e in enumerate(events):
            if self._hit(tick, i):
                later.append(e)
                self.injected += 1
            else:
                out.append(e)
        if later:
            self._held[tick.ticker] = later
        return out

    def _reorder(self, tick: Any, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if len(events) > 1 and self._hit(tick, -3):
            self.injected += 1
            return events[::-1]
        return events


def mutant(config: Mapping[str, Any]) -> MutantStack:
    """Stack factory `harness.replay.mutants:mutant` (config: the inner stack's + `mutant = {…}`)."""
    cfg = dict(config or {})
    spec = cfg.pop("mutant", None)
    if not isinstance(spec, Mapping):
        raise ConfigError(
            "harness.replay.mutants:mutant needs a 'mutant' table: {defect, inner, …}"
        )
    spec = dict(spec)
    defect = spec.pop("defect", None)
    if defect not in DEFECTS:
        raise ConfigError(f"mutant: defect must be one of {', '.join(DEFECTS)}, got {defect!r}")
    inner = spec.pop("inner", "tickstock.stacks:legacy")
    seed = int(spec.pop("seed", 0))
    unknown = sorted(set(spec) - set(DEFECTS[defect].defaults))
    if unknown:
        raise ConfigError(
            f"mutant {defect}: unknown parameter(s) {unknown}; known {sorted(DEFECTS[defect].defaults)}"
        )
    if defect == "hang" and not spec.get("ticker"):
        raise ConfigError("mutant hang: give the ticker to stall on")
    return MutantStack(load_stack(str(inner), cfg), defect, spec, seed)
