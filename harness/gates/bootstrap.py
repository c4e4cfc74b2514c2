"""Bootstrap confidence intervals of latency ratios: resampling single pairs or whole clusters.

Plain NumPy, seeded. A CI resamples what is independent: single ticks when both stacks were timed
side by side on one core (interleaved runs), whole swap cycles when they ran in two processes on
two cores that trade places (`--sides concurrent`: pairs of one cycle share its cores' noise).
`yardstick_ratio` compares two runs' candidates, each against the primary timed beside it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.replay.outcome import SWAP_TICKS


@dataclass(frozen=True, slots=True)
class Interval:
    """A point estimate with its bootstrap 95 % confidence interval."""

    point: float
    low: float
    high: float

    def straddles(self, threshold: float) -> bool:
        return self.low <= threshold < self.high

    def widened(self, by: float) -> Interval:
        """The interval `by` wider on both sides (a systematic error no resampling sees)."""
        return self if by == 0 else Interval(self.point, self.low - by, self.high + by)


#: Bootstrap resamples and the largest paired sample they are drawn from (subsampled beyond).
BOOTSTRAP_RESAMPLES = 400
BOOTSTRAP_MAX_SAMPLE = 20_000
#: Fewer paired ticks than this cannot decide anything about latency.
MIN_PAIRED_TICKS = 30
#: A cluster bootstrap needs at least this many clusters (a concurrent run's swap cycles) to
#: bound a ratio; with fewer, a concurrent run's latency is not decided.
MIN_CLUSTERS = 20
#: A concurrent run's latency CIs are this much wider on both sides than its cycle bootstrap
#: gives, so a residual side asymmetry can neither PASS nor FAIL a candidate: across 36
#: concurrent A/A runs of 20,000 ticks the ratio still strayed 0.979–1.021 (a residual side
#: asymmetry); 2 of 36 cycle CIs missed 1.00 on the fast side, and on a whole day (200 cycles, a
#: narrow CI) one A/A run gave 0.988 [0.978, 0.996]: a miss on that side could lift a candidate
#: just beyond a bar to a PASS, one on the other side fail an unchanged candidate (a strict
#: phase-4 bar of 1.00 with a 0.02 floor). 0.03 leaves headroom over the largest stray (0.023)
#: (benchmarks/bench_concurrent_latency.py, bench_cores.py).
CONCURRENT_MARGIN = 0.03


def swap_cycles(ok: np.ndarray) -> np.ndarray:
    """The swap-cycle label of each kept row of a concurrent run (`ok`: the rows kept, in tick
    order): the clusters its CIs resample; a cycle times each side once on each core."""
    return np.flatnonzero(ok) // (2 * SWAP_TICKS)


def ci_design(ok: np.ndarray, concurrent: bool) -> tuple[np.ndarray | None, float]:
    """How a run's latency CIs are made, as (clusters, widen) for `latency_stats` and
    `yardstick_ratio`: an interleaved run resamples single pairs and is not widened; a concurrent
    run resamples its swap cycles and is widened by `CONCURRENT_MARGIN` on both sides."""
    if not concurrent:
        return None, 0.0
    return swap_cycles(ok), CONCURRENT_MARGIN


def safe_ratio(num: float, den: float) -> float:
    return num / den if den > 0 else math.nan


#: The share of the slowest calls (both sides pooled) the mean ratio sees at the cap's value:
#: an OS preemption lands a 1-4 ms stall on a few calls of ~20 us, and a handful of them decided
#: the mean of a 5,000-tick A/A run (0.977-1.017 plain, 0.988-1.006 capped, with another process
#: busy on the second core; 2026-12-08). A tail on more calls than this still moves the mean.
MEAN_CAP_SHARE = 0.001
#: ... and never fewer calls than this: a short run's few preempted calls are more than 0.1 % of
#: it (an A/A run of 1,500 ticks under the test suite's load: 12 calls beyond 10x the median, mean
#: ratio 1.054 capped at 3 calls, 1.010 at 10; 2026-12-08).
MEAN_CAP_MIN_CALLS = 10
#: How reports name what the mean ratio is of.
MEAN_CAP_NOTE = f"slowest {MEAN_CAP_SHARE * 100:g} % of calls capped, at least {MEAN_CAP_MIN_CALLS}"


def pooled_cap(
    primary: np.ndarray,
    candidate: np.ndarray,
    share: float = MEAN_CAP_SHARE,
    min_calls: int = MEAN_CAP_MIN_CALLS,
    presorted: bool = False,
) -> float:
    """The k-th largest of both sides' latencies pooled, k = max(ceil(share * pairs * 2),
    min_calls): the value the slowest calls are capped at for the mean ratio. Reads each side's
    k largest: slices of sorted arrays (`presorted`), else a partition (O(n), no sort)."""
    n = primary.size + candidate.size
    k = min(n, max(1, min_calls, math.ceil(share * n)))

    def largest(a: np.ndarray) -> np.ndarray:
        if presorted or a.size <= k:
            return a[-k:]
        return np.partition(a, a.size - k)[a.size - k :]

    top = np.concatenate((largest(primary), largest(candidate)))
    return float(np.partition(top, top.size - k)[top.size - k])


def subsample_index(rng: np.random.Generator, n: int, cap: int) -> np.ndarray:
    """Sorted indices of a seeded sample of `cap` of `n` items without replacement (all if n ≤ cap)."""
    if n <= cap:
        return np.arange(n)
    return np.sort(rng.choice(n, size=cap, replace=False))


def bootstrap_ratios(
    primary: np.ndarray,
    candidate: np.ndarray,
    rng: np.random.Generator,
    resamples: int,
    clusters: np.ndarray | None = None,
) -> tuple[Interval, Interval]:
    """Percentile-bootstrap 95 % CIs of median(c)/median(p) and mean(c)/mean(p) (the caller
    caps the slowest calls for the mean, `pooled_cap`; a cap above the median leaves it as is).

    Resamples pairs; or, with `clusters` (each pair's cluster label, nondecreasing), whole
    clusters of pairs: pairs that share noise (a concurrent run's swap cycle, timed on the same
    two cores at the same moments) are not independent, and resampling them one by one would
    give a CI narrower than the run-to-run spread.
    """
    draw = resample_draw(primary.size, rng, clusters)
    med = np.empty(resamples)
    mean = np.empty(resamples)
    for i in range(resamples):
        idx = draw()
        p, c = primary[idx], candidate[idx]
        med[i] = safe_ratio(float(np.median(c)), float(np.median(p)))
        mean[i] = safe_ratio(float(c.mean()), float(p.mean()))
    med_point = safe_ratio(float(np.median(candidate)), float(np.median(primary)))
    mean_point = safe_ratio(float(candidate.mean()), float(primary.mean()))
    mlo, mhi = np.nanpercentile(med, [2.5, 97.5])
    alo, ahi = np.nanpercentile(mean, [2.5, 97.5])
    return (
        Interval(med_point, float(mlo), float(mhi)),
        Interval(mean_point, float(alo), float(ahi)),
    )


def resample_draw(
    n: int, rng: np.random.Generator, clusters: np.ndarray | None = None
) -> Callable[[], np.ndarray]:
    """A function drawing the indices of one bootstrap resample of `n` pairs: single pairs with
    replacement, or whole clusters of them when each pair's cluster label is given."""
    if clusters is not None:
        return cluster_draw(clusters, rng)
    return lambda: rng.integers(0, n, n)


def cluster_draw(labels: np.ndarray, rng: np.random.Generator) -> Callable[[], np.ndarray]:
    """A function drawing the pair indices of one cluster resample: as many clusters as there
    are, with replacement, each contributing all its pairs (vectorised: no loop over clusters)."""
    n = labels.size
    starts = np.flatnonzero(np.r_[True, labels[1:] != labels[:-1]]) if n else np.empty(0, np.intp)
    sizes = np.diff(np.r_[starts, n])

    def draw() -> np.ndarray:
        pick = rng.integers(0, starts.size, starts.size)
        lengths = sizes[pick]
        offsets = np.cumsum(lengths) - lengths  # where each picked cluster lands in the resample
        return np.repeat(starts[pick] - offsets, lengths) + np.arange(int(lengths.sum()))

    return draw


def cluster_count(labels: np.ndarray) -> int:
    """Distinct clusters among nondecreasing labels."""
    return int(np.count_nonzero(labels[1:] != labels[:-1])) + 1 if labels.size else 0


def recentred(sub: Interval, point: float) -> Interval:
    """`sub`'s interval shifted by (point − sub.point): identical when no subsample was drawn."""
    if sub.point == point:
        return sub
    shift = point - sub.point
    return Interval(point, sub.low + shift, sub.high + shift)


def yardstick_ratio(
    run_a: tuple[np.ndarray, np.ndarray],
    run_b: tuple[np.ndarray, np.ndarray],
    *,
    seed: int = 0,
    resamples: int = BOOTSTRAP_RESAMPLES,
    max_sample: int = BOOTSTRAP_MAX_SAMPLE,
    clusters: np.ndarray | None = None,
    widen: float = 0.0,
    mean: bool = False,
) -> Interval:
    """Run B's candidate against run A's, each measured against the primary timed beside it:
    [median(c_b)/median(p_b)] / [median(c_a)/median(p_a)] from each run's (primary, candidate)
    latencies, with a bootstrap 95 % CI resampling ticks (all four arrays paired by index = tick)
    or whole `clusters` of them, `widen` wider on both sides (as `latency_stats`). `mean`: the
    same with means, each run's latencies capped as the gates cap them (`pooled_cap`), so that a
    tail B added shows (the median never sees it).

    Why a yardstick: two runs are timed at different moments, and the same stack took 8.8–12.4 s
    over the sample day within minutes on this VM. B's candidate over A's raw would carry that
    drift as if it were the candidate's; the primary (the same stack in both runs) moves with it.
    """
    arrays = [np.asarray(a, dtype=np.float64) for a in (*run_a, *run_b)]
    n = arrays[0].size
    if n < MIN_PAIRED_TICKS:
        return Interval(math.nan, math.nan, math.nan)
    centre: Callable[[np.ndarray], Any] = np.median
    if mean:
        centre = np.mean
        for i in (0, 2):  # each run's pair capped at that run's own pooled cap
            p, c = arrays[i], arrays[i + 1]
            cap = pooled_cap(p, c)
            arrays[i], arrays[i + 1] = np.minimum(p, cap), np.minimum(c, cap)

    def stat(pa: np.ndarray, ca: np.ndarray, pb: np.ndarray, cb: np.ndarray) -> float:
        b = safe_ratio(float(centre(cb)), float(centre(pb)))
        return safe_ratio(b, safe_ratio(float(centre(ca)), float(centre(pa))))

    rng = np.random.default_rng(seed)
    idx = subsample_index(rng, n, max_sample)
    sub = [a[idx] for a in arrays]
    draw = resample_draw(idx.size, rng, None if clusters is None else np.asarray(clusters)[idx])
    values = np.empty(resamples)
    for i in range(resamples):
        pick = draw()
        values[i] = stat(*(a[pick] for a in sub))
    lo, hi = np.nanpercentile(values, [2.5, 97.5])
    return recentred(Interval(stat(*sub), float(lo), float(hi)), stat(*arrays)).widened(widen)
