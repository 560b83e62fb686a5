"""Word unigram and bigram counts against a fixed vocabulary, as scikit-learn counts them.

The classifier's vectorizer splits the context-marked text on whitespace and counts the words and
adjacent word pairs of a fixed vocabulary (``TfidfVectorizer(token_pattern=r"\\S+",
lowercase=False, ngram_range=(1, 2))``). Its generic analyzer builds a string for every pair and
looks it up; here each word is looked up once and a pair is an integer key, which gives the same
count matrix (same values, sorted indices) about twice as fast. The TF-IDF weighting and the norm
are then scikit-learn's own (:meth:`WordBigramCounter.tfidf`), so features stay bit for bit equal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import chain

import numpy as np
import pandas as pd
from scipy import sparse


class WordBigramCounter:
    def __init__(self, vocabulary: Mapping[str, int]):
        word_id: dict[str, int] = {}
        unigrams: list[tuple[int, int]] = []
        pairs: list[tuple[int, int, int]] = []
        for term, k in vocabulary.items():
            parts = term.split(" ")
            if len(parts) == 1:
                unigrams.append((word_id.setdefault(term, len(word_id)), int(k)))
            elif len(parts) == 2 and all(parts):
                pairs.append((word_id.setdefault(parts[0], len(word_id)), word_id.setdefault(parts[1], len(word_id)),
                              int(k)))
            else:
                raise ValueError(f"vocabulary term {k} is not a word or a word pair")
        self.n_features = len(vocabulary)
        self.word_id = word_id
        self.m = m = max(len(word_id), 1)
        self.unigram_feature = np.full(m, -1, dtype=np.int64)   # feature of each word, or -1
        for w, k in unigrams:
            self.unigram_feature[w] = k
        # a hash index (pandas): a whole batch of pairs is looked up in one call
        self.pairs = pd.Index(np.array([a * m + b for a, b, _ in pairs], dtype=np.int64))
        self.pair_feature = np.array([k for _, _, k in pairs], dtype=np.int64)

    def counts(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """Count matrix (float64, sorted indices), equal to CountVectorizer.transform's."""
        split = [t.split() for t in texts]
        lengths = np.fromiter(map(len, split), dtype=np.int64, count=len(split))
        found = np.array(list(map(self.word_id.get, chain.from_iterable(split))), dtype=float)  # None -> nan
        ids = np.where(np.isnan(found), -1, found).astype(np.int64)   # -1: not a vocabulary word
        doc = np.repeat(np.arange(len(texts), dtype=np.int64), lengths)
        known = ids >= 0
        feat = np.where(known, self.unigram_feature[np.where(known, ids, 0)], -1)
        rows, cols = [doc[feat >= 0]], [feat[feat >= 0]]
        if len(ids) > 1 and len(self.pairs):
            a, b = ids[:-1], ids[1:]
            ok = (a >= 0) & (b >= 0) & (doc[:-1] == doc[1:])
            keys = a[ok] * self.m + b[ok]
            pos = self.pairs.get_indexer(keys)
            hit = pos >= 0
            rows.append(doc[:-1][ok][hit])
            cols.append(self.pair_feature[pos[hit]])
        r, c = np.concatenate(rows), np.concatenate(cols)
        X = sparse.csr_matrix((np.ones(len(r), dtype=np.float64), (r, c)), shape=(len(texts), self.n_features))
        X.sum_duplicates()
        X.indices = X.indices.astype(np.int32, copy=False)
        X.indptr = X.indptr.astype(np.int32, copy=False)
        return X


SUPPORTED = {"analyzer": "word", "token_pattern": r"\S+", "lowercase": False, "ngram_range": (1, 2),
             "preprocessor": None, "tokenizer": None, "stop_words": None, "binary": False, "use_idf": True}


def supports(vectorizer) -> bool:
    """True for a fitted TfidfVectorizer configured as the classifier's word vectorizer."""
    params = vectorizer.get_params()
    return all(params.get(k) == v for k, v in SUPPORTED.items()) and hasattr(vectorizer, "_tfidf")


def fast_transform(vectorizer, texts: Sequence[str]) -> sparse.csr_matrix:
    """``vectorizer.transform(texts)`` for the classifier's word vectorizer (see :func:`supports`),
    with the counting done by a cached :class:`WordBigramCounter` and the weighting by the
    vectorizer's own TF-IDF step."""
    if not supports(vectorizer):
        return vectorizer.transform(texts)
    counter = getattr(vectorizer, "_rhi_counter", None)
    if counter is None or counter.n_features != len(vectorizer.vocabulary_):
        counter = WordBigramCounter(vectorizer.vocabulary_)
        vectorizer._rhi_counter = counter
    return vectorizer._tfidf.transform(counter.counts(texts), copy=False)
