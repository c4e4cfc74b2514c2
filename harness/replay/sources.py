"""Tick sources for replay: a recording (filtered by tickers, time range, limit) paced afap/realtime/N×.

Pacing follows tick time: in `realtime` the tick at ts is released (ts − first_ts) / speed after
the first one, so a recorded day replays with its own rhythm; `afap` never sleeps::

    ticks = paced(recording_ticks("recordings/sample-day", tickers=["AAPL"]), Pace.parse("speed=10"))
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.core.errors import ConfigError
from harness.core.model import pick


@dataclass(frozen=True, slots=True)
class Pace:
    """Replay speed: `afap` (speed 0 = no pacing), `realtime` (1×) or `speed=N` (N×)."""

    speed: float = 0.0

    @property
    def label(self) -> str:
        if not self.speed:
            return "afap"
        return "realtime" if self.speed == 1.0 else f"speed={self.speed:g}"

    @classmethod
    def parse(cls, text: str) -> Pace:
        s = text.strip().lower()
        if s == "afap":
            return cls(0.0)
        if s == "realtime":
            return cls(1.0)
        if s.startswith("speed="):
            try:
                n = float(s.removeprefix("speed="))
            except ValueError as exc:
                raise ConfigError(f"--mode {text!r}: speed must be a number") from exc
            if n <= 0:
                raise ConfigError(f"--mode {text!r}: speed must be > 0")
            return cls(n)
        raise ConfigError(f"--mode {text!r}: use afap, realtime or speed=N")


def paced(
    ticks: Iterable[Any],
    pace: Pace,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], int] = time.perf_counter_ns,
) -> Iterator[Any]:
    """Ticks no earlier than their tick-time offset / speed after the first tick; as fast as
    possible (`afap`) they are the ticks themselves, with no generator layer in between."""
    if not pace.speed:
        return iter(ticks)
    return _paced(ticks, pace, sleep, clock)


def _paced(
    ticks: Iterable[Any], pace: Pace, sleep: Callable[[float], None], clock: Callable[[], int]
) -> Iterator[Any]:
    first_ts: int | None = None
    start = 0
    for tick in ticks:
        if first_ts is None:
            first_ts, start = tick.ts, clock()
        due = start + (tick.ts - first_ts) / pace.speed
        wait = (due - clock()) / 1e9
        if wait > 0:
            sleep(wait)
        yield tick


def parse_time(text: str | None, what: str) -> int | None:
    """`--from`/`--to`: integer ns since the epoch, or an ISO datetime (naive means UTC)."""
    if text is None or text == "":
        return None
    s = text.strip()
    if s.lstrip("-").isdigit():
        return int(s)
    try:
        dt = datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ConfigError(
            f"{what} {text!r}: use an ISO datetime (2024-06-21T14:30:00Z) or ns"
        ) from exc
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp()) * 1_000_000_000 + dt.microsecond * 1000


@dataclass(frozen=True, slots=True)
class RecordingSource:
    """What the manifest says about where the ticks came from."""

    path: str
    name: str
    sha256: str | None
    tick_count: int | None  # ticks the recording holds (before filters)
    expected: int | None  # ticks the filters should yield, when knowable without reading

    def as_dict(self) -> dict[str, Any]:
        return pick(self, "path", "name", "sha256", "tick_count")


def open_source(
    path: str | Path,
    tickers: Sequence[str] | None = None,
    start_ns: int | None = None,
    end_ns: int | None = None,
    limit: int | None = None,
) -> tuple[RecordingSource, Iterator[Any], Callable[[str, int, int], list[dict[str, Any]]]]:
    """Open a recording: its description, the filtered tick iterator and a window lookup for diffs."""
    from harness.recordings.reader import check_recording, open_recording

    check_recording(path)  # validation happens before any replay (design.md §3)
    rec = open_recording(path)
    manifest = rec.manifest
    get = (
        manifest.get if isinstance(manifest, dict) else (lambda k, d=None: getattr(manifest, k, d))
    )
    count = get("tick_count")
    unfiltered = not tickers and start_ns is None and end_ns is None
    expected = count if unfiltered and isinstance(count, int) else None
    if expected is not None and limit is not None:
        expected = min(expected, limit)
    ticks: Iterator[Any] = iter(rec.ticks(list(tickers) if tickers else None, start_ns, end_ns))
    if limit is not None:
        ticks = itertools.islice(ticks, limit)

    def window(ticker: str, lo_ns: int, hi_ns: int) -> list[dict[str, Any]]:
        return [t._asdict() for t in rec.ticks([ticker], lo_ns, hi_ns + 1)]

    src = RecordingSource(
        str(path),
        str(get("name") or Path(path).name),
        rec.sha256,
        count if isinstance(count, int) else None,
        expected,
    )
    return src, ticks, window
