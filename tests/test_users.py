"""User subscriptions: plain-config universes and preferences resolve to per-user filters."""

from __future__ import annotations

from typing import Any

import pytest

from tickstock.legacy.config import ConfigError
from tickstock.legacy.users import parse_subscriptions


def test_universes_resolve_to_the_union_of_tickers() -> None:
    subs = parse_subscriptions(
        {"u1": {"universes": {"market": ["a"], "highlow": ["b"]}}},
        {"a": ["AAPL"], "b": ["SPY", "AAPL"]},
    )
    assert subs["u1"].tickers == {"AAPL", "SPY"}
    assert subs["u1"].event_types == {"high", "low", "trend", "surge"}


def test_wants_applies_ticker_type_and_low_count() -> None:
    sub = parse_subscriptions(
        {
            "u": {
                "universes": {"market": ["a"]},
                "event_types": ["low"],
                "low_event_filtering": {"enabled": True, "min_low_count": 3},
            }
        },
        {"a": ["AAPL"]},
    )["u"]
    assert sub.wants({"ticker": "AAPL", "type": "low", "count": 3})
    assert not sub.wants({"ticker": "AAPL", "type": "low", "count": 2})
    assert not sub.wants({"ticker": "AAPL", "type": "high", "count": 9})
    assert not sub.wants({"ticker": "MSFT", "type": "low", "count": 9})


@pytest.mark.parametrize(
    ("users", "match"),
    [
        ({"u": {"universes": {"market": ["nope"]}}}, "unknown universe 'nope'"),
        ({"u": {"universes": {"market": "a"}}}, "list of strings"),
        ({"u": {"event_types": ["bogus"]}}, "unknown types"),
        ({"u": {"colour": "red"}}, "unknown keys"),
        ({"u": {"low_event_filtering": {"enabled": "yes"}}}, "enabled is a bool"),
    ],
    ids=["unknown-universe", "string-not-list", "bad-type", "unknown-key", "bad-low-filter"],
)
def test_bad_user_config_names_the_user_and_problem(users: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        parse_subscriptions(users, {"a": ["AAPL"]})
