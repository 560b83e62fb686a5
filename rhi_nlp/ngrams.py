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
        return self.batch([(t,) for t in texts]).doc_counts()

    def batch(self, sentences: Sequence[Sequence[str]]) -> "WordBatch":
        """A batch of documents, each given as its sentences' token strings (a document's text is
        its sentences joined by spaces), split and looked up once for document- and
        sentence-level counts."""
        return WordBatch(self, sentences)

    def _lookup(self, words: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(vocabulary word id or -1, a code per distinct word in the batch) for each word."""
        codes, uniques = pd.factorize(np.array(words, dtype=object), sort=False)
        found = np.array(list(map(self.word_id.get, uniques)), dtype=float)   # None -> nan
        uid = np.where(np.isnan(found), -1, found).astype(np.int64)
        return uid[codes] if len(codes) else np.zeros(0, np.int64), codes.astype(np.int64)


class WordBatch:
    """Documents split into words once: their count matrix, their sentences' count matrix, and
    the share of each document's distinct word pairs that are in the vocabulary."""

    def __init__(self, counter: WordBigramCounter, sentences: Sequence[Sequence[str]]):
        self.counter = counter
        self.n_docs = len(sentences)
        per_doc = np.fromiter(map(len, sentences), dtype=np.int64, count=len(sentences))
        split = [s.split() for doc in sentences for s in doc]
        self.n_sentences = len(split)
        # first sentence row of each document
        self.sentence_offsets = np.concatenate([[0], np.cumsum(per_doc)])
        lengths = np.fromiter(map(len, split), dtype=np.int64, count=len(split))
        self.ids, self.codes = counter._lookup(list(chain.from_iterable(split)))
        self.sentence = np.repeat(np.arange(len(split), dtype=np.int64), lengths)
        self.doc = np.repeat(np.repeat(np.arange(self.n_docs, dtype=np.int64), per_doc), lengths)
        # every adjacent pair of words within a document, and its feature (-1: not in the vocabulary)
        c = counter
        a, b = self.ids[:-1], self.ids[1:]
        self.pair_doc = (self.doc[:-1] == self.doc[1:]) if len(self.ids) > 1 else np.zeros(0, bool)
        feat = np.full(len(a), -1, dtype=np.int64)
        known = self.pair_doc & (a >= 0) & (b >= 0)
        if known.any() and len(c.pairs):
            pos = c.pairs.get_indexer(a[known] * c.m + b[known])
            feat[np.flatnonzero(known)] = np.where(pos >= 0, c.pair_feature[np.maximum(pos, 0)], -1)
        self.pair_feat = feat
        ids = self.ids
        self.word_feat = np.where(ids >= 0, c.unigram_feature[np.where(ids >= 0, ids, 0)], -1)

    def _matrix(self, row: np.ndarray, pair_ok: np.ndarray, n_rows: int) -> sparse.csr_matrix:
        uni = self.word_feat >= 0
        pair = pair_ok & (self.pair_feat >= 0)
        r = np.concatenate([row[uni], row[:-1][pair]])
        col = np.concatenate([self.word_feat[uni], self.pair_feat[pair]])
        X = sparse.csr_matrix((np.ones(len(r), dtype=np.float64), (r, col)), shape=(n_rows, self.counter.n_features))
        X.sum_duplicates()
        X.indices = X.indices.astype(np.int32, copy=False)
        X.indptr = X.indptr.astype(np.int32, copy=False)
        return X

    def doc_counts(self) -> sparse.csr_matrix:
        """One row per document: CountVectorizer.transform of the sentences joined by spaces."""
        return self._matrix(self.doc, self.pair_doc, self.n_docs)

    def sentence_counts(self) -> sparse.csr_matrix:
        """One row per sentence (documents' sentences in order; see ``sentence_offsets``)."""
        same = (self.sentence[:-1] == self.sentence[1:]) if len(self.ids) > 1 else np.zeros(0, bool)
        return self._matrix(self.sentence, same, self.n_sentences)

    def known_pair_share(self) -> np.ndarray:
        """Per document, the share of its distinct adjacent word pairs that are vocabulary terms
        (:func:`rhi_nlp.familiarity.familiarity`; NaN for a document of under two words)."""
        out = np.full(self.n_docs, np.nan)
        within = np.flatnonzero(self.pair_doc)
        if not len(within):
            return out
        doc = self.doc[within]
        first, second = self.codes[within], self.codes[within + 1]
        order = np.lexsort((second, first, doc))
        doc, first, second = doc[order], first[order], second[order]
        new = np.ones(len(order), dtype=bool)
        new[1:] = (doc[1:] != doc[:-1]) | (first[1:] != first[:-1]) | (second[1:] != second[:-1])
        distinct = np.bincount(doc[new], minlength=self.n_docs)
        hits = np.bincount(doc[new & (self.pair_feat[within][order] >= 0)], minlength=self.n_docs)
        has = distinct > 0
        out[has] = hits[has] / distinct[has]
        return out


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
    counter = word_counter(vectorizer)
    if counter is None:
        return vectorizer.transform(texts)
    return vectorizer._tfidf.transform(counter.counts(texts), copy=False)


def word_counter(vectorizer) -> WordBigramCounter | None:
    """The cached :class:`WordBigramCounter` of a supported vectorizer (see :func:`supports`), else None."""
    if not supports(vectorizer):
        return None
    counter = getattr(vectorizer, "_rhi_counter", None)
    if counter is None or counter.n_features != len(vectorizer.vocabulary_):
        counter = WordBigramCounter(vectorizer.vocabulary_)
        vectorizer._rhi_counter = counter
    return counter
