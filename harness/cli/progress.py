"""Progress for long commands: a rich bar on a terminal's stderr, a periodic status line when piped.

`--progress/--no-progress` forces it on or off; by default a terminal gets the bar and anything
else (a pipe, a CI log, `make demo`'s captured output) gets one line on stderr every few seconds,
so a long step never looks hung. Standard output stays the command's result alone.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

#: Seconds between two status lines when stderr is not a terminal.
STATUS_EVERY_S = 5.0


def wanted(progress: bool | None, as_json: bool) -> str | None:
    """'bar' on a terminal, 'lines' when piped, None when `--no-progress` (JSON keeps lines: stderr)."""
    if progress is False:
        return None
    return "bar" if sys.stderr.isatty() else "lines"


def progress_bar(
    total: int | None, enabled: str | bool | None, what: str = "replay", unit: str = "ticks"
) -> Any:
    """A context giving `advance(n)`, or None when disabled (the callers pass it on as is)."""
    if not enabled:
        return contextlib.nullcontext(None)
    if enabled == "lines":
        return status_lines(total, what, unit)
    return _rich_bar(total, what, unit)


@contextlib.contextmanager
def status_lines(
    total: int | None, what: str, unit: str, every_s: float | None = None
) -> Iterator[Callable[[int], None]]:
    """`advance(n)` that prints `what: done/total unit (pct), rate/s, elapsed` to stderr now and then.

    The wall clock here only paces a human-facing message; nothing computed reads it.
    """
    every = STATUS_EVERY_S if every_s is None else every_s
    start = last = time.monotonic()
    done = 0

    def line(now: float, final: bool = False) -> None:
        elapsed = max(now - start, 1e-9)
        of = f"/{total:,}" if total else ""
        pct = f" ({100 * done / total:.0f}%)" if total else ""
        end = " done" if final else ""
        print(
            f"{what}: {done:,}{of} {unit}{pct}, {done / elapsed:,.0f} {unit}/s, "
            f"{elapsed:.0f} s{end}",
            file=sys.stderr,
            flush=True,
        )

    def advance(n: int) -> None:
        nonlocal done, last
        done += n
        now = time.monotonic()
        if now - last >= every:
            last = now
            line(now)

    yield advance
    if time.monotonic() - start >= every:
        line(time.monotonic(), final=True)


def _rich_bar(total: int | None, what: str, unit: str) -> Any:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        TextColumn,
        TimeElapsedColumn,
    )
    from rich.text import Text

    class _Rate(ProgressColumn):
        def render(self, task: Any) -> Text:
            return Text(f"{task.speed or 0:>10,.0f} {unit}/s")

    class _Bar:
        def __enter__(self) -> Any:
            self.progress = Progress(
                TextColumn(what),
                BarColumn(),
                MofNCompleteColumn(),
                _Rate(),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self.progress.__enter__()
            task = self.progress.add_task(what, total=total)
            return lambda n: self.progress.advance(task, n)

        def __exit__(self, *exc: Any) -> None:
            self.progress.__exit__(*exc)

    return _Bar()


@contextlib.contextmanager
def step(what: str, enabled: str | bool | None, every_s: float = STATUS_EVERY_S) -> Iterator[None]:
    """A step without a counter (gate, report, validate): a spinner on a terminal, else a line on
    stderr every `every_s` seconds while it runs, so a long step is never silent."""
    if not enabled:
        yield
        return
    if enabled == "bar":
        from rich.console import Console

        with Console(stderr=True).status(what):
            yield
        return
    import threading

    start = time.monotonic()
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(every_s):
            print(f"{what}: {time.monotonic() - start:.0f} s", file=sys.stderr, flush=True)

    thread = threading.Thread(target=beat, name="progress-status", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
