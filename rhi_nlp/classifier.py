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
from sklearn.model_selection import StratifiedKFold

from .errors import InputError, NotFittedError
from .features import DocRecord


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


def _average_linear(models: list[LogisticRegression]) -> LogisticRegression:
    avg = LogisticRegression(C=models[0].C, solver=models[0].solver)
    avg.coef_ = np.mean([m.coef_ for m in models], axis=0)
    avg.intercept_ = np.mean([m.intercept_ for m in models], axis=0)
    avg.classes_ = models[0].classes_
    avg.n_features_in_ = models[0].n_features_in_
    return avg


class ThemeClassifier(ClassifierMixin, BaseEstimator):
    """Multi-label theme classifier over :class:`DocRecord` inputs.

    Parameters
    ----------
    C : float
        Inverse regularisation strength of each theme's logistic regression.
    n_folds : int
        Folds for the out-of-fold scores that fit the calibrators and choose thresholds.
    min_df : int
        Minimum document frequency of an n-gram.
    random_state : int
        Seed for the fold split (training is deterministic for a fixed seed).
    """

    def __init__(self, *, C: float = 4.0, n_folds: int = 5, min_df: int = 2, random_state: int = 0):
        self.C = C
        self.n_folds = n_folds
        self.min_df = min_df
        self.random_state = random_state

    # -- features -------------------------------------------------------------------------
    def _design(self, texts: Sequence[str], cues: np.ndarray) -> sparse.csr_matrix:
        return sparse.hstack([self.vectorizer_.transform(texts),
                              sparse.csr_matrix(np.log1p(cues))], format="csr")

    def _doc_matrix(self, records: Sequence[DocRecord]) -> sparse.csr_matrix:
        cues = np.vstack([r.cue_vector() for r in records]) if records else np.zeros((0, self.n_cue_))
        return self._design([r.text for r in records], cues)

    def _new_lr(self) -> LogisticRegression:
        return LogisticRegression(C=self.C, solver="liblinear", max_iter=1000)

    # -- estimator API ---------------------------------------------------------------------
    def fit(self, records: Sequence[DocRecord], Y: np.ndarray, *, theme_ids: Sequence[str],
            progress: Callable[[int], None] | None = None) -> "ThemeClassifier":
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
        self.vectorizer_ = TfidfVectorizer(token_pattern=r"\S+", lowercase=False, ngram_range=(1, 2),
                                           min_df=self.min_df, sublinear_tf=True, dtype=np.float64)
        self.vectorizer_.fit([r.text for r in records])
        X = self._doc_matrix(records)
        n, T = Y.shape
        self.oof_scores_ = np.zeros((n, T))
        self.estimators_, self.calibrators_, self.thresholds_ = [], [], []
        for j in range(T):
            y = Y[:, j]
            folds = StratifiedKFold(self.n_folds, shuffle=True, random_state=self.random_state)
            fold_models = []
            for tr, te in folds.split(X, y):
                lr = self._new_lr().fit(X[tr], y[tr])
                self.oof_scores_[te, j] = lr.decision_function(X[te])
                fold_models.append(lr)
            cal = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
            cal.fit(self.oof_scores_[:, j], y)
            self.calibrators_.append(cal)
            self.thresholds_.append(_best_threshold(cal.predict(self.oof_scores_[:, j]), y))
            # Score new text with the average of the fold models: its scores are on the scale of
            # the out-of-fold scores the calibrator was fitted on (a model refitted on all data is
            # more confident, which would skew the calibration).
            self.estimators_.append(_average_linear(fold_models))
            if progress:
                progress(1)
        self.oof_labels_ = Y.copy()
        self.classes_ = np.array([0, 1])
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "estimators_"):
            raise NotFittedError("this ThemeClassifier is not trained yet; call fit() or load a model")

    def decision_function(self, records: Sequence[DocRecord]) -> np.ndarray:
        self._check_fitted()
        if not records:
            return np.zeros((0, len(self.theme_ids_)))
        X = self._doc_matrix(records)
        return np.column_stack([est.decision_function(X) for est in self.estimators_])

    def predict_proba(self, records: Sequence[DocRecord]) -> np.ndarray:
        """Calibrated probability per theme, shape (n, n_themes)."""
        scores = self.decision_function(records)
        if not len(scores):
            return scores
        return np.column_stack([cal.predict(scores[:, j]) for j, cal in enumerate(self.calibrators_)])

    def predict(self, records: Sequence[DocRecord]) -> np.ndarray:
        return (self.predict_proba(records) >= np.asarray(self.thresholds_)).astype(int)

    def evidence(self, record: DocRecord, theme_index: int) -> int | None:
        """Index of the sentence that best supports a theme (None if the narrative is empty)."""
        self._check_fitted()
        if not record.marked:
            return None
        X = self._design(list(record.marked), record.cues)
        scores = self.estimators_[theme_index].decision_function(X)
        return int(np.argmax(scores))
