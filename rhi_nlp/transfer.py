"""How far a model-only count can move on writing unlike the training data, and checks for it.

A model-only count is the sum of calibrated probabilities. On a voice the model never saw, the
count ratio (sum of probabilities / true count) moves: by 11-23% (sd) between the independent
corpus's voices, left out one at a time. The Poisson-binomial and calibration terms of the range
know nothing of that, so on its own the range covered the true count for only about 6 in 10 (voice,
theme) pairs. This module measures, when a model is trained, from its out-of-fold probabilities
(folds that keep each voice or source together, so each group is scored by models that never saw
it):

* per group, its **count ratio** for each theme and how **familiar** its wording was to the other
  groups (:func:`rhi_nlp.familiarity.group_out_familiarity`);
* per theme, the root-mean-square log count ratio of the groups whose wording was unfamiliar to
  the rest (``rms_unfamiliar``) and of those whose wording was familiar (``rms_familiar``), and the
  same spread of the ratio between keyword hits and the model's sum (for the keyword check).

At estimate time the batch's mean familiarity (a column of the tagged file) places it between the
two, and the range gains that relative spread. The profile is stored on the model card.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

MIN_TRUE = 10          # a group's ratio counts only when it has at least this many true positives
FAMILIAR = 0.80        # a group whose word pairs were at least this familiar to the rest is "familiar"
KW_Z = 2.576           # the keyword check flags beyond this many between-group sd (99%)


def _rms(x: np.ndarray) -> float | None:
    return float(np.sqrt(np.mean(np.square(x)))) if len(x) else None


def _sd(x: np.ndarray) -> float | None:
    return float(np.std(x, ddof=1)) if len(x) > 2 else None


def profile(probs: np.ndarray, Y: np.ndarray, groups: Sequence[str], group_familiarity: np.ndarray,
            keyword_hits: np.ndarray, theme_ids: Sequence[str], unions: dict[str, Sequence[str]] | None = None,
            seen_familiarity: np.ndarray | None = None) -> dict:
    """The transfer profile from out-of-fold calibrated probabilities ``probs`` (n x themes), labels
    ``Y``, each row's group, its group-out familiarity and its keyword hits (n x themes).
    ``seen_familiarity``: each training text's familiarity to the model's own vocabulary, which
    includes its group; the familiar groups' mean is writing like the text the model learned from,
    where no extra spread applies."""
    groups = np.asarray(groups)
    names = sorted(set(groups.tolist()))
    fam = {g: float(np.nanmean(group_familiarity[groups == g])) if np.any(~np.isnan(group_familiarity[groups == g]))
           else float("nan") for g in names}
    familiar = {g: fam[g] >= FAMILIAR for g in names}
    cols = {t: [j] for j, t in enumerate(theme_ids)}
    index = {t: j for j, t in enumerate(theme_ids)}
    for u, parts in (unions or {}).items():
        if all(p in index for p in parts):
            cols[u] = [index[p] for p in parts]
    themes = {}
    for t, js in cols.items():
        p = 1 - np.prod(1 - probs[:, js], axis=1)
        y = Y[:, js].max(axis=1)
        k = keyword_hits[:, js].max(axis=1)
        per_group, log_r, log_k, is_fam = {}, [], [], []
        for g in names:
            m = groups == g
            T, S, K = int(y[m].sum()), float(p[m].sum()), int(k[m].sum())
            per_group[g] = {"true": T, "sum_prob": round(S, 2), "keyword_hits": K}
            if T >= MIN_TRUE and S > 0:
                log_r.append(math.log(S / T))
                is_fam.append(familiar[g])
                if K > 0:
                    log_k.append(math.log(K / S))
        log_r, is_fam = np.asarray(log_r), np.asarray(is_fam, bool)
        themes[t] = {"rms_familiar": _rms(log_r[is_fam]), "rms_unfamiliar": _rms(log_r[~is_fam]),
                     "rms_all": _rms(log_r), "n_groups": int(len(log_r)),
                     "keyword_log_ratio_mean": float(np.mean(log_k)) if len(log_k) > 2 else None,
                     "keyword_log_ratio_sd": _sd(np.asarray(log_k)), "groups": per_group}
    fam_vals = np.array([fam[g] for g in names])
    fam_mask = np.array([familiar[g] for g in names])
    seen = None
    if seen_familiarity is not None:
        rows = np.isin(groups, [g for g in names if familiar[g]]) if fam_mask.any() else np.ones(len(groups), bool)
        seen = float(np.nanmean(seen_familiarity[rows]))
    return {"min_true_per_group": MIN_TRUE, "familiar_cut": FAMILIAR,
            "familiarity_training": seen,
            "familiarity_familiar": float(np.nanmean(fam_vals[fam_mask])) if fam_mask.any() else None,
            "familiarity_unfamiliar": float(np.nanmean(fam_vals[~fam_mask])) if (~fam_mask).any() else None,
            "groups": {g: {"familiarity": round(fam[g], 4), "n": int(np.sum(groups == g))} for g in names},
            "themes": themes}


def unfamiliarity_weight(prof: dict, batch_familiarity: float) -> float:
    """0 for writing as familiar as the familiar training groups' (or more), 1 for writing as
    unfamiliar as the unfamiliar groups' (or less), linear between; 1 when it cannot be told."""
    hi, lo = prof.get("familiarity_familiar"), prof.get("familiarity_unfamiliar")
    if batch_familiarity is None or math.isnan(batch_familiarity) or lo is None:
        return 1.0
    if hi is None or hi <= lo:
        return 0.0 if batch_familiarity > lo else 1.0
    return float(np.clip((hi - batch_familiarity) / (hi - lo), 0.0, 1.0))


def relative_sd(prof: dict, theme: str, batch_familiarity: float) -> float | None:
    """The between-voice sd of the log count ratio that applies to this batch: the unfamiliar
    groups' spread for writing as unfamiliar as theirs, the familiar groups' for writing as familiar
    as theirs, none for writing as familiar to the model as its own training texts (the
    calibration already speaks for it). Between these points the sd is linear in familiarity: a
    file whose familiarity lies a fraction w of the way from one point to the next reads as a mix,
    w of it like the one and 1 - w like the other, and the relative error of its total is then at
    most w times the one's plus (1 - w) times the other's (the bound when the two parts err
    together). None when the profile has no figure for the theme."""
    t = prof.get("themes", {}).get(theme)
    if not t:
        return None
    every = t.get("rms_all")
    fam = t["rms_familiar"] if t.get("rms_familiar") is not None else every
    unfam = t["rms_unfamiliar"] if t.get("rms_unfamiliar") is not None else every
    if fam is None or unfam is None:
        return None
    F = batch_familiarity
    if F is None or math.isnan(F):
        return unfam
    xs, ys = [], []
    for x, y in ((prof.get("familiarity_unfamiliar"), unfam), (prof.get("familiarity_familiar"), fam),
                 (prof.get("familiarity_training"), 0.0)):
        if x is not None and not math.isnan(x) and (not xs or x > xs[-1]):
            xs.append(x)
            ys.append(y)
    if not xs:
        return unfam
    return float(np.interp(F, xs, ys))


def keyword_check(prof: dict, theme: str, keyword_hits: int, sum_prob: float) -> bool | None:
    """True when the ratio of keyword hits to the model's sum of probabilities is further from the
    training groups' ratios than they are from each other (None when it cannot be judged)."""
    t = prof.get("themes", {}).get(theme) or {}
    mu, sd = t.get("keyword_log_ratio_mean"), t.get("keyword_log_ratio_sd")
    if mu is None or not sd or keyword_hits <= 0 or sum_prob <= 0:
        return None
    return abs(math.log(keyword_hits / sum_prob) - mu) > KW_Z * sd


def from_training(clf, records: Sequence, texts: Sequence[str], groups: Sequence[str], themes: Sequence,
                  unions: Sequence = ()) -> dict:
    """The profile of a fitted :class:`~rhi_nlp.classifier.ThemeClassifier` from its training
    records, cleaned texts and groups (as passed to ``fit``)."""
    from .familiarity import familiarity, group_out_familiarity
    from .keywords import keyword_baseline

    marked = [r.text for r in records]
    probs = np.column_stack([clf.calibrate(j, clf.oof_scores_[:, j]) for j in range(len(clf.theme_ids_))])
    return profile(probs, clf.oof_labels_, groups, group_out_familiarity(marked, groups),
                   keyword_baseline(texts, themes), clf.theme_ids_, {u.id: u.of for u in unions},
                   seen_familiarity=familiarity(marked, clf.vectorizer_.vocabulary_))
