"""The Polygon message codec: tick ↔ A/T message, strict parsing of bad messages."""

from __future__ import annotations

import pytest
from _livedata import BASE_NS, sample_ticks

from harness.core.model import Tick
from harness.live.protocol import (
    EXT_KEY,
    MessageError,
    decode_message,
    message_to_tick,
    tick_to_message,
)


def _strip(tick: Tick) -> Tick:
    return tick._replace(seq=0, recv_ts=None, source=None)


def test_every_tick_field_survives_the_round_trip_with_the_extension() -> None:
    for tick in sample_ticks(60):
        back = message_to_tick(tick_to_message(tick, ext=True), seq=tick.seq, recv_ts=5)
        assert _strip(back) == _strip(tick)
        assert back.recv_ts == 5 and back.source == "polygon"


def test_extension_carries_only_what_the_standard_mapping_loses() -> None:
    tick = Tick(seq=7, ts=BASE_NS, ticker="AAPL", price=10.0, volume=3)
    msg = tick_to_message(tick, ext=True)
    assert msg[EXT_KEY] == {"fseq": 7}
    assert (
        msg["ev"] == "T" and msg["t"] == BASE_NS // 1_000_000 and msg["p"] == 10.0 and msg["s"] == 3
    )


def test_aggregate_without_extension_maps_like_tickstock_does() -> None:
    tick = sample_ticks(1, ns_offset=999_999)[0]
    msg = tick_to_message(tick)
    assert EXT_KEY not in msg
    assert (msg["ev"], msg["sym"], msg["c"], msg["o"], msg["h"], msg["l"]) == (
        "A",
        "AAPL",
        tick.price,
        tick.tick_open,
        tick.tick_high,
        tick.tick_low,
    )
    assert msg["e"] - msg["s"] == 1000
    back = message_to_tick(msg, seq=0, recv_ts=None)
    assert back.ts == (tick.ts // 1_000_000) * 1_000_000  # ms precision only
    assert back.tick_volume == back.volume == tick.tick_volume
    assert back.accumulated_volume == tick.accumulated_volume and back.vwap == tick.vwap


def test_decode_reports_the_feed_sequence_from_the_extension() -> None:
    tick = sample_ticks(5)[4]
    assert decode_message(tick_to_message(tick, ext=True), 0, None)[1] == 4
    assert decode_message(tick_to_message(tick), 0, None)[1] is None


@pytest.mark.parametrize(
    ("msg", "kind"),
    [
        pytest.param([1], "not_object", id="array-not-object"),
        pytest.param({"ev": "Q", "sym": "A"}, "unknown_ev", id="unknown-ev"),
        pytest.param({"sym": "A"}, "unknown_ev", id="no-ev"),
        pytest.param({"ev": "T", "sym": "A", "s": 1, "t": 1}, "missing_field", id="trade-no-price"),
        pytest.param({"ev": "T", "p": 1.0, "s": 1, "t": 1}, "missing_field", id="trade-no-sym"),
        pytest.param(
            {"ev": "T", "sym": "A", "p": "1", "s": 1, "t": 1}, "mistyped_field", id="price-str"
        ),
        pytest.param(
            {"ev": "T", "sym": "A", "p": 1.0, "s": 1.5, "t": 1}, "mistyped_field", id="size-frac"
        ),
        pytest.param(
            {"ev": "T", "sym": "A", "p": True, "s": 1, "t": 1}, "mistyped_field", id="price-bool"
        ),
        pytest.param(
            {"ev": "T", "sym": 5, "p": 1.0, "s": 1, "t": 1}, "mistyped_field", id="sym-int"
        ),
        pytest.param(
            {"ev": "T", "sym": "A", "p": -1.0, "s": 1, "t": 1}, "bad_value", id="negative-price"
        ),
        pytest.param({"ev": "A", "sym": "A", "c": 1.0, "v": 1}, "missing_field", id="agg-no-end"),
        pytest.param(
            {"ev": "T", "sym": "A", "p": 1.0, "s": 1, "t": 1, "hx": 3},
            "mistyped_field",
            id="ext-not-object",
        ),
    ],
)
def test_bad_messages_raise_a_message_error_of_their_kind(msg: object, kind: str) -> None:
    payload = msg[0] if isinstance(msg, list) else msg
    with pytest.raises(MessageError) as info:
        message_to_tick(payload, seq=0, recv_ts=None)
    assert info.value.kind == kind


def test_the_auth_redactor_hides_the_key_of_a_logged_auth_frame() -> None:
    import logging

    from harness.live.protocol import AuthRedactor

    frame = '{"action": "auth", "params": "s3cr\\\\et\\"x"}'
    record = logging.LogRecord(
        "w", logging.DEBUG, __file__, 1, "> TEXT %r [%d bytes]", (frame, 40), None
    )
    assert AuthRedactor().filter(record)
    assert "s3cr" not in record.getMessage() and '"params": "***"' in record.getMessage().replace(
        "\\\\", ""
    )
    other = logging.LogRecord("w", logging.DEBUG, __file__, 1, "< TEXT %r", ('[{"ev":"T"}]',), None)
    AuthRedactor().filter(other)
    assert other.getMessage() == '< TEXT \'[{"ev":"T"}]\''
