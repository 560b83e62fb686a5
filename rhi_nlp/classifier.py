"""The per-theme classifier: context-marked n-grams plus context-aware cue counts, logistic
regression, cross-fitted isotonic calibration and a threshold per theme chosen out of fold."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

from .errors import InputError, NotFittedError
from .features import DocRecord
from .ngrams import fast_transform, word_counter


def _best_threshold(p: np.ndarray, y: np.ndarray) -> float:
    best, best_f1 = 0.5, -1.0
    for t in np.arange(0.05, 0.951, 0.025):
        pred = p >= t
        tp = float(np.sum(pred & (y == 1)))
        fp = float(np.sum(pred & (y == 0)))
        fn = float(np.sum(~pred & (y == 1)))
        f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
        if f1 > best_f1 + 1e-9:
            best, best_f1 = float(t), f1
    return round(best, 3)


VECTORIZER_PARAMS = {"token_pattern": r"\S+", "lowercase": False, "ngram_range": (1, 2),
                     "sublinear_tf": True, "dtype": np.float64}


# Character n-grams within words: robust to typos, dialect spellings and dictation errors.
CHAR_VECTORIZER_PARAMS = {"analyzer": "char_wb", "lowercase": False, "ngram_range": (3, 5),
                          "sublinear_tf": True, "dtype": np.float64}


def _vectorizer(min_df: int, vocabulary: dict | None = None, idf: np.ndarray | None = None, *,
                char: bool = False) -> TfidfVectorizer:
    params = CHAR_VECTORIZER_PARAMS if char else VECTORIZER_PARAMS
    vec = TfidfVectorizer(min_df=min_df, vocabulary=vocabulary, **params)
    if idf is not None:
        vec.idf_ = idf
    return vec


def _terms(vec: TfidfVectorizer) -> list[str]:
    terms = [""] * len(vec.vocabulary_)
    for term, k in vec.vocabulary_.items():
        terms[k] = term
    return terms


class ThemeClassifier(ClassifierMixin, BaseEstimator):
    """Multi-label theme classifier over :class:`DocRecord` inputs.

    Parameters
    ----------
    C : float
        Inverse regularisation strength of each theme's logistic regression. 1024 was chosen by
        leave-one-voice-out F1 over the independent corpus (1, 4, 16, 64, 256, 1024 compared;
        weaker regularisation generalised better across voices), never on the locked test set.
    n_folds : int
        Folds for the out-of-fold scores that fit the calibrators and choose thresholds.
    min_df : int
        Minimum document frequency of an n-gram.
    random_state : int
        Seed for the fold split (training is deterministic for a fixed seed).
    char_ngrams : bool
        Add character 3-5-grams within words (robust to spelling) to the word n-grams.
    """

    def __init__(self, *, C: float = 1024.0, n_folds: int = 5, min_df: int = 2, random_state: int = 0,
                 char_ngrams: bool = False):
        self.C = C
        self.n_folds = n_folds
        self.min_df = min_df
        self.random_state = random_state
        self.char_ngrams = char_ngrams

    # -- features -------------------------------------------------------------------------
    def _design(self, texts: Sequence[str], cues: np.ndarray) -> sparse.csr_matrix:
        blocks = [fast_transform(self.vectorizer_, texts)]
        if self.char_vectorizer_ is not None:
            blocks.append(self.char_vectorizer_.transform(texts))
        blocks.append(sparse.csr_matrix(np.log1p(cues)))
        return sparse.hstack(blocks, format="csr")

    def _design_from_counts(self, counts: sparse.csr_matrix, cues: np.ndarray) -> sparse.csr_matrix:
        """:meth:`_design` from the word vectorizer's count matrix (no character n-grams)."""
        return sparse.hstack([self.vectorizer_._tfidf.transform(counts, copy=False),
                              sparse.csr_matrix(np.log1p(cues))], format="csr")

    def _cue_matrix(self, records: Sequence[DocRecord]) -> np.ndarray:
        """Each record's cue counts summed over its sentences, one row per record."""
        return np.vstack([r.cue_vector() for r in records]) if records else np.zeros((0, self.n_cue_))

    def _doc_matrix(self, records: Sequence[DocRecord]) -> sparse.csr_matrix:
        return self._design([r.text for r in records], self._cue_matrix(records))

    def _sentence_matrix(self, records: Sequence[DocRecord]) -> sparse.csr_matrix:
        """One row per sentence of the records, in order."""
        return self._design([m for r in records for m in r.marked], np.vstack([r.cues for r in records]))

    def _new_lr(self) -> LogisticRegression:
        return LogisticRegression(C=self.C, solver="liblinear", max_iter=1000)

    # -- estimator API ---------------------------------------------------------------------
    def fit(self, records: Sequence[DocRecord], Y: np.ndarray, *, theme_ids: Sequence[str],
            groups: Sequence[str] | None = None, sample_weight: np.ndarray | None = None,
            progress: Callable[[int], None] | None = None) -> "ThemeClassifier":
        """Fit one logistic regression per theme. ``groups`` (e.g. the voice or source of each
        narrative): out-of-fold scores, and so the calibration and thresholds, come from folds
        that keep a group together, i.e. from writing the fold's model did not see."""
        Y = np.asarray(Y, dtype=int)
        if Y.ndim != 2 or Y.shape != (len(records), len(theme_ids)):
            raise InputError(f"labels must have shape ({len(records)}, {len(theme_ids)}), got {Y.shape}")
        for j, t in enumerate(theme_ids):
            pos = int(Y[:, j].sum())
            if pos < self.n_folds or len(Y) - pos < self.n_folds:
                raise InputError(f"theme {t!r} has {pos} positive and {len(Y) - pos} negative labelled "
                                 f"narratives; at least {self.n_folds} of each are needed to train")
        self.theme_ids_ = tuple(theme_ids)
        self.n_cue_ = records[0].cues.shape[1]
        texts = [r.text for r in records]
        self.vectorizer_ = _vectorizer(self.min_df).fit(texts)
        self.char_vectorizer_ = _vectorizer(max(self.min_df, 3), char=True).fit(texts) if self.char_ngrams else None
        w = None if sample_weight is None else np.asarray(sample_weight, float)
        X = self._doc_matrix(records)
        n, T = Y.shape
        self.oof_scores_ = np.zeros((n, T))
        coefs, intercepts, self.calibration_, self.thresholds_ = [], [], [], []
        for j in range(T):
            y = Y[:, j]
            if groups is None:
                splits = StratifiedKFold(self.n_folds, shuffle=True, random_state=self.random_state).split(X, y)
            else:
                splits = StratifiedGroupKFold(self.n_folds, shuffle=True, random_state=self.random_state).split(
                    X, y, np.asarray(groups))
            fold_models = []
            for tr, te in splits:
                lr = self._new_lr().fit(X[tr], y[tr], sample_weight=None if w is None else w[tr])
                self.oof_scores_[te, j] = lr.decision_function(X[te])
                fold_models.append(lr)
            cal = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
            cal.fit(self.oof_scores_[:, j], y)
            self.calibration_.append((np.asarray(cal.X_thresholds_, float), np.asarray(cal.y_thresholds_, float)))
            self.thresholds_.append(_best_threshold(self.calibrate(j, self.oof_scores_[:, j]), y))
            # Score new text with the average of the fold models: its scores are on the scale of
            # the out-of-fold scores the calibrator was fitted on (a model refitted on all data is
            # more confident, which would skew the calibration).
            coefs.append(np.mean([m.coef_[0] for m in fold_models], axis=0))
            intercepts.append(float(np.mean([m.intercept_[0] for m in fold_models])))
            if progress:
                progress(1)
        self.coef_ = np.vstack(coefs)
        self.intercept_ = np.asarray(intercepts)
        self.oof_labels_ = Y.copy()
        self.classes_ = np.array([0, 1])
        return self

    def calibrate(self, theme_index: int, scores: np.ndarray) -> np.ndarray:
        """Calibrated probabilities from raw scores (the isotonic fit, clipped at its ends)."""
        x, y = self.calibration_[theme_index]
        return np.interp(np.asarray(scores, float), x, y)

    def _check_fitted(self) -> None:
        if not hasattr(self, "coef_"):
            raise NotFittedError("this ThemeClassifier is not trained yet; call fit() or load a model")

    def decision_function(self, records: Sequence[DocRecord]) -> np.ndarray:
        self._check_fitted()
        if not records:
            return np.zeros((0, len(self.theme_ids_)))
        X = self._doc_matrix(records)
        return np.asarray(X @ self.coef_.T) + self.intercept_

    def predict_proba(self, records: Sequence[DocRecord]) -> np.ndarray:
        """Calibrated probability per theme, shape (n, n_themes)."""
        scores = self.decision_function(records)
        if not len(scores):
            return scores
        return self._calibrated(scores)

    def _calibrated(self, scores: np.ndarray) -> np.ndarray:
        return np.column_stack([self.calibrate(j, scores[:, j]) for j in range(len(self.theme_ids_))])

    def tag_batch(self, records: Sequence[DocRecord], scored: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, list[list[int | None]], np.ndarray]:
        """What the tagger needs for a batch, equal to separate calls but with every word split
        and looked up once: (probabilities, 0/1 flags, the evidence sentence per record and theme
        as :meth:`evidence_batch` gives it, familiarity as :func:`rhi_nlp.familiarity.familiarity`
        gives it). Records where ``scored`` is false (empty narratives) get probability 0."""
        from .familiarity import familiarity

        self._check_fitted()
        counter = None if self.char_vectorizer_ is not None else word_counter(self.vectorizer_)
        # None: a vectorizer the shared counter does not cover, so each step featurises the text itself
        batch = None if counter is None else counter.batch([r.marked for r in records])
        T = len(self.theme_ids_)
        probs = np.zeros((len(records), T))
        keep = np.flatnonzero(np.asarray(scored, bool))
        if len(keep):
            kept = [records[i] for i in keep]
            X = (self._doc_matrix(kept) if batch is None
                 else self._design_from_counts(batch.doc_counts()[keep], self._cue_matrix(kept)))
            probs[keep] = self._calibrated(np.asarray(X @ self.coef_.T) + self.intercept_)
        flags = (probs >= np.asarray(self.thresholds_)).astype(int)
        if batch is None:
            return probs, flags, self.evidence_batch(records, flags), familiarity(
                [r.text for r in records], self.vectorizer_.vocabulary_)

        def sentence_matrix(wanted: list[int]) -> sparse.csr_matrix:
            off = batch.sentence_offsets
            rows = np.concatenate([np.arange(off[i], off[i + 1]) for i in wanted])
            return self._design_from_counts(batch.sentence_counts()[rows], np.vstack([records[i].cues for i in wanted]))

        best = self._best_sentences(records, flags, list(range(T)), sentence_matrix)
        return probs, flags, best, batch.known_pair_share()

    def predict(self, records: Sequence[DocRecord]) -> np.ndarray:
        return (self.predict_proba(records) >= np.asarray(self.thresholds_)).astype(int)

    def evidence(self, record: DocRecord, theme_index: int) -> int | None:
        """Index of the sentence that best supports a theme (None if the narrative is empty)."""
        return self.evidence_batch([record], np.array([[True]]), [theme_index])[0][0]

    def evidence_batch(self, records: Sequence[DocRecord], flags: np.ndarray,
                       theme_indices: Sequence[int] | None = None) -> list[list[int | None]]:
        """For each record and theme, the index of the best supporting sentence where ``flags``
        is true (else None). All the sentences involved are featurised in one pass."""
        self._check_fitted()
        cols = list(range(len(self.theme_ids_))) if theme_indices is None else list(theme_indices)
        return self._best_sentences(records, flags, cols,
                                    lambda wanted: self._sentence_matrix([records[i] for i in wanted]))

    def _best_sentences(self, records: Sequence[DocRecord], flags: np.ndarray, cols: list[int],
                        sentence_matrix: Callable[[list[int]], sparse.csr_matrix]) -> list[list[int | None]]:
        """:meth:`evidence_batch`, with ``sentence_matrix(wanted)`` the design rows of the sentences
        of the records at those positions."""
        flags = np.asarray(flags, bool)
        wanted = [i for i, r in enumerate(records) if r.marked and flags[i].any()]
        out: list[list[int | None]] = [[None] * len(cols) for _ in records]
        if not wanted:
            return out
        S = np.asarray(sentence_matrix(wanted) @ self.coef_[cols].T)
        start = 0
        for i in wanted:
            n = len(records[i].marked)
            block = S[start:start + n]
            for c in range(len(cols)):
                if flags[i, c]:
                    out[i][c] = int(np.argmax(block[:, c]))
            start += n
        return out

    # -- storage as plain arrays (no pickles: loading cannot run code) ----------------------
    def to_arrays(self) -> tuple[dict, dict[str, np.ndarray]]:
        """(JSON-able metadata, named numeric arrays) that :meth:`from_arrays` restores exactly."""
        self._check_fitted()
        knots = [len(x) for x, _ in self.calibration_]
        meta = {"theme_ids": list(self.theme_ids_), "params": self.get_params(), "n_cue": int(self.n_cue_),
                "vocabulary": _terms(self.vectorizer_), "thresholds": [float(t) for t in self.thresholds_],
                "calibration_knots": knots}
        arrays = {"idf": np.asarray(self.vectorizer_.idf_, float), "coef": self.coef_, "intercept": self.intercept_,
                  "calibration_x": np.concatenate([x for x, _ in self.calibration_]),
                  "calibration_y": np.concatenate([y for _, y in self.calibration_]),
                  "oof_scores": self.oof_scores_, "oof_labels": self.oof_labels_.astype(np.int8)}
        if self.char_vectorizer_ is not None:
            meta["char_vocabulary"] = _terms(self.char_vectorizer_)
            arrays["char_idf"] = np.asarray(self.char_vectorizer_.idf_, float)
        return meta, arrays

    @classmethod
    def from_arrays(cls, meta: dict, arrays: dict[str, np.ndarray]) -> "ThemeClassifier":
        clf = cls(**meta["params"])
        clf.theme_ids_ = tuple(meta["theme_ids"])
        clf.n_cue_ = int(meta["n_cue"])
        vocab = {term: k for k, term in enumerate(meta["vocabulary"])}
        clf.vectorizer_ = _vectorizer(clf.min_df, vocabulary=vocab, idf=np.asarray(arrays["idf"], float))
        clf.char_vectorizer_ = None
        if clf.char_ngrams:
            cvocab = {term: k for k, term in enumerate(meta["char_vocabulary"])}
            clf.char_vectorizer_ = _vectorizer(3, vocabulary=cvocab, idf=np.asarray(arrays["char_idf"], float), char=True)
        clf.coef_ = np.asarray(arrays["coef"], float)
        clf.intercept_ = np.asarray(arrays["intercept"], float)
        cuts = np.cumsum([0] + list(meta["calibration_knots"]))
        cx, cy = np.asarray(arrays["calibration_x"], float), np.asarray(arrays["calibration_y"], float)
        clf.calibration_ = [(cx[a:b], cy[a:b]) for a, b in zip(cuts[:-1], cuts[1:])]
        clf.thresholds_ = [float(t) for t in meta["thresholds"]]
        clf.oof_scores_ = np.asarray(arrays["oof_scores"], float)
        clf.oof_labels_ = np.asarray(arrays["oof_labels"], int)
        clf.classes_ = np.array([0, 1])
        T = len(clf.theme_ids_)
        F = len(vocab) + clf.n_cue_ + (len(clf.char_vectorizer_.vocabulary_) if clf.char_vectorizer_ else 0)
        if clf.coef_.shape != (T, F) or clf.intercept_.shape != (T,) or len(clf.calibration_) != T:
            raise ValueError("array shapes do not match the metadata")
        return clf
