"""Pure statistics for counts with honest intervals (numpy/scipy only; no I/O, no pandas).

Design as in shared/ESTIMATION.md (Sarndal, Swensson & Wretman 1992; Cochran 1977; Lohr 2019):

* no audit: model-only PCC total with a *model-based range* (Poisson-binomial variance plus
  calibration uncertainty by bootstrap), never called a confidence interval, and a shift check;
* simple random audit (SRSWOR): difference estimator with finite population correction and a
  t quantile, truncated to the logical bounds, with the small-count guard (union with the exact
  hypergeometric interval when the audit holds fewer than 10 positives);
* score-stratified audit: stratified difference estimator with FPC, a per-band guard (a band whose
  audit shows no variation gets its exact hypergeometric interval) and the same small-count guard
  (union with the Bonferroni sum of per-band exact intervals).

All totals are counts of units (RHIs or children) in a finite population of size N.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

SMALL_COUNT_GUARD = 10
DISCORDANCE_FLOOR = 0.92  # 0.96 ** 2: the squared residual of one clear model error


@dataclass(frozen=True)
class Estimate:
    """A count estimate and its interval (or model-based range)."""

    point: float
    lower: float
    upper: float
    method: str
    N: int
    n: int = 0
    x: int | None = None
    model_only: bool = False
    confidence: float = 0.95
    guard: str | None = None
    details: dict = field(default_factory=dict)

    def covers(self, truth: float) -> bool:
        return self.lower <= truth <= self.upper

    @property
    def width(self) -> float:
        return self.upper - self.lower


# --- exact labels-only interval ---------------------------------------------------------------

def exact_interval(x: int, n: int, N: int, alpha: float = 0.05) -> tuple[int, int]:
    """Finite-population Clopper-Pearson interval for the total T of a 0/1 variable from x
    positives in a simple random sample of n without replacement from N (inverting two one-sided
    hypergeometric tests; Buonaccorsi 1987, Wright 1991)."""
    _check_counts(x, n, N)
    if n == 0:
        return 0, N
    lo_b, hi_b = x, N - (n - x)
    # P(X >= x | T) rises with T and P(X <= x | T) falls with T: bisect for the limits.
    def p_ge(T: int) -> float:
        return float(stats.hypergeom.sf(x - 1, N, T, n))

    def p_le(T: int) -> float:
        return float(stats.hypergeom.cdf(x, N, T, n))

    a, b = lo_b, hi_b  # smallest T with p_ge(T) > alpha/2
    if p_ge(b) <= alpha / 2:
        lower = b
    else:
        while a < b:
            mid = (a + b) // 2
            if p_ge(mid) > alpha / 2:
                b = mid
            else:
                a = mid + 1
        lower = a
    a, b = lo_b, hi_b  # largest T with p_le(T) > alpha/2
    if p_le(a) <= alpha / 2:
        upper = a
    else:
        while a < b:
            mid = (a + b + 1) // 2
            if p_le(mid) > alpha / 2:
                a = mid
            else:
                b = mid - 1
        upper = a
    return int(lower), int(upper)


def _check_counts(x: int, n: int, N: int) -> None:
    if not (0 <= x <= n <= N):
        raise ValueError(f"need 0 <= x <= n <= N, got x={x}, n={n}, N={N}")


# --- no audit: model only ---------------------------------------------------------------------

def model_only_estimate(f: np.ndarray, *, alpha: float = 0.05, calib_p: np.ndarray | None = None,
                        calib_y: np.ndarray | None = None, n_boot: int = 200, seed: int = 0,
                        relative_sd: float | None = None) -> Estimate:
    """PCC total S = sum(f) with a model-based range: Poisson-binomial sd combined with the spread of
    the total when the calibration map is refitted on bootstrap resamples of the calibration set.

    ``relative_sd``: the between-voice sd of the log count ratio (sum of probabilities / true
    count) that applies to this writing (:mod:`rhi_nlp.transfer`). Each side of the range then
    combines, in quadrature, the chance half-width with S(1 - exp(-z s)) below and S(exp(z s) - 1)
    above, so an undercount (true count up to S exp(z s)) is allowed for as much as an overcount.
    Not a confidence interval: it holds only as far as the training voices' spread speaks for
    this writing."""
    f = np.clip(np.asarray(f, dtype=float), 0, 1)
    N = len(f)
    point = float(f.sum())
    var_pb = float(np.sum(f * (1 - f)))
    var_cal = 0.0
    if calib_p is not None and calib_y is not None and len(calib_p) > 10:
        from sklearn.isotonic import IsotonicRegression

        rng = np.random.default_rng(seed)
        cp, cy = np.asarray(calib_p, float), np.asarray(calib_y, float)
        totals = np.empty(n_boot)
        for b in range(n_boot):
            idx = rng.integers(0, len(cp), len(cp))
            iso = IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1).fit(cp[idx], cy[idx])
            totals[b] = iso.predict(f).sum()
        var_cal = float(np.var(totals, ddof=1))
    z = stats.norm.ppf(1 - alpha / 2)
    half = z * math.sqrt(var_pb + var_cal)
    below = above = half
    details = {"sd_poisson_binomial": math.sqrt(var_pb), "sd_calibration": math.sqrt(var_cal)}
    method = "model-only (sum of calibrated probabilities; model-based range)"
    if relative_sd is not None:
        below = math.hypot(half, point * (1 - math.exp(-z * relative_sd)))
        above = math.hypot(half, point * (math.exp(z * relative_sd) - 1))
        details["relative_sd_between_voices"] = relative_sd
        method = "model-only (sum of calibrated probabilities; model-based range allowing for variation between voices)"
    return Estimate(point=point, lower=max(0.0, math.floor(point - below)), upper=min(float(N), math.ceil(point + above)),
                    method=method, N=N, model_only=True, confidence=1 - alpha, details=details)


def shift_check(f: np.ndarray, calib_p: np.ndarray, calib_y: np.ndarray, *, threshold: float = 0.5,
                bins: int = 10) -> dict:
    """Prevalence by PCC, ACC, PACC, EMQ (Saerens-Latinne-Decaestecker) and HDy, using the
    calibration set's class-conditional behaviour. Disagreement with PCC suggests prior shift."""
    f = np.clip(np.asarray(f, float), 1e-6, 1 - 1e-6)
    cp, cy = np.asarray(calib_p, float), np.asarray(calib_y, int)
    pos, neg = cp[cy == 1], cp[cy == 0]
    out = {"pcc": float(f.mean())}
    tpr, fpr = float(np.mean(pos >= threshold)), float(np.mean(neg >= threshold))
    cc = float(np.mean(f >= threshold))
    out["acc"] = float(np.clip((cc - fpr) / (tpr - fpr), 0, 1)) if tpr - fpr > 0.05 else float("nan")
    tp_p, fp_p = float(pos.mean()), float(neg.mean())
    out["pacc"] = float(np.clip((f.mean() - fp_p) / (tp_p - fp_p), 0, 1)) if tp_p - fp_p > 0.05 else float("nan")
    pi_tr = float(np.clip(cy.mean(), 1e-3, 1 - 1e-3))
    pi = out["pcc"]
    for _ in range(1000):
        w1 = (pi / pi_tr) * f
        w0 = ((1 - pi) / (1 - pi_tr)) * (1 - f)
        new = float(np.mean(w1 / (w1 + w0)))
        if abs(new - pi) < 1e-7:
            pi = new
            break
        pi = new
    out["emq"] = pi
    edges = np.linspace(0, 1, bins + 1)
    hp = np.histogram(pos, edges)[0] / max(len(pos), 1)
    hn = np.histogram(neg, edges)[0] / max(len(neg), 1)
    ht = np.histogram(f, edges)[0] / len(f)
    grid = np.linspace(0, 1, 401)
    mix = grid[:, None] * hp[None, :] + (1 - grid[:, None]) * hn[None, :]
    hd = np.sqrt(np.clip(1 - np.sum(np.sqrt(mix * ht[None, :]), axis=1), 0, None))
    out["hdy"] = float(grid[int(np.argmin(hd))])
    return out


def shift_flag(est: Estimate, checks: dict, *, min_agree: int = 2) -> tuple[bool, list[str]]:
    """True when at least ``min_agree`` of PACC, EMQ and HDy land outside the model-based range
    (2 of 3: in the benchmark this flags >= 90% of shifted runs with about half the false alarms
    of 'any one')."""
    half = max(est.upper - est.point, est.point - est.lower)
    moved = []
    for k in ("pacc", "emq", "hdy"):
        v = checks.get(k)
        if v is not None and not math.isnan(v) and abs(v * est.N - est.point) > half:
            moved.append(k.upper())
    return len(moved) >= min_agree, moved


# --- random audit (SRSWOR) -------------------------------------------------------------------

def difference_estimate(f: np.ndarray, sample: np.ndarray, y: np.ndarray, *, alpha: float = 0.05,
                        guard: bool = True) -> Estimate:
    """Difference estimator for a simple random sample without replacement.

    T = sum_U f + (N/n) sum_s (y - f); V = N^2 (1 - n/N) s_e^2 / n; CI T +/- t_{n-1} sqrt(V),
    truncated to [x, N - (n - x)]; when x < 10, the union with the exact interval. s_e^2 is
    floored at 0.92 / (n + 1), as if the audit held one clear model error: scores piled near 0
    and 1 otherwise give near-zero residual variance in small audits and intervals that miss.
    """
    f = np.asarray(f, float)
    sample = np.asarray(sample, int)
    y = np.asarray(y, float)
    N, n = len(f), len(sample)
    if n == 0:
        raise ValueError("the audit sample is empty")
    if len(y) != n:
        raise ValueError("one label per sampled unit is needed")
    x = int(round(y.sum()))
    e = y - f[sample]
    point = float(f.sum() + N * e.mean())
    if n > 1 and n < N:
        # Floor: as if one discordant label (|y - f| ~ 0.96) in n + 1, so that a small audit in
        # which the model happens to make no error does not give a falsely narrow interval.
        s2 = max(float(np.var(e, ddof=1)), DISCORDANCE_FLOOR / (n + 1))
        se = N * math.sqrt((1 - n / N) * s2 / n)
        t = stats.t.ppf(1 - alpha / 2, n - 1)
        lo, hi = point - t * se, point + t * se
    elif n == N:
        lo = hi = float(x)
        point = float(x)
    else:
        lo, hi = 0.0, float(N)
    lo_b, hi_b = x, N - (n - x)
    point = min(max(point, lo_b), hi_b)
    lo, hi = min(max(lo, lo_b), hi_b), max(min(hi, hi_b), lo_b)
    used_guard = None
    if guard and n < N and hi - lo < 1:
        L, U = exact_interval(x, n, N, alpha)
        lo, hi = min(lo, L), max(hi, U)
        used_guard = "the model-assisted interval collapsed against a logical bound: widened to the exact interval"
    if guard and x < SMALL_COUNT_GUARD:
        L, U = exact_interval(x, n, N, alpha)
        lo, hi = min(lo, L), max(hi, U)
        used_guard = f"fewer than {SMALL_COUNT_GUARD} positives in the audit: widened to include the exact interval"
    return Estimate(point=point, lower=float(math.floor(lo + 1e-9)), upper=float(math.ceil(hi - 1e-9)),
                    method="difference estimator (random audit, finite population correction, t interval)",
                    N=N, n=n, x=x, confidence=1 - alpha, guard=used_guard)


def cluster_difference_estimate(f_c: np.ndarray, sample: np.ndarray, y_c: np.ndarray, *, n_units: int,
                                n_audited: int, alpha: float = 0.05) -> Estimate:
    """Difference estimator for a single-stage cluster sample (SRSWOR of m of M clusters, every
    unit of a sampled cluster labelled): T = sum_U f + M mean_s(y_c - f_c),
    V = M^2 (1 - m/M) s_e^2 / m with t_{m-1}. ``f_c`` is each cluster's total of f (all M
    clusters), ``y_c`` the sampled clusters' totals of y; ``n_units`` bounds the total above."""
    f_c = np.asarray(f_c, float)
    sample = np.asarray(sample, int)
    y_c = np.asarray(y_c, float)
    M, m = len(f_c), len(sample)
    e = y_c - f_c[sample]
    x = int(round(y_c.sum()))
    point = float(f_c.sum() + M * e.mean())
    se = M * math.sqrt((1 - m / M) * float(np.var(e, ddof=1)) / m) if m > 1 else float("inf")
    t = stats.t.ppf(1 - alpha / 2, max(m - 1, 1))
    lo, hi = max(point - t * se, x), min(point + t * se, n_units)
    return Estimate(point=min(max(point, x), n_units), lower=float(math.floor(lo)), upper=float(math.ceil(hi)),
                    method="difference estimator for a cluster sample (audit drawn by child)", N=n_units,
                    n=n_audited, x=x, confidence=1 - alpha)


# --- stratified audit ------------------------------------------------------------------------

def stratified_estimate(f: np.ndarray, strata: np.ndarray, sample: np.ndarray, y: np.ndarray, *,
                        alpha: float = 0.05, guard: bool = True,
                        method: str = "stratified difference estimator (audit stratified by score, finite "
                                      "population correction)") -> Estimate:
    """Stratified difference estimator: T = sum_h [sum_{U_h} f + N_h mean_h(y - f)],
    V = sum_h N_h^2 (1 - n_h/N_h) s_{e,h}^2 / n_h, df = sum(n_h - 1).

    Guards: a band whose audited residuals show no variation (or with fewer than 2 audited units)
    contributes its exact hypergeometric interval at level alpha/H instead of a zero-width term;
    with fewer than 10 audited positives overall the interval is widened to include the
    Bonferroni sum of per-band exact intervals."""
    f = np.asarray(f, float)
    strata = np.asarray(strata)
    sample = np.asarray(sample, int)
    y = np.asarray(y, float)
    N, n = len(f), len(sample)
    labels = np.unique(strata)
    H = len(labels)
    point, var, df = 0.0, 0.0, 0
    shift_lo, shift_hi = 0.0, 0.0
    exact_lo, exact_hi = 0, 0
    s_str = strata[sample]
    bands = []
    for h in labels:
        in_h = strata == h
        N_h = int(in_h.sum())
        m = s_str == h
        n_h = int(m.sum())
        y_h, f_h = y[m], f[sample[m]]
        x_h = int(round(y_h.sum()))
        if n_h == 0:
            raise ValueError(f"band {h} has no audited unit; each band needs at least 2")
        e = y_h - f_h
        c_h = float(f[in_h].sum() + N_h * e.mean())
        L_h, U_h = exact_interval(x_h, n_h, N_h, alpha / H)
        exact_lo, exact_hi = exact_lo + L_h, exact_hi + U_h
        degenerate = n_h < 2 or float(np.var(e, ddof=1) if n_h > 1 else 0.0) < 1e-12
        if n_h < N_h and not degenerate:
            var += N_h ** 2 * (1 - n_h / N_h) * float(np.var(e, ddof=1)) / n_h
            df += n_h - 1
        elif n_h < N_h and guard:
            shift_lo += min(0.0, L_h - c_h)
            shift_hi += max(0.0, U_h - c_h)
        point += c_h
        bands.append({"band": str(h), "N": N_h, "n": n_h, "x": x_h})
    x = int(round(y.sum()))
    t = stats.t.ppf(1 - alpha / 2, max(df, 1))
    se = math.sqrt(var)
    lo, hi = point - t * se + shift_lo, point + t * se + shift_hi
    lo_b, hi_b = x, N - (n - x)
    point = min(max(point, lo_b), hi_b)
    lo, hi = min(max(lo, lo_b), hi_b), max(min(hi, hi_b), lo_b)
    used_guard = "a band with no variation in its audit used its exact interval" if (shift_lo or shift_hi) else None
    if guard and n < N and (hi - lo < 1 or x < SMALL_COUNT_GUARD):
        lo, hi = min(lo, max(exact_lo, lo_b)), max(hi, min(exact_hi, hi_b))
        used_guard = (f"fewer than {SMALL_COUNT_GUARD} positives in the audit (or an interval that collapsed "
                      f"against a logical bound): widened to include the exact per-band intervals")
    return Estimate(point=point, lower=float(math.floor(lo + 1e-9)), upper=float(math.ceil(hi - 1e-9)),
                    method=method, N=N, n=n, x=x, confidence=1 - alpha, guard=used_guard, details={"bands": bands})


# --- planning --------------------------------------------------------------------------------

def srs_sample_size(N: int, S: float, half_width: float, alpha: float = 0.05) -> int:
    """n0 = (z N S / h)^2, n = n0 / (1 + n0 / N)."""
    if half_width <= 0:
        raise ValueError("the half-width must be positive")
    z = stats.norm.ppf(1 - alpha / 2)
    n0 = (z * N * S / half_width) ** 2
    return int(min(N, math.ceil(n0 / (1 + n0 / N))))


def neyman_sample_size(N_h: np.ndarray, S_h: np.ndarray, half_width: float, alpha: float = 0.05) -> int:
    """n = (sum N_h S_h)^2 / ((h/z)^2 + sum N_h S_h^2)."""
    z = stats.norm.ppf(1 - alpha / 2)
    N_h, S_h = np.asarray(N_h, float), np.asarray(S_h, float)
    n = (N_h @ S_h) ** 2 / ((half_width / z) ** 2 + N_h @ (S_h ** 2))
    return int(min(N_h.sum(), math.ceil(n)))
