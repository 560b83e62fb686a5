"""spaCy components for case-note text: sentence splitting, theme cues and ConText scope.

Built on ``spacy.blank("en")``; no trained pipeline is needed. The cue lists and context rules are
passed in from the package's JSON data files (see ``rhi_nlp.nlp.build_pipeline``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from spacy.attrs import IDX, IS_PUNCT, IS_SPACE, LIKE_NUM, LOWER, ORTH, SENT_START, SPACY
from spacy.language import Language
from spacy.matcher import Matcher, PhraseMatcher
from spacy.tokens import Doc, Span

from ..themes import MODIFIERS
from .token_patterns import compile_patterns

# Tokens after which a new sentence starts in case notes written without full punctuation.
_END = {".", "!", "?", ";", "…"}
_DASHES = {"-", "–", "—", "--"}
_ANSWER_MAX = 4  # at most this many tokens after "Item:" to the end of the line
_BARE_ANSWERS = {"no", "n", "none", "nil", "yes", "y", "n/a"}  # "Item - no" at the end of a line
_NO_SPLIT_BEFORE_YP = {"the", "with", "w/", "re", "for", "to", "a", "and", "&", "of", "that", "by",
                       "told", "asked", "said", "says", "advised", "as", "when", "if"}
_YP = {"yp", "cyp"}
# "... YP said ..." starts a new statement in unpunctuated notes; "between YP and" does not.
_YP_VERBS = {"said", "says", "states", "stated", "reports", "reported", "was", "is", "has", "had", "went",
             "returned", "declined", "left", "then", "did", "does", "told", "explained", "disclosed", "denies",
             "denied", "feels", "felt", "wants", "wanted", "agreed", "refused", "came", "stayed", "ran", "admitted",
             "will", "would", "can", "could", "presented", "appeared", "got", "gets", "spent", "slept", "seemed",
             "confirmed", "advised", "spoke", "talked", "says", "mentioned", "described", "asked", "reported",
             "engaged", "understands", "knows", "is", "isn't", "wasn't", "doesn't", "didn't", "not"}

# What the components find is kept in ``doc.user_data`` under these keys and read through the
# doc._ extensions of the same names (read-only): rhi_cue_list / rhi_relation_list are the (start,
# end, label) of doc.spans["rhi_cues"] and ["rhi_relations"] as plain tuples, so later steps need
# not create a Span object per match; rhi_ctx and rhi_scope are ConText's (see ConTextScope).
CUE_LIST, RELATION_LIST, CTX, SCOPE = "rhi_cue_list", "rhi_relation_list", "rhi_ctx", "rhi_scope"
for _name in (CTX, SCOPE, CUE_LIST, RELATION_LIST):
    if not Doc.has_extension(_name):
        Doc.set_extension(_name, getter=lambda doc, key=_name: doc.user_data.get(key))


TOKEN_ATTRS = (ORTH, LOWER, IS_SPACE, LIKE_NUM, SPACY, IS_PUNCT, IDX)   # the columns of token_table
_TABLE, _BOUNDS = "rhi_token_table", "rhi_sentence_bounds"


def token_table(doc: Doc) -> np.ndarray:
    """The token attributes every component reads (columns as TOKEN_ATTRS), read from the doc once
    and kept in ``doc.user_data`` (a Token object per access, or a to_array per component, is
    what costs)."""
    table = doc.user_data.get(_TABLE)
    if table is None or len(table) != len(doc):
        table = doc.to_array(list(TOKEN_ATTRS)) if len(doc) else np.zeros((0, len(TOKEN_ATTRS)), dtype=np.uint64)
        doc.user_data[_TABLE] = table
    return table


def sentence_bounds(doc: Doc) -> list[tuple[int, int]]:
    """(start, end) token offsets of the doc's sentences, as ``doc.sents`` gives them: as the
    sentencizer recorded them, else read from the sentence-start array (``doc.sents`` builds a
    Span, and more, per sentence)."""
    n = len(doc)
    if not n:
        return []
    stored = doc.user_data.get(_BOUNDS)
    if stored is not None and stored[-1][1] == n:
        return stored
    return _bounds(np.flatnonzero(doc.to_array(SENT_START).astype(np.int64) == 1).tolist(), n)


def _bounds(starts: list[int], n: int) -> list[tuple[int, int]]:
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    return list(zip(starts, starts[1:] + [n]))


def span_tuples(doc: Doc, key: str) -> list[tuple[int, int, str]]:
    """(start, end, label) of a span group: the tuples a component stored, else read from the spans."""
    stored = doc.user_data.get({"rhi_cues": CUE_LIST, "rhi_relations": RELATION_LIST}[key])
    if stored is not None:
        return stored
    return [(sp.start, sp.end, sp.label_) for sp in doc.spans.get(key, [])]


def _ctx_key(start: int, end: int, label: str) -> str:
    # a string key survives Doc.to_bytes (msgpack), so nlp.pipe(n_process=2) works
    return f"{start}:{end}:{label}"


def _span_mods(span: Span) -> tuple[str, ...]:
    table = span.doc.user_data.get(CTX) or {}
    return tuple(table.get(_ctx_key(span.start, span.end, span.label_), ()))


if not Span.has_extension("rhi_modifiers"):
    Span.set_extension("rhi_modifiers", getter=_span_mods)
for _cat in MODIFIERS:
    _attr = "rhi_" + _cat.lower()
    if not Span.has_extension(_attr):
        Span.set_extension(_attr, getter=lambda span, c=_cat: c in _span_mods(span))
if not Span.has_extension("rhi_affirmed"):
    Span.set_extension("rhi_affirmed", getter=lambda span: not _span_mods(span))


@Language.factory("rhi_sentences", default_config={})
def make_sentences(nlp: Language, name: str):
    return CaseNoteSentencizer()


class CaseNoteSentencizer:
    """Split on end punctuation, semicolons, line breaks, spaced dashes, headings ending in ':'
    and, in unpunctuated notes, before 'YP' when it starts a new statement. A short answer after a
    colon or dash at the end of a line ("CSE: N", "Self-harm: not discussed", "DA - no") stays in
    the sentence of the item it answers, so the answer can negate it."""

    def __call__(self, doc: Doc) -> Doc:
        n = len(doc)
        if not n:
            return doc
        # token attributes read once, as arrays (a Token object per access is what costs); only
        # tokens that can open or close a sentence are visited
        arr = token_table(doc)
        orth = arr[:, 0].tolist()
        lower = arr[:, 1].tolist()
        strings = doc.vocab.strings
        okind = _ORTH_KIND.values(orth, strings)
        lkind = _LOWER_KIND.values(lower, strings)
        is_space = arr[:, 2].tolist()
        starts = {0}
        line_start = 0
        for i in [i for i in range(n - 1) if okind[i] or lkind[i + 1] & _YP_K]:
            k = okind[i]
            if k & _NL:
                starts.add(i + 1)
                line_start = i + 1
            elif k & _END_K:
                starts.add(i + 1)
            elif k & _DASH_K:
                if (arr[i, 4] and i > 0 and arr[i - 1, 4]
                        and not (lkind[i + 1] & _BARE_K and _left(okind, is_space, i, 3) <= 2)):
                    starts.add(i + 1)
            elif (k & _COLON_K and i - line_start <= 5 and not arr[i + 1, 3]
                  and _left(okind, is_space, i, _ANSWER_MAX + 1) > _ANSWER_MAX):
                starts.add(i + 1)
            if (lkind[i + 1] & _YP_K and not lkind[i] & _NOSPLIT_K and not k & _DASH_K
                    and i + 2 < n and lkind[i + 2] & _VERB_K):
                starts.add(i + 1)
        # whitespace-only tokens belong to the sentence before them
        first = sorted(i for i in starts if i == 0 or not is_space[i])
        # all at once: the Token.is_sent_start setter rescans the whole doc on each call
        values = np.full(n, np.uint64(2 ** 64 - 1), dtype=np.uint64)   # -1: not a sentence start
        values[first] = 1
        doc.from_array([SENT_START], values.reshape(-1, 1))
        doc.user_data[_BOUNDS] = _bounds(first, n)
        return doc


class HashCache:
    """A value computed from a word once, then looked up by the word's hash (ORTH and LOWER values
    are string hashes); cleared when full, so memory stays flat on millions of narratives."""

    def __init__(self, compute: Callable[[str], object], max_size: int = 500_000):
        self.compute = compute
        self.max_size = max_size
        self._values: dict[int, object] = {}

    def values(self, hashes: list[int], strings) -> list:
        """The value of each hash's word (``strings``: the vocab's StringStore)."""
        got = list(map(self._values.get, hashes))
        if None in got:
            got = [v if v is not None else self._add(h, strings) for h, v in zip(hashes, got)]
        return got

    def _add(self, h: int, strings) -> object:
        if len(self._values) >= self.max_size:
            self._values.clear()
        v = self._values[h] = self.compute(strings[h])
        return v


# What the sentencizer needs to know of a word: bit flags (0: nothing).
_NL, _END_K, _DASH_K, _COLON_K = 1, 2, 4, 8
_YP_K, _VERB_K, _BARE_K, _NOSPLIT_K = 1, 2, 4, 8
_ORTH_KIND = HashCache(lambda t: (_NL if "\n" in t else 0) | (_END_K if t in _END else 0)
                       | (_DASH_K if t in _DASHES else 0) | (_COLON_K if t == ":" else 0))
_LOWER_KIND = HashCache(lambda t: (_YP_K if t in _YP else 0) | (_VERB_K if t in _YP_VERBS else 0)
                        | (_BARE_K if t in _BARE_ANSWERS else 0) | (_NOSPLIT_K if t in _NO_SPLIT_BEFORE_YP else 0))


def _left(okind: list[int], is_space: list, i: int, most: int) -> int:
    """Non-space tokens after token i up to and including the next line break token (counted up
    to ``most``): a short remainder after "Item:" or "Item -" is an answer, not a sentence."""
    count = 0
    for j in range(i + 1, len(okind)):
        if not is_space[j]:
            count += 1
            if count >= most:
                return count
        if okind[j] & _NL:
            break
    return count


@Language.factory("rhi_theme_cues", default_config={"cues": {}})
def make_theme_cues(nlp: Language, name: str, cues: dict):
    return ThemeCues(nlp, cues)


class ThemeCues:
    """Mark every theme cue phrase (case-insensitive) as a span labelled with the theme id in
    ``doc.spans["rhi_cues"]``."""

    def __init__(self, nlp: Language, cues: dict[str, list[str]]):
        self.matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
        for theme_id, phrases in cues.items():
            self.matcher.add(theme_id, list(nlp.tokenizer.pipe(phrases)))

    def __call__(self, doc: Doc, *, spans: bool = True) -> Doc:
        """``spans=False``: keep the matches as tuples only (see :func:`span_tuples`), no Span objects."""
        strings = doc.vocab.strings
        found = [(s, e, strings[m]) for m, s, e in self.matcher(doc)]
        if spans:
            doc.spans["rhi_cues"] = [Span(doc, s, e, label=label) for s, e, label in found]
        doc.user_data[CUE_LIST] = found
        return doc


@Language.factory("rhi_relations", default_config={"relations": {}, "precedence": []})
def make_relations(nlp: Language, name: str, relations: dict, precedence: list):
    return Relations(nlp, relations, precedence)


class Relations:
    """Mark who is in conflict with whom (``doc.spans["rhi_relations"]``, labelled with the
    relation): patterns are data (``data/relations.json``). Where spans of two relations overlap,
    the one earlier in ``precedence`` wins ("mum argued with her partner" is adults in conflict,
    not the child arguing with a partner)."""

    def __init__(self, nlp: Language, relations: dict[str, list], precedence: list[str]):
        self.matcher = Matcher(nlp.vocab)
        for name, patterns in relations.items():
            self.matcher.add(name, patterns)
        self.rank = {name: k for k, name in enumerate(precedence)}
        # LOWER-only patterns (all of today's) use the same matches found ten times faster
        self.fast = compile_patterns([(name, p) for name, patterns in relations.items() for p in patterns],
                                     nlp.vocab.strings.add)
        # the spaCy Matcher fallback skips docs that lack a word some pattern needs
        self.required = None if self.fast else _required_words(nlp, [p for ps in relations.values() for p in ps])

    def _matches(self, doc: Doc):
        if self.fast is not None:
            return self.fast(token_table(doc)[:, 1]) if len(doc) else set()
        if self.required is not None:
            present = set(doc.to_array(LOWER).tolist())
            if not any(all(not present.isdisjoint(words) for words in needs) for needs in self.required):
                return []  # no pattern can match: skip the matcher (same result, faster)
        return [(doc.vocab.strings[m], s, e) for m, s, e in self.matcher(doc)]

    def __call__(self, doc: Doc, *, spans: bool = True) -> Doc:
        """``spans=False``: keep the matches as tuples only (see :func:`span_tuples`), no Span objects."""
        found = sorted((self.rank.get(label, 99), -(e - s), s, e, label) for label, s, e in self._matches(doc))
        taken = [False] * len(doc)
        kept = []
        for _, _, s, e, label in found:
            if any(taken[s:e]):
                continue
            for i in range(s, e):
                taken[i] = True
            kept.append((s, e, label))
        kept.sort(key=lambda sp: sp[0])
        if spans:
            doc.spans["rhi_relations"] = [Span(doc, s, e, label=label) for s, e, label in kept]
        doc.user_data[RELATION_LIST] = kept
        return doc


def _required_words(nlp: Language, patterns: list[list[dict]]) -> list[list[frozenset]] | None:
    """Per pattern, the word sets a match must draw one token from (its tokens with no "OP" or "+"
    that test ``LOWER`` or ``LOWER IN``), as lower-case hashes. A doc without a word of every set of some
    pattern cannot match any. None (no shortcut) if a pattern has no such token."""
    out = []
    for pattern in patterns:
        needs = []
        for tok in pattern:
            if tok.get("OP") not in (None, "+") or not set(tok) <= {"LOWER", "OP"}:
                continue
            test = tok.get("LOWER")
            if isinstance(test, str):
                needs.append(frozenset([nlp.vocab.strings.add(test.lower())]))
            elif isinstance(test, dict) and set(test) == {"IN"}:
                needs.append(frozenset(nlp.vocab.strings.add(w.lower()) for w in test["IN"]))
        if not needs:
            return None
        out.append(needs)
    return out


@Language.factory("rhi_context", default_config={"rules": [], "default_max_scope": 8})
def make_context(nlp: Language, name: str, rules: list, default_max_scope: int):
    return ConTextScope(nlp, rules, default_max_scope)


class ConTextScope:
    """ConText-style modifier scope (Harkema et al. 2009, as in medspaCy).

    A modifier (negation, advice, question, hypothetical, historical, other person) found in a
    sentence modifies a theme cue in the same sentence that lies within its scope: after it
    (forward), before it (backward) or either (bidirectional), within ``max_scope`` tokens and with
    no TERMINATE phrase in between. A PSEUDO phrase that overlaps a trigger cancels it. The
    categories a cue receives are in ``span._.rhi_modifiers``; ``doc._.rhi_scope`` holds, per token,
    the first modifier category whose scope covers it (or "").
    """

    def __init__(self, nlp: Language, rules: list[dict], default_max_scope: int = 8):
        self.matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
        self.rules: dict[str, dict] = {}
        for i, rule in enumerate(rules):
            key = f"R{i}"
            self.rules[key] = rule
            self.matcher.add(key, [nlp.make_doc(rule["literal"])])
        self.default_max_scope = default_max_scope

    def __call__(self, doc: Doc) -> Doc:
        n = len(doc)
        sent_id = [0] * n
        for k, (start, end) in enumerate(sentence_bounds(doc)):
            sent_id[start:end] = [k] * (end - start)
        matches = []
        for key, s, e in self.matcher(doc):
            matches.append((s, e, self.rules[doc.vocab.strings[key]]))
        longest = max((e - s for s, e, _ in matches), default=0)
        pseudo_at: dict[int, list[int]] = {}
        terms = set()
        for s, e, r in matches:
            if r["category"] == "PSEUDO":
                pseudo_at.setdefault(s, []).append(e)
            elif r["category"] == "TERMINATE":
                terms.add(s)

        def overlaps_pseudo(s: int, e: int) -> bool:
            return any(pe > s for ps in range(max(0, s - longest), e) for pe in pseudo_at.get(ps, ()))

        mods = [(s, e, r) for s, e, r in matches
                if r["category"] not in ("PSEUDO", "TERMINATE") and not (pseudo_at and overlaps_pseudo(s, e))]
        # drop a modifier fully inside a longer one of the same category (only nearby starts can)
        by_start: dict[int, list[tuple[int, str]]] = {}
        for s, e, r in mods:
            by_start.setdefault(s, []).append((e, r["category"]))

        def inside_longer(s: int, e: int, cat: str) -> bool:
            for os_ in range(max(0, s - longest), s + 1):
                for oe, oc in by_start.get(os_, ()):
                    if oc == cat and oe >= e and (oe - os_) > (e - s):
                        return True
            return False

        if len(mods) > 1:   # a lone modifier is inside no other
            mods = [m for m in mods if not inside_longer(m[0], m[1], m[2]["category"])]
        scope_tags = [""] * n
        scopes_by_sent: dict[int, list[tuple[int, int, int, int, dict]]] = {}
        for s, e, r in mods:
            width = r.get("max_scope") or self.default_max_scope
            lo, hi = s, e
            if r["direction"] in ("forward", "bidirectional"):
                while hi < n and hi - e < width and sent_id[hi] == sent_id[s] and hi not in terms:
                    hi += 1
            if r["direction"] in ("backward", "bidirectional"):
                while lo > 0 and s - lo < width and sent_id[lo - 1] == sent_id[s] and (lo - 1) not in terms:
                    lo -= 1
            scopes_by_sent.setdefault(sent_id[s], []).append((lo, hi, s, e, r))
            for t in range(lo, hi):
                if not (s <= t < e) and not scope_tags[t]:
                    scope_tags[t] = r["category"]
        table: dict[str, list[str]] = {}
        for c_start, c_end, label in span_tuples(doc, "rhi_cues"):
            cats: list[str] = []
            for lo, hi, s, e, r in scopes_by_sent.get(sent_id[c_start], ()):
                if c_start < e and s < c_end and s >= c_start:
                    continue  # the modifier is part of the cue itself ("no" in a cue "no food")
                if label in r.get("exclude_themes", ()):
                    continue
                if lo <= c_start and c_end <= hi and r["category"] not in cats:
                    cats.append(r["category"])
            if cats:
                table[_ctx_key(c_start, c_end, label)] = cats
        doc.user_data[CTX] = table
        doc.user_data[SCOPE] = scope_tags
        return doc

