"""What a live session saw of its feed: gaps, drops, bad messages, lag, and how it ended.

A live run can only be trusted as far as this account goes: a gap or an unreadable frame may
have hidden ticks, so either makes the run incomplete (`LiveSummary.bad_message_problem`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.core.model import pick
from harness.live.lag import LagSummary


@dataclass(frozen=True, slots=True)
class Gap:
    """A disconnect: when it started/ended (ns UTC), the last seq before it, what was missed."""

    start_ns: int
    end_ns: int | None
    last_seq: int | None
    ticks_possibly_missed: int | None
    missed_exact: bool
    reason: str

    def as_dict(self) -> dict[str, Any]:
        seconds = None if self.end_ns is None else (self.end_ns - self.start_ns) / 1e9
        return {
            **pick(self, "start_ns", "end_ns"),
            "seconds": seconds,
            **pick(self, "last_seq", "ticks_possibly_missed", "missed_exact", "reason"),
        }


@dataclass(frozen=True, slots=True)
class LiveSummary:
    """What the live session saw: the figures the run manifest and report show."""

    received: int
    delivered: int
    dropped: int
    frames: int
    connects: int
    gaps: tuple[Gap, ...]
    bad_messages: dict[str, int]
    bad_samples: dict[str, list[str]]
    queue_wait: LagSummary
    feed_delay: LagSummary
    queue_depth_max: int
    queue_size: int
    late: int
    late_max_ms: float
    ended_by: str
    error: str | None

    def bad_message_problem(self) -> str | None:
        """The audit problem unreadable frames make: a frame we could not read may have been a
        tick, so the run cannot claim it saw every tick."""
        if not self.bad_messages:
            return None
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(self.bad_messages.items()))
        first_kind = min(self.bad_messages)
        sample = (self.bad_samples.get(first_kind) or ["?"])[0]
        return (
            f"{sum(self.bad_messages.values())} feed message(s) could not be read ({kinds}); "
            f"e.g. {first_kind}: {sample}"
        )

    @property
    def complete(self) -> bool:
        """Nothing dropped on overflow and no fatal error; gaps alone do not make it incomplete."""
        return self.dropped == 0 and self.error is None

    def as_dict(self) -> dict[str, Any]:
        return {
            **pick(self, "received", "delivered", "dropped", "frames", "connects"),
            "gaps": [g.as_dict() for g in self.gaps],
            "bad_messages": dict(sorted(self.bad_messages.items())),
            "bad_samples": dict(sorted(self.bad_samples.items())),
            "queue_wait": self.queue_wait.as_dict(),
            "feed_delay": self.feed_delay.as_dict(),
            **pick(
                self,
                "queue_depth_max",
                "queue_size",
                "late",
                "late_max_ms",
                "ended_by",
                "error",
                "complete",
            ),
        }


def render_live(live: dict[str, Any], record: Path | None) -> str:
    """A few human lines about the feed side of a live session."""
    lines = [
        f"feed: {live['received']} ticks received, {live['delivered']} shadowed, {live['dropped']} dropped "
        f"(queue max {live['queue_depth_max']}/{live['queue_size']}), {live['connects']} connection(s), "
        f"ended by {live['ended_by']}",
        f"lag: queue wait p50 {live['queue_wait']['p50_ms']:.2f} ms, p99 {live['queue_wait']['p99_ms']:.2f} ms, "
        f"max {live['queue_wait']['max_ms']:.2f} ms",
    ]
    for gap in live["gaps"]:
        lines.append(
            f"gap: {gap['seconds']} s after seq {gap['last_seq']}, ticks possibly missed "
            f"{gap['ticks_possibly_missed']} ({gap['reason']})"
        )
    if live["bad_messages"]:
        lines.append(
            "bad messages: " + ", ".join(f"{k} {v}" for k, v in live["bad_messages"].items())
        )
    if record is not None:
        lines.append(f"recording: {record}")
    return "\n".join(lines)
