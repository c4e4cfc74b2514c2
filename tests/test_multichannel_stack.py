"""The multichannel stack per rollout phase, against the legacy stack on the same ticks."""

from __future__ import annotations

import pytest

pytest.importorskip(
    "tickstock.legacy.detectors.event_detector", reason="needs the legacy detectors"
)

import json
import random

import pytest

from harness.core.model import Tick
from tickstock.legacy.adapter import tick_to_tickdata
from tickstock.legacy.config import ConfigError
from tickstock.legacy.service import MarketDataService
from tickstock.multichannel.integration import install_multichannel_integration
from tickstock.stacks import legacy, multichannel

# 2024-03-05 14:45 UTC = 09:45 ET, a Tuesday: MIDDAY, regular session
START_NS = 1_709_649_900 * 10**9
TICKERS = ("AAA", "BBB", "CCC", "DDD", "EEE")


def make_ticks(n=900, seed=1, step_ms=500, start_ns=START_NS, open_price=True):
    rng = random.Random(seed)
    prices = {t: 40.0 + 10 * i for i, t in enumerate(TICKERS)}
    out = []
    for seq in range(n):
        t = TICKERS[rng.randrange(len(TICKERS))]
        prices[t] = round(prices[t] * (1 + rng.gauss(0.0002, 0.004)), 2)
        out.append(
            Tick(
                seq=seq,
                ts=start_ns + seq * step_ms * 1_000_000,
                ticker=t,
                price=prices[t],
                volume=rng.randrange(100, 5000),
                market_open_price=(40.0 + 10 * TICKERS.index(t)) if open_price else None,
                source="synthetic",
            )
        )
    return out


def run(stack, ticks):
    events = []
    for tick in ticks:
        events.extend(stack.process(tick))
    events.extend(stack.flush())
    stats = stack.stats()
    stack.close()
    return events, stats


def dumps(events):
    return [json.dumps(e, sort_keys=True) for e in events]


@pytest.fixture(scope="module")
def ticks():
    return make_ticks()


@pytest.fixture(scope="module")
def legacy_events(ticks):
    return run(legacy({"environment": False}), ticks)[0]


def test_phase_0_behaves_exactly_like_legacy(ticks, legacy_events):
    events, stats = run(multichannel({"environment": False}), ticks)
    assert len(legacy_events) > 20
    assert dumps(events) == dumps(legacy_events)
    assert stats["integration_metrics"]["integration_installed"] is True
    assert stats["integration_metrics"]["channel_requests"] == 0
    assert stats["feature_flags"]["multichannel_system_enabled"] is False


def test_uninstalling_restores_byte_identical_legacy_behaviour(ticks, legacy_events):
    stack = multichannel({"environment": False, "phase": "phase_4_full_rollout"})
    service = stack.service
    assert "handle_websocket_tick" in vars(service)
    stack.integrator.uninstall_integration()
    assert "handle_websocket_tick" not in vars(service)
    assert service.handle_websocket_tick.__func__ is MarketDataService.handle_websocket_tick
    events, _ = run(stack, ticks)
    assert dumps(events) == dumps(legacy_events)


def test_phase_1_served_reproduces_production_legacy_served_channel_in_parallel(
    ticks, legacy_events
):
    events, stats = run(
        multichannel(
            {"environment": False, "phase": "phase_1_parallel_testing", "observe": "served"}
        ),
        ticks,
    )
    assert dumps(events) == dumps(legacy_events)
    comparison = stats["comparison_analysis"]
    assert comparison["comparisons"] == len(ticks)
    assert comparison["channel_success_rate"] == 100.0
    assert stats["routing_statistics"]["routed"] == len(ticks)
    assert stats["routing_statistics"]["events_forwarded"] == 0


def test_phase_1_observes_the_channel_path_on_every_tick(ticks, legacy_events):
    events, stats = run(
        multichannel({"environment": False, "phase": "phase_1_parallel_testing"}), ticks
    )
    m = stats["integration_metrics"]
    assert m["channel_requests"] == len(ticks) == m["channel_successes"]
    assert m["legacy_requests"] == 0
    assert stats["routing_statistics"]["events_forwarded"] == len(events)
    assert {e["type"] for e in events} >= {"high", "low"}
    assert all("tick_seq" in e for e in events)
    # same algorithms: highs and lows agree here (regular hours, open price known)
    hl = [e for e in dumps(events) if '"type": "high"' in e or '"type": "low"' in e]
    legacy_hl = [e for e in dumps(legacy_events) if '"type": "high"' in e or '"type": "low"' in e]
    assert len(hl) == len(legacy_hl)


@pytest.mark.integration
def test_phase_4_end_to_end_reaches_users_through_the_channel(ticks):
    config = {
        "environment": False,
        "phase": "phase_4_full_rollout",
        "universes": {"all": list(TICKERS)},
        "users": {"u1": {"universes": {"market": ["all"]}}},
    }
    events, stats = run(multichannel(config), ticks)
    assert stats["integration_metrics"]["success_rate_percent"] == 100.0
    assert stats["integration_metrics"]["integration_enabled"] is True
    assert stats["rollout"]["all_tickers"] is True
    assert stats["rollout_tickers"] == sorted(TICKERS)
    assert stats["legacy_service"]["emitted_per_user"]["u1"] == len(events) > 0
    assert stats["integration_metrics"]["avg_performance_improvement_ms"] < 100


@pytest.mark.integration
def test_a_faulty_channel_falls_back_to_legacy_and_trips_the_automatic_fallback(
    ticks, legacy_events
):
    stack = multichannel(
        {"environment": False, "phase": "phase_4_full_rollout", "channel_error_rate": 1.0}
    )
    first = make_ticks(1)[0]
    assert stack.service.handle_websocket_tick(tick_to_tickdata(first)) is True
    assert stack.integrator.metrics["legacy_fallbacks"] > 0
    stack.close()

    events, stats = run(
        multichannel(
            {"environment": False, "phase": "phase_4_full_rollout", "channel_error_rate": 1.0}
        ),
        ticks,
    )
    assert dumps(events) == dumps(legacy_events)  # every tick was served by legacy
    incident = stats["fallback_incidents"][0]
    assert incident["tick_time"] == pytest.approx(START_NS / 1e9 + 30.0)
    assert "error_rate" in incident["reasons"][0]
    names = [a["name"] for a in stats["alerts"]]
    assert "channel_error_rate" in names and "emergency_fallback" in names
    assert stats["integration_config"]["enable_multi_channel"] is False


def test_modelled_delay_over_the_timeout_times_out_and_falls_back():
    few = make_ticks(6)
    events, stats = run(
        multichannel(
            {
                "environment": False,
                "phase": "phase_4_full_rollout",
                "channel_delay_ms": 101.0,
                "automatic_fallback": False,
            }
        ),
        few,
    )
    m = stats["integration_metrics"]
    assert m["channel_timeouts"] == 6 == m["legacy_fallbacks"]
    assert stats["routing_statistics"]["timed_out"] == 6
    assert stats["routing_statistics"]["decision_routing_time_ms"] == pytest.approx(101.0)


def test_phase_2_serves_the_selected_rollout_tickers_through_the_channel(ticks):
    stats_in = {
        t: {"avg_daily_volume": 1e5, "price_volatility": 0.01, "event_frequency": 1}
        for t in TICKERS
    }
    events, stats = run(
        multichannel(
            {
                "environment": False,
                "phase": "phase_2_limited_rollout",
                "ticker_stats": stats_in,
                "seed": 5,
                "flags": {"parallel_processing_enabled": False},
            }
        ),
        ticks,
    )
    chosen = stats["rollout_tickers"]
    assert len(chosen) == 1 and chosen[0] in TICKERS
    served_by_channel = sum(1 for t in ticks if t.ticker in chosen)
    assert stats["integration_metrics"]["channel_requests"] == served_by_channel
    assert stats["integration_metrics"]["legacy_requests"] == len(ticks) - served_by_channel


def test_without_statistics_the_rollout_is_chosen_from_observed_ticks_after_the_warm_up(ticks):
    _, stats = run(
        multichannel(
            {
                "environment": False,
                "phase": "phase_3_gradual_expansion",
                "rollout_warmup_seconds": 60,
            }
        ),
        ticks,
    )
    assert stats["rollout"]["method"] == "observed"
    assert stats["rollout"]["selected_at"] == pytest.approx(START_NS / 1e9 + 60.0)
    assert set(stats["rollout"]["risk_tiers"]) == set(TICKERS)


def test_the_stack_is_deterministic_on_a_replay(ticks):
    config = {
        "environment": False,
        "phase": "phase_3_gradual_expansion",
        "rollout_percentage": 40,
        "channel_error_rate": 0.05,
        "seed": 11,
        "rollout_warmup_seconds": 30,
    }
    a_events, a_stats = run(multichannel(config), ticks)
    b_events, b_stats = run(multichannel(config), ticks)
    assert dumps(a_events) == dumps(b_events)
    for key in ("rollout_tickers", "fallback_incidents", "feature_flags"):
        assert a_stats[key] == b_stats[key]
    counts = ("channel_requests", "channel_failures", "legacy_fallbacks")
    assert [a_stats["integration_metrics"][k] for k in counts] == [
        b_stats["integration_metrics"][k] for k in counts
    ]


def test_stats_follow_the_contract_and_are_json(ticks):
    _, stats = run(
        multichannel({"environment": False, "phase": "phase_2_limited_rollout"}), ticks[:50]
    )
    json.dumps(stats)
    for key in (
        "phase",
        "observe",
        "integration_metrics",
        "comparison_analysis",
        "routing_statistics",
        "alerts",
        "fallback_incidents",
        "rollout_tickers",
        "dashboard",
        "feature_flags",
    ):
        assert key in stats
    for key in (
        "success_rate_percent",
        "fallback_rate_percent",
        "avg_performance_improvement_ms",
        "legacy_fallbacks",
        "integration_enabled",
        "channel_requests",
        "channel_successes",
        "channel_failures",
    ):
        assert key in stats["integration_metrics"]
    for key in ("error_rate", "avg_routing_time_ms", "routed", "failed", "timed_out"):
        assert key in stats["routing_statistics"]
    for key in ("channel_success_rate", "channel_win_rate", "avg_time_improvement_ms"):
        assert key in stats["comparison_analysis"]


def test_environment_overrides_reach_the_stack(ticks, legacy_events):
    events, stats = run(
        multichannel(
            {
                "environment": False,
                "phase": "phase_4_full_rollout",
                "env": {"TICK_CHANNEL_ENABLED": "false"},
            }
        ),
        ticks,
    )
    assert stats["integration_metrics"]["channel_requests"] == 0
    assert stats["integration_config"]["tick_channel"]["enabled"] is False
    assert dumps(events) == dumps(legacy_events)


def test_the_enable_switch_in_the_environment_wins_over_the_phase(ticks, legacy_events):
    events, stats = run(
        multichannel(
            {
                "environment": False,
                "phase": "phase_4_full_rollout",
                "env": {"ENABLE_MULTICHANNEL": "false", "CHANNEL_TIMEOUT_MS": "250"},
                "flags": {"parallel_processing_enabled": False},
            }
        ),
        ticks,
    )
    assert dumps(events) == dumps(legacy_events)
    assert stats["integration_config"]["channel_timeout_ms"] == 250.0
    assert stats["integration_metrics"]["channel_requests"] == 0


def test_bad_stack_configuration_is_refused():
    with pytest.raises(ConfigError, match="phase_7"):
        multichannel({"phase": "phase_7"})
    with pytest.raises(ConfigError, match="unknown config keys"):
        multichannel({"colour": 1})
    with pytest.raises(ConfigError, match="observe"):
        multichannel({"observe": "both"})
    with pytest.raises(ConfigError, match="CHANNEL_TIMEOUT_MS"):
        multichannel({"env": {"CHANNEL_TIMEOUT_MS": "soon"}})
    with pytest.raises(ConfigError, match="ticker stats for AAA"):
        multichannel({"phase": "phase_2_limited_rollout", "ticker_stats": {"AAA": {"x": 1}}})
    with pytest.raises(ConfigError, match="error_rate"):
        multichannel({"channel_error_rate": 1.5})


def test_the_highlow_switch_removes_channel_highs_and_lows(ticks):
    events, _ = run(
        multichannel(
            {
                "environment": False,
                "phase": "phase_4_full_rollout",
                "env": {"HIGHLOW_DETECTION_ENABLED": "false"},
            }
        ),
        ticks,
    )
    assert not [e for e in events if e["type"] in ("high", "low")]


def test_outside_regular_hours_the_channel_finds_no_highs_or_lows_legacy_does():
    # 2024-03-05 12:00 UTC = 07:00 ET, premarket: the channel's pre-refreshed StockData (B1)
    pre = make_ticks(600, start_ns=1_709_640_000 * 10**9)
    legacy_ev, _ = run(legacy({"environment": False}), pre)
    channel_ev, _ = run(multichannel({"environment": False, "phase": "phase_4_full_rollout"}), pre)
    assert [e for e in legacy_ev if e["type"] in ("high", "low")]
    assert not [e for e in channel_ev if e["type"] in ("high", "low")]


def test_install_follows_the_seeds_five_steps():
    service = MarketDataService()
    integrator = install_multichannel_integration(service)
    assert service.integrator is integrator and service.channel_router is integrator.channel_router
    assert [c.name for c in service.channel_router.channels] == ["tick_channel_1"]
    assert service.channel_router.config.enable_multi_channel is False
    assert integrator.config.enable_multi_channel is False
    assert integrator.config.fallback_to_legacy is True
    assert integrator.config.channel_timeout_ms == 100.0
    assert service.channel_router.priority_manager is service.priority_manager
