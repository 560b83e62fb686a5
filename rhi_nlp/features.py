"""Turn processed Docs into classifier inputs.

A narrative becomes a :class:`DocRecord`: its sentences (character offsets), each sentence's
context-marked token string (plus a ``rel_<relation>`` token for each match of the relation
patterns, e.g. the child in conflict with a carer or the adults in conflict with each other) and a
matrix of context-aware cue counts. Tokens inside the scope of a
ConText modifier are prefixed (``x_`` for negated/advice/question/hypothetical/historical, ``o_``
for another person), so a bag of words can tell "arguing" from "no arguing".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import partial

import numpy as np
from spacy.tokens import Doc

from .nlp.components import CTX, SCOPE, HashCache, _ctx_key, sentence_bounds, span_tuples, token_table

# Per theme: affirmed cues, then one column per modifier group.
CUE_GROUPS = ("AFFIRMED", "NEGATED", "ADVICE_QUESTION", "HYPOTHETICAL", "HISTORICAL", "OTHER_PERSON")
_GROUP_OF = {"NEGATED": 1, "ADVICE": 2, "QUESTION": 2, "HYPOTHETICAL": 3, "HISTORICAL": 4,
             "OTHER_PERSON": 5}
_PREFIX = {"OTHER_PERSON": "o_"}
_DIGITS = re.compile(r"\d")


@dataclass(frozen=True)
class DocRecord:
    sentences: tuple[tuple[int, int], ...]   # character offsets into the cleaned text
    marked: tuple[str, ...]                   # one context-marked token string per sentence
    cues: np.ndarray                          # (n_sentences, n_themes * len(CUE_GROUPS))

    @property
    def text(self) -> str:
        return " ".join(self.marked)

    def cue_vector(self) -> np.ndarray:
        return self.cues.sum(axis=0) if len(self.cues) else np.zeros(self.cues.shape[1])


def n_cue_features(n_themes: int) -> int:
    return n_themes * len(CUE_GROUPS)


# each word as the classifier reads it (lower case, digits as 0), by its lower-case hash
_WORDS = HashCache(lambda w: _DIGITS.sub("0", w))


def doc_to_record(doc: Doc, theme_ids: tuple[str, ...]) -> DocRecord:
    n = len(doc)
    scope = doc.user_data.get(SCOPE) or [""] * n
    index = {t: i for i, t in enumerate(theme_ids)}
    # token attributes read once, as arrays (a Token object per access is what costs)
    arr = token_table(doc)   # ORTH, LOWER, IS_SPACE, LIKE_NUM, SPACY, IS_PUNCT, IDX
    strings = doc.vocab.strings
    lower = _WORDS.values(arr[:, 1].tolist(), strings)
    is_space = arr[:, 2].astype(bool)
    skip = (is_space | arr[:, 5].astype(bool)).tolist()
    is_space = is_space.tolist()
    idx = arr[:, 6].tolist()
    orth = arr[:, 0].tolist()
    sents = [(a, b) for a, b in sentence_bounds(doc) if not all(is_space[a:b])]
    width = n_cue_features(len(theme_ids))
    cues = np.zeros((len(sents), width))
    sent_of_token = [-1] * n
    spans, words_of = [], []
    for k, (start, end) in enumerate(sents):
        sent_of_token[start:end] = [k] * (end - start)
        words = [(_PREFIX.get(scope[i], "x_") + lower[i]) if scope[i] else lower[i]
                 for i in range(start, end) if not skip[i]]
        # character offsets as Span.start_char / end_char give them
        spans.append((idx[start], idx[end - 1] + len(strings[orth[end - 1]])))
        words_of.append(words)
    for start, end, label in span_tuples(doc, "rhi_relations"):
        k = sent_of_token[start]
        if k < 0:
            continue
        tag = next((scope[i] for i in range(start, end) if scope[i]), "")
        token = f"rel_{label}"
        words_of[k].append((_PREFIX.get(tag, "x_") + token) if tag else token)
    ctx = doc.user_data.get(CTX) or {}
    for start, end, label in span_tuples(doc, "rhi_cues"):
        j = index.get(label)
        k = sent_of_token[start]
        if j is None or k < 0:
            continue
        mods = ctx.get(_ctx_key(start, end, label))
        groups = {_GROUP_OF[m] for m in mods} if mods else {0}
        for g in groups:
            cues[k, j * len(CUE_GROUPS) + g] += 1
    return DocRecord(sentences=tuple(spans), marked=tuple(" ".join(w) for w in words_of), cues=cues)


def empty_record(n_themes: int) -> DocRecord:
    return DocRecord(sentences=(), marked=(), cues=np.zeros((0, n_cue_features(n_themes))))


def iter_records(nlp, texts, theme_ids: tuple[str, ...]):
    """Yield a DocRecord per text, in order; empty texts skip spaCy. Each text goes through the
    pipeline's components directly (``nlp.pipe``'s batching and error-handling layers cost about
    a tenth of the time and are not needed here: work is spread over processes by
    :mod:`rhi_nlp.parallel`)."""
    from .nlp.components import Relations, ThemeCues

    # the record needs the matches, not Span objects for them
    procs = [partial(proc, spans=False) if isinstance(proc, (ThemeCues, Relations)) else proc
             for _, proc in nlp.pipeline]
    for t in texts:
        if not t:
            yield empty_record(len(theme_ids))
            continue
        doc = nlp.make_doc(t)
        for proc in procs:
            doc = proc(doc)
        yield doc_to_record(doc, theme_ids)
