"""Classification quality: precision, recall, F1, Brier score and calibration error."""

from __future__ import annotations

import numpy as np


def binary_metrics(y: np.ndarray, p: np.ndarray, threshold: float) -> dict:
    """Metrics for one theme; labels of -1 (uncertain) are skipped. ``count_ratio`` is the
    model-only count (sum of probabilities) over the true count."""
    y = np.asarray(y, dtype=int)
    p = np.asarray(p, dtype=float)
    known = y >= 0
    y, p = y[known], p[known]
    pred = p >= threshold
    tp = int(np.sum(pred & (y == 1)))
    fp = int(np.sum(pred & (y == 0)))
    fn = int(np.sum(~pred & (y == 1)))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4),
            "support": int(y.sum()), "n": int(len(y)), "tp": tp, "fp": fp, "fn": fn,
            "count_ratio": round(float(p.sum() / y.sum()), 4) if y.sum() else None,
            "brier": round(float(np.mean((p - y) ** 2)), 4) if len(y) else None,
            "calibration_error": round(expected_calibration_error(y, p), 4) if len(y) else None}


def calibration_table(y: np.ndarray, p: np.ndarray, bins: int = 10) -> list[dict]:
    """Per probability band (deciles 0-0.1 ... 0.9-1): count, mean predicted, observed rate."""
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    edges = np.linspace(0, 1, bins + 1)
    idx = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    out = []
    for b in range(bins):
        m = idx == b
        if m.any():
            out.append({"band": f"{edges[b]:.1f}-{edges[b + 1]:.1f}", "n": int(m.sum()),
                        "mean_predicted": round(float(p[m].mean()), 4),
                        "observed_rate": round(float(y[m].mean()), 4)})
    return out


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    table = calibration_table(y, p, bins)
    n = sum(r["n"] for r in table)
    return float(sum(r["n"] * abs(r["mean_predicted"] - r["observed_rate"]) for r in table) / n) if n else 0.0


def summarise(Y: np.ndarray, P: np.ndarray, thresholds, theme_ids) -> dict:
    themes = {t: binary_metrics(Y[:, j], P[:, j], thresholds[j]) for j, t in enumerate(theme_ids)}
    return {"themes": themes,
            "macro_f1": round(float(np.mean([m["f1"] for m in themes.values()])), 4),
            "macro_brier": round(float(np.mean([m["brier"] for m in themes.values()])), 4),
            "n": int(len(Y))}
