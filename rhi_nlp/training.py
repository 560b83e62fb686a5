"""Training, evaluation, the keyword baseline and model comparison."""

from __future__ import annotations

import datetime as dt
import platform
import re
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from . import __version__
from .classifier import ThemeClassifier
from .errors import InputError
from .features import iter_records
from .io import parse_label, read_table
from .keywords import keyword_baseline  # noqa: F401  (re-exported for the benchmarks)
from .labels import read_sample
from .metrics import calibration_table, summarise
from .nlp import build_pipeline
from .paths import labelled_dir, training_dir
from .persistence import Model, save_model
from .text import clean_text
from .themes import Theme, file_sha256, load_themes, load_unions, relations_path, rules_path, themes_path
from .transfer import from_training as transfer_from_training


def default_training_files() -> list[Path]:
    """The generated corpus, the independent hand-written corpus (when present) and any
    worker-labelled files in the home's training_data/labelled/ (see :mod:`rhi_nlp.paths`)."""
    root = training_dir()
    files = [root / "corpus.csv"]
    if (root / "independent" / "independent.csv").exists():
        files.append(root / "independent" / "independent.csv")
    extra = labelled_dir()
    if extra.is_dir():
        files += sorted(p for p in extra.iterdir() if p.suffix.lower() in (".csv", ".xlsx", ".parquet"))
    return files


def heldout_file() -> Path:
    return training_dir() / "heldout" / "heldout.csv"


UNCERTAIN = "?"


def source_groups(paths: Sequence[str | Path]) -> list[str]:
    """A group per labelled row: its file and, where the file says, its voice or style. Calibration
    is cross-fitted over these groups, so no voice calibrates itself."""
    groups = []
    for path in paths:
        df = read_table(path)
        col = next((c for c in ("voice", "style") if c in df.columns), None)
        stem = Path(path).stem
        groups += [f"{stem}:{v}" for v in df[col].astype(str)] if col else [stem] * len(df)
    return groups


def audits_in(paths: Sequence[str | Path]) -> list[dict]:
    """The audit samples among labelled files, with the hash of the ids each drew (to recognise the
    same audit later)."""
    out = []
    for path in paths:
        df = read_table(path)
        if "audit_ids_sha256" in df.columns and len(df):
            out.append({"file": Path(path).name, "audit_ids_sha256": str(df["audit_ids_sha256"].iloc[0])})
    return out


def load_labelled(paths: Sequence[str | Path], theme_ids: Sequence[str], *, id_col: str = "id",
                  text_col: str = "narrative", allow_uncertain: bool = False) -> tuple[list[str], list[str], np.ndarray]:
    """Read labelled files (id, narrative, one 0/1 column per theme). Returns ids, texts, Y.
    With ``allow_uncertain`` (evaluation only), a '?' cell means the text leaves the theme open:
    it is returned as -1 and skipped in scoring."""
    ids, texts, blocks = [], [], []
    seen: dict[str, str] = {}
    for path in paths:
        df, _ = read_sample(path)  # an audit or training sample used as labels: its apostrophes undone
        missing = [c for c in [id_col, text_col, *theme_ids] if c not in df.columns]
        if missing:
            raise InputError(f"{path}: missing column(s) {missing}; a labelled file needs {id_col!r}, "
                             f"{text_col!r} and one 0/1 column per theme (see: rhi-nlp themes)")
        Y = np.zeros((len(df), len(theme_ids)), dtype=int)
        for j, t in enumerate(theme_ids):
            for k, v in enumerate(df[t].tolist()):
                if allow_uncertain and str(v).strip() == UNCERTAIN:
                    Y[k, j] = -1
                    continue
                label = parse_label(v)
                if label is None or label < 0:
                    raise InputError(f"{path}: row id {df[id_col].iloc[k]!r}, column {t!r}: label must be "
                                     f"0 or 1 (found {'an empty cell' if label is None else 'another value'})")
                Y[k, j] = label
        for v in df[id_col].astype(str).tolist():
            if v in seen:
                raise InputError(f"{path}: id {v!r} appears again (also in {seen[v]}); ids must be unique")
            seen[v] = str(path)
            ids.append(v)
        texts += [clean_text(v) for v in df[text_col].tolist()]
        blocks.append(Y)
    return ids, texts, np.vstack(blocks) if blocks else np.zeros((0, len(theme_ids)), dtype=int)


def records_for(texts: Sequence[str], theme_ids: tuple[str, ...], nlp=None) -> list:
    nlp = nlp or build_pipeline()
    return list(iter_records(nlp, list(texts), theme_ids))


def evaluate_model(model: Model, labelled: str | Path) -> dict:
    """Per-theme precision, recall, F1, Brier score and calibration error on a labelled file."""
    ids, texts, Y = load_labelled([labelled], model.theme_ids, allow_uncertain=True)
    if not len(Y):
        raise InputError(f"{labelled}: no labelled rows")
    P = model.classifier.predict_proba(records_for(texts, model.theme_ids))
    result = summarise(Y, P, model.classifier.thresholds_, model.theme_ids)
    result["file"] = str(labelled)
    known = Y.ravel() >= 0
    result["calibration"] = calibration_table(Y.ravel()[known], P.ravel()[known])
    return result


def baseline_metrics(labelled: str | Path, themes: Sequence[Theme]) -> dict:
    ids, texts, Y = load_labelled([labelled], [t.id for t in themes], allow_uncertain=True)
    pred = keyword_baseline(texts, themes)
    return summarise(Y, pred.astype(float), [0.5] * len(themes), [t.id for t in themes])


def _versions() -> dict:
    import joblib
    import sklearn
    import spacy

    return {"rhi_nlp": __version__, "python": platform.python_version(), "scikit-learn": sklearn.__version__,
            "spacy": spacy.__version__, "numpy": np.__version__, "pandas": pd.__version__,
            "joblib": joblib.__version__}


def train_model(*, label_files: Sequence[str | Path] = (), name: str = "default",
                models_root: str | Path | None = None, base_files: Sequence[str | Path] | None = None,
                evaluation_file: str | Path | None = None, seed: int = 0,
                progress: Callable[[int], None] | None = None) -> Model:
    """Train on training_data (and extra labelled files), evaluate on the held-out split and save
    models/NAME with its card. Deterministic for a fixed seed."""
    from .paths import models_dir

    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", name):
        raise InputError(f"model name {name!r}: use letters, digits, '-', '_' or '.'")
    themes = load_themes()
    theme_ids = tuple(t.id for t in themes)
    files = [Path(p) for p in (default_training_files() if base_files is None else base_files)]
    files += [Path(p) for p in label_files]
    for f in files:
        if not f.exists():
            raise InputError(f"{f}: training file not found")
    ids, texts, Y = load_labelled(files, theme_ids)
    audits_used = audits_in(files)
    for a in audits_used:
        warnings.warn(f"{a['file']} is an audit sample: train on it only after its estimate is published, and do not "
                      f"use the new model to estimate from that audit (its interval assumes the model never saw "
                      f"the audit's labels)", UserWarning, stacklevel=2)
    nlp = build_pipeline()
    records = records_for(texts, theme_ids, nlp)
    groups = source_groups(files)
    # cross-fit calibration and thresholds over voices/sources when there are enough of them, so
    # that no voice calibrates itself
    grouped = len(set(groups)) >= 2 * ThemeClassifier().n_folds
    clf = ThemeClassifier(random_state=seed).fit(
        records, Y, theme_ids=theme_ids, groups=groups if grouped else None, progress=progress)
    # how far model-only counts moved between voices the fold models never saw (for the ranges)
    transfer = transfer_from_training(clf, records, texts, groups, themes, load_unions())
    transfer["grouped_folds"] = grouped
    eval_path = Path(evaluation_file) if evaluation_file else heldout_file()
    evaluation = None
    if eval_path.exists():
        _, etexts, EY = load_labelled([eval_path], theme_ids)
        EP = clf.predict_proba(records_for(etexts, theme_ids, nlp))
        evaluation = summarise(EY, EP, clf.thresholds_, theme_ids)
        evaluation["file"] = eval_path.name
        evaluation["calibration"] = calibration_table(EY.ravel(), EP.ravel())
    card = {
        "name": name,
        "created_utc": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "versions": _versions(),
        "seed": seed,
        "themes": list(theme_ids),
        "themes_sha256": file_sha256(themes_path()),
        "context_rules_sha256": file_sha256(rules_path()),
        "relations_sha256": file_sha256(relations_path()),
        "training_data": [{"file": f.name, "sha256": file_sha256(f)} for f in files],
        "audits_used": audits_used,
        "n_training": int(len(Y)),
        "positives": {t: int(Y[:, j].sum()) for j, t in enumerate(theme_ids)},
        "thresholds": dict(zip(theme_ids, clf.thresholds_)),
        "heldout": evaluation,
        "transfer": transfer,
        "intended_use": ("Tagging themes in Return Home Interview narratives to support counting "
                         "and review. Not for decisions about an individual child."),
        "limitations": ("Trained on generated narratives and on independently hand-written ones in many "
                        "voices (all synthetic); quality on a new council's writing can be lower than the "
                        "leave-one-voice-out and locked-test figures, so audit a sample before publishing a count."),
    }
    model = Model(classifier=clf, card=card)
    root = Path(models_root) if models_root else models_dir()
    save_model(model, root / name, model_card_markdown(card))
    return model


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def model_card_markdown(card: dict) -> str:
    lines = [f"# Model card: {card['name']}", "",
             f"Created {card['created_utc']} with rhi-nlp {card['versions']['rhi_nlp']}.", "",
             "## Intended use", card["intended_use"], "", "## Limitations", card["limitations"], "",
             "## Training data",
             f"{card['n_training']} labelled narratives from: " + ", ".join(d["file"] for d in card["training_data"]),
             ""]
    lovo, locked = card.get("leave_one_voice_out"), card.get("locked_test")
    lines += ["## Quality on writing the model never learned from", ""]
    if lovo:
        lines += [f"Leave-one-voice-out over the independent corpus: mean macro-F1 {lovo['mean_macro_f1']:.3f} "
                  f"(keyword search {lovo['mean_keyword_macro_f1']:.3f}); lowest voice {lovo['min_voice']}.", ""]
    if locked:
        lines += [f"Locked test set ({locked['n']} narratives in voices never trained or tuned on: "
                  f"{', '.join(locked['voices'])}; scored once, {locked['scored_utc']}): macro-F1 "
                  f"{locked['macro_f1']:.3f} (keyword search {locked['keyword_macro_f1']:.3f}), expected calibration "
                  f"error {locked['ece']:.3f}.", "", "| theme | F1 | keyword F1 | count ratio |", "|---|---|---|---|"]
        for t, m in locked["themes"].items():
            ratio = f"{m['count_ratio']:.2f}" if m.get("count_ratio") is not None else "-"
            lines.append(f"| {t} | {m['f1']:.3f} | {m['kw_f1']:.3f} | {ratio} |")
        lines.append("")
    if not lovo and not locked:
        lines += ["Not yet measured for this model: run make bench and make bench-locked.", ""]
    tr = card.get("transfer")
    if tr:
        lines += ["## Model-only ranges on unfamiliar writing", ""]
        for label, figs in (("Leave-one-voice-out", (lovo or {}).get("model_only_ranges")),
                            ("Locked test set, per voice", (locked or {}).get("model_only_ranges"))):
            if figs:
                lines += [f"{label}: the model-only range contains the true count for {figs['coverage']:.1%} of "
                          f"{figs['pairs']} (voice, theme) pairs ({figs['coverage_without_voice_term']:.1%} without the "
                          f"between-voice term); {figs['misses']} misses"
                          + (f", {figs['misses_flagged']:.0%} of them flagged 'audit before using'" if figs["misses"] else "")
                          + f"; mean width {figs['mean_width']} (was {figs['mean_width_without_voice_term']}).", ""]
        lines += [
                  "How far the model-only count (sum of probabilities) moved from the true count between "
                  "training groups (voices or sources), each scored by fold models that never saw it: the "
                  "root-mean-square log count ratio, for groups whose wording was unfamiliar to the rest "
                  f"(mean familiarity {_fmt(tr.get('familiarity_unfamiliar'))}) and familiar "
                  f"({_fmt(tr.get('familiarity_familiar'))}); the familiar groups' own text, which the model learned from: "
                  f"{_fmt(tr.get('familiarity_training'))}. `estimate` widens a model-only range by the spread "
                  "that fits the file's familiarity.", "",
                  "| theme | spread, unfamiliar | spread, familiar | groups |", "|---|---|---|---|"]
        for t, m in tr["themes"].items():
            lines.append(f"| {t} | {_fmt(m['rms_unfamiliar'])} | {_fmt(m['rms_familiar'])} | {m['n_groups']} |")
        lines.append("")
    lines += ["## The generator's own held-out split (not a quality figure)", ""]
    ev = card.get("heldout")
    if ev:
        lines += [f"On {ev['file']} ({ev['n']} generated narratives from the same generator as part of the "
                  f"training data, so optimistic): macro-F1 {ev['macro_f1']:.3f}.", "",
                  "| theme | threshold | precision | recall | F1 | Brier | calibration error |",
                  "|---|---|---|---|---|---|---|"]
        for t, m in ev["themes"].items():
            lines.append(f"| {t} | {card['thresholds'][t]} | {m['precision']:.3f} | {m['recall']:.3f} | "
                         f"{m['f1']:.3f} | {m['brier']:.3f} | {m['calibration_error']:.3f} |")
    else:
        lines.append("No held-out file was available.")
    lines += ["", "## Integrity", f"model.npz SHA-256: {card.get('model_sha256', '(set on save)')}", f"model.json SHA-256: {card.get('model_json_sha256', '(set on save)')}",
              f"themes.json SHA-256: {card['themes_sha256']}",
              f"context_rules.json SHA-256: {card['context_rules_sha256']}",
              f"relations.json SHA-256: {card['relations_sha256']}", ""]
    return "\n".join(lines)
