"""The per-call timeout: a watchdog thread that interrupts a stack call running too long.

The hot loop only stores the start time of the call in progress (`cur[0] = t0`, then 0); a
daemon thread polls it and, when one call exceeds the timeout, signals the main thread, whose
handler raises `TickTimeout` inside that call (a `time.sleep` or a Python loop both stop). No
syscall per tick, unlike arming an interval timer around every call::

    with Watchdog(timeout_s=5.0) as dog:
        dog.cur[0] = time.perf_counter_ns(); stack.process(tick); dog.cur[0] = 0
"""

from __future__ import annotations

import signal
import threading
import time
from types import TracebackType
from typing import Any


class TickTimeout(BaseException):
    """Raised inside a stack call by the watchdog; BaseException so `except Exception` misses it."""


class Watchdog:
    """Interrupts main-thread calls longer than `timeout_s`; inert elsewhere (`active` False)."""

    def __init__(self, timeout_s: float | None) -> None:
        self.cur = [0]
        self.timeout_ns = int(timeout_s * 1e9) if timeout_s else 0
        self.active = bool(
            self.timeout_ns
            and threading.current_thread() is threading.main_thread()
            and hasattr(signal, "pthread_kill")
        )
        self._target = -1
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._previous: Any = None

    def _on_signal(self, signum: int, frame: Any) -> None:
        if self.cur[0] == self._target:
            raise TickTimeout

    def _watch(self, main_ident: int) -> None:
        poll = min(max(self.timeout_ns / 4e9, 0.002), 0.25)
        cur, limit = self.cur, self.timeout_ns
        while not self._stop.wait(poll):
            started = cur[0]
            if started and started != self._target and time.perf_counter_ns() - started > limit:
                self._target = started
                signal.pthread_kill(main_ident, signal.SIGALRM)

    def __enter__(self) -> Watchdog:
        if self.active:
            self._previous = signal.signal(signal.SIGALRM, self._on_signal)
            self._thread = threading.Thread(
                target=self._watch, args=(threading.get_ident(),), name="tick-watchdog", daemon=True
            )
            self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None
            self.cur[0] = 0
            signal.signal(signal.SIGALRM, self._previous)
