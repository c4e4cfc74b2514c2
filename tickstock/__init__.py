"""TickStock: the systems under test (legacy EventProcessor stack and multi-channel stack).

Knows nothing about the harness; deterministic when driven by tick time.
"""

__version__ = "0.1.0"
