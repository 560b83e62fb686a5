"""Exact small cases and seeded coverage simulations for rhi_nlp.estimate."""

import math

import numpy as np
import pytest
from scipy import stats

from rhi_nlp.estimate import (difference_estimate, exact_interval, model_only_estimate, neyman_sample_size,
                              shift_check, shift_flag, srs_sample_size, stratified_estimate)
from rhi_nlp.sampling import srs, stratified


def _brute_exact(x, n, N, alpha):
    def pmf(k, T):
        return math.comb(T, k) * math.comb(N - T, n - k) / math.comb(N, n)
    ok = [T for T in range(N + 1) if T >= x and N - T >= n - x]
    lo = min(T for T in ok if sum(pmf(k, T) for k in range(x, min(n, T) + 1)) > alpha / 2)
    hi = max(T for T in ok if sum(pmf(k, T) for k in range(0, x + 1)) > alpha / 2)
    return lo, hi


@pytest.mark.parametrize("x, n, N", [(0, 5, 20), (2, 5, 20), (5, 5, 20), (3, 10, 30), (1, 8, 12)])
def test_estimate_exact_interval_matches_brute_force(x, n, N):
    assert exact_interval(x, n, N, 0.05) == _brute_exact(x, n, N, 0.05)


def test_estimate_exact_interval_census_is_the_count():
    assert exact_interval(7, 40, 40) == (7, 7)


def test_estimate_difference_hand_computed():
    f = np.full(10, 0.1)
    e = difference_estimate(f, np.array([0, 1, 2, 3]), np.array([1, 0, 0, 0]))
    # T = 1 + 10 * mean(0.9, -0.1, -0.1, -0.1) = 2.5; bounds [x, N - (n - x)] = [1, 7]
    assert e.point == pytest.approx(2.5)
    assert (e.lower, e.upper) == (1, 7)
    assert e.guard and e.x == 1 and e.n == 4 and e.N == 10


def test_estimate_difference_wald_part_without_guard():
    rng = np.random.default_rng(0)
    N = 500
    f = rng.uniform(0, 1, N)
    s = np.arange(0, 100)
    y = (rng.uniform(0, 1, 100) < f[s]).astype(float)
    e = difference_estimate(f, s, y, guard=False)
    resid = y - f[s]
    se = N * math.sqrt((1 - 100 / N) * max(resid.var(ddof=1), 0.92 / 101) / 100)
    t = stats.t.ppf(0.975, 99)
    assert e.point == pytest.approx(f.sum() + N * resid.mean())
    assert e.lower == math.floor(e.point - t * se) and e.upper == math.ceil(e.point + t * se)


def test_estimate_difference_floor_when_the_audit_shows_no_model_error():
    f = np.r_[np.full(400, 0.98), np.full(400, 0.02)]
    s = np.r_[np.arange(0, 400, 20), np.arange(400, 800, 40)]   # 20 + 10 units, all agreeing with f
    y = np.r_[np.ones(20), np.zeros(10)]
    e = difference_estimate(f, s, y, guard=False)
    floor_se = 800 * math.sqrt((1 - 30 / 800) * (0.92 / 31) / 30)
    assert e.upper - e.lower >= 2 * stats.t.ppf(0.975, 29) * floor_se - 2


def test_estimate_model_only_range():
    e = model_only_estimate(np.full(100, 0.5))
    assert e.model_only and e.point == 50
    assert (e.lower, e.upper) == (math.floor(50 - 1.959964 * 5), math.ceil(50 + 1.959964 * 5))
    assert "model-based range" in e.method


def test_estimate_stratified_matches_difference_with_one_band():
    rng = np.random.default_rng(1)
    f = rng.uniform(0, 1, 300)
    s = np.sort(rng.choice(300, 60, replace=False))
    y = (rng.uniform(0, 1, 60) < f[s]).astype(float)
    a = stratified_estimate(f, np.zeros(300, int), s, y)
    b = difference_estimate(f, s, y)
    assert a.point == pytest.approx(b.point) and (a.lower, a.upper) == (b.lower, b.upper)


def test_estimate_stratified_band_without_variation_uses_exact_interval():
    f = np.r_[np.full(100, 0.01), np.full(100, 0.9)]
    strata = np.r_[np.zeros(100, int), np.ones(100, int)]
    sample = np.r_[np.arange(10), np.arange(100, 150)]
    y = np.r_[np.zeros(10), np.ones(45), np.zeros(5)]
    e = stratified_estimate(f, strata, sample, y)
    lo0, hi0 = exact_interval(0, 10, 100, 0.05 / 2)
    assert e.guard and e.upper >= hi0 + 80  # the low band may hold up to hi0 missed positives


def test_estimate_planner_worked_example():
    # ESTIMATION.md: N = 807, S_y = 0.325, half-width 20 -> 363 labels only; S_e = 0.20 -> 191
    assert abs(srs_sample_size(807, 0.325, 20) - 363) <= 2
    assert abs(srs_sample_size(807, 0.20, 20) - 191) <= 2
    assert neyman_sample_size(np.array([400, 407]), np.array([0.1, 0.4]), 20) < srs_sample_size(807, 0.325, 20)


def test_estimate_shift_check_flags_prior_shift():
    rng = np.random.default_rng(2)
    def scores(p, n):
        y = rng.uniform(size=n) < p
        z = np.where(y, 1.5, -1.5) + rng.normal(size=n)
        return 1 / (1 + np.exp(-(math.log(0.2 / 0.8) + 3 * z))), y
    cp, cy = scores(0.2, 3000)
    f_same, _ = scores(0.2, 800)
    f_shift, _ = scores(0.5, 800)
    same = model_only_estimate(f_same)
    shifted = model_only_estimate(f_shift)
    assert not shift_flag(same, shift_check(f_same, cp, cy))[0]
    assert shift_flag(shifted, shift_check(f_shift, cp, cy))[0]


def _population(rng, N, p, d):
    y = (rng.uniform(size=N) < p).astype(float)
    z = np.where(y == 1, d / 2, -d / 2) + rng.normal(size=N)
    f = 1 / (1 + np.exp(-(math.log(p / (1 - p)) + d * z)))
    return y, f


def _coverage(design, N, p, n, d, reps, seed):
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(reps):
        y, f = _population(rng, N, p, d)
        if design == "srs":
            s = srs(N, n, rng).sample
            e = difference_estimate(f, s, y[s])
        else:
            des = stratified(f, n, rng)
            e = stratified_estimate(f, des.strata, des.sample, y[des.sample])
        assert e.lower <= e.point <= e.upper and e.lower == int(e.lower) and e.upper == int(e.upper)
        hits += e.covers(y.sum())
    return hits / reps


@pytest.mark.parametrize("design, N, p, n, d", [
    ("srs", 807, 0.12, 100, 3.0), ("srs", 807, 0.01, 50, 3.0), ("srs", 2000, 0.3, 200, 1.3),
    ("stratified", 807, 0.12, 150, 3.0),
])
def test_estimate_coverage_fast(design, N, p, n, d):
    reps = 250
    cov = _coverage(design, N, p, n, d, reps, seed=11)
    tol = 3 * math.sqrt(0.95 * 0.05 / reps)   # three binomial standard errors
    assert cov >= 0.95 - tol


@pytest.mark.slow
@pytest.mark.parametrize("p", [0.01, 0.05, 0.12, 0.3])
@pytest.mark.parametrize("n", [30, 100, 400])
def test_estimate_coverage_slow(p, n):
    reps = 2000
    cov = _coverage("srs", 807, p, n, 3.0, reps, seed=5)
    assert cov >= 0.95 - 3 * math.sqrt(0.95 * 0.05 / reps)


def test_estimate_replicable_given_seed():
    a = srs(807, 100, np.random.default_rng(4)).sample
    b = srs(807, 100, np.random.default_rng(4)).sample
    small = srs(807, 40, np.random.default_rng(4)).sample
    assert np.array_equal(a, b) and set(small) <= set(a)
