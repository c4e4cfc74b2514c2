"""Paired latency statistics: ratios, CIs, rank tests, seed figures and BH correction."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from harness.gates.bootstrap import cluster_count, cluster_draw, pooled_cap
from harness.gates.statistics import (
    hodges_lehmann,
    latency_stats,
    seed_figures,
    sorted_median,
    wilcoxon_signed_rank,
)
from harness.gates.ticker_statistics import benjamini_hochberg, per_ticker_stats


def _paired(n, factor, seed=1):
    rng = np.random.default_rng(seed)
    base = rng.lognormal(mean=np.log(20_000), sigma=0.3, size=n)
    noise = rng.lognormal(mean=0.0, sigma=0.05, size=n)
    return base, base * factor * noise


def test_two_times_slower_candidate_has_ratio_ci_around_two():
    p, c = _paired(5_000, 2.0)
    s = latency_stats(p, c, seed=3)
    assert 1.95 < s.ratio_median.low <= s.ratio_median.point <= s.ratio_median.high < 2.05
    assert 1.95 < s.ratio_mean.point < 2.05
    assert s.wilcoxon_p < 1e-10
    assert s.hl_shift_ns > 10_000
    assert not s.too_small


def test_the_mean_ratio_caps_a_few_preempted_calls_but_sees_a_tail_of_many():
    p, c = _paired(20_000, 1.0, seed=4)
    # preemption: 10 calls (0.05 %) of one side wait 3 ms, ~150x the ~20 us median
    preempted = c.copy()
    preempted[np.arange(10) * 1_999] += 3e6
    raw = preempted.mean() / p.mean()
    s = latency_stats(p, preempted, seed=3)
    assert raw > 1.07  # the plain mean would call an identical candidate 7 % slower
    assert abs(s.ratio_mean.point - 1.0) < 0.01 and s.ratio_mean.high < 1.02
    # the medians (and what percentiles report) are those of the raw times
    assert s.ratio_median.point == np.median(preempted) / np.median(p)
    assert s.candidate.mean == pytest.approx(preempted.mean())
    # a tail: 1 % of the calls 21x slower moves the capped mean by ~20 %, the median by ~1 %
    spiked = c.copy()
    spiked[::100] *= 21
    t = latency_stats(p, spiked, seed=3)
    assert t.ratio_mean.low > 1.15 and t.ratio_median.high < 1.03


def test_the_cap_is_the_kth_largest_of_both_sides_pooled():
    rng = np.random.default_rng(9)
    p, c = np.sort(rng.random(3_000)), np.sort(rng.random(3_000) * 2)
    both = np.sort(np.concatenate((p, c)))
    shuffled_p, shuffled_c = rng.permutation(p), rng.permutation(c)
    for share in (0.001, 0.01, 0.2):
        k = math.ceil(share * 6_000)
        assert pooled_cap(p, c, share, 1, presorted=True) == both[-k]
        assert pooled_cap(shuffled_p, shuffled_c, share, 1) == both[-k]  # any order
    assert pooled_cap(p, c, 0.001, min_calls=10) == both[-10]  # 6 by share, 10 at least
    assert pooled_cap(p[:3], c[:2], 0.001, min_calls=10) == min(p[0], c[0])  # all of them


def test_identical_stacks_give_ratio_ci_containing_one():
    p, c = _paired(5_000, 1.0)
    s = latency_stats(p, c, seed=3)
    assert s.ratio_median.low < 1.0 < s.ratio_median.high
    assert s.ratio_median.high < 1.01


def test_bootstrap_is_seeded_and_subsampling_is_reported():
    p, c = _paired(30_000, 1.1)
    a = latency_stats(p, c, seed=5, max_sample=5_000, resamples=100)
    b = latency_stats(p, c, seed=5, max_sample=5_000, resamples=100)
    assert a == b
    assert a.subsampled and a.bootstrap_sample == 5_000 and a.n == 30_000
    assert a.to_dict()["subsampled"] is True


def test_too_few_ticks_is_reported_as_too_small_to_decide():
    p, c = _paired(10, 1.0)
    s = latency_stats(p, c)
    assert s.too_small and math.isnan(s.ratio_median.high)
    assert "at least 30" in s.power_note


def test_noisy_small_sample_is_too_small_for_a_five_percent_margin():
    rng = np.random.default_rng(0)
    p = rng.lognormal(10, 1.0, 50)
    c = rng.lognormal(10, 1.0, 50)
    s = latency_stats(p, c)
    assert s.too_small and s.min_detectable_change > 0.05


def test_hodges_lehmann_matches_brute_force():
    d = np.array([1.0, -2.0, 3.0, 7.0, 0.5])
    walsh = [(d[i] + d[j]) / 2 for i in range(5) for j in range(i, 5)]
    assert hodges_lehmann(d) == pytest.approx(float(np.median(walsh)))


def test_seed_figures_count_errors_as_fallbacks_and_wins_on_paired_ticks():
    p = np.array([10, 10, 10, 10], dtype=float)
    c = np.array([5, 20, 5, 1], dtype=float)
    pf = np.array([False, False, False, False])
    cf = np.array([False, False, False, True])
    f = seed_figures(p, c, pf, cf)
    assert f.success_rate_percent == 75.0
    assert f.fallback_rate_percent == 25.0
    assert f.win_rate_percent == pytest.approx(200 / 3)
    assert f.avg_time_improvement_ms == pytest.approx((5 - 10 + 5) / 3 / 1e6)
    assert f.paired == 3


def test_benjamini_hochberg_matches_reference_values():
    p = np.array([0.01, 0.04, 0.03, 0.005, np.nan])
    q = benjamini_hochberg(p)
    assert q[:4] == pytest.approx([0.02, 0.04, 0.04, 0.02])
    assert np.isnan(q[4])


def test_per_ticker_wilcoxon_agrees_with_scipy_and_flags_the_slow_ticker():
    rng = np.random.default_rng(4)
    n = 200
    p = rng.lognormal(10, 0.3, 2 * n)
    c = p * rng.lognormal(0, 0.05, 2 * n)
    c[n:] *= 1.5
    tickers = np.array(["AAA"] * n + ["BBB"] * n)
    df = per_ticker_stats(tickers, p, c).set_index("ticker")
    ref = sps.wilcoxon(c[:n], p[:n], method="approx").pvalue
    assert df.loc["AAA", "wilcoxon_p"] == pytest.approx(ref, rel=1e-6)
    assert df.loc["BBB", "direction"] == "slower"
    assert df.loc["AAA", "direction"] == "same"
    assert df.loc["BBB", "ratio_median"] == pytest.approx(1.5, rel=0.05)


@pytest.mark.parametrize("n", [3_001, 3_000])  # odd and even: the middle one or two
def test_presorted_arrays_give_bit_identical_latency_stats(n):
    p, c = _paired(n, 1.2, seed=5)
    p[::7] = p[0]  # ties
    plain = latency_stats(p, c, seed=3)
    fast = latency_stats(p, c, seed=3, presorted=(np.sort(p), np.sort(c)))
    assert fast == plain


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.floats(allow_nan=False, allow_infinity=False, min_value=-1e300, max_value=1e300),
        min_size=1,
        max_size=60,
    )
)
def test_the_median_of_sorted_data_is_numpys_to_the_bit(values):
    a = np.array(values, dtype=np.float64)
    want, got = float(np.median(a)), sorted_median(np.sort(a))
    assert got == want
    if want != 0:  # bitwise too (a zero's sign depends on which equal zero a partition picks)
        assert np.float64(got).tobytes() == np.float64(want).tobytes()


def test_the_median_of_sorted_data_is_nan_with_a_nan_or_no_data():
    assert math.isnan(sorted_median(np.sort(np.array([1.0, math.nan, 3.0]))))
    assert math.isnan(sorted_median(np.empty(0)))
    assert sorted_median(np.array([1.0, 2.0])) == 1.5
    assert sorted_median(np.array([1.0, 2.0, 9.0])) == 2.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_signed_rank_test_is_scipys_without_importing_scipy_stats(seed):
    rng = np.random.default_rng(seed)
    p = rng.lognormal(10, 0.4, 5_001).round(-1)  # rounding makes ties and zero differences
    c = (p * rng.lognormal(0.01, 0.05, p.size)).round(-1)
    assert np.count_nonzero(c == p) > 0
    ref = sps.wilcoxon(c, p, zero_method="wilcox", method="approx")
    stat, pv = wilcoxon_signed_rank(c - p)
    assert stat == float(ref.statistic)
    assert pv == pytest.approx(float(ref.pvalue), rel=1e-12, abs=1e-300)


@pytest.mark.parametrize("seed", range(12))
def test_subsampled_bootstrap_interval_is_centred_on_the_full_sample_estimate(seed):
    """The gate reads the CI's upper bound: a subsample whose median ratio happens to fall below
    the full run's must not drag the interval below the point estimate the run actually shows."""
    rng = np.random.default_rng(1000 + seed)
    p = rng.lognormal(np.log(60_000), 0.6, 20_000)
    c = p * rng.lognormal(np.log(1.04), 0.3, 20_000)
    s = latency_stats(p, c, seed=seed, max_sample=300, resamples=200)
    full = float(np.median(c) / np.median(p))
    assert s.ratio_median.point == pytest.approx(full)
    assert s.ratio_median.low <= s.ratio_median.point <= s.ratio_median.high
    assert s.ratio_mean.low <= s.ratio_mean.point <= s.ratio_mean.high


def _cycle_noise(n, cycle, seed, sides_sd=0.03):
    """A/A pairs timed like a concurrent run: each side's latencies share a per-cycle factor
    (its core's speed over that stretch), independent between the sides and between cycles."""
    rng = np.random.default_rng(seed)
    base = rng.lognormal(mean=np.log(20_000), sigma=0.3, size=n)
    k = -(-n // cycle)
    p_core = np.repeat(rng.lognormal(0.0, sides_sd, k), cycle)[:n]
    c_core = np.repeat(rng.lognormal(0.0, sides_sd, k), cycle)[:n]
    jitter = rng.lognormal(0.0, 0.05, size=(2, n))
    return base * p_core * jitter[0], base * c_core * jitter[1], np.arange(n) // cycle


def test_cluster_bootstrap_covers_an_aa_ratio_that_per_pair_resampling_misses():
    """Pairs that share their cycle's noise: resampling single pairs gives a CI far narrower than
    the ratio's spread between runs (it misses 1.00 in most A/A runs), resampling whole cycles
    covers it at about the nominal 95 %."""
    runs = 40
    pair_cover = cluster_cover = 0
    for seed in range(runs):
        p, c, labels = _cycle_noise(20_000, 1_000, seed)
        pair = latency_stats(p, c, seed=seed, resamples=200).ratio_median
        clustered = latency_stats(p, c, seed=seed, resamples=200, clusters=labels)
        assert clustered.clusters == 20 and clustered.ratio_median.point == pair.point
        pair_cover += pair.low <= 1.0 <= pair.high
        cluster_cover += clustered.ratio_median.low <= 1.0 <= clustered.ratio_median.high
    assert pair_cover <= runs // 2
    assert cluster_cover >= runs * 0.85


def test_cluster_bootstrap_draws_whole_clusters_and_counts_them():
    labels = np.repeat(np.array([0, 1, 2, 5, 9]), [3, 1, 4, 2, 5])
    draw = cluster_draw(labels, np.random.default_rng(4))
    for _ in range(50):
        idx = draw()
        picked = labels[idx]
        # every cluster drawn is drawn whole: its indices in order, as often as it was picked
        for label in np.unique(picked):
            size = int(np.count_nonzero(labels == label))
            assert np.count_nonzero(picked == label) % size == 0
        starts = np.flatnonzero(np.r_[True, np.diff(idx) != 1])
        assert len(starts) <= 5
    assert cluster_count(labels) == 5 and cluster_count(labels[:0]) == 0
    p, c, labels = _cycle_noise(15_000, 1_000, 0)
    s = latency_stats(p, c, seed=0, clusters=labels)
    assert s.clusters == 15 and "only 15 swap cycles" in s.power_note
