"""TickStock shadow-traffic comparison and replay harness: the public API notebooks and tools use."""

from harness.core.errors import (
    ConfigError,
    ExitCode,
    GateError,
    HarnessError,
    IncompleteRunError,
    LiveError,
    RecordingError,
    StoreError,
)
from harness.core.model import Tick

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "ExitCode",
    "GateError",
    "HarnessError",
    "IncompleteRunError",
    "LiveError",
    "RecordingError",
    "StoreError",
    "Tick",
    "__version__",
]
