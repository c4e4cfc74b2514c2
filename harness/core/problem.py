"""One problem found in a recording: which file, column and row, and what was expected."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """A defect in a recording, located precisely enough to fix by hand.

    `file` is relative to the recording directory, `row` is the tick's `seq` (or None for
    file- and column-level problems), `kind` is a stable short code tests and tools can match.
    """

    kind: str
    file: str
    column: str | None
    row: int | None
    message: str

    def __str__(self) -> str:
        column = self.column if self.column is not None else "-"
        row = f"seq={self.row}" if self.row is not None else "-"
        return f"{self.file}: column {column}, row {row}: {self.message} [{self.kind}]"
