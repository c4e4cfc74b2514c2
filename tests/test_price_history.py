"""PriceHistory's running-sum window statistics equal TickStock's direct O(n) computation."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tickstock.legacy.detectors import trend_engine
from tickstock.legacy.price_history import CAP, PriceHistory


def _random_history(seed: int, n: int) -> PriceHistory:
    rng = random.Random(seed)
    h = PriceHistory()
    price, ts = 50.0, 1_000.0
    for _ in range(n):
        price *= 1 + rng.gauss(0, 0.004)
        ts += rng.choice([0.0, 0.5, 1.0, 2.0, 7.0])
        vwap = None if rng.random() < 0.15 else price * rng.uniform(0.99, 1.01)
        volume = 0 if rng.random() < 0.1 else rng.randint(1, 5000)
        h.append(round(price, 3), vwap, volume, ts)
    return h


@pytest.mark.parametrize("seed,n", [(1, 40), (2, 299), (3, 301), (4, 2500)])
def test_window_components_match_the_direct_computation(seed: int, n: int) -> None:
    h = _random_history(seed, n)
    points = h.points()
    assert len(points) == min(n, CAP) == len(h)
    now = h.last_timestamp()
    for window in (5, 30, 180, 360, 600, 10_000):
        fast = h.window(now - window)
        slow = trend_engine.direct_components(trend_engine.window_points(points, now - window), 0.9)
        assert fast.data_points == slow.data_points
        for a, b in zip(fast[1:], slow[1:], strict=True):
            assert a == pytest.approx(b, rel=1e-9, abs=1e-12)


def test_pop_undoes_an_append_exactly() -> None:
    h = _random_history(5, 320)
    before = h.points(CAP + 1), h.window(h.last_timestamp() - 600)
    h.append(60.0, 59.0, 100, h.last_timestamp() + 1)
    h.pop()
    assert (h.points(CAP + 1), h.window(h.last_timestamp() - 600)) == before


def test_an_out_of_order_point_switches_to_the_direct_computation() -> None:
    h = _random_history(6, 100)
    h.append(55.0, 55.0, 10, h.last_timestamp() - 30)
    assert not h.ordered
    params = trend_engine.TrendParams(180, 360, 600, 0.5, 0.3, 0.2, 0.9)
    now = max(p.timestamp for p in h.points())
    trend = trend_engine.multi_window_trend(h, now, params, 10, 0.3, 0.6)
    direct = trend_engine.direct_components(trend_engine.window_points(h.points(), now - 180), 0.9)
    assert trend.short.data_points == direct.data_points
    assert trend.short.price_component == direct.price


def test_price_dispersion_matches_mean_and_sample_std() -> None:
    import statistics

    h = _random_history(7, 500)
    now = h.last_timestamp()
    prices = [p.price for p in h.points() if p.timestamp >= now - 300]
    n, mean, std = h.price_dispersion(now - 300)
    assert n == len(prices)
    assert mean == pytest.approx(statistics.mean(prices), rel=1e-12)
    assert std == pytest.approx(statistics.stdev(prices), rel=1e-6)


def test_popping_the_point_that_broke_time_order_restores_the_fast_path() -> None:
    h = _random_history(8, 50)
    h.append(55.0, 55.0, 10, h.last_timestamp() - 5)
    assert not h.ordered
    h.pop()
    assert h.ordered
    h.append(55.0, 55.0, 10, h.last_timestamp() + 5)
    assert h.ordered


def _apply(h: PriceHistory, ops: list[tuple[float, float | None, int, float, bool]]) -> None:
    for price, vwap, volume, ts, temporary in ops:
        h.append(price, vwap, volume, ts)
        if temporary:
            h.pop()


def _exact_state(h: PriceHistory, now: float) -> tuple:
    return (
        h.points(CAP + 1),
        h.windows(now, (5, 30, 180, 360, 600, 10_000)),
        h.windows(now, (180, 360, 600), CAP, 10),
        h.windows(now, (180, 360, 600), CAP + 1, 10),
        h.price_dispersion(now - 300),
    )


_op = st.tuples(
    st.floats(1, 500, allow_nan=False).map(lambda p: round(p, 3)),
    st.one_of(st.none(), st.just(0.0), st.floats(1, 500, allow_nan=False)),
    st.one_of(st.just(0), st.integers(1, 10_000)),
    st.sampled_from([0.0, 0.5, 1.0, 3.0, 40.0]),
    st.booleans(),
)


@settings(max_examples=60, deadline=None)
@given(ops=st.lists(_op, min_size=1, max_size=700), dense_share=st.floats(0, 1))
def test_the_dense_fast_path_and_pop_give_the_general_paths_exact_values(
    ops: list[tuple[float, float | None, int, float, bool]], dense_share: float
) -> None:
    # the first part of the ops has vwap and volume on every point (the dense fast path)
    cut = int(len(ops) * dense_share)
    timed, ts = [], 1_000.0
    for i, (price, vwap, volume, step, temporary) in enumerate(ops):
        ts += step
        if i < cut:
            vwap, volume = price * 1.001, volume or 7
        timed.append((price, vwap, volume, ts, temporary))
    fast = PriceHistory()
    _apply(fast, timed)
    general = PriceHistory()
    general._dense = False  # the indexed vwap/volume subsequences from the first point on
    _apply(general, [op for op in timed if not op[4]])
    if not general:
        return
    now = general.last_timestamp()
    assert _exact_state(fast, now) == _exact_state(general, now)


def test_windows_below_min_points_are_zero_and_the_others_unchanged() -> None:
    h = _random_history(9, 400)
    now = h.last_timestamp()
    spans = (5, 30, 180, 600)
    full = h.windows(now, spans)
    skipped = h.windows(now, spans, CAP, 40)
    for a, b in zip(full, skipped, strict=True):
        assert b == (a if a.data_points >= 40 else (a.data_points, 0, 0, 0))
    assert any(a.data_points < 40 for a in full) and any(a.data_points >= 40 for a in full)


@pytest.mark.parametrize("seed", range(6))
def test_volatility_category_is_the_dispersion_category_of_price_dispersion(seed: int) -> None:
    rng = random.Random(seed)
    h = PriceHistory()
    price, ts = 20.0, 0.0
    seen = set()
    for _ in range(900):
        price *= 1 + rng.gauss(0, rng.choice([0.0, 0.001, 0.01, 0.05]))
        ts += rng.choice([0.5, 1.0, 5.0, 30.0])
        h.append(round(price, 2), price, 100, ts)
        for start in (ts - 30, ts - 300):
            got = h.volatility_category(start)
            assert got == trend_engine.dispersion_category(*h.price_dispersion(start))
            seen.add(got)
    assert seen == {"HIGH", "LOW", "NORMAL"}


def test_a_day_long_history_keeps_a_bounded_number_of_points() -> None:
    from tickstock.legacy import price_history

    h = _random_history(11, 5000)
    assert CAP + 20 <= len(h._ts) <= price_history._TRIM_AT == 384


def test_trimming_in_smaller_blocks_gives_bit_identical_windows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tickstock.legacy import price_history

    def windows(trim_at: int, trim_by: int) -> list[tuple[float, ...]]:
        monkeypatch.setattr(price_history, "_TRIM_AT", trim_at)
        monkeypatch.setattr(price_history, "_TRIM_BY", trim_by)
        price_history._powers.cache_clear()
        h, out = PriceHistory(), []
        rng = random.Random(12)
        price, ts = 50.0, 1_000.0
        for _ in range(3000):
            price *= 1 + rng.gauss(0, 0.004)
            ts += rng.choice([0.0, 0.5, 1.0, 2.0])
            h.append(round(price, 3), price * rng.uniform(0.99, 1.01), rng.randint(1, 500), ts)
            out.append(tuple(h.window(ts - 600)) + h.price_dispersion(ts - 300))
        price_history._powers.cache_clear()
        return out

    assert windows(384, 64) == windows(640, 320)
