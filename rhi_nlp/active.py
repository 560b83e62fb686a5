"""Training samples (active learning): the narratives whose labels would teach the model most.

Not an audit: the narratives are chosen for what the model does not know, so they say nothing
about the file as a whole. The file is marked ``sample_purpose = training`` and ``estimate``
refuses it as an audit.

Design ``uncertain``: the narratives with the largest uncertainty score, where a narrative's score
is its most uncertain theme (probability nearest 0.5, as min(p, 1 - p)) plus a tenth of the summed
uncertainty over all themes, so that narratives several themes are unsure about come first
(uncertainty sampling, Lewis & Gale 1994). A fifth of the sample is drawn at random from the rest,
so the labels also show the model's confident mistakes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .errors import InputError
from .files import same_file
from .foi import load_tagged
from .io import write_table
from .labels import PURPOSE_COL

RANDOM_SHARE = 0.2


def uncertainty(probs: np.ndarray) -> np.ndarray:
    u = np.minimum(probs, 1 - probs)
    return u.max(axis=1) + 0.1 * u.sum(axis=1)


def draw_training_sample(tagged_path: str | Path, output: str | Path, *, size: int, seed: int = 0,
                         id_col: str = "id", text_col: str = "narrative") -> dict:
    if same_file(tagged_path, output):
        raise InputError(f"{output}: the sample must not overwrite its input file")
    tagged = load_tagged(tagged_path, id_col=id_col)
    if text_col not in tagged.df.columns:
        raise InputError(f"{tagged_path}: column {text_col!r} not found; pass --text-col")
    rec = tagged.recorded.reset_index(drop=True)
    if not 1 <= size <= len(rec):
        raise InputError(f"--size must be between 1 and {len(rec)} (the recorded narratives)")
    probs = rec[[f"{t}_prob" for t in tagged.theme_ids]].to_numpy(float)
    score = uncertainty(probs)
    n_random = int(round(size * RANDOM_SHARE)) if size >= 5 else 0
    order = np.argsort(-score, kind="stable")
    chosen = list(order[: size - n_random])
    rest = np.setdiff1d(np.arange(len(rec)), chosen)
    rng = np.random.default_rng(seed)
    chosen += list(rng.choice(rest, size=n_random, replace=False)) if n_random else []
    rng.shuffle(chosen)  # the order shows nothing of the model's view
    out = pd.DataFrame({"id": rec.loc[chosen, id_col].astype(str).to_numpy(),
                        text_col: rec.loc[chosen, text_col].to_numpy()})
    if text_col != "narrative":
        out = out.rename(columns={text_col: "narrative"})
    for t in tagged.theme_ids:
        out[t] = ""
    out[PURPOSE_COL] = "training"
    out["sample_design"] = "uncertain"
    out["sample_source"] = Path(tagged_path).name
    write_table(out, output, excel_safe=True)  # opened in Excel, no cell may run as a formula
    return {"rows": len(out), "uncertain": size - n_random, "random": n_random, "population": len(rec),
            "output": str(output)}
