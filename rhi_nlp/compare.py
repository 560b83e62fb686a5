"""Two models side by side on the same labelled file: per theme F1, count ratio and calibration
error, and a paired bootstrap interval for the difference in macro-F1 (the same narratives are
resampled for both models, so their shared difficulty cancels)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import InputError
from .metrics import summarise
from .persistence import Model
from .training import load_labelled, records_for


def _f1(tp, fp, fn):
    den = 2 * tp + fp + fn
    return np.where(den > 0, 2 * tp / np.maximum(den, 1), 0.0)


def compare_models(a: Model, b: Model, labelled: str | Path, *, n_boot: int = 2000, seed: int = 0,
                   confidence: float = 0.95) -> dict:
    if tuple(a.theme_ids) != tuple(b.theme_ids):
        raise InputError("the two models have different themes; they cannot be compared theme by theme")
    ids = a.theme_ids
    _, texts, Y = load_labelled([labelled], ids, allow_uncertain=True)
    if not len(Y):
        raise InputError(f"{labelled}: no labelled rows")
    recs = records_for(texts, ids)
    out = {"file": str(labelled), "n": int(len(Y)), "models": {}}
    preds = {}
    for key, m in (("a", a), ("b", b)):
        P = m.classifier.predict_proba(recs)
        s = summarise(Y, P, m.classifier.thresholds_, ids)
        out["models"][key] = {"path": str(m.path), "macro_f1": s["macro_f1"], "themes": s["themes"]}
        preds[key] = (P >= np.asarray(m.classifier.thresholds_)).astype(int)
    known = Y >= 0
    rng = np.random.default_rng(seed)
    n = len(Y)
    diffs = np.empty(n_boot)
    for r in range(n_boot):
        idx = rng.integers(0, n, n)
        f = {}
        for key in ("a", "b"):
            y, p, k = Y[idx], preds[key][idx], known[idx]
            tp = ((p == 1) & (y == 1) & k).sum(0)
            fp = ((p == 1) & (y == 0) & k).sum(0)
            fn = ((p == 0) & (y == 1) & k).sum(0)
            f[key] = _f1(tp, fp, fn).mean()
        diffs[r] = f["b"] - f["a"]
    lo, hi = np.quantile(diffs, [(1 - confidence) / 2, 1 - (1 - confidence) / 2])
    out["macro_f1_difference"] = {"b_minus_a": round(out["models"]["b"]["macro_f1"] - out["models"]["a"]["macro_f1"], 4),
                                  "low": round(float(lo), 4), "high": round(float(hi), 4),
                                  "confidence": confidence, "bootstrap": n_boot}
    return out
