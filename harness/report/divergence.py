"""The first divergence as people read it: what differed, and the ticker's ticks around it.

first_divergence.json (harness/diff/classify.py) holds everything — the differing rows with their
field paths, the ticker's ticks and per-tick observations around the divergent tick, and both
stacks' full events. The report shows a short table instead of the raw JSON: one row per differing
field (or per missing/extra event), and the tick window with the divergent tick and the ticks
where the stacks emitted a different number of events highlighted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from harness.gates.verdict import readable

#: Event fields that say what an event is, for a missing/extra row with no field paths.
_EVENT_KEYS = ("label", "price", "direction", "period")
_TICK_COLUMNS = ("price", "volume", "vwap", "bid", "ask")


def _time(ts: Any) -> str:
    if isinstance(ts, int):
        return dt.datetime.fromtimestamp(ts / 1e9, dt.UTC).strftime("%H:%M:%S.%f")[:-3]
    text = str(ts)
    return text[11:23] if len(text) >= 23 and text[10] == "T" else text


def _describe(event: Mapping[str, Any] | None) -> str:
    if not event:
        return "—"
    return " ".join(f"{k}={readable(event[k])}" for k in _EVENT_KEYS if event.get(k) is not None)


def difference_rows(first: Mapping[str, Any]) -> list[dict[str, str]]:
    """One row per differing field; a missing/extra event is one row describing the event."""
    events = first.get("events") or {}
    seq = first.get("seq")

    def at_tick(side: str, typ: str) -> Mapping[str, Any] | None:
        return next(
            (
                e
                for e in events.get(side) or []
                if e.get("tick_seq") == seq and e.get("type") == typ
            ),
            None,
        )

    rows = []
    for d in first.get("differences") or []:
        head = {"type": str(d.get("type")), "direction": str(d.get("direction") or "—"),
                "class": str(d.get("class"))}  # fmt: skip
        fields = d.get("fields") or []
        if fields:
            rows += [
                {
                    **head,
                    "field": str(f.get("path")),
                    "primary": str(f.get("primary")),
                    "candidate": str(f.get("candidate")),
                }  # fmt: skip
                for f in fields
            ]
        else:
            rows.append(
                {
                    **head,
                    "field": "(whole event)",
                    "primary": _describe(at_tick("primary", head["type"])),
                    "candidate": _describe(at_tick("candidate", head["type"])),
                }  # fmt: skip
            )
    return rows


def tick_window(first: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The ticker's ticks around the divergence with both stacks' event counts per tick."""
    obs = {o.get("seq"): o for o in first.get("observations") or []}
    out = []
    for t in first.get("ticks") or []:
        o = obs.get(t.get("seq"), {})
        p, c = o.get("primary_events"), o.get("candidate_events")
        out.append(
            {
                "seq": t.get("seq"),
                "time": _time(t.get("ts")),
                **{k: readable(t.get(k), "—") for k in _TICK_COLUMNS},
                "primary_events": readable(p, "—"),
                "candidate_events": readable(c, "—"),
                "divergent": t.get("seq") == first.get("seq"),
                "events_differ": p is not None and c is not None and p != c,
                "error": o.get("candidate_error") or o.get("primary_error") or "",
            }
        )
    return out


def divergence_view(
    first: Mapping[str, Any] | None, accepted_by: list[str | None] | None = None
) -> dict[str, Any] | None:
    """What the report's "First divergence" section shows, or None when there is none.

    The diff's first divergence is the first differing row, forgiven by a rule or not;
    `accepted_by` (the rules on its rows, None for a row nobody forgave) says which it is."""
    if not first:
        return None
    rules = accepted_by or []
    if not rules or None in rules:
        standing = "unexplained (no rule accepts it)"
    else:
        standing = "accepted by " + ", ".join(str(r) for r in rules)
    return {
        "standing": standing,
        "seq": first.get("seq"),
        "ticker": first.get("ticker"),
        "class": first.get("class"),
        "differences": difference_rows(first),
        "window": tick_window(first),
        "columns": _TICK_COLUMNS,
    }
