"""DataPublisher buffering and WebSocketPublisher cycles (reference §2.6–2.7)."""

from __future__ import annotations

from tickstock.clock import TickClock
from tickstock.legacy.config import ConfigManager
from tickstock.legacy.publishing import DataPublisher, RecordingWebSocketManager, WebSocketPublisher
from tickstock.legacy.users import parse_subscriptions
from tickstock.legacy.workers import DisplayQueue


def _ev(kind: str, ticker: str, direction: str = "up", n: int = 0) -> tuple[str, dict[str, object]]:
    return kind, {"type": kind, "ticker": ticker, "direction": direction, "count": n, "n": n}


def test_items_are_sorted_by_type_and_direction_and_buffer_keeps_the_newest() -> None:
    dq = DisplayQueue(100)
    dp = DataPublisher(ConfigManager({"MAX_BUFFER_SIZE": 2}), TickClock(1.0), dq)
    for item in (_ev("high", "A", n=1), _ev("high", "A", n=2), _ev("high", "A", n=3),
                 _ev("trend", "B", "↑"), _ev("trend", "B", "down"), _ev("surge", "C", "→"),
                 _ev("low", "D", "down")):  # fmt: skip
        assert dq.put(item)
    assert dp.publish_to_users() == 7
    out = dp.get_buffered_events()
    assert [e["n"] for e in out["highs"]] == [2, 3]
    assert dp.buffer_overflow == 1
    assert [e["direction"] for e in out["trending"]["up"]] == ["↑"]
    assert [e["direction"] for e in out["trending"]["down"]] == ["down"]
    assert [e["ticker"] for e in out["surging"]["down"]] == ["C"]  # anything not up counts as down
    assert out["frequencies"]["per_second"]["lows"][0]["ticker"] == "D"
    assert dp.get_buffered_events()["highs"] == []  # pulled buffers are cleared


def test_full_display_queue_drops_and_counts() -> None:
    dq = DisplayQueue(1)
    assert dq.put(_ev("high", "A"))
    assert not dq.put(_ev("high", "B"))
    assert dq.dropped == 1


def test_collection_takes_at_most_collection_max_events() -> None:
    dq = DisplayQueue(100)
    dp = DataPublisher(ConfigManager({"COLLECTION_MAX_EVENTS": 3}), TickClock(1.0), dq)
    for i in range(5):
        dq.put(_ev("high", "A", n=i))
    assert dp.publish_to_users() == 3
    assert len(dq) == 2


def test_a_user_with_no_universe_receives_nothing_and_unconnected_users_are_skipped() -> None:
    subs = parse_subscriptions(
        {
            "empty": {"universes": {}},
            "fan": {"universes": {"market": ["u"]}},
            "away": {"universes": {"market": ["u"]}},
        },
        {"u": ["A"]},
    )
    ws = RecordingWebSocketManager(["empty", "fan"], keep_payloads=True)
    dq = DisplayQueue(100)
    cfg = ConfigManager()
    dp = DataPublisher(cfg, TickClock(5.0), dq)
    wp = WebSocketPublisher(cfg, TickClock(5.0), dp, ws, subs)
    dq.put(_ev("high", "A"))
    dp.publish_to_users()
    assert wp.run_emission_cycle() == 1
    assert [(uid, name) for uid, name, _ in ws.emits] == [("fan", "stock_data")]
    assert ws.emits[0][2]["timestamp"] == 5.0
    assert wp.stats()["emitted_events"] == {"fan": 1}
