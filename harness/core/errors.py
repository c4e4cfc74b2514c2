"""The harness's exception tree; each class carries the process exit code it maps to.

    HarnessError (5)             handled harness failure: the tool could not do its job
    ├── ConfigError (5)          bad option, config file, stack spec or --set value
    ├── RecordingError (5)       bad recording: names file, column and row
    ├── GateError (5)            broken or unknown gate SQL / phase
    ├── StoreError (5)           missing/corrupt run directory, bad run id
    ├── IncompleteRunError (5)   a run that did not see every tick
    └── LiveError (5)            feed unreachable, auth failed

Exit codes 0 (pass), 3 (fail) and 4 (inconclusive / no data) are verdicts, not exceptions;
1 and 2 stay Python's (uncaught crash) and click's (usage error).
"""

from __future__ import annotations

from enum import IntEnum
from typing import ClassVar


class ExitCode(IntEnum):
    """Process exit codes of the `harness` CLI (design.md §10)."""

    PASS = 0
    CRASH = 1
    USAGE = 2
    FAIL = 3
    INCONCLUSIVE = 4
    HARNESS_ERROR = 5


class HarnessError(Exception):
    """A failure of the harness itself, reported as one line with exit code 5."""

    exit_code: ClassVar[int] = ExitCode.HARNESS_ERROR

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(HarnessError):
    """Bad configuration: options, TOML files, `--set` values, stack specs."""


class RecordingError(HarnessError):
    """A recording that cannot be trusted; the message names file, column and row."""


class GateError(HarnessError):
    """A gate that cannot be evaluated: unknown phase, broken or writing SQL."""


class StoreError(HarnessError):
    """A run directory that is missing, malformed, or addressed by an unsafe run id."""


class IncompleteRunError(HarnessError):
    """A run that did not see every tick; never a pass."""


class LiveError(HarnessError):
    """A live feed that cannot be used: unreachable URL, authentication failure."""
