"""Wall-clock stamps for manifests: when a run or a recording was written, in UTC.

Never for anything a replay computes: replay time comes from tick time (tickstock.clock)."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now(seconds_only: bool = False) -> str:
    """ISO 8601 UTC with a Z: microseconds for run manifests (heartbeats, ordering), whole
    seconds for recording manifests (`created`)."""
    fmt = "%Y-%m-%dT%H:%M:%SZ" if seconds_only else "%Y-%m-%dT%H:%M:%S.%fZ"
    return datetime.now(UTC).strftime(fmt)
