"""tickstock.stacks:legacy — the Stack contract end to end, determinism, bad ticks, live mode."""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from typing import Any

import pytest

from tickstock.clock import TickClock
from tickstock.demo import DEMO_CONFIG, demo_ticks, main
from tickstock.generated import GeneratedTick, generate_ticks
from tickstock.legacy.adapter import TickAdapter
from tickstock.legacy.config import ConfigError, ConfigManager
from tickstock.legacy.service import MarketDataService
from tickstock.stacks import LEGACY_IGNORABLE_FIELDS, legacy


def _run(
    ticks: list[GeneratedTick], config: dict[str, Any] | None = None
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    stack = legacy({"environment": False, **(config or {})})
    events = [e for t in ticks for e in stack.process(t)]
    events.extend(stack.flush())
    stats = stack.stats()
    stack.close()
    return events, stats


def _digest(events: list[dict[str, Any]]) -> str:
    h = hashlib.sha256()
    for e in events:
        h.update(json.dumps(e, sort_keys=True, default=repr).encode())
    return h.hexdigest()


@pytest.fixture(scope="module")
def demo_run() -> tuple[list[GeneratedTick], list[dict[str, Any]], dict[str, Any]]:
    ticks = demo_ticks(seconds=700)
    events, stats = _run(ticks, DEMO_CONFIG)
    return ticks, events, stats


def test_demo_sequence_yields_all_four_event_types_with_transport_fields(demo_run: Any) -> None:
    ticks, events, _ = demo_run
    by_seq = {t.seq: t for t in ticks}
    assert {e["type"] for e in events} == {"high", "low", "trend", "surge"}
    for e in events:
        tick = by_seq[e["tick_seq"]]
        assert e["ticker"] == tick.ticker
        assert e["price"] == tick.price
        assert "timestamp" not in e  # TickStock's transport dict has none (reference §9)
        assert re.fullmatch(r"\d\d:\d\d:\d\d", e["time"])
        assert e["direction"] in ("up", "down")
    surge = next(e for e in events if e["type"] == "surge")
    assert (surge["ticker"], surge["direction"], surge["time"]) == ("JUMP", "up", "10:10:00")
    assert surge["surge_age"] == 0.0


def test_events_for_a_tick_are_returned_by_that_ticks_process_call(demo_run: Any) -> None:
    _, events, _ = demo_run
    seqs = [e["tick_seq"] for e in events]
    assert seqs == sorted(seqs)


def test_two_users_receive_what_their_filters_allow(demo_run: Any) -> None:
    _, events, stats = demo_run
    emitted = stats["emitted_per_user"]
    assert emitted["alice"] == len(events)  # alice follows every demo ticker and type
    bob_expected = sum(
        1
        for e in events
        if e["ticker"] in {"RISE", "FALL", "JUMP"} and e["type"] in {"trend", "surge"}
    )
    assert emitted["bob"] == bob_expected > 0


def test_stats_are_json_and_count_events_by_type(demo_run: Any) -> None:
    _, events, stats = demo_run
    assert json.loads(json.dumps(stats)) == stats
    by_type: dict[str, int] = {}
    for e in events:
        by_type[e["type"]] = by_type.get(e["type"], 0) + 1
    assert stats["events_detected"] == by_type
    assert stats["ignorable_fields"] == list(LEGACY_IGNORABLE_FIELDS)
    assert stats["invalid_ticks"] == {}
    assert stats["ticks_processed"] == stats["ticks_received"]


def test_same_sequence_twice_gives_an_identical_event_stream() -> None:
    ticks = generate_ticks(5_000, 25, seed=5)
    first, _ = _run(ticks)
    second, _ = _run(ticks)
    assert len(first) > 100
    assert _digest(first) == _digest(second)


@pytest.mark.slow
def test_same_40k_tick_sequence_twice_gives_an_identical_event_hash() -> None:
    ticks = generate_ticks(40_000, 1_000, seed=9)
    first, _ = _run(ticks)
    second, _ = _run(ticks)
    assert len(first) > 1_000
    assert _digest(first) == _digest(second)


def test_bad_ticks_are_counted_and_do_not_disturb_the_stream() -> None:
    good = generate_ticks(2_000, 10, seed=2)
    clean, _ = _run(good)
    t = good[500]
    bad = [
        t._replace(price=float("nan")), t._replace(price=0.0), t._replace(price=-3.0),
        t._replace(price=float("inf")), t._replace(volume=-1), t._replace(ticker=""),
        t._replace(ticker="bad ticker"), t._replace(ts=None), t._replace(price="12"),
        t._replace(ts=t.ts - 10**12),  # a minute before this ticker's last tick
    ]  # fmt: skip
    mixed = good[:501] + bad + good[501:]
    events, stats = _run(mixed)
    assert _digest(events) == _digest(clean)
    assert stats["invalid_ticks"] == {
        "bad_price": 5, "bad_volume": 1, "bad_ticker": 2, "bad_timestamp": 1, "non_monotonic_timestamp": 1,
    }  # fmt: skip
    assert stats["ticks_received"] == len(mixed)
    assert stats["ticks_processed"] == len(good)


def test_unknown_stack_config_is_rejected() -> None:
    with pytest.raises(ConfigError, match="phase"):
        legacy({"phase": "x"})
    with pytest.raises(ConfigError, match="NOT_A_KEY"):
        legacy({"tickstock": {"NOT_A_KEY": 1}})


def test_config_overrides_reach_the_detectors_and_are_reported() -> None:
    ticks = demo_ticks(seconds=300)
    _, base = _run(ticks, DEMO_CONFIG)
    strict = {**DEMO_CONFIG, "tickstock": {"HIGHLOW_COOLDOWN_SECONDS": 30.0}}
    _, cooled = _run(ticks, strict)
    assert cooled["events_detected"]["high"] < base["events_detected"]["high"]
    assert cooled["config_overrides"] == {"HIGHLOW_COOLDOWN_SECONDS": 30.0}


def test_live_threads_deliver_what_synchronous_replay_delivers_on_the_same_clock() -> None:
    """Live threads deliver the replayed events, except those TickStock's wall-clock guards drop.

    Ticks are fed as fast as possible on a tick clock: a worker thread that falls behind (a
    loaded machine) sees queued events older than the 60 s queue age and drops them, as
    TickStock would. Every missing event must be one of those counted drops, never lost silently.
    """
    ticks = demo_ticks(seconds=120)
    adapter = TickAdapter()

    def run(live: bool) -> tuple[list[dict[str, Any]], int]:
        svc = MarketDataService(ConfigManager(), live=live, clock=TickClock())
        tap: list[dict[str, Any]] = []
        svc.display_queue.tap = tap
        svc.start()
        for t in ticks:
            assert svc.handle_constructed_tick(adapter(t))
        svc.flush()
        pm = svc.priority_manager
        dropped = pm.dropped_stale + pm.rejected["too_old"] + svc.display_queue.dropped
        return tap, dropped

    key = lambda e: (e["ticker"], e["type"], e["time"], e["price"], e["event_id"])  # noqa: E731
    (replayed, none_dropped), (live, dropped) = run(False), run(True)
    assert len(replayed) > 100 and none_dropped == 0
    assert live and not Counter(map(key, live)) - Counter(map(key, replayed))
    assert len(replayed) - len(live) == dropped
    if dropped == 0:
        assert sorted(map(key, live)) == sorted(map(key, replayed))


def test_live_stack_returns_every_queued_event_with_a_tick_seq() -> None:
    ticks = demo_ticks(seconds=60)
    stack = legacy({**DEMO_CONFIG, "mode": "live"})
    try:
        events = [e for t in ticks for e in stack.process(t)]
        events.extend(stack.flush())
        stats = stack.stats()
    finally:
        stack.close()
    seqs = {t.seq for t in ticks}
    assert events and all(e["tick_seq"] in seqs for e in events)
    assert len(events) == stats["events_queued"] == sum(stats["events_detected"].values())
    assert stats["workers"]["pool_size"] == 12


def test_demo_main_prints_all_four_types(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--seconds", "650"]) == 0
    out = capsys.readouterr().out
    for kind in ("high=", "low=", "trend=", "surge="):
        assert kind in out
