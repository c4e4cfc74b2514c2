"""The `harness` command line: one small module per command group, no business logic.

`app` holds the group and its error handling, `options` the shared options, `types` the
parameter types, `progress` the progress bar;
the commands: `recordings` (info, validate, synth), `importing` (import), `replay`, `runs` (diff,
runs, compare), `readiness` (gate, report), `calibration` (calibrate), `feed`, `live`, `serve`, `shrink`.
"""

from harness.cli import (  # noqa: F401
    calibration,
    feed,
    importing,
    live,
    readiness,
    recordings,
    replay,
    runs,
    serve,
    shrink,
)
from harness.cli.app import cli, main

__all__ = ["cli", "main"]
