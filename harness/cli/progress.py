"""Progress for long commands: a rich bar with ticks/s on a terminal's stderr, else nothing."""

from __future__ import annotations

import contextlib
import sys
from typing import Any


def wanted(progress: bool | None, as_json: bool) -> bool:
    """`--progress/--no-progress` as given, else on when stderr is a terminal and no JSON."""
    return progress if progress is not None else (sys.stderr.isatty() and not as_json)


def progress_bar(total: int | None, enabled: bool) -> Any:
    """A context giving `advance(n)`, or None when disabled (the callers pass it on as is)."""
    if not enabled:
        return contextlib.nullcontext(None)
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
            return Text(f"{task.speed or 0:>10,.0f} ticks/s")

    class _Bar:
        def __enter__(self) -> Any:
            self.progress = Progress(
                TextColumn("replay"),
                BarColumn(),
                MofNCompleteColumn(),
                _Rate(),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self.progress.__enter__()
            task = self.progress.add_task("replay", total=total)
            return lambda n: self.progress.advance(task, n)

        def __exit__(self, *exc: Any) -> None:
            self.progress.__exit__(*exc)

    return _Bar()
