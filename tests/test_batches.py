"""Event columns filled call by call give the same rows as one batch tabulated at once."""

from __future__ import annotations

import json

import orjson

from harness.store.batches import EventColumns, encode_event, encode_event_bytes


def _calls() -> list[tuple[int, list]]:
    odd = {"ticker": 7, "type": None, "direction": "up", "price": "n/a", "tick_seq": "x"}
    return [
        (10, [{"ticker": "A", "type": "high", "direction": "up", "price": 1.5, "tick_seq": 9}]),
        (11, [{"ticker": "B", "type": "low", "direction": "down", "price": 2, "z": {"b": 1}}]),
        (12, [odd, {"ticker": "C", "type": "surge", "price": True, 3: "int key"}]),
        (13, ["not a dict"]),
    ]


def test_chunked_event_columns_equal_the_whole_batch_table():
    calls = _calls()
    whole = EventColumns.of(calls).table(100, 2)
    columns = EventColumns()
    for seq, events in calls:  # as the runner records them: each call when it returns
        columns.add_call(seq, events)
    chunked = columns.table(100, 2)
    assert chunked.equals(whole)
    assert chunked.column("emit_pos").to_pylist() == [100, 101, 102, 103, 104]
    assert chunked.column("tick_seq").to_pylist() == [9, 11, 12, 12, 13]
    assert chunked.column("ticker").to_pylist() == ["A", "B", "7", "C", None]
    assert chunked.column("price").to_pylist() == [1.5, 2.0, None, None, None]
    assert json.loads(chunked.column("event_json")[4].as_py()) == {"value": "not a dict"}


def test_event_json_bytes_match_the_canonical_text_also_with_non_string_keys():
    for d in ({"b": 1.5, "a": [1, None]}, {"b": 1, 3: "x", "a": {"d": 2, "c": 1}}):
        full = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY
        assert encode_event_bytes(d) == orjson.dumps(d, default=str, option=full)
        assert encode_event(d) == encode_event_bytes(d).decode()


def test_clearing_event_columns_starts_an_empty_batch():
    columns = EventColumns()
    columns.add(_calls())
    columns.clear()
    assert len(columns) == 0
    assert columns.table(0, 0).num_rows == 0
