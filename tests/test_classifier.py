import numpy as np
import pytest

from rhi_nlp.classifier import ThemeClassifier
from rhi_nlp.errors import NotFittedError
from rhi_nlp.training import keyword_baseline, load_labelled, records_for

from .conftest import HELDOUT


def test_classifier_predict_before_fit_raises():
    with pytest.raises(NotFittedError, match="not trained yet"):
        ThemeClassifier().predict_proba([])


def test_classifier_probabilities_are_calibrated_range_and_thresholds_stored(small_model):
    clf = small_model.classifier
    assert len(clf.thresholds_) == 13 and all(0.05 <= t <= 0.95 for t in clf.thresholds_)
    ids, texts, Y = load_labelled([HELDOUT], small_model.theme_ids)
    P = clf.predict_proba(records_for(texts[:200], small_model.theme_ids))
    assert P.shape == (200, 13) and P.min() >= 0 and P.max() <= 1
    # calibration in the bulk: sum of probabilities close to the true count per theme
    assert abs(P.sum() - Y[:200].sum()) / Y[:200].sum() < 0.15


def test_classifier_beats_keyword_baseline_on_heldout(small_model):
    from rhi_nlp.metrics import summarise
    from rhi_nlp.themes import load_themes

    ids, texts, Y = load_labelled([HELDOUT], small_model.theme_ids)
    texts, Y = texts[300:], Y[300:]  # rows the small model neither trained nor was evaluated on
    P = small_model.classifier.predict_proba(records_for(texts, small_model.theme_ids))
    ours = summarise(Y, P, small_model.classifier.thresholds_, small_model.theme_ids)
    kw = summarise(Y, keyword_baseline(texts, load_themes()).astype(float), [0.5] * 13, small_model.theme_ids)
    assert ours["macro_f1"] > kw["macro_f1"] + 0.2
    assert ours["themes"]["parental_conflict"]["f1"] > kw["themes"]["parental_conflict"]["f1"] + 0.2


@pytest.mark.parametrize("text", [
    "Mum was out searching and shouting for him to come home.",
    "No concerns at home. Her friend's parents argue a lot.",
    "YP argued with mum about curfew and stormed out.",
])
def test_classifier_parental_conflict_traps_stay_low(small_model, text):
    j = small_model.theme_ids.index("parental_conflict")
    p = small_model.classifier.predict_proba(records_for([text], small_model.theme_ids))[0, j]
    assert p < small_model.classifier.thresholds_[j]


def test_classifier_training_is_deterministic(small_model):
    ids, texts, Y = load_labelled([HELDOUT], small_model.theme_ids)
    recs = records_for(texts[:250], small_model.theme_ids)
    a = ThemeClassifier(random_state=3).fit(recs, Y[:250], theme_ids=small_model.theme_ids)
    b = ThemeClassifier(random_state=3).fit(recs, Y[:250], theme_ids=small_model.theme_ids)
    assert np.array_equal(a.predict_proba(recs), b.predict_proba(recs))
    assert a.thresholds_ == b.thresholds_
