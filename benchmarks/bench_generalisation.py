"""Generalisation benchmark (issue 8): quality on writing the model never learned from.

    python benchmarks/bench_generalisation.py [--no-generated] [--voices a,b] [--locked]

1. Leave-one-voice-out (the headline): for each of the independent corpus's voices, train on the
   generated corpus plus every other voice and score the held-out voice; per voice and per theme,
   beside keyword search, with the model-only count ratio (sum of probabilities / true count), and
   the model-only range `estimate` would give each held-out voice: does it contain the true count,
   and where not, did a check say "audit before using this figure" (issue 12).
2. Real-world check: a model trained on everything (generated + all independent voices) scores the
   paraphrased published case descriptions (uncertain themes skipped).
3. --locked: the same model scores the locked test set ONCE, for a release; the result is written
   to bench_output/locked.json. Never used for choosing anything.

Writes bench_output/generalisation.json. Takes a few minutes on 2 cores.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rhi_nlp import estimate, model_only, transfer  # noqa: E402
from rhi_nlp.classifier import ThemeClassifier  # noqa: E402
from rhi_nlp.familiarity import familiarity  # noqa: E402
from rhi_nlp.metrics import calibration_table, expected_calibration_error, summarise  # noqa: E402
from rhi_nlp.nlp import build_pipeline  # noqa: E402
from rhi_nlp.themes import load_themes, load_unions  # noqa: E402
from rhi_nlp.training import keyword_baseline, load_labelled, records_for  # noqa: E402

GENERATED = ROOT / "training_data" / "corpus.csv"
INDEPENDENT = ROOT / "training_data" / "independent" / "independent.csv"
LOCKED = ROOT / "training_data" / "locked" / "locked.csv"
REALWORLD = ROOT / "training_data" / "realworld" / "realworld.csv"
OUT = ROOT / "bench_output"


def _voices(path: Path, n: int) -> np.ndarray:
    import pandas as pd

    v = pd.read_csv(path, dtype=str, keep_default_na=False)["voice"].to_numpy()
    assert len(v) == n
    return v


def _score(Y, P, thr, ids, texts, themes):
    ours = summarise(Y, P, thr, ids)
    kw = summarise(Y, keyword_baseline(texts, themes).astype(float), [0.5] * len(ids), ids)
    known = Y.ravel() >= 0
    ours["ece"] = round(expected_calibration_error(Y.ravel()[known], P.ravel()[known]), 4)
    ours["calibration"] = calibration_table(Y.ravel()[known], P.ravel()[known])
    return ours, kw


def model_only_ranges(clf, prof, recs, texts, Y, themes, alpha=0.05) -> dict:
    """Per theme: the true count, the model-only range `estimate` gives this batch (and the range
    without the between-voice term, as before issue 12), and which checks raise the flag."""
    P = clf.predict_proba(recs)
    fam = float(np.nanmean(familiarity([r.text for r in recs], clf.vectorizer_.vocabulary_)))
    kw = keyword_baseline(texts, themes)
    out = {}
    for j, t in enumerate(clf.theme_ids_):
        cp, cy = clf.calibrate(j, clf.oof_scores_[:, j]), clf.oof_labels_[:, j]
        e, _, checks = model_only.assess(P[:, j], theme=t, alpha=alpha, seed=0, calib_p=cp, calib_y=cy,
                                         threshold=clf.thresholds_[j], prof=prof, familiarity=fam,
                                         keyword_hits=int(kw[:, j].sum()))
        old = estimate.model_only_estimate(P[:, j], alpha=alpha, calib_p=cp, calib_y=cy, seed=0)
        T = int(Y[:, j].sum())
        out[t] = {"true": T, "sum_prob": round(e.point, 2), "range": [e.lower, e.upper], "covered": e.covers(T),
                  "range_without_voice_term": [old.lower, old.upper], "covered_without_voice_term": old.covers(T),
                  "familiarity": round(fam, 3), "flag": checks["flag"], "reasons": checks["reasons"]}
    return out


def range_summary(batches: list[dict]) -> dict:
    """Coverage of the (batch, theme) pairs and how many of the misses a check flagged."""
    pairs = [r for b in batches for r in b.values()]
    if not pairs:
        return {}
    misses = [r for r in pairs if not r["covered"]]
    theme_checks = ("keyword disagreement", "prevalence shift")
    def share(rows, pred):
        return round(float(np.mean([pred(r) for r in rows])), 3) if rows else None
    return {"pairs": len(pairs), "coverage": share(pairs, lambda r: r["covered"]),
            "coverage_without_voice_term": share(pairs, lambda r: r["covered_without_voice_term"]),
            "mean_width": round(float(np.mean([r["range"][1] - r["range"][0] for r in pairs])), 1),
            "mean_width_without_voice_term": round(float(np.mean(
                [r["range_without_voice_term"][1] - r["range_without_voice_term"][0] for r in pairs])), 1),
            "misses": len(misses), "misses_flagged": share(misses, lambda r: r["flag"]),
            "misses_flagged_by_theme_checks": share(misses, lambda r: any(c in r["reasons"] for c in theme_checks)),
            "flag_rate": share(pairs, lambda r: r["flag"]),
            "flag_rate_theme_checks": share(pairs, lambda r: any(c in r["reasons"] for c in theme_checks))}


def print_range_summary(title: str, s: dict) -> None:
    if not s:
        return
    print(f"\n{title}: {s['pairs']} (voice, theme) pairs; the range contains the true count for "
          f"{s['coverage']:.1%} (without the between-voice term {s['coverage_without_voice_term']:.1%}); mean width "
          f"{s['mean_width']} (was {s['mean_width_without_voice_term']}).")
    if s["misses"]:
        print(f"  {s['misses']} misses, flagged 'audit before using' in {s['misses_flagged']:.0%} "
              f"(by the theme checks alone, keyword disagreement or prevalence shift: "
              f"{s['misses_flagged_by_theme_checks']:.0%}); flag raised on {s['flag_rate']:.0%} of all pairs "
              f"({s['flag_rate_theme_checks']:.0%} by the theme checks).")


def _record_on_card(model, locked: dict, lovo: dict) -> None:
    """Write the locked-test result and the leave-one-voice-out summary onto the release model's
    card (JSON and Markdown). The card is not part of the model's hash check."""
    from rhi_nlp.files import write_bytes
    from rhi_nlp.training import model_card_markdown

    card = model.card
    card["locked_test"] = locked
    card["leave_one_voice_out"] = lovo
    # models are built on each machine, not committed: keep the release's figures in the repository
    results = ROOT / "benchmarks" / "results" / f"release-{card['versions']['rhi_nlp']}-{card['model_sha256'][:12]}.json"
    results.parent.mkdir(exist_ok=True)
    results.write_text(json.dumps({"model_sha256": card["model_sha256"], "leave_one_voice_out": lovo,
                                   "locked_test": locked}, indent=2) + "\n")
    print(f"Release figures kept in {results.relative_to(ROOT)}")
    write_bytes(model.path / "model_card.json", (json.dumps(card, indent=2) + "\n").encode("utf-8"))
    write_bytes(model.path / "model_card.md", model_card_markdown(card).encode("utf-8"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--no-generated", action="store_true", help="train on the independent voices only")
    ap.add_argument("--voices", default=None, help="comma-separated subset of voices to hold out")
    ap.add_argument("--locked", action="store_true", help="also score the locked test set (once per release)")
    ap.add_argument("--params", default="{}", help="ThemeClassifier parameters as JSON, e.g. '{\"C\": 2}'")
    ap.add_argument("--generated-weight", type=float, default=1.0, help="sample weight of generated narratives")
    ap.add_argument("--no-groups", action="store_true", help="calibrate on random folds, not folds by voice")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--reuse-lovo", default=None,
                    help="take the leave-one-voice-out result from this JSON (a run of the same configuration)")
    args = ap.parse_args()
    params = json.loads(args.params)
    t0 = time.time()
    themes = load_themes()
    ids = tuple(t.id for t in themes)
    nlp = build_pipeline()
    _, itexts, IY = load_labelled([INDEPENDENT], ids)
    voices = _voices(INDEPENDENT, len(IY))
    irecs = records_for(itexts, ids, nlp)
    if args.no_generated:
        grecs, gtexts, GY, gstyle = [], [], np.zeros((0, len(ids)), int), np.array([], dtype=object)
    else:
        import pandas as pd

        _, gtexts, GY = load_labelled([GENERATED], ids)
        grecs = records_for(gtexts, ids, nlp)
        gstyle = ("generated:" + pd.read_csv(GENERATED, dtype=str, keep_default_na=False)["style"]).to_numpy()

    def fit(recs, Y, groups, n_gen):
        w = np.r_[np.full(n_gen, args.generated_weight), np.ones(len(Y) - n_gen)]
        return ThemeClassifier(**params).fit(recs, Y, theme_ids=ids, groups=None if args.no_groups else groups,
                                             sample_weight=w)
    print(f"records built in {time.time() - t0:.0f} s: {len(grecs)} generated, {len(irecs)} independent "
          f"in {len(set(voices))} voices")
    held = sorted(set(voices)) if not args.voices else args.voices.split(",")
    if args.reuse_lovo:
        held = []  # computed earlier for this configuration: read below

    unions = load_unions()

    def one_voice(v):
        te = voices == v
        tr_recs = grecs + [r for r, keep in zip(irecs, ~te) if keep]
        tr_texts = list(gtexts) + [t for t, keep in zip(itexts, ~te) if keep]
        groups = np.r_[gstyle, voices[~te]]
        clf = fit(tr_recs, np.vstack([GY, IY[~te]]), groups, len(grecs))
        te_recs = [r for r, keep in zip(irecs, te) if keep]
        P = clf.predict_proba(te_recs)
        # model-only ranges for the held-out voice, as `estimate` makes them (issue 12)
        prof = transfer.from_training(clf, tr_recs, tr_texts, groups, themes, unions)
        ranges = model_only_ranges(clf, prof, te_recs, [t for t, keep in zip(itexts, te) if keep], IY[te], themes)
        return v, P, clf.thresholds_, ranges

    from joblib import Parallel, delayed

    per_voice = {}
    for v, P, thresholds, ranges in Parallel(n_jobs=args.jobs)(delayed(one_voice)(v) for v in held):
        te = voices == v
        ours, kw = _score(IY[te], P, thresholds, ids, [t for t, keep in zip(itexts, te) if keep], themes)
        per_voice[v] = {"n": int(te.sum()), "macro_f1": ours["macro_f1"], "keyword_macro_f1": kw["macro_f1"],
                        "ece": ours["ece"], "themes": {t: {"f1": ours["themes"][t]["f1"], "kw_f1": kw["themes"][t]["f1"],
                                                           "support": ours["themes"][t]["support"],
                                                           "count_ratio": ours["themes"][t]["count_ratio"]}
                                                       for t in ids},
                        "model_only_ranges": ranges}
        print(f"  {v:<16} n={te.sum():4d}  macro-F1 {ours['macro_f1']:.3f}  keywords {kw['macro_f1']:.3f}  "
              f"ECE {ours['ece']:.3f}  ({time.time() - t0:.0f} s)", flush=True)
    if args.reuse_lovo:
        prior = json.loads(Path(args.reuse_lovo).read_text())
        per_voice = prior["leave_one_voice_out"]["voices"]
        held = sorted(per_voice)
        print(f"leave-one-voice-out result reused from {args.reuse_lovo} (config {prior.get('config')})")
    theme_f1 = {t: float(np.mean([per_voice[v]["themes"][t]["f1"] for v in held])) for t in ids}
    theme_kw = {t: float(np.mean([per_voice[v]["themes"][t]["kw_f1"] for v in held])) for t in ids}
    ratios = {t: [per_voice[v]["themes"][t]["count_ratio"] for v in held if per_voice[v]["themes"][t]["count_ratio"]]
              for t in ids}
    summary = {
        "mean_macro_f1": round(float(np.mean([per_voice[v]["macro_f1"] for v in held])), 4),
        "mean_keyword_macro_f1": round(float(np.mean([per_voice[v]["keyword_macro_f1"] for v in held])), 4),
        "min_voice": min(held, key=lambda v: per_voice[v]["macro_f1"]),
        "theme_f1": {t: round(theme_f1[t], 4) for t in ids},
        "theme_keyword_f1": {t: round(theme_kw[t], 4) for t in ids},
        "count_ratio_mean": {t: round(float(np.mean(r)), 3) for t, r in ratios.items()},
        "count_ratio_sd_between_voices": {t: round(float(np.std(r, ddof=1)), 3) for t, r in ratios.items() if len(r) > 1},
    }
    summary["model_only_ranges"] = range_summary([per_voice[v].get("model_only_ranges", {}) for v in held])
    print(f"\nLeave-one-voice-out ({len(held)} voices, trained {'without' if args.no_generated else 'with'} the "
          f"generated corpus): mean macro-F1 {summary['mean_macro_f1']:.3f} (keywords "
          f"{summary['mean_keyword_macro_f1']:.3f}); lowest voice {summary['min_voice']} "
          f"{per_voice[summary['min_voice']]['macro_f1']:.3f}")
    print(f"{'theme':<24}{'F1':>7}{'kw F1':>8}{'margin':>8}{'count ratio':>13}{'sd':>6}")
    for t in ids:
        print(f"{t:<24}{theme_f1[t]:>7.3f}{theme_kw[t]:>8.3f}{theme_f1[t] - theme_kw[t]:>+8.3f}"
              f"{summary['count_ratio_mean'][t]:>13.2f}{summary['count_ratio_sd_between_voices'].get(t, 0):>6.2f}")
    print_range_summary("Leave-one-voice-out model-only ranges", summary["model_only_ranges"])
    result = {"config": {"params": params, "generated": not args.no_generated,
                         "generated_weight": args.generated_weight, "groups": not args.no_groups},
              "leave_one_voice_out": {"summary": summary, "voices": per_voice}}
    if not args.voices:
        release = (json.loads(args.params) in ({}, {"C": ThemeClassifier().C}) and not args.no_generated
                   and args.generated_weight == 1.0 and not args.no_groups)
        if release:
            # the release model: models/default, trained by `make model` with the same settings
            from rhi_nlp.paths import default_model_dir
            from rhi_nlp.persistence import load_model

            model = load_model(default_model_dir())
            clf = model.classifier
            print(f"\nReal-world and locked figures from the release model {default_model_dir()}")
        else:
            clf = fit(grecs + irecs, np.vstack([GY, IY]), np.r_[gstyle, voices], len(grecs))
        _, rtexts, RY = load_labelled([REALWORLD], ids, allow_uncertain=True)
        P = clf.predict_proba(records_for(rtexts, ids, nlp))
        ours, kw = _score(RY, P, clf.thresholds_, ids, rtexts, themes)
        result["realworld"] = {"n": len(RY), "macro_f1": ours["macro_f1"], "keyword_macro_f1": kw["macro_f1"],
                               "themes": {t: {"f1": ours["themes"][t]["f1"], "kw_f1": kw["themes"][t]["f1"],
                                              "support": ours["themes"][t]["support"]} for t in ids}}
        print(f"\nReal-world check ({len(RY)} paraphrased published cases; uncertain themes skipped): macro-F1 "
              f"{ours['macro_f1']:.3f}, keywords {kw['macro_f1']:.3f} (margin {ours['macro_f1'] - kw['macro_f1']:+.3f})")
        for t in ids:
            m = ours["themes"][t]
            print(f"  {t:<24} F1 {m['f1']:.3f}  kw {kw['themes'][t]['f1']:.3f}  positives {m['support']}")
        if args.locked:
            if not release:
                raise SystemExit("--locked scores the release model only: run it without --params or other options")
            _, ltexts, LY = load_labelled([LOCKED], ids)
            P = clf.predict_proba(records_for(ltexts, ids, nlp))
            ours, kw = _score(LY, P, clf.thresholds_, ids, ltexts, themes)
            locked = {"file": LOCKED.name, "n": len(LY), "voices": sorted(set(_voices(LOCKED, len(LY)))),
                      "macro_f1": ours["macro_f1"], "keyword_macro_f1": kw["macro_f1"], "ece": ours["ece"],
                      "themes": {t: {**ours["themes"][t], "kw_f1": kw["themes"][t]["f1"]} for t in ids},
                      "calibration": ours["calibration"],
                      "scored_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
            lrecs = records_for(ltexts, ids, nlp)
            lvoices = _voices(LOCKED, len(LY))
            prof = model.card.get("transfer")
            if prof is None:
                raise SystemExit("the release model's card has no transfer profile: retrain it (make model)")
            locked["model_only_ranges"] = range_summary([
                model_only_ranges(clf, prof, [r for r, k in zip(lrecs, lvoices == lv) if k],
                                  [t for t, k in zip(ltexts, lvoices == lv) if k], LY[lvoices == lv], themes)
                for lv in sorted(set(lvoices))])
            result["locked"] = locked
            _record_on_card(model, locked, summary)
            print_range_summary("LOCKED test set model-only ranges (per locked voice)", locked["model_only_ranges"])
            print(f"\nLOCKED test set ({len(LY)} narratives, {len(locked['voices'])} voices never trained or tuned on): "
                  f"macro-F1 {ours['macro_f1']:.3f} (keywords {kw['macro_f1']:.3f}); ECE {ours['ece']:.3f}")
            for t in ids:
                m = ours["themes"][t]
                print(f"  {t:<24} F1 {m['f1']:.3f}  count ratio {m['count_ratio']:.2f}  (kw {kw['themes'][t]['f1']:.3f})")
            print(f"Recorded on the model card: {model.path / 'model_card.json'}")
    OUT.mkdir(exist_ok=True)
    name = "generalisation.json" if not args.voices and args.params == "{}" else "generalisation_experiment.json"
    (OUT / name).write_text(json.dumps(result, indent=2) + "\n")
    print(f"\n{time.time() - t0:.0f} s; figures in bench_output/generalisation.json")


if __name__ == "__main__":
    main()
