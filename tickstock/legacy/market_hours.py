"""US/Eastern market session and period from a tick's own UTC timestamp (never the server's zone).

`detect_market_status` gives the session TickStock stamps on ticks (PRE / REGULAR / AFTER /
CLOSED, weekdays only); `get_market_period_detailed` gives the finer period the detectors tune
their thresholds by (PREMARKET, OPENING, MIDDAY, CLOSING, AFTERHOURS, CLOSED; no weekday check,
as in TickStock). Both run on every tick, so the UTC→ET offset is cached per UTC hour.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

EASTERN = ZoneInfo("America/New_York")

PRE, REGULAR, AFTER, CLOSED = "PRE", "REGULAR", "AFTER", "CLOSED"
PREMARKET, OPENING, MIDDAY, CLOSING, AFTERHOURS = (
    "PREMARKET",
    "OPENING",
    "MIDDAY",
    "CLOSING",
    "AFTERHOURS",
)

_OPEN_PRE = 4 * 3600
_OPEN_REGULAR = 9 * 3600 + 30 * 60
_OPENING_END = 9 * 3600 + 45 * 60
_CLOSING_START = 15 * 3600 + 30 * 60
_CLOSE_REGULAR = 16 * 3600
_CLOSE_AFTER = 20 * 3600

# UTC hour (epoch // 3600) → seconds to add to UTC to get US/Eastern wall time in that hour
_offset_cache: dict[int, int] = {}


def _et_parts(epoch_seconds: float) -> tuple[int, int]:
    """Return (seconds since ET midnight, ET weekday with Monday=0) for an epoch time."""
    hour = int(epoch_seconds // 3600)
    offset = _offset_cache.get(hour)
    if offset is None:
        local = datetime.fromtimestamp(hour * 3600, tz=UTC).astimezone(EASTERN)
        delta = local.utcoffset()
        offset = int(delta.total_seconds()) if delta is not None else 0
        if len(_offset_cache) > 100_000:
            _offset_cache.clear()
        _offset_cache[hour] = offset
    day, second_of_day = divmod(int(epoch_seconds // 1) + offset, 86400)
    weekday = (day + 3) % 7  # 1970-01-01 was a Thursday (Monday=0 → Thursday=3)
    return second_of_day, weekday


def et_seconds_of_day(epoch_seconds: float) -> int:
    """Seconds since midnight US/Eastern for an epoch time."""
    return _et_parts(epoch_seconds)[0]


def detect_market_status(epoch_seconds: float) -> str:
    """Session of a tick: PRE 04:00–09:30, REGULAR 09:30–16:00, AFTER 16:00–20:00 ET, Mon–Fri."""
    sod, weekday = _et_parts(epoch_seconds)
    if weekday >= 5:
        return CLOSED
    if _OPEN_PRE <= sod < _OPEN_REGULAR:
        return PRE
    if _OPEN_REGULAR <= sod < _CLOSE_REGULAR:
        return REGULAR
    if _CLOSE_REGULAR <= sod < _CLOSE_AFTER:
        return AFTER
    return CLOSED


def get_market_period_detailed(epoch_seconds: float) -> str:
    """Detector tuning period; like TickStock's, it has no weekday check."""
    sod = _et_parts(epoch_seconds)[0]
    if _OPEN_PRE <= sod < _OPEN_REGULAR:
        return PREMARKET
    if _OPEN_REGULAR <= sod < _OPENING_END:
        return OPENING
    if _OPENING_END <= sod < _CLOSING_START:
        return MIDDAY
    if _CLOSING_START <= sod < _CLOSE_REGULAR:
        return CLOSING
    if _CLOSE_REGULAR <= sod < _CLOSE_AFTER:
        return AFTERHOURS
    return CLOSED


#: (epoch seconds, its HH:MM:SS) of the last call: a tick's events share one time, so most calls
#: repeat it. One tuple, swapped atomically, so live threads never see a torn pair.
_last_hms: tuple[float, str] = (float("nan"), "")


def format_et_hms(epoch_seconds: float) -> str:
    """`HH:MM:SS` in US/Eastern: TickStock's transport `time` string, made server-independent."""
    global _last_hms
    last = _last_hms
    if last[0] == epoch_seconds:
        return last[1]
    sod = _et_parts(epoch_seconds)[0]
    hours, rem = divmod(sod, 3600)
    minutes, seconds = divmod(rem, 60)
    text = f"{hours:02d}:{minutes:02d}:{seconds:02d}"
    _last_hms = (epoch_seconds, text)
    return text
