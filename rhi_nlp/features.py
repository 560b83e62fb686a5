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

import numpy as np
from spacy.attrs import IS_PUNCT, IS_SPACE, LOWER
from spacy.tokens import Doc

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


def doc_to_record(doc: Doc, theme_ids: tuple[str, ...]) -> DocRecord:
    scope = doc._.rhi_scope or [""] * len(doc)
    index = {t: i for i, t in enumerate(theme_ids)}
    # token attributes read once, as arrays (a Token object per access is what costs)
    arr = doc.to_array([LOWER, IS_SPACE, IS_PUNCT]) if len(doc) else np.zeros((0, 3), dtype=np.uint64)
    strings = doc.vocab.strings
    lower = [strings[o] for o in arr[:, 0].tolist()]
    skip = (arr[:, 1].astype(bool) | arr[:, 2].astype(bool)).tolist()
    is_space = arr[:, 1].astype(bool).tolist()
    bounds = [(s.start, s.end, s.start_char, s.end_char) for s in doc.sents] if len(doc) else []
    sents = [b for b in bounds if not all(is_space[b[0]:b[1]])]
    width = n_cue_features(len(theme_ids))
    cues = np.zeros((len(sents), width))
    sent_of_token = {}
    spans, marked = [], []
    for k, (start, end, start_char, end_char) in enumerate(sents):
        words = []
        for i in range(start, end):
            sent_of_token[i] = k
            if skip[i]:
                continue
            w = lower[i]
            if _DIGITS.search(w):
                w = _DIGITS.sub("0", w)
            tag = scope[i]
            words.append((_PREFIX.get(tag, "x_") + w) if tag else w)
        spans.append((start_char, end_char))
        marked.append(" ".join(words))
    for span in doc.spans.get("rhi_relations", []):
        k = sent_of_token.get(span.start)
        if k is None:
            continue
        tag = next((scope[i] for i in range(span.start, span.end) if scope[i]), "")
        token = f"rel_{span.label_}"
        marked[k] = f"{marked[k]} {(_PREFIX.get(tag, 'x_') + token) if tag else token}".strip()
    for span in doc.spans.get("rhi_cues", []):
        j = index.get(span.label_)
        k = sent_of_token.get(span.start)
        if j is None or k is None:
            continue
        mods = span._.rhi_modifiers
        groups = {_GROUP_OF[m] for m in mods} if mods else {0}
        for g in groups:
            cues[k, j * len(CUE_GROUPS) + g] += 1
    return DocRecord(sentences=tuple(spans), marked=tuple(marked), cues=cues)


def empty_record(n_themes: int) -> DocRecord:
    return DocRecord(sentences=(), marked=(), cues=np.zeros((0, n_cue_features(n_themes))))


def iter_records(nlp, texts, theme_ids: tuple[str, ...], *, batch_size: int = 64):
    """Yield a DocRecord per text, streaming through ``nlp.pipe`` (which keeps the input order);
    empty texts skip spaCy."""
    docs = nlp.pipe((t for t in texts if t), batch_size=batch_size)
    for t in texts:
        yield doc_to_record(next(docs), theme_ids) if t else empty_record(len(theme_ids))
