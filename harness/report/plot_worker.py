"""Draws the report's figures off the report's own thread: in a spawned process, or in a thread.

`harness report` spawns a process before it imports the report's libraries, so matplotlib's
import (about a CPU-second) and the drawing run on the second core while DuckDB and NumPy build
the evidence; the report submits each figure as soon as its data exists. A spawned interpreter
is safe whatever threads the caller runs; when no process can be started, or it dies, the
figures are drawn in this process instead. Either way the PNG bytes are the same: the same
functions of harness/report/plots.py draw them. This module imports neither matplotlib nor pandas.
"""

from __future__ import annotations

import importlib
import multiprocessing
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any


def _warm() -> None:
    importlib.import_module("harness.report.plots")


def _draw(name: str, *args: Any) -> bytes:
    png: bytes = getattr(importlib.import_module("harness.report.plots"), name)(*args)
    return png


class PlotWorker:
    """Draws harness.report.plots figures by name on an executor; `png` waits for one figure's bytes."""

    def __init__(self, executor: Executor) -> None:
        self._executor = executor
        self._jobs: dict[str, tuple[Future[bytes], tuple[Any, ...]]] = {}
        executor.submit(_warm)

    @classmethod
    def process(cls) -> PlotWorker:
        """A worker in a spawned interpreter (falls back to a thread when none can start).

        As with any spawned process, the caller's `__main__` is imported there again (except a
        package's `__main__`), so it must be guarded; `python -m harness.cli` and the `harness`
        script are.
        """
        try:
            pool = ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context("spawn")
            )
            return cls(pool)
        except (OSError, RuntimeError, BrokenProcessPool):
            return cls.thread()

    @classmethod
    def thread(cls) -> PlotWorker:
        """A worker thread in this process (matplotlib is imported there, once)."""
        return cls(ThreadPoolExecutor(max_workers=1, thread_name_prefix="plots"))

    def draw(self, name: str, *args: Any) -> None:
        """Start drawing figure `name` (a function of harness.report.plots) from `args`."""
        try:
            future = self._executor.submit(_draw, name, *args)
        except (BrokenProcessPool, RuntimeError) as exc:
            future = Future()
            future.set_exception(exc)
        self._jobs[name] = (future, args)

    def png(self, name: str) -> bytes:
        """The PNG of a figure started with `draw`; drawn here if the worker process died."""
        future, args = self._jobs[name]
        try:
            return future.result()
        except BrokenProcessPool:
            return _draw(name, *args)

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> PlotWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
