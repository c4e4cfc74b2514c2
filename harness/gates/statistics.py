"""Paired latency statistics and the seed's comparison figures, recomputed from per-tick timings.

Every function takes plain NumPy arrays (one element per tick, primary and candidate paired by
index), so the statistics are independent of where the run is stored. Randomness (bootstrap,
subsampling) is seeded and every subsample is reported in the result, never hidden.

    >>> s = latency_stats(primary_ns, candidate_ns, seed=7)
    >>> s.ratio_median.high <= 1.05
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import special

from harness.gates.bootstrap import (
    BOOTSTRAP_MAX_SAMPLE,
    BOOTSTRAP_RESAMPLES,
    MIN_CLUSTERS,
    MIN_PAIRED_TICKS,
    Interval,
    bootstrap_ratios,
    cluster_count,
    pooled_cap,
    recentred,
    safe_ratio,
    subsample_index,
)

# scipy.special, not scipy.stats: the report needs the normal distribution and the signed-rank
# test only, and importing scipy.stats costs a second of every `harness report`/`gate` call.
# norm.sf(x) is special.ndtr(-x) and norm.ppf(q) is special.ndtri(q) in scipy itself.

#: Hodges-Lehmann is O(n²) in Walsh averages; it is computed on a seeded subsample this large.
HL_MAX_SAMPLE = 2_000
#: Wilcoxon's normal approximation is exact enough and fast far below this; larger is subsampled.
WILCOXON_MAX_SAMPLE = 200_000
#: The smallest latency margin a gate decides on (phase 0/1: 5 %); a run that cannot detect a
#: change this large at 80 % power is reported as too small to decide.
DECISION_MARGIN = 0.05
#: Per-ticker tests need at least this many non-zero paired differences.
MIN_TICKER_PAIRS = 10


@dataclass(frozen=True, slots=True)
class Percentiles:
    """p50 / p90 / p99 and mean of one stack's per-tick processing time, in nanoseconds."""

    p50: float
    p90: float
    p99: float
    mean: float


@dataclass(frozen=True, slots=True)
class LatencyStats:
    """Paired latency comparison of candidate against primary over ticks both processed."""

    n: int
    primary: Percentiles
    candidate: Percentiles
    ratio_median: Interval
    ratio_mean: Interval
    bootstrap_sample: int
    bootstrap_resamples: int
    seed: int
    wilcoxon_statistic: float
    wilcoxon_p: float
    wilcoxon_sample: int
    hl_shift_ns: float
    hl_sample: int
    min_detectable_change: float
    too_small: bool
    power_note: str
    #: clusters the CIs resampled (a concurrent run's swap cycles); 0 = single pairs
    clusters: int = 0

    @property
    def subsampled(self) -> bool:
        return self.bootstrap_sample < self.n

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["subsampled"] = self.subsampled
        return d


@dataclass(frozen=True, slots=True)
class SeedFigures:
    """The seed dashboard's comparison figures, measured by the harness from observations.

    success = the candidate processed the tick without error or timeout; fallback = it did not
    (the integrator would have handed that tick to legacy); win = both succeeded and the
    candidate was faster; improvement = mean(primary − candidate) over ticks both processed.
    """

    ticks: int
    paired: int
    success_rate_percent: float
    fallback_rate_percent: float
    win_rate_percent: float
    avg_time_improvement_ms: float
    primary_error_rate_percent: float
    candidate_error_rate_percent: float
    candidate_timeout_rate_percent: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def percentiles(values_ns: np.ndarray, sorted_ns: np.ndarray | None = None) -> Percentiles:
    """p50/p90/p99/mean of a latency array (NaN when empty).

    `sorted_ns` (the same values sorted) makes the order statistics a cheap partition of sorted
    data; they are identical either way, and the mean always sums `values_ns` in its own order.
    """
    if values_ns.size == 0:
        return Percentiles(math.nan, math.nan, math.nan, math.nan)
    p50, p90, p99 = np.percentile(values_ns if sorted_ns is None else sorted_ns, [50, 90, 99])
    return Percentiles(float(p50), float(p90), float(p99), float(np.mean(values_ns)))


def sorted_median(sorted_values: np.ndarray) -> float:
    """`np.median` of data already sorted, without its partition and full copy (two of them on a
    10M-tick run's latencies cost ≈ 0.3 s). The value is np.median's own: the middle element, or
    the two middle ones added and halved as its mean does; NaN when any value is (NaN sorts last).
    """
    n = int(sorted_values.size)
    if n == 0 or math.isnan(sorted_values[-1]):
        return math.nan
    k = n // 2
    if n % 2:
        return float(sorted_values[k])
    return float((sorted_values[k - 1] + sorted_values[k]) / 2)


def wilcoxon_signed_rank(diffs: np.ndarray) -> tuple[float, float]:
    """Two-sided Wilcoxon signed-rank test, normal approximation with tie correction.

    scipy.stats.wilcoxon(x, y, zero_method="wilcox", method="approx") step for step (zeros
    dropped, average ranks of |d|, statistic min(R+, R-), no continuity correction), so the
    statistic and p-value are scipy's (tested against it) without importing scipy.stats.
    """
    d = np.asarray(diffs, dtype=np.float64)
    d = d[(d != 0) & ~np.isnan(d)]
    count = float(d.size)
    if d.size == 0:
        return math.nan, math.nan
    a = np.abs(d)
    order = np.argsort(a, kind="stable")
    s = a[order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    ties = np.diff(np.r_[starts, s.size]).astype(np.float64)
    ranks = np.empty(s.size)
    ranks[order] = np.repeat(starts + (ties + 1.0) / 2.0, ties.astype(np.intp))
    # Ranks are multiples of 0.5 and their sums stay far below 2**52: both sums are exact.
    r_plus = float(ranks[d > 0].sum())
    r_minus = float(ranks[d < 0].sum())
    mn = count * (count + 1.0) * 0.25
    se = count * (count + 1.0) * (2.0 * count + 1.0)
    se = math.sqrt((se - float(np.sum(ties**3 - ties)) / 2) / 24)
    z = (r_plus - mn) / se
    return min(r_plus, r_minus), float(2 * special.ndtr(-abs(z)))


def hodges_lehmann(diffs: np.ndarray) -> float:
    """One-sample Hodges-Lehmann estimator: the median of all Walsh averages (d_i + d_j)/2, i ≤ j."""
    if diffs.size == 0:
        return math.nan
    i, j = np.triu_indices(diffs.size)
    return float(np.median((diffs[i] + diffs[j]) / 2.0))


def min_detectable_change(
    primary: np.ndarray, candidate: np.ndarray, n: int | None = None
) -> float:
    """Smallest relative latency change detectable at α = 0.05 two-sided with 80 % power.

    Works on per-tick log ratios, whose spread is what the paired test has to see through; the
    spread may be estimated on a subsample of a run of `n` ticks.
    """
    n = primary.size if n is None else n
    if primary.size < 2:
        return math.inf
    with np.errstate(divide="ignore", invalid="ignore"):
        logr = np.log(np.maximum(candidate, 1.0) / np.maximum(primary, 1.0))
    sd = float(np.std(logr, ddof=1))
    z = special.ndtri(0.975) + special.ndtri(0.80)
    return float(math.expm1(z * sd / math.sqrt(n)))


def latency_stats(
    primary_ns: np.ndarray,
    candidate_ns: np.ndarray,
    *,
    seed: int = 0,
    resamples: int = BOOTSTRAP_RESAMPLES,
    max_sample: int = BOOTSTRAP_MAX_SAMPLE,
    presorted: tuple[np.ndarray, np.ndarray] | None = None,
    clusters: np.ndarray | None = None,
    widen: float = 0.0,
) -> LatencyStats:
    """Compare paired per-tick latencies (ticks both stacks processed, same index = same tick).

    `presorted` = both arrays sorted (the caller sorted them anyway): medians and percentiles
    then cost a partition of sorted data; every result is identical with or without it.
    `clusters` = each pair's cluster label (nondecreasing): the CIs resample whole clusters
    (`bootstrap_ratios`); the subsample they are drawn from is still a sample of pairs.
    `widen` = a systematic error no resampling sees, added on both sides of both ratio CIs
    (a concurrent run's: `bootstrap.CONCURRENT_MARGIN`).
    The mean ratio is of latencies capped at `pooled_cap` (the slowest MEAN_CAP_SHARE of calls,
    at least MEAN_CAP_MIN_CALLS).
    """
    p = np.asarray(primary_ns, dtype=np.float64)
    c = np.asarray(candidate_ns, dtype=np.float64)
    if p.shape != c.shape:
        raise ValueError(f"paired arrays differ in length: {p.size} vs {c.size}")
    ps, cs = (p, c) if presorted is None else (np.asarray(a, np.float64) for a in presorted)
    n = int(p.size)
    rng = np.random.default_rng(seed)
    if n < MIN_PAIRED_TICKS:
        nan = Interval(math.nan, math.nan, math.nan)
        return LatencyStats(
            n, percentiles(p, ps), percentiles(c, cs), nan, nan, n, 0, seed, math.nan, math.nan, n,
            math.nan, n, math.inf, True,
            f"only {n} paired ticks; at least {MIN_PAIRED_TICKS} are needed to compare latency",
        )  # fmt: skip
    boot_idx = subsample_index(rng, n, max_sample)
    labels = None if clusters is None else np.asarray(clusters)[boot_idx]
    # the mean ratio sees the slowest 0.1 % of calls (at least 10) at the cap; the medians
    # are the same with or without it, the reported percentiles and means are of the raw times
    cap = pooled_cap(ps, cs, presorted=presorted is not None)
    pc, cc = np.minimum(p, cap), np.minimum(c, cap)
    sub_median, sub_mean = bootstrap_ratios(pc[boot_idx], cc[boot_idx], rng, resamples, labels)
    # Point estimates use every tick, not the bootstrap subsample; a subsample's interval is moved
    # onto them (its width, which is that of the smaller sample and so conservative, is kept).
    # Otherwise a subsample whose ratio fell below the run's would lower the upper bound gates read.
    median = np.median if presorted is None else sorted_median
    ratio_median = recentred(sub_median, safe_ratio(float(median(cs)), float(median(ps))))
    ratio_mean = recentred(sub_mean, safe_ratio(float(cc.mean()), float(pc.mean())))
    ratio_median, ratio_mean = ratio_median.widened(widen), ratio_mean.widened(widen)
    w_idx = subsample_index(rng, n, WILCOXON_MAX_SAMPLE)
    d = c[w_idx] - p[w_idx]
    if np.count_nonzero(d) == 0:
        w_stat, w_p = 0.0, 1.0
    else:
        w_stat, w_p = wilcoxon_signed_rank(d)
    hl_idx = subsample_index(rng, n, HL_MAX_SAMPLE)
    hl = hodges_lehmann(c[hl_idx] - p[hl_idx])
    mdc = min_detectable_change(p[boot_idx], c[boot_idx], n)
    too_small = mdc > DECISION_MARGIN
    note = f"{n} paired ticks detect a {mdc:.1%} latency change at 80 % power" + (
        f"; too small to decide a {DECISION_MARGIN:.0%} margin" if too_small else ""
    )
    k = 0 if labels is None else cluster_count(labels)
    if labels is not None and k < MIN_CLUSTERS:
        note += f"; only {k} swap cycles to resample, at least {MIN_CLUSTERS} bound a ratio"
    return LatencyStats(
        n=n, primary=percentiles(p, ps), candidate=percentiles(c, cs),
        ratio_median=ratio_median, ratio_mean=ratio_mean,
        bootstrap_sample=int(boot_idx.size), bootstrap_resamples=resamples, seed=seed,
        wilcoxon_statistic=w_stat, wilcoxon_p=w_p, wilcoxon_sample=int(w_idx.size),
        hl_shift_ns=hl, hl_sample=int(hl_idx.size),
        min_detectable_change=mdc, too_small=too_small, power_note=note, clusters=k,
    )  # fmt: skip


def seed_figures(
    primary_ns: np.ndarray,
    candidate_ns: np.ndarray,
    primary_failed: np.ndarray,
    candidate_failed: np.ndarray,
    candidate_timeout: np.ndarray | None = None,
    untimed: np.ndarray | None = None,
) -> SeedFigures:
    """Recompute success, fallback and win rate and average improvement from observations.

    `untimed` marks ticks that count as processed but whose times are not latency (the memory
    probe's): the win rate and the average improvement leave them out."""
    pf = np.asarray(primary_failed, dtype=bool)
    cf = np.asarray(candidate_failed, dtype=bool)
    to = np.zeros_like(cf) if candidate_timeout is None else np.asarray(candidate_timeout, bool)
    ticks = int(cf.size)
    cand_bad = cf | to
    both = ~(pf | cand_bad)
    paired = int(np.count_nonzero(both))
    timed = both if untimed is None else both & ~np.asarray(untimed, bool)
    p = np.asarray(primary_ns, dtype=np.float64)
    c = np.asarray(candidate_ns, dtype=np.float64)
    if untimed is not None or paired < ticks:
        p, c = p[timed], c[timed]
    timed_n = int(p.size)
    bad = int(np.count_nonzero(cand_bad))

    def pct(k: float, total: int) -> float:
        return 100.0 * k / total if total else math.nan

    return SeedFigures(
        ticks=ticks,
        paired=paired,
        success_rate_percent=pct(float(ticks - bad), ticks),
        fallback_rate_percent=pct(float(bad), ticks),
        win_rate_percent=pct(float(np.count_nonzero(c < p)), timed_n),
        avg_time_improvement_ms=float((p - c).mean() / 1e6) if timed_n else math.nan,
        primary_error_rate_percent=pct(float(np.count_nonzero(pf)), ticks),
        candidate_error_rate_percent=pct(float(np.count_nonzero(cf)), ticks),
        candidate_timeout_rate_percent=pct(float(np.count_nonzero(to)), ticks),
    )
