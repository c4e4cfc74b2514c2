"""The CPU that threads (and child processes) of the stacks' own use while they are shadowed.

Each call is timed on the thread that makes it. Work a stack hands to a thread of its own (a
queue and a worker, a `ThreadPoolExecutor`) is not in its calls' times, and in one process that
thread takes the GIL and a core from the other side's calls: a candidate burning twice its CPU
that way PASSed phase 1 with a latency ratio of 1.03 (2026-12-07). So the runner counts it: the
Python threads that appeared while the stacks were being built, and those that appear once the
loop runs, each read from its own CPU clock (`time.pthread_getcpuclockid`) at the loop's start,
at every batch end and at its end; a thread that exits keeps the CPU it had when last read. Threads
started between the two (the run's heartbeat, a progress bar, the watchdog) are the harness's. The
gates refuse to judge latency when that CPU is more than a few percent of the calls'
(`stack_thread_cpu`, _setup.sql). Child processes the stacks start (a process pool) are read the
same way (psutil: user + system CPU), with the same rules for when they started; one that exits
keeps its last reading.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ThreadCpu:
    """What the stacks' threads used during a run: CPU (ns) and their names."""

    cpu_ns: int = 0
    names: tuple[str, ...] = ()

    def plus(self, other: ThreadCpu) -> ThreadCpu:
        return ThreadCpu(self.cpu_ns + other.cpu_ns, tuple(sorted({*self.names, *other.names})))

    def as_dict(self) -> dict[str, object]:
        return {"cpu_ns": self.cpu_ns, "threads": list(self.names)}

    @classmethod
    def of(cls, d: Mapping[str, Any] | None) -> ThreadCpu:
        """`as_dict`'s output read back (a shard record written before it existed: nothing)."""
        if not d:
            return cls()
        return cls(int(d.get("cpu_ns", 0)), tuple(str(n) for n in d.get("threads", ())))


def _cpu_ns(thread: threading.Thread) -> int | None:
    """The thread's CPU time, or None when it has exited or the platform has no thread clocks."""
    ident = thread.ident
    if ident is None or not thread.is_alive():
        return None
    try:
        return time.clock_gettime_ns(time.pthread_getcpuclockid(ident))
    except (AttributeError, OSError, ValueError):
        return None


def _children() -> dict[int, Any]:
    """This process's descendants (pid → psutil.Process); none where psutil cannot list them."""
    try:
        import psutil

        return {c.pid: c for c in psutil.Process().children(recursive=True)}
    except Exception:  # noqa: BLE001 - no psutil, or the platform refuses: no processes counted
        return {}


def _process_cpu_ns(proc: Any) -> int | None:
    """A child process's CPU (user + system), or None once it has exited."""
    try:
        t = proc.cpu_times()
    except Exception:  # noqa: BLE001 - psutil.NoSuchProcess / AccessDenied / ZombieProcess
        return None
    return int((t.user + t.system) * 1e9)


def _process_name(proc: Any) -> str:
    try:
        return f"process {proc.name()} [{proc.pid}]"
    except Exception:  # noqa: BLE001 - it exited between the two reads
        return f"process [{proc.pid}]"


def _alive() -> set[Any]:
    """Every thread (its ident) and descendant process (("pid", n)) alive now."""
    threads = {t.ident for t in threading.enumerate() if t.ident is not None}
    return threads | {("pid", pid) for pid in _children()}


def _readings() -> Iterator[tuple[Any, int, Any]]:
    """(key as in `_alive`, CPU ns, the thread or psutil process) of every thread but the
    caller's and every descendant process that can be read now."""
    me = threading.get_ident()
    for t in threading.enumerate():
        if t.ident is not None and t.ident != me and (cpu := _cpu_ns(t)) is not None:
            yield t.ident, cpu, t
    for pid, proc in _children().items():
        if (cpu := _process_cpu_ns(proc)) is not None:
            yield ("pid", pid), cpu, proc


class ThreadLedger:
    """The stacks' threads and child processes: those started between `before()` and `built()`
    (while they were built) and those started after `start()` (by their calls); and the CPU each
    used since `start()`. Anything else alive at `start()` is the environment's (the watchdog
    too). Threads and processes share one key space (`_alive`)."""

    def __init__(self, existing: set[Any]) -> None:
        self._existing = existing
        self._built: set[Any] = set()
        self._base: dict[Any, int] = {}  # CPU at the loop's start (0: started during it)
        self._last: dict[Any, int] = {}  # CPU when last read
        self._names: dict[Any, str] = {}

    @classmethod
    def before(cls) -> ThreadLedger:
        """Call before the stacks are built: every thread and process alive now is the
        environment's."""
        return cls(_alive())

    def built(self) -> None:
        """Call once the stacks are built: the threads and processes started since `before()`
        are theirs."""
        self._built = _alive() - self._existing

    def start(self) -> None:
        """The loop starts: CPU the stacks' threads used while being built does not count."""
        self._existing = _alive() - self._built
        self._base.clear()
        self._last.clear()
        self._read(starting=True)

    def sample(self) -> None:
        """Read every stack thread's and process's clock (once per batch)."""
        self._read(starting=False)

    def _read(self, starting: bool) -> None:
        for key, cpu, who in _readings():
            if key in self._existing:
                continue
            self._base.setdefault(key, cpu if starting else 0)
            self._last[key] = cpu
            if key not in self._names:
                threaded = isinstance(who, threading.Thread)
                self._names[key] = who.name if threaded else _process_name(who)

    def used(self) -> ThreadCpu:
        """CPU the stacks' threads used since `start()` (read now, as `sample`)."""
        self.sample()
        cpu = sum(self._last[i] - self._base[i] for i in self._last)
        busy = sorted({self._names[i] for i in self._last if self._last[i] > self._base[i]})
        return ThreadCpu(int(cpu), tuple(busy))
