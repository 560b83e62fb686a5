"""The faster tagging paths (issue 10) give exactly what the general tools give: the LOWER-only
pattern matcher against spaCy's Matcher, the batch word/pair counter against scikit-learn's
vectorizer, and sentence bounds read from arrays against ``doc.sents``."""

import numpy as np
import pandas as pd
import pytest
import spacy
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.feature_extraction.text import TfidfVectorizer
from spacy.attrs import LOWER
from spacy.matcher import Matcher

from rhi_nlp.classifier import VECTORIZER_PARAMS, ThemeClassifier
from rhi_nlp.familiarity import familiarity
from rhi_nlp.features import iter_records
from rhi_nlp.ngrams import WordBigramCounter, fast_transform, supports
from rhi_nlp.nlp.components import sentence_bounds, span_tuples
from rhi_nlp.nlp.token_patterns import compile_patterns
from rhi_nlp.themes import load_relations
from rhi_nlp.training import load_labelled

from .conftest import CORPUS, DEMO

WORDS = ["mum", "dad", "and", "argue", "argued", "with", "her", "the", "staff", "at", "each", "other", "Mum", "."]
_nlp = spacy.blank("en")

token_test = st.one_of(
    st.builds(lambda w: {"LOWER": w.lower()}, st.sampled_from(WORDS)),
    st.builds(lambda ws: {"LOWER": {"IN": sorted({w.lower() for w in ws})}}, st.lists(st.sampled_from(WORDS), min_size=1, max_size=4)),
    st.just({}),
)
token = st.builds(lambda t, op: {**t, **({"OP": op} if op else {})}, token_test, st.sampled_from([None, None, "?", "*", "+"]))
pattern = st.lists(token, min_size=1, max_size=5).filter(lambda p: any(t.get("OP") in (None, "+") for t in p))


@settings(max_examples=150, deadline=None)
@given(patterns=st.lists(pattern, min_size=1, max_size=4), words=st.lists(st.sampled_from(WORDS), min_size=0, max_size=14))
def test_lower_pattern_matcher_finds_what_spacys_matcher_finds(patterns, words):
    doc = _nlp.make_doc(" ".join(words))
    matcher = Matcher(_nlp.vocab)
    for k, p in enumerate(patterns):
        matcher.add(f"P{k}", [p])
    expected = {(_nlp.vocab.strings[m], s, e) for m, s, e in matcher(doc)}
    fast = compile_patterns([(f"P{k}", p) for k, p in enumerate(patterns)], _nlp.vocab.strings.add)
    assert fast(doc.to_array(LOWER)) == expected


def test_lower_pattern_matcher_on_the_relation_patterns_and_demo_narratives(nlp):
    rels = load_relations()
    rels.pop("precedence")
    pairs = [(name, p) for name, ps in rels.items() for p in ps]
    matcher = Matcher(nlp.vocab)
    for name, p in pairs:
        matcher.add(name, [p])
    fast = compile_patterns(pairs, nlp.vocab.strings.add)
    texts = pd.read_csv(DEMO, dtype=str, keep_default_na=False)["narrative"].tolist()
    n_matches = 0
    for text in texts:
        doc = nlp.make_doc(text)
        expected = {(nlp.vocab.strings[m], s, e) for m, s, e in matcher(doc)}
        assert fast(doc.to_array(LOWER)) == expected
        n_matches += len(expected)
    assert n_matches > 100


def test_compile_patterns_declines_other_token_tests():
    assert compile_patterns([("x", [{"LOWER": "mum"}, {"POS": "VERB"}])], _nlp.vocab.strings.add) is None
    assert compile_patterns([("x", [{"LOWER": {"REGEX": "^mu"}}])], _nlp.vocab.strings.add) is None
    assert compile_patterns([("x", [{"LOWER": "mum", "OP": "!"}])], _nlp.vocab.strings.add) is None


text_st = st.lists(st.sampled_from(["mum", "x_mum", "argue", "rel_adults_conflict", "0", "a", "b", "c", "  ", "\n"]),
                   max_size=25).map(" ".join)


def _fitted(train: list[str]) -> TfidfVectorizer | None:
    """The classifier's word vectorizer fitted on ``train`` (None when it holds no word at all)."""
    try:
        return TfidfVectorizer(min_df=1, **VECTORIZER_PARAMS).fit(train)
    except ValueError:
        return None


@settings(max_examples=100, deadline=None)
@given(train=st.lists(text_st, min_size=3, max_size=12), new=st.lists(text_st, min_size=1, max_size=6))
def test_word_bigram_counter_gives_scikit_learns_matrix(train, new):
    vec = _fitted(train)
    if vec is None:
        return
    assert supports(vec)
    expected = vec.transform(new)
    got = fast_transform(vec, new)
    assert got.shape == expected.shape and got.dtype == expected.dtype
    assert np.array_equal(got.indptr, expected.indptr) and np.array_equal(got.indices, expected.indices)
    assert np.array_equal(got.data, expected.data)  # bit for bit, not approximately


@settings(max_examples=100, deadline=None)
@given(train=st.lists(text_st, min_size=3, max_size=12),
       docs=st.lists(st.lists(text_st, min_size=0, max_size=4), min_size=1, max_size=5))
def test_word_batch_counts_documents_sentences_and_known_pairs_as_separate_calls_do(train, docs):
    vec = _fitted(train)
    if vec is None:
        return
    batch = WordBigramCounter(vec.vocabulary_).batch(docs)
    joined = [" ".join(d) for d in docs]
    cv = vec.transform  # counts are what the TF-IDF step weights: compare the weighted matrices
    for got, texts in ((batch.doc_counts(), joined), (batch.sentence_counts(), [s for d in docs for s in d])):
        if not texts:
            assert got.shape == (0, len(vec.vocabulary_))
            continue
        expected = cv(texts)
        got = vec._tfidf.transform(got, copy=False)
        assert got.shape == expected.shape
        assert np.array_equal(got.indices, expected.indices) and np.array_equal(got.data, expected.data)
    assert batch.sentence_offsets.tolist() == np.cumsum([0] + [len(d) for d in docs]).tolist()
    np.testing.assert_array_equal(batch.known_pair_share(), familiarity(joined, vec.vocabulary_))


@pytest.fixture(scope="module")
def char_classifier(nlp, small_model):
    """A classifier with character n-grams, which the shared word counter does not cover."""
    ids = small_model.theme_ids
    _, texts, Y = load_labelled([CORPUS], ids)
    records = list(iter_records(nlp, texts[:400], ids))
    return ThemeClassifier(char_ngrams=True, n_folds=3).fit(records, Y[:400], theme_ids=ids)


@pytest.mark.parametrize("kind", ["word", "char"])
def test_tag_batch_equals_the_separate_calls(nlp, small_model, char_classifier, kind):
    texts = pd.read_csv(DEMO, dtype=str, keep_default_na=False)["narrative"].tolist()[:120] + ["", "ok"]
    clf = small_model.classifier if kind == "word" else char_classifier
    records = list(iter_records(nlp, texts, small_model.theme_ids))
    scored = np.array([bool(t) for t in texts])
    probs, flags, best, fam = clf.tag_batch(records, scored)
    expected = np.zeros_like(probs)
    expected[scored] = clf.predict_proba([r for r, k in zip(records, scored) if k])
    assert np.array_equal(probs, expected)
    assert np.array_equal(flags, (expected >= np.asarray(clf.thresholds_)).astype(int))
    assert flags.sum() > 20
    assert best == clf.evidence_batch(records, flags)
    np.testing.assert_array_equal(fam, familiarity([r.text for r in records], clf.vectorizer_.vocabulary_))


def test_word_bigram_counter_rejects_other_vocabularies():
    with pytest.raises(ValueError):
        WordBigramCounter({"three word term": 0})
    char = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5)).fit(["some text here"])
    assert not supports(char)
    assert fast_transform(char, ["more text"]).shape == char.transform(["more text"]).shape


def test_sentence_bounds_and_span_tuples_match_spacys_objects(nlp):
    texts = pd.read_csv(DEMO, dtype=str, keep_default_na=False)["narrative"].tolist()[:150]
    for doc in nlp.pipe(t for t in texts if t):
        assert sentence_bounds(doc) == [(s.start, s.end) for s in doc.sents]
        for key in ("rhi_cues", "rhi_relations"):
            assert span_tuples(doc, key) == [(s.start, s.end, s.label_) for s in doc.spans[key]]
        fast = nlp.get_pipe("rhi_theme_cues")(nlp.get_pipe("rhi_sentences")(nlp.make_doc(doc.text)), spans=False)
        assert span_tuples(fast, "rhi_cues") == span_tuples(doc, "rhi_cues") and "rhi_cues" not in fast.spans
        doc.user_data.clear()  # without what the components stored, the same is read from the doc
        assert sentence_bounds(doc) == [(s.start, s.end) for s in doc.sents]
        assert span_tuples(doc, "rhi_cues") == [(s.start, s.end, s.label_) for s in doc.spans["rhi_cues"]]
