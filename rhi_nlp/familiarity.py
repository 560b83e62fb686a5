"""How familiar a narrative's wording is to a model: the share of its distinct word pairs (in the
context-marked token strings the classifier reads) that at least two of the model's training
narratives used, i.e. that are in the classifier's vocabulary.

Writing in a voice the model learned from scores high (about 0.9 on the generated corpus); a voice
it never saw scores lower (about 0.6-0.8), and that is where model-only counts move most. The
per-row figure is a column of the tagged file; :mod:`rhi_nlp.transfer` turns the batch's mean into
the width a model-only range needs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
from scipy import sparse

COLUMN = "text_familiarity"


def word_pairs(marked: str) -> set[str]:
    """Distinct adjacent token pairs, spelled as the classifier's bigram vocabulary spells them."""
    tok = marked.split()
    return {f"{a} {b}" for a, b in zip(tok, tok[1:])}


def familiarity(marked_texts: Iterable[str], vocabulary: Mapping[str, int]) -> np.ndarray:
    """Per text, the share of its word pairs in ``vocabulary`` (NaN for a text of under two words)."""
    out = []
    for text in marked_texts:
        pairs = word_pairs(text)
        out.append(sum(p in vocabulary for p in pairs) / len(pairs) if pairs else np.nan)
    return np.asarray(out, float)


def group_out_familiarity(marked_texts: Sequence[str], groups: Sequence[str], min_df: int = 2) -> np.ndarray:
    """Per training text, its familiarity to the *other* groups' texts: the share of its word pairs
    used by at least ``min_df`` texts outside its own group (voice or style). This is how familiar
    the group's writing would have looked to a model that never saw it."""
    from sklearn.feature_extraction.text import CountVectorizer

    cv = CountVectorizer(token_pattern=r"\S+", lowercase=False, ngram_range=(2, 2), binary=True, dtype=np.int32)
    try:
        X = sparse.csr_matrix(cv.fit_transform(marked_texts))
    except ValueError:  # no text has two words
        return np.full(len(marked_texts), np.nan)
    df = np.asarray(X.sum(axis=0)).ravel()
    groups = np.asarray(groups)
    n_pairs = np.asarray(X.sum(axis=1)).ravel()
    out = np.full(len(marked_texts), np.nan)
    for g in np.unique(groups):
        rows = np.flatnonzero(groups == g)
        seen = ((df - np.asarray(X[rows].sum(axis=0)).ravel()) >= min_df).astype(float)
        has = n_pairs[rows] > 0
        out[rows[has]] = (X[rows[has]] @ seen) / n_pairs[rows[has]]
    return out

