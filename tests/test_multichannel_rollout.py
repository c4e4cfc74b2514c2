"""Feature flags, the five rollout phases, the injected success validator and ticker selection."""

from __future__ import annotations

import math

import pytest

from tickstock.multichannel.errors import RolloutError
from tickstock.multichannel.flags import FeatureFlagConfig, hash_bucket, ticker_in_rollout
from tickstock.multichannel.rollout import (
    PHASE_DEFINITIONS,
    PHASES,
    GradualRolloutManager,
    RolloutPhaseManager,
    flags_for_phase,
)
from tickstock.multichannel.ticker_rollout import ObservedTickerStats, SmartTickerRollout

EXPECTED = {
    "phase_0_installation": (False, False, True, False, False, 0),
    "phase_1_parallel_testing": (False, False, True, True, True, 0),
    "phase_2_limited_rollout": (True, True, True, True, True, 1),
    "phase_3_gradual_expansion": (True, True, True, True, True, 10),
    "phase_4_full_rollout": (True, True, True, True, True, 100),
}


@pytest.mark.parametrize("phase", PHASES)
def test_each_phase_has_its_cumulative_flags(phase):
    f = flags_for_phase(phase)
    assert (
        f.multichannel_system_enabled,
        f.tick_channel_enabled,
        f.integration_layer_enabled,
        f.parallel_processing_enabled,
        f.performance_comparison_enabled,
        f.rollout_percentage,
    ) == EXPECTED[phase]
    # no phase ever sets router_enabled, so the seed's "fully enabled" never holds
    assert f.router_enabled is False and f.is_fully_enabled() is False


def test_phase_table_keeps_the_seeds_durations_and_criteria():
    assert [PHASE_DEFINITIONS[p]["duration_hours"] for p in PHASES] == [24, 72, 168, 168, -1]
    assert PHASE_DEFINITIONS["phase_1_parallel_testing"]["success_criteria"] == (
        "Channel performance within 5% of legacy"
    )


def test_is_fully_enabled_needs_every_switch_and_a_percentage():
    f = FeatureFlagConfig(True, True, True, True, rollout_percentage=0)
    assert not f.is_fully_enabled()
    f.apply({"rollout_percentage": 1})
    assert f.is_fully_enabled()


@pytest.mark.parametrize(
    "bad",
    [
        {"rollout_percentage": 101},
        {"rollout_percentage": -1},
        {"rollout_percentage": 5.5},
        {"warp_drive": True},
        {"router_enabled": "yes"},
    ],
)
def test_bad_flags_are_refused(bad):
    with pytest.raises(RolloutError):
        FeatureFlagConfig().apply(bad)


def test_advance_uses_the_injected_validator_and_applies_the_next_phase():
    seen = []
    applied = []
    manager = RolloutPhaseManager(
        validator=lambda phase, definition: seen.append(phase) or phase == "phase_0_installation",
        on_apply=lambda phase, flags: applied.append((phase, flags.parallel_processing_enabled)),
    )
    assert manager.advance_to_next_phase("phase_0_installation") is True
    assert manager.current_phase == "phase_1_parallel_testing"
    assert applied == [("phase_1_parallel_testing", True)]
    assert manager.advance_to_next_phase("phase_1_parallel_testing") is False
    assert manager.current_phase == "phase_1_parallel_testing"
    assert seen == ["phase_0_installation", "phase_1_parallel_testing"]
    assert "criteria not met" in manager.history[-1].reason


def test_without_a_validator_a_phase_never_advances():
    manager = RolloutPhaseManager()
    assert manager.advance_to_next_phase("phase_0_installation") is False
    assert "no success-criteria validator" in manager.history[-1].reason


def test_the_final_phase_does_not_advance():
    manager = RolloutPhaseManager(validator=lambda p, d: True)
    assert manager.advance_to_next_phase("phase_4_full_rollout") is False


def test_an_unknown_phase_is_refused():
    with pytest.raises(RolloutError, match="phase_9"):
        flags_for_phase("phase_9")


def _stats(volume, volatility, events):
    return {"avg_daily_volume": volume, "price_volatility": volatility, "event_frequency": events}


@pytest.mark.parametrize(
    ("stats", "tier"),
    [
        (_stats(999_999, 0.0499, 9.99), "low"),
        (_stats(1_000_000, 0.01, 1), "medium"),
        (_stats(10, 0.05, 1), "medium"),
        (_stats(10, 0.01, 10), "medium"),
        (_stats(10_000_000, 0.15, 100), "medium"),
        (_stats(10_000_001, 0.01, 1), "high"),
        (_stats(10, 0.1501, 1), "high"),
        (_stats(10, 0.01, 100.5), "high"),
    ],
    ids=[
        "low",
        "vol-1M",
        "volat-0.05",
        "events-10",
        "high-edges",
        "vol>10M",
        "volat>0.15",
        "events>100",
    ],
)
def test_risk_tiers_at_their_boundaries(stats, tier):
    assert SmartTickerRollout(ticker_stats={"T": stats})._assess_ticker_risk("T") == tier


def _universe():
    stats = {f"L{i:02d}": _stats(1000, 0.01, 1) for i in range(30)}
    stats.update({f"M{i:02d}": _stats(5_000_000, 0.1, 50) for i in range(40)})
    stats.update({f"H{i:02d}": _stats(50_000_000, 0.3, 500) for i in range(30)})
    return stats


def test_one_percent_takes_only_low_risk_tickers_and_is_reproducible():
    a = SmartTickerRollout(ticker_stats=_universe(), seed=7).select_rollout_tickers(1)
    b = SmartTickerRollout(ticker_stats=_universe(), seed=7).select_rollout_tickers(1)
    assert a == b and len(a) == 1 and a[0].startswith("L")


def test_ten_percent_keeps_every_low_risk_ticker_even_above_target():
    chosen = SmartTickerRollout(ticker_stats=_universe(), seed=1).select_rollout_tickers(10)
    # the seed copies all 30 low-risk tickers; the negative medium sample is floored at 0
    assert len(chosen) == 30 and all(t.startswith("L") for t in chosen)


def test_above_ten_percent_samples_all_tiers_to_the_target():
    chosen = SmartTickerRollout(ticker_stats=_universe(), seed=1).select_rollout_tickers(50)
    assert len(chosen) == 50
    assert {t[0] for t in chosen} == {"L", "M", "H"}


def test_small_universes_get_at_least_min_count_tickers():
    stats = {f"L{i}": _stats(1, 0.0, 0) for i in range(20)}
    assert SmartTickerRollout(ticker_stats=stats).select_rollout_tickers(1) == []
    assert len(SmartTickerRollout(ticker_stats=stats, min_count=1).select_rollout_tickers(1)) == 1
    assert SmartTickerRollout(ticker_stats=stats, min_count=1).select_rollout_tickers(0) == []


def test_observed_stats_scale_volume_to_a_session_and_measure_volatility():
    obs = ObservedTickerStats()
    for i, price in enumerate([100.0, 102.0, 98.0, 100.0]):
        obs.observe_tick("AAA", price, 10, 1_000.0 + i * 10, None)
    obs.observe_events("AAA", 3)
    s = obs.stats("AAA")
    assert s.price_volatility == pytest.approx(math.sqrt(2.0) / 100.0)
    assert s.avg_daily_volume == pytest.approx(40 * 23400 / 30)
    assert s.event_frequency == pytest.approx(3 * 23400 / 30)


def test_ticker_rollout_hash_is_stable_and_matches_the_percentage_roughly():
    flags = FeatureFlagConfig(rollout_percentage=10)
    members = [t for t in (f"T{i}" for i in range(2000)) if ticker_in_rollout(flags, t, 3)]
    assert 150 < len(members) < 250
    assert hash_bucket(3, "T1") == hash_bucket(3, "T1") != hash_bucket(4, "T1")
    flags.apply({"rollout_tickers": ["T1"]})
    assert ticker_in_rollout(flags, "T1", 3) and not ticker_in_rollout(flags, "T2", 3)


class _Target:
    def __init__(self):
        self.flags = FeatureFlagConfig()

    def apply_feature_flags(self, flags):
        self.flags = flags


def test_gradual_rollout_manager_sets_percentage_and_selected_tickers():
    target = _Target()
    rollout = SmartTickerRollout(ticker_stats=_universe(), seed=2)
    flags = GradualRolloutManager(target, rollout).set_rollout_percentage(1)
    assert target.flags is flags and flags.rollout_percentage == 1
    assert flags.multichannel_system_enabled and flags.tick_channel_enabled
    assert flags.rollout_tickers == rollout.select_rollout_tickers(1)
    off = GradualRolloutManager(target).set_rollout_percentage(0)
    assert not off.multichannel_system_enabled
    with pytest.raises(RolloutError):
        GradualRolloutManager(target).set_rollout_percentage(150)
