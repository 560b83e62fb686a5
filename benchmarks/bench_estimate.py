"""Interval benchmark for rhi-nlp's estimators (shared/ESTIMATION.md section 7).

    python benchmarks/bench_estimate.py            # reduced grid, a few minutes on 2 cores
    python benchmarks/bench_estimate.py --full     # the full grid (long)

Populations with known truth: y ~ Bernoulli(p); score logit z = +/-d/2 + N(0,1) by class;
calibrated f = expit(logit(p) + d z). Classifiers: good (d=3), poor (d=1.3), miscalibrated
(expit(0.5 logit f + 1.5)), prior-shifted (calibrated at p=0.2), LLM-like (0.02/0.98), and in the
full grid degenerate (constant) and anti-correlated. For each replication an audit is drawn and
every method's interval is checked against the true total.

Methods: ours (difference estimator + small-count guard, SRS), ours-strat (stratified Neyman +
guards), exact labels-only, Wilson (N * p, no FPC), model-only range (PCC) with its shift flag;
peers ppi_py PPI++ / PPI / classical (count = x + (N - n) * CI), QuaPy ACC + AggregativeBootstrap
(fewer cells and replications: it costs ~1 s a call) and ssepy's stratified df estimator (50
replications a cell, good and poor classifiers at p >= 5%; its own KMeans strata and Neyman
allocation). Peers are benchmark-only
requirements (pip install -e .[bench]; pip install --no-deps ssepy).

Writes bench_output/estimate_cells.csv (one row per cell x method) and prints the summary.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
import time
import warnings
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from scipy import stats

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rhi_nlp.estimate import (difference_estimate, exact_interval, model_only_estimate,  # noqa: E402
                              shift_check, shift_flag, srs_sample_size, stratified_estimate)
from rhi_nlp.sampling import srs, stratified  # noqa: E402

try:
    from ppi_py import classical_mean_ci, ppi_mean_ci
except ImportError:  # pragma: no cover - peers are optional
    ppi_mean_ci = None

CLASSIFIERS = {"good": 3.0, "poor": 1.3, "miscalibrated": 3.0, "prior-shifted": 3.0, "llm-like": 3.0,
               "degenerate": 0.0, "anti": -3.0}


def expit(v):
    return 1 / (1 + np.exp(-v))


def logit(p):
    return math.log(p / (1 - p))


def population(rng, N, p, kind):
    """Return (y, f) for the target population and (cal_p, cal_y) for the model's calibration set."""
    d = CLASSIFIERS[kind]
    y = (rng.uniform(size=N) < p).astype(float)
    z = np.where(y == 1, abs(d) / 2, -abs(d) / 2) + rng.normal(size=N)
    p_cal = 0.2 if kind == "prior-shifted" else p
    f = expit((logit(p_cal) if kind == "prior-shifted" else logit(p)) + abs(d) * z)
    if kind == "miscalibrated":
        f = expit(0.5 * np.log(f / (1 - f)) + 1.5)
    elif kind == "llm-like":
        f = np.where(z > 0, 0.98, 0.02)
    elif kind == "degenerate":
        f = np.full(N, p)
    elif kind == "anti":
        f = 1 - f
    # calibration set: what the model saw when it was calibrated (training distribution)
    m = 3000
    cy = (rng.uniform(size=m) < p_cal).astype(float)
    cz = np.where(cy == 1, abs(d) / 2, -abs(d) / 2) + rng.normal(size=m)
    cp = expit(logit(p_cal) + abs(d) * cz)
    return y, np.clip(f, 1e-6, 1 - 1e-6), cp, cy


def wilson(x, n, N, alpha):
    z = stats.norm.ppf(1 - alpha / 2)
    ph = x / n
    den = 1 + z * z / n
    c = (ph + z * z / (2 * n)) / den
    h = z * math.sqrt(ph * (1 - ph) / n + z * z / (4 * n * n)) / den
    return N * max(0, c - h), N * min(1, c + h)


def run_cell(args):
    N, p, n, kind, reps, seed, quapy_reps, model_only = args
    rng = np.random.default_rng(seed)
    alpha = 0.05
    res: dict[str, list] = {}

    def add(method, lo, hi, truth, x=None, point=None):
        lo_r, hi_r = 5 * math.floor(lo / 5), 5 * math.ceil(hi / 5)
        oob = x is not None and (lo < x - 1e-9 or hi > N - (n - x) + 1e-9)
        bad = (not np.isfinite(lo)) or (not np.isfinite(hi)) or hi - lo <= 0
        res.setdefault(method, []).append((lo <= truth <= hi, truth < lo, truth > hi, hi - lo, lo_r <= truth <= hi_r,
                                           oob, bad, point if point is not None else (lo + hi) / 2, truth))

    exact_w = []
    flags = []
    for r in range(reps):
        y, f, cp, cy = population(rng, N, p, kind)
        T = y.sum()
        s = srs(N, n, rng).sample
        ys = y[s]
        x = int(ys.sum())
        e = difference_estimate(f, s, ys, alpha=alpha)
        add("ours", e.lower, e.upper, T, x, e.point)
        L, U = exact_interval(x, n, N, alpha)
        add("exact", L, U, T, x, x * N / n)
        exact_w.append(max(U - L, 1))
        add("wilson", *wilson(x, n, N, alpha), T, None, x * N / n)
        d = stratified(f, n, rng)
        es = stratified_estimate(f, d.strata, d.sample, y[d.sample], alpha=alpha)
        add("ours-strat", es.lower, es.upper, T, int(y[d.sample].sum()), es.point)
        if model_only and r < max(reps // 4, 50):  # model-only does not depend on n: one n per cell row
            mo = model_only_estimate(f, alpha=alpha, calib_p=cp, calib_y=cy, n_boot=30, seed=r)
            add("model-only", mo.lower, mo.upper, T, None, mo.point)
            flags.append(shift_flag(mo, shift_check(f, cp, cy))[0])
        if ppi_mean_ci is not None:
            unl = np.setdiff1d(np.arange(N), s)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for name, kw in (("ppi_py PPI++", {}), ("ppi_py PPI", {"lam": 1})):
                    lo, hi = ppi_mean_ci(ys, f[s], f[unl], alpha=alpha, **kw)
                    add(name, x + (N - n) * float(np.ravel(lo)[0]), x + (N - n) * float(np.ravel(hi)[0]), T, x)
                lo, hi = classical_mean_ci(ys, alpha=alpha)
                add("ppi_py classical", N * float(lo), N * float(hi), T, x)
        if r < SSEPY_REPS and ModelPerformanceEvaluator is not None and kind in ("good", "poor") and p >= 0.05:
            q = ssepy_interval(f, y, n, alpha, seed * 1000 + r)
            if q is not None:
                add("ssepy df (stratified)", q[0], q[1], T, None, (q[0] + q[1]) / 2)
        if r < quapy_reps:
            q = quapy_interval(f, s, ys, N, alpha)
            if q is not None:
                add("QuaPy ACC+bootstrap", q[0], q[1], T, x)
    rows = []
    med_exact = float(np.median(exact_w))
    for method, v in res.items():
        a = np.array([t[:7] for t in v], dtype=float)
        pts = np.array([t[7] for t in v])
        truths = np.array([t[8] for t in v])
        rows.append({"N": N, "p": p, "n": n, "classifier": kind, "method": method, "reps": len(v),
                     "coverage": a[:, 0].mean(), "lower_miss": a[:, 1].mean(), "upper_miss": a[:, 2].mean(),
                     "mean_width": a[:, 3].mean(), "median_width": float(np.median(a[:, 3])),
                     "width_ratio_exact": float(np.median(a[:, 3])) / med_exact,
                     "coverage_after_sdc": a[:, 4].mean(), "out_of_bounds": a[:, 5].mean(), "zero_or_nan": a[:, 6].mean(),
                     "bias": float(np.mean(pts - truths)), "mae": float(np.mean(np.abs(pts - truths))),
                     "shift_flag_rate": float(np.mean(flags)) if method == "model-only" and flags else ""})
    return rows


SSEPY_REPS = 50

try:
    from ssepy import ModelPerformanceEvaluator
except ImportError:  # pragma: no cover - peers are optional
    ModelPerformanceEvaluator = None


def ssepy_interval(f, y, n, alpha, seed):
    """ssepy 0.1.1: KMeans(5) strata on the score, Neyman allocation, stratified SRS, df estimator."""
    from sklearn.cluster import KMeans

    np.random.seed(seed % (2 ** 32))  # ssepy samples with numpy's global generator
    N = len(f)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ev = ModelPerformanceEvaluator(Yh=f, budget=n)
            ev.stratify_data(clustering_algo=KMeans(5, n_init="auto", random_state=seed % 1000), X=f[:, None])
            ev.allocate_budget(allocation_type="neyman")
            idx = ev.sample(sampling_method="ssrs")
            mean, var = ev.compute_estimate(y[idx], estimator="df")
        except Exception:  # noqa: BLE001 - a peer failing is reported by its missing rows
            return None
    z = stats.norm.ppf(1 - alpha / 2)
    m, sd = float(np.ravel(mean)[0]), math.sqrt(max(float(np.ravel(var)[0]), 0.0))
    return N * (m - z * sd), N * (m + z * sd)




def quapy_interval(f, s, ys, N, alpha):
    try:
        from quapy.method.aggregative import ACC
        from quapy.method.confidence import AggregativeBootstrap
        from sklearn.base import BaseEstimator, ClassifierMixin
    except ImportError:
        return None

    class PassThrough(ClassifierMixin, BaseEstimator):
        def fit(self, X, y):
            self.classes_ = np.array([0, 1])
            return self

        def predict_proba(self, X):
            v = np.asarray(X)[:, 0]
            return np.c_[1 - v, v]

        def predict(self, X):
            return (np.asarray(X)[:, 0] >= 0.5).astype(int)

    if ys.sum() == 0 or ys.sum() == len(ys):
        return None
    clf = PassThrough().fit(None, None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        b = AggregativeBootstrap(ACC(clf, fit_classifier=False, val_split=None), n_train_samples=1,
                                 n_test_samples=100, confidence_level=1 - alpha, random_state=0)
        b.fit(f[s][:, None], ys.astype(int))
        _, region = b.predict_conf(f[:, None])
    return N * float(region.I_low[1]), N * float(region.I_high[1])


def grid(full: bool, reps: int):
    Ns = [200, 807, 2000, 10000, 50000] if full else [200, 807, 2000]
    ps = [0.01, 0.02, 0.05, 0.12, 0.30, 0.50] if full else [0.01, 0.05, 0.12, 0.30]
    ns = [30, 50, 100, 200, 400] if full else [30, 100, 200]
    kinds = list(CLASSIFIERS) if full else ["good", "poor", "miscalibrated", "prior-shifted", "llm-like"]
    cells = []
    k = 0
    for N in Ns:
        for p in ps:
            for n in ns:
                if n > N / 2:
                    continue
                for kind in kinds:
                    k += 1
                    qreps = (reps if full else 20) if (N == 807 and p >= 0.05 and n >= 100 and kind in ("good", "poor")) else 0
                    first_n = n == min(m for m in ns if m <= N / 2)
                    cells.append((N, p, n, kind, reps, 1000 + k, qreps, first_n))
    return cells


def summarise(rows):
    print("\n## Summary per method (nominal 95%)")
    print(f"{'method':<22}{'cells':>6}{'min cov':>9}{'mean cov':>9}{'<0.93':>7}{'out 93-97*':>11}"
          f"{'max lo-miss':>12}{'max up-miss':>12}{'width/exact**':>14}{'OOB/0-width':>12}")
    methods = sorted({r["method"] for r in rows}, key=lambda m: (m not in ("ours", "ours-strat"), m))
    for m in methods:
        rs = [r for r in rows if r["method"] == m]
        cov = np.array([r["coverage"] for r in rs])
        big = [r for r in rs if r["p"] * r["n"] >= 10 and r["classifier"] in ("good", "poor", "llm-like")]
        out = sum(1 for r in big if not 0.93 <= r["coverage"] <= 0.97)
        good = [r["width_ratio_exact"] for r in rs if r["classifier"] == "good" and r["p"] >= 0.05 and r["n"] >= 100]
        print(f"{m:<22}{len(rs):>6}{cov.min():>9.3f}{cov.mean():>9.3f}{int((cov < 0.93).sum()):>7}"
              f"{str(out) + '/' + str(len(big)):>11}{max(r['lower_miss'] for r in rs):>12.3f}"
              f"{max(r['upper_miss'] for r in rs):>12.3f}{(np.median(good) if good else float('nan')):>14.2f}"
              f"{max(r['out_of_bounds'] + r['zero_or_nan'] for r in rs):>12.3f}")
    print("* cells with expected audit positives n*p >= 10 and a calibrated or LLM-like classifier, outside 93-97%")
    print("** median over cells with a good classifier, p >= 5%, n >= 100 of the median width / exact labels-only width")
    ours = {(r["N"], r["p"], r["n"], r["classifier"]): r for r in rows if r["method"] == "ours"}
    strat = {(r["N"], r["p"], r["n"], r["classifier"]): r for r in rows if r["method"] == "ours-strat"}
    ss = [r for r in rows if r["method"] == "ssepy df (stratified)"]
    if ss:
        key = lambda r: (r["N"], r["p"], r["n"], r["classifier"])  # noqa: E731
        comp = [(strat[key(r)], r) for r in ss if r["classifier"] == "good" and r["p"] >= 0.05 and r["n"] >= 100]
        print(f"ours-strat vs ssepy df (good classifier, p>=5%, n>=100): median width ratio "
              f"{np.median([o['median_width'] / max(q['median_width'], 1e-9) for o, q in comp]):.2f}; coverage "
              f"{np.mean([o['coverage'] for o, _ in comp]):.3f} vs {np.mean([q['coverage'] for _, q in comp]):.3f}")
    for peer in ("ppi_py PPI++", "ppi_py PPI", "QuaPy ACC+bootstrap", "ssepy df (stratified)"):
        pr = [r for r in rows if r["method"] == peer]
        if not pr:
            continue
        ge = sum(ours[(r["N"], r["p"], r["n"], r["classifier"])]["coverage"] >= r["coverage"] for r in pr)
        se = [2 * math.sqrt(0.05 * 0.95 / r["reps"]) for r in pr]
        worse = sum(ours[(r["N"], r["p"], r["n"], r["classifier"])]["coverage"] < r["coverage"] - t for r, t in zip(pr, se))
        print(f"ours vs {peer}: coverage >= peer in {ge}/{len(pr)} cells; lower by more than 2 MC s.e. in {worse}")
    for m in ("ours", "ours-strat"):
        rs = sorted((r for r in rows if r["method"] == m), key=lambda r: r["coverage"])[:3]
        print(f"worst cells for {m}: " + "; ".join(
            f"N={r['N']} p={r['p']} n={r['n']} {r['classifier']}: {r['coverage']:.3f}" for r in rs))
    for m in ("ours", "ours-strat"):
        sdc = [r["coverage_after_sdc"] for r in rows if r["method"] == m]
        print(f"{m}: coverage after disclosure rounding (limits rounded outward to 5): min {min(sdc):.3f}, mean {np.mean(sdc):.3f}")
    mo = [r for r in rows if r["method"] == "model-only"]
    cal = [r["coverage"] for r in mo if r["classifier"] in ("good", "poor")]
    sh = [r["shift_flag_rate"] for r in mo if r["classifier"] in ("miscalibrated", "prior-shifted")]
    fa = [r["shift_flag_rate"] for r in mo if r["classifier"] in ("good", "poor")]
    print(f"model-only range: mean coverage {np.mean(cal):.3f} (min {np.min(cal):.3f}) when calibrated; shift flag raised in "
          f"{np.mean(sh):.1%} of miscalibrated/prior-shifted runs and {np.mean(fa):.1%} of calibrated runs")
    good = [r for r in rows if r["method"] in ("ours", "exact") and r["classifier"] == "good" and r["p"] >= 0.05 and r["n"] >= 100]
    ours_b = [abs(r["bias"]) / r["N"] for r in good if r["method"] == "ours"]
    mae_ratio = [o["mae"] / e["mae"] for o, e in zip([r for r in good if r["method"] == "ours"], [r for r in good if r["method"] == "exact"]) if e["mae"] > 0]
    print(f"point estimate (good, p>=5%, n>=100): max |bias| {max(ours_b):.2%} of N; MAE vs labels-only median ratio {np.median(mae_ratio):.2f}")


def planner_check(reps=40, seed=7):
    """Achieved half-width vs the planned target: a 40-label pilot, `plan`'s rule (pilot variance
    shrunk toward the model-implied one with 40 pseudo-labels), then an audit of the planned n.
    Runs where the pilot alone already meets the target are left out."""
    from rhi_nlp.foi import PILOT_PRIOR_WEIGHT

    rng = np.random.default_rng(seed)
    out = {}
    for kind in ("good", "poor", "miscalibrated"):
        for p in (0.05, 0.12, 0.30):
            for target in (10, 15, 25):
                for _ in range(reps):
                    N = 807
                    y, f, _, _ = population(rng, N, p, kind)
                    order = rng.permutation(N)
                    pilot = order[:40]
                    s2 = float(np.var(y[pilot] - f[pilot], ddof=1))
                    S = math.sqrt((40 * s2 + PILOT_PRIOR_WEIGHT * float(np.mean(f * (1 - f)))) / (40 + PILOT_PRIOR_WEIGHT))
                    n = srs_sample_size(N, S, target)
                    if n <= 40:
                        continue
                    s = order[:n]
                    e = y[s] - f[s]
                    half = stats.t.ppf(0.975, n - 1) * N * math.sqrt((1 - n / N) * e.var(ddof=1) / n)
                    out.setdefault(kind, []).append(half / target)
    return {k: (float(np.mean(np.abs(np.array(v) - 1) <= 0.15)), float(np.mean(np.array(v) > 1.15))) for k, v in out.items()}


def semi_synthetic(reps=300, seed=11):
    """Real scores: the default model's probabilities on the labelled held-out narratives (600,
    never trained on); audits of n drawn again and again; coverage of the true count per theme."""
    from rhi_nlp.paths import default_model_dir
    from rhi_nlp.persistence import load_model
    from rhi_nlp.training import load_labelled, records_for

    try:
        model = load_model(default_model_dir())
    except Exception as exc:  # noqa: BLE001
        print(f"semi-synthetic arm skipped: {exc}")
        return
    path = ROOT / "training_data" / "heldout" / "heldout.csv"
    _, texts, Y = load_labelled([path], model.theme_ids)
    P = model.classifier.predict_proba(records_for(texts, model.theme_ids))
    rng = np.random.default_rng(seed)
    N = len(Y)
    print(f"\n## Semi-synthetic arm: real scores on {N} held-out narratives, {reps} audits per n")
    print(f"{'n':>5}{'themes':>8}{'min cov':>9}{'mean cov':>10}{'mean width':>12}{'exact width':>13}")
    for n in (50, 100, 200):
        covs, widths, ewidths = [], [], []
        for j in range(Y.shape[1]):
            y, f = Y[:, j].astype(float), P[:, j]
            hit = 0
            for _ in range(reps):
                s = srs(N, n, rng).sample
                e = difference_estimate(f, s, y[s])
                hit += e.covers(y.sum())
                widths.append(e.width)
                L, U = exact_interval(int(y[s].sum()), n, N)
                ewidths.append(U - L)
            covs.append(hit / reps)
        print(f"{n:>5}{Y.shape[1]:>8}{min(covs):>9.3f}{np.mean(covs):>10.3f}{np.mean(widths):>12.1f}{np.mean(ewidths):>13.1f}")


def runtime_50k():
    rng = np.random.default_rng(0)
    y, f, cp, cy = population(rng, 50_000, 0.12, "good")
    t0 = time.perf_counter()
    s = srs(50_000, 400, rng).sample
    difference_estimate(f, s, y[s])
    t1 = time.perf_counter()
    d = stratified(f, 400, rng)
    stratified_estimate(f, d.strata, d.sample, y[d.sample])
    t2 = time.perf_counter()
    model_only_estimate(f, calib_p=cp, calib_y=cy, n_boot=200)
    t3 = time.perf_counter()
    return t1 - t0, t2 - t1, t3 - t2


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--full", action="store_true", help="the full grid of ESTIMATION.md (long)")
    ap.add_argument("--reps", type=int, default=None, help="replications per cell (default 200, full 2000)")
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    reps = a.reps or (2000 if a.full else 200)
    cells = grid(a.full, reps)
    print(f"{len(cells)} cells x {reps} replications; peers: ppi_py {'yes' if ppi_mean_ci else 'not installed'}, "
          f"QuaPy on {sum(1 for c in cells if c[6])} cells x {max(c[6] for c in cells)} replications")
    t0 = time.perf_counter()
    with Pool(a.workers) as pool:
        rows = [r for block in pool.imap_unordered(run_cell, cells) for r in block]
    out = ROOT / "bench_output"
    out.mkdir(exist_ok=True)
    rows.sort(key=lambda r: (r["method"], r["N"], r["p"], r["n"], r["classifier"]))
    with open(out / "estimate_cells.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    summarise(rows)
    for kind, (ok, wide) in planner_check().items():
        print(f"planner ({kind} classifier): achieved half-width within +/-15% of target in {ok:.0%} of runs; "
              f"wider than promised (> +15%) in {wide:.0%}")
    semi_synthetic()
    rt = runtime_50k()
    print(f"runtime at N=50,000: difference {rt[0] * 1000:.0f} ms, stratified {rt[1] * 1000:.0f} ms, "
          f"model-only with 200 bootstrap refits {rt[2] * 1000:.0f} ms")
    print(f"cells written to {out / 'estimate_cells.csv'}; total {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
