"""The Polygon stocks WebSocket message codec: tick ↔ `A`/`T` message, and strict message parsing.

Shared by the local feed server (tick → message) and the live source (message → tick), so the
round trip recording → feed → live → recording is defined in exactly one place.

Mapping (docs/live.md has the full table):

* a tick carrying any per-second aggregate column becomes an ``A`` message:
  ``sym``=ticker, ``v``=tick_volume (else volume), ``av``=accumulated_volume,
  ``op``=market_open_price, ``vw``=tick_vwap, ``o/h/l``=tick_open/high/low, ``c``=price,
  ``a``=vwap, ``z``=average trade size (no column: ``v``), ``s``/``e``=window start/end in ms with
  ``e`` = the tick's ts truncated to ms (TickStock maps ``e`` to the tick time);
* any other tick becomes a ``T`` trade: ``p``=price, ``s``=volume, ``t``=ts in ms, ``q``=seq,
  ``i``=str(seq), ``x``=12 (Nasdaq), ``c``=[], ``z``=3 (tape C) — the last three have no column.

Polygon timestamps are milliseconds and its messages lack bid/ask. When the client is the harness
(it sends the ``X-Harness-Ext: 1`` request header) the feed adds one non-standard key, ``hx``,
holding exactly the tick fields the standard mapping cannot reproduce (``ts`` in ns when it is not
a whole ms, ``bid``/``ask``, a ``None`` that the mapping would fill …) plus ``fseq``, the tick's
seq in the served recording, used to count ticks missed across a disconnect. Polygon's own client
ignores unknown keys, so ``hx`` never breaks it.
"""

from __future__ import annotations

import logging
import math
import re
from typing import Any

from harness.core.model import AGGREGATE_FIELDS, Tick

#: Request header by which the harness's live client asks the feed for the ``hx`` extension.
EXT_HEADER = "X-Harness-Ext"

#: Key of the non-standard extension object inside an ``A``/``T`` message.
EXT_KEY = "hx"

NS_PER_MS = 1_000_000


#: Tick fields the ``hx`` extension may carry (seq, recv_ts and source belong to the receiver).
EXT_FIELDS: tuple[str, ...] = tuple(
    f for f in Tick._fields if f not in ("seq", "recv_ts", "source")
)
_INT_FIELDS = frozenset({"ts", "volume", "tick_volume", "accumulated_volume"})
_STR_FIELDS = frozenset({"ticker"})

TRADE_EXCHANGE = 12
TRADE_TAPE = 3


_AUTH_PARAMS = re.compile(r'("action"\s*:\s*"auth"\s*,\s*"params"\s*:\s*)"(?:[^"\\]|\\.)*"')


class AuthRedactor(logging.Filter):
    """Rewrites log records so an auth message's key never reaches a handler.

    The websockets library logs every frame at DEBUG, the auth frame included; the feed server and
    the live client hand it a logger carrying this filter.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if '"auth"' in text:
            record.msg, record.args = _AUTH_PARAMS.sub(r'\1"***"', text), ()
        return True


def wire_logger(name: str) -> logging.Logger:
    """A logger for a websocket connection whose auth frames are redacted."""
    logger = logging.getLogger(name)
    if not any(isinstance(f, AuthRedactor) for f in logger.filters):
        logger.addFilter(AuthRedactor())
    return logger


class MessageError(ValueError):
    """One bad message: `kind` is a closed label used for counting, `detail` says what was wrong."""

    KINDS = (
        "malformed_json",
        "not_array",
        "not_object",
        "unknown_ev",
        "missing_field",
        "mistyped_field",
        "bad_value",
    )

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail


def is_aggregate(tick: Tick) -> bool:
    """A tick with any per-second aggregate column travels as an ``A`` message."""
    return any(getattr(tick, f) is not None for f in AGGREGATE_FIELDS)


def _standard_message(tick: Tick) -> dict[str, Any]:
    e_ms = tick.ts // NS_PER_MS
    if is_aggregate(tick):
        v = tick.tick_volume if tick.tick_volume is not None else tick.volume
        vw = tick.tick_vwap if tick.tick_vwap is not None else tick.price
        msg: dict[str, Any] = {
            "ev": "A",
            "sym": tick.ticker,
            "v": v,
            "av": tick.accumulated_volume if tick.accumulated_volume is not None else v,
            "op": tick.market_open_price if tick.market_open_price is not None else tick.price,
            "vw": vw,
            "o": tick.tick_open if tick.tick_open is not None else tick.price,
            "c": tick.price,
            "h": tick.tick_high if tick.tick_high is not None else tick.price,
            "l": tick.tick_low if tick.tick_low is not None else tick.price,
            "a": tick.vwap if tick.vwap is not None else vw,
            "z": v,
            "s": e_ms - 1000,
            "e": e_ms,
        }
        return msg
    return {
        "ev": "T",
        "sym": tick.ticker,
        "x": TRADE_EXCHANGE,
        "i": str(tick.seq),
        "z": TRADE_TAPE,
        "p": tick.price,
        "s": tick.volume,
        "c": [],
        "t": e_ms,
        "q": tick.seq,
    }


def tick_to_message(tick: Tick, ext: bool = False) -> dict[str, Any]:
    """Encode one recording tick as a Polygon ``A`` or ``T`` message (with ``hx`` when `ext`)."""
    msg = _standard_message(tick)
    if not ext:
        return msg
    decoded = message_to_tick(msg, seq=tick.seq, recv_ts=None)
    hx: dict[str, Any] = {"fseq": tick.seq}
    for name in EXT_FIELDS:
        original = getattr(tick, name)
        if original != getattr(decoded, name) or type(original) is not type(getattr(decoded, name)):
            hx[name] = original
    msg[EXT_KEY] = hx
    return msg


def _number(msg: dict[str, Any], key: str, required: bool) -> float | None:
    if key not in msg or msg[key] is None:
        if required:
            raise MessageError("missing_field", f"{msg.get('ev')} message lacks {key!r}")
        return None
    value = msg[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MessageError(
            "mistyped_field", f"{key!r} is {type(value).__name__}, expected a number"
        )
    if not math.isfinite(value):
        raise MessageError("bad_value", f"{key!r} is not finite: {value!r}")
    return float(value)


def _integer(msg: dict[str, Any], key: str, required: bool) -> int | None:
    value = _number(msg, key, required)
    if value is None:
        return None
    if value != int(value):
        raise MessageError("mistyped_field", f"{key!r} is {msg[key]!r}, expected an integer")
    return int(value)


def _symbol(msg: dict[str, Any]) -> str:
    sym = msg.get("sym")
    if sym is None:
        raise MessageError("missing_field", f"{msg.get('ev')} message lacks 'sym'")
    if not isinstance(sym, str) or not sym:
        raise MessageError("mistyped_field", f"'sym' is {sym!r}, expected a non-empty string")
    return sym


def _apply_ext(values: dict[str, Any], hx: Any) -> int | None:
    if not isinstance(hx, dict):
        raise MessageError(
            "mistyped_field", f"{EXT_KEY!r} is {type(hx).__name__}, expected an object"
        )
    for name, value in hx.items():
        if name not in EXT_FIELDS:
            continue
        if value is not None:
            ok = (
                isinstance(value, int) and not isinstance(value, bool)
                if name in _INT_FIELDS
                else isinstance(value, str)
                if name in _STR_FIELDS
                else isinstance(value, int | float) and not isinstance(value, bool)
            )
            if not ok:
                raise MessageError("mistyped_field", f"{EXT_KEY}.{name} is {value!r}")
            if name not in _INT_FIELDS and name not in _STR_FIELDS:
                value = float(value)
        values[name] = value
    fseq = hx.get("fseq")
    return fseq if isinstance(fseq, int) and not isinstance(fseq, bool) else None


def message_to_tick(msg: Any, seq: int, recv_ts: int | None) -> Tick:
    """Decode one ``A``/``T`` message into a Tick with the receiver's `seq` and `recv_ts`.

    Raises MessageError (never anything else) for a message that is not a usable tick.
    """
    return decode_message(msg, seq, recv_ts)[0]


def decode_message(msg: Any, seq: int, recv_ts: int | None) -> tuple[Tick, int | None]:
    """Like `message_to_tick`, also returning the feed's ``hx.fseq`` when present."""
    if not isinstance(msg, dict):
        raise MessageError("not_object", f"message is {type(msg).__name__}, expected an object")
    ev = msg.get("ev")
    values: dict[str, Any]
    if ev == "A":
        ticker = _symbol(msg)
        price = _number(msg, "c", True)
        v = _integer(msg, "v", True)
        e_ms = _integer(msg, "e", True)
        values = {
            "ts": int(e_ms) * NS_PER_MS,  # type: ignore[arg-type]
            "ticker": ticker,
            "price": price,
            "volume": v,
            "tick_open": _number(msg, "o", False),
            "tick_high": _number(msg, "h", False),
            "tick_low": _number(msg, "l", False),
            "tick_close": price,
            "tick_vwap": _number(msg, "vw", False),
            "tick_volume": v,
            "accumulated_volume": _integer(msg, "av", False),
            "vwap": _number(msg, "a", False),
            "market_open_price": _number(msg, "op", False),
        }
    elif ev == "T":
        ticker = _symbol(msg)
        values = {
            "ts": int(_integer(msg, "t", True)) * NS_PER_MS,  # type: ignore[arg-type]
            "ticker": ticker,
            "price": _number(msg, "p", True),
            "volume": _integer(msg, "s", True),
        }
    else:
        raise MessageError("unknown_ev", f"unknown ev {ev!r}")
    fseq = _apply_ext(values, msg[EXT_KEY]) if EXT_KEY in msg else None
    price = values["price"]
    if price is None or not price > 0:
        raise MessageError("bad_value", f"price {price!r} is not > 0 ({values['ticker']})")
    if values["volume"] is None or values["volume"] < 0:
        raise MessageError(
            "bad_value", f"volume {values['volume']!r} is negative ({values['ticker']})"
        )
    source = "polygon"
    return Tick(seq=seq, recv_ts=recv_ts, source=source, **values), fseq
