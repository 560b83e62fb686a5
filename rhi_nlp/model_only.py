"""A model-only figure (no audit): the sum of probabilities, a range that allows for writing unlike
the training data, and the checks that say "audit before using this figure".

Three checks, any one of which raises the flag:

* **unfamiliar writing** (concept shift): the file's mean ``text_familiarity`` is nearer the
  voices the model never saw than those it learned from, so the model may read it differently;
* **keyword disagreement** (concept shift, per theme): keyword hits over the model's sum moved
  further from the training groups' ratio than they ever were from each other;
* **prevalence shift** (PACC, EMQ, HDy against the calibration set; :mod:`rhi_nlp.estimate`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from . import estimate as est
from . import transfer
from .familiarity import COLUMN as FAMILIARITY_COL

TRIAGE_NOTE = ("Model-only: triage, not a figure to publish. No narrative was checked by hand; the "
               "range is model-based, not a confidence interval. Audit a random sample (rhi-nlp plan / "
               "sample) before publishing.")


def _model_facts(model_dir: str | Path | None, theme: str, parts: tuple[str, ...]):
    """(calibration probabilities, labels, threshold, transfer profile) from the model, or Nones."""
    from .paths import default_model_dir

    try:
        model = _cached_model(Path(model_dir) if model_dir else default_model_dir())
    except Exception:
        return None, None, None, None
    clf = model.classifier
    ids = list(clf.theme_ids_)
    if any(p not in ids for p in parts):
        return None, None, None, None
    probs = np.column_stack([clf.calibrate(ids.index(p), clf.oof_scores_[:, ids.index(p)]) for p in parts])
    labels = clf.oof_labels_[:, [ids.index(p) for p in parts]]
    thr = clf.thresholds_[ids.index(parts[0])] if len(parts) == 1 else 0.5
    prof = model.card.get("transfer")
    return 1 - np.prod(1 - probs, axis=1), labels.max(axis=1), thr, prof if prof and theme in prof["themes"] else None


_MODELS: dict = {}


def _cached_model(folder: Path):
    """The model, loaded (and hash-checked) once per folder and version of its files in this
    process: an estimate asks for it once per theme and group."""
    from .persistence import ARRAYS_FILE, CARD_FILE, load_model

    key = (str(folder.resolve()), *((folder / f).stat().st_mtime_ns for f in (ARRAYS_FILE, CARD_FILE)))
    if key not in _MODELS:
        _MODELS.clear()
        _MODELS[key] = load_model(folder)
    return _MODELS[key]


def _keyword_hits(rows: pd.DataFrame, parts: tuple[str, ...], text_col: str, keys: pd.Series | None) -> int | None:
    """Units with a keyword of the theme (a child counts once), or None without the text column."""
    if text_col not in rows.columns:
        return None
    from .keywords import keyword_baseline
    from .text import clean_text
    from .themes import load_themes

    themes = [t for t in load_themes() if t.id in parts]
    hits = keyword_baseline([clean_text(v) for v in rows[text_col].tolist()], themes).max(axis=1) if len(rows) else np.zeros(0)
    if keys is None:
        return int(hits.sum())
    return int(pd.Series(hits, index=rows.index).groupby(keys.to_numpy()).max().sum())


def estimate(f: np.ndarray, rows: pd.DataFrame, *, theme: str, parts: tuple[str, ...], alpha: float,
             model_dir: str | Path | None, seed: int, text_col: str = "narrative",
             keys: pd.Series | None = None) -> tuple[est.Estimate, list[str], dict | None]:
    """The model-only estimate for scores ``f`` of the units in ``rows`` (one per unit, or per RHI
    with ``keys`` naming each RHI's child). Returns (estimate, notes, checks)."""
    cp, cy, thr, prof = _model_facts(model_dir, theme, parts)
    fam = None
    if FAMILIARITY_COL in rows.columns:
        vals = pd.to_numeric(rows[FAMILIARITY_COL], errors="coerce").to_numpy(float)
        fam = float(np.nanmean(vals)) if np.any(~np.isnan(vals)) else None
    hits = _keyword_hits(rows, parts, text_col, keys) if prof is not None else None
    return assess(f, theme=theme, alpha=alpha, seed=seed, calib_p=cp, calib_y=cy, threshold=thr, prof=prof,
                  familiarity=fam, keyword_hits=hits)


def assess(f: np.ndarray, *, theme: str, alpha: float, seed: int, calib_p: np.ndarray | None,
           calib_y: np.ndarray | None, threshold: float | None, prof: dict | None, familiarity: float | None,
           keyword_hits: int | None) -> tuple[est.Estimate, list[str], dict]:
    """The range and the three checks from what the model knows (calibration set, threshold,
    transfer profile) and what the file shows (mean familiarity, keyword hits)."""
    fam = familiarity
    s = transfer.relative_sd(prof, theme, float("nan") if fam is None else fam) if prof else None
    e = est.model_only_estimate(f, alpha=alpha, calib_p=calib_p, calib_y=calib_y, seed=seed, relative_sd=s)
    notes = [TRIAGE_NOTE]
    if calib_p is None:
        notes.append("No calibration data was available (model not found): the range reflects only chance "
                     "variation and is too narrow.")
        return e, notes, {"flag": True, "reasons": ["no model"]}
    checks = est.shift_check(f, calib_p, calib_y, threshold=threshold) if len(f) else {}
    reasons = []
    if prof is None:
        reasons.append("no between-voice spread")
        notes.append("This model's card has no between-voice spread (it was trained by an older version: retrain "
                     "it), so the range allows only for chance and calibration and is too narrow on writing "
                     "unlike the training data.")
    else:
        w = transfer.unfamiliarity_weight(prof, float("nan") if fam is None else fam)
        checks.update({"text_familiarity": None if fam is None else round(fam, 3), "unfamiliarity_weight": round(w, 3),
                       "relative_sd_between_voices": None if s is None else round(s, 4),
                       "familiarity_training": prof.get("familiarity_training"),
                       "familiarity_unfamiliar_voices": prof.get("familiarity_unfamiliar")})
        if fam is None:
            reasons.append("familiarity unknown")
            notes.append("The tagged file has no text_familiarity column (tag it again with this version), so the "
                         "range assumes writing as unlike the training data as a new voice's.")
        elif w >= 0.5:
            reasons.append("unfamiliar writing")
            notes.append(f"Writing unlike the training data: on average {fam:.0%} of these narratives' word pairs "
                         f"were seen in training (training narratives {prof['familiarity_training']:.0%}, voices the "
                         f"model never saw {prof['familiarity_unfamiliar']:.0%}). The range allows for how far counts "
                         f"moved between such voices (about {s:.0%}), but the model may read this writing "
                         f"differently: audit before using this figure.")
        kw = transfer.keyword_check(prof, theme, keyword_hits, e.point) if keyword_hits is not None else None
        checks.update({"keyword_hits": keyword_hits, "keyword_flag": kw})
        if kw:
            reasons.append("keyword disagreement")
            notes.append(f"Keyword check: keyword search finds {keyword_hits} where the model's sum is {e.point:.0f}, "
                         f"a ratio further from the training voices' than they are from each other, so the model may "
                         f"be reading this theme differently here. Audit before using this figure.")
    if checks.get("pcc") is not None:
        moved, which = est.shift_flag(e, checks)
        if moved:
            reasons.append("prevalence shift")
            notes.append(f"Shift check: {', '.join(which)} disagree with the model's sum of probabilities by more "
                         f"than the range, so the share of this theme has probably moved since the training data. "
                         f"Audit before using this figure.")
    checks["flag"] = bool(reasons)
    checks["reasons"] = reasons
    return e, notes, checks
