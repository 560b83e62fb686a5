"""Quality and speed figures for the tagger (run with `make bench`).

1. Per-theme F1 of the default model and of the keyword baseline on the held-out split and on the
   hand-written set (neither used for training or tuning).
2. Calibration on the held-out split: mean predicted vs observed rate per decile band.
3. Generated-vs-hand-written gap: 5-fold cross-validation over the hand-written set; in each fold,
   a model trained on the other hand-written folds and the default model trained only on
   generated text are scored on the same held-out fold.
4. Throughput of `tag` on the demo export.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.model_selection import KFold

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rhi_nlp.classifier import ThemeClassifier  # noqa: E402
from rhi_nlp.metrics import calibration_table, summarise  # noqa: E402
from rhi_nlp.paths import default_model_dir  # noqa: E402
from rhi_nlp.persistence import load_model  # noqa: E402
from rhi_nlp.tagging import tag_file  # noqa: E402
from rhi_nlp.themes import load_themes  # noqa: E402
from rhi_nlp.training import keyword_baseline, load_labelled, records_for  # noqa: E402

HELDOUT = ROOT / "training_data" / "heldout" / "heldout.csv"
HAND = ROOT / "training_data" / "handwritten" / "handwritten.csv"
DEMO = ROOT / "training_data" / "demo" / "northmoor_rhi_2025.csv"


def table(name, ours, kw):
    print(f"\n## {name}: macro-F1 rhi-nlp {ours['macro_f1']:.3f}, keyword baseline {kw['macro_f1']:.3f}")
    print(f"{'theme':<24}{'rhi-nlp F1':>11}{'keyword F1':>11}{'diff':>7}{'pos.':>6}")
    for t, m in ours["themes"].items():
        k = kw["themes"][t]["f1"]
        print(f"{t:<24}{m['f1']:>11.3f}{k:>11.3f}{m['f1'] - k:>+7.3f}{m['support']:>6}")


def _wilson(p: float, n: int, z: float = 1.96) -> tuple[float, float]:
    den = 1 + z * z / n
    c = (p + z * z / (2 * n)) / den
    h = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return c - h, c + h


def main() -> None:
    model = load_model(default_model_dir())
    themes = load_themes()
    ids = model.theme_ids
    for name, path in (("generator's held-out split (optimistic: same generator as part of the training data; "
                        "not a quality figure)", HELDOUT),
                       ("129 older hand-written narratives (one author, not in the independent corpus)", HAND)):
        _, texts, Y = load_labelled([path], ids)
        P = model.classifier.predict_proba(records_for(texts, ids))
        ours = summarise(Y, P, model.classifier.thresholds_, ids)
        kw = summarise(Y, keyword_baseline(texts, themes).astype(float), [0.5] * len(ids), ids)
        table(name, ours, kw)
        if path == HELDOUT:
            print("\nCalibration (all themes pooled), held-out:")
            for row in calibration_table(Y.ravel(), P.ravel()):
                lo, hi = _wilson(row["observed_rate"], row["n"])
                off = abs(row["mean_predicted"] - row["observed_rate"]) > 0.1
                inside = lo <= row["mean_predicted"] <= hi
                flag = "" if not off else ("  <- off by > 0.1 (within the band's 95% interval)" if inside
                                            else "  <- off by > 0.1")
                print(f"  {row['band']}  n={row['n']:>5}  predicted {row['mean_predicted']:.3f}  "
                      f"observed {row['observed_rate']:.3f} (95% {lo:.2f}-{hi:.2f}){flag}")

    # Gap: generated-only model vs a model trained on hand-written text, same test folds.
    _, texts, Y = load_labelled([HAND], ids)
    recs = records_for(texts, ids)
    P_hand = np.zeros(Y.shape)
    folds = KFold(5, shuffle=True, random_state=0)
    for tr, te in folds.split(recs):
        clf = ThemeClassifier(n_folds=2, min_df=1, random_state=0)
        ok = [j for j in range(len(ids)) if Y[tr, j].sum() >= 2 and (len(tr) - Y[tr, j].sum()) >= 2]
        clf.fit([recs[i] for i in tr], Y[tr][:, ok], theme_ids=[ids[j] for j in ok])
        P_hand[np.ix_(te, ok)] = clf.predict_proba([recs[i] for i in te])
        for j in ok:
            P_hand[te, j] = (P_hand[te, j] >= clf.thresholds_[ok.index(j)]).astype(float)
    hand = summarise(Y, P_hand, [0.5] * len(ids), ids)
    P_gen = model.classifier.predict_proba(recs)
    gen = summarise(Y, P_gen, model.classifier.thresholds_, ids)
    print(f"\n## Release model vs a model trained on the older hand-written set itself (5-fold CV, {len(Y)} narratives)")
    print(f"trained on hand-written folds: macro-F1 {hand['macro_f1']:.3f}")
    print(f"release model (generated + independent corpus, never saw these): macro-F1 {gen['macro_f1']:.3f}")
    print(f"gap (hand-written folds minus release model): {hand['macro_f1'] - gen['macro_f1']:+.3f}")

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        s = tag_file(DEMO, Path(tmp) / "out.csv", model, id_col="rhi_id")
        dt = time.perf_counter() - t0
    print(f"\n## Throughput: tagged {s.n_rows} demo narratives in {dt:.1f} s ({s.n_rows / dt:.0f} per second, 1 process)")
    memory_check()


def memory_check() -> None:
    """Peak memory of `rhi-nlp tag` on 2,000 and 20,000 rows (demo narratives repeated)."""
    import pandas as pd
    import subprocess

    demo = pd.read_csv(DEMO, dtype=str, keep_default_na=False)
    print("\n## Memory: peak RSS of `rhi-nlp tag` by input length")
    with tempfile.TemporaryDirectory() as tmp:
        for n in (2000, 20000):
            big = pd.concat([demo] * (n // len(demo) + 1)).head(n).copy()
            big["rhi_id"] = [f"X{i}" for i in range(n)]
            src = Path(tmp) / f"in{n}.csv"
            big.to_csv(src, index=False)
            code = ("import resource,sys; from rhi_nlp.cli import main; sys.argv=['rhi-nlp','tag',sys.argv[1],'-o',"
                    "sys.argv[2],'--id-col','rhi_id','--quiet']\ntry: main()\nexcept SystemExit: pass\n"
                    "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
            t0 = time.perf_counter()
            out = subprocess.run([sys.executable, "-c", code, str(src), str(Path(tmp) / f"out{n}.csv")],
                                 capture_output=True, text=True, check=True, cwd=ROOT)
            rss = int(out.stdout.strip().splitlines()[-1]) / 1024
            print(f"{n:>7} rows: peak {rss:.0f} MB, {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
