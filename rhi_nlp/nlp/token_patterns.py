"""A small matcher for token patterns that test only a token's lower-case form.

The relation patterns (``data/relations.json``) are spaCy Matcher patterns whose tokens test
``LOWER`` (a word, or ``{"IN": [...]}``) or nothing (any token), with the operators "?", "*", "+"
or none. For such patterns this gives the same (label, start, end) matches as
``spacy.matcher.Matcher`` (every way a pattern can match, no empty matches) at a fraction of the
cost: candidate starts are found by a dictionary lookup per token, and only they are expanded.
:func:`compile_patterns` returns None for any other pattern, and the caller keeps spaCy's Matcher.
"""

from __future__ import annotations

from collections.abc import Iterable

ANY = None  # a token test that accepts every token


def _token_test(tok: dict, add) -> tuple[frozenset | None, str | None] | bool:
    """(accepted lower-case hashes or ANY, operator), or False if the token is not supported."""
    op = tok.get("OP")
    if op not in (None, "?", "*", "+") or not set(tok) <= {"LOWER", "OP"}:
        return False
    test = tok.get("LOWER", ANY)
    if test is ANY:
        return ANY, op
    if isinstance(test, str):
        return frozenset([add(test.lower())]), op
    if isinstance(test, dict) and set(test) == {"IN"} and all(isinstance(w, str) for w in test["IN"]):
        return frozenset(add(w.lower()) for w in test["IN"]), op
    return False


class LowerPatternMatcher:
    """All matches of LOWER-only token patterns, as spaCy's Matcher returns them (unordered)."""

    def __init__(self, compiled: list[tuple[str, list[tuple[frozenset | None, str | None]]]]):
        self.patterns = compiled
        # the words the second token accepts, where the first two tokens both match exactly once
        self.second = [toks[1][0] if len(toks) > 1 and toks[0][1] is None and toks[1][1] is None else None
                       for _, toks in compiled]
        self.by_first: dict[int, list[int]] = {}
        self.anywhere: list[int] = []
        for k, (_, toks) in enumerate(compiled):
            firsts: set[int] = set()
            anywhere = True
            for accepted, op in toks:  # the words a match can start with
                if accepted is ANY:
                    break
                firsts |= accepted
                if op in (None, "+"):
                    anywhere = False
                    break
            if anywhere:
                self.anywhere.append(k)
            else:
                for h in firsts:
                    self.by_first.setdefault(h, []).append(k)

    def __call__(self, lower) -> set[tuple[str, int, int]]:
        """Matches in a doc given as its tokens' lower-case hashes (``doc.to_array(LOWER)``)."""
        found: set[tuple[str, int, int]] = set()
        n = len(lower)
        lows = lower.tolist()
        by_first = self.by_first
        starts = range(n) if self.anywhere else [i for i, h in enumerate(lows) if h in by_first]
        second = self.second
        for s in starts:
            for k in by_first.get(lows[s], ()):
                need = second[k]  # most candidates fail at once on the word after the first
                if need is not None and (s + 1 >= n or lows[s + 1] not in need):
                    continue
                self._expand(k, lows, s, n, found)
            for k in self.anywhere:
                self._expand(k, lows, s, n, found)
        return found

    def _expand(self, k: int, lows: list[int], s: int, n: int, found: set) -> None:
        label, toks = self.patterns[k]
        m = len(toks)
        stack = [(s, 0)]
        seen = set()
        while stack:
            i, j = stack.pop()
            if (i, j) in seen:
                continue
            seen.add((i, j))
            if j == m:
                if i > s:
                    found.add((label, s, i))
                continue
            accepted, op = toks[j]
            ok = i < n and (accepted is ANY or lows[i] in accepted)
            if op is None:
                if ok:
                    stack.append((i + 1, j + 1))
            elif op == "?":
                stack.append((i, j + 1))
                if ok:
                    stack.append((i + 1, j + 1))
            elif op == "*":
                stack.append((i, j + 1))
                if ok:
                    stack.append((i + 1, j))
            else:  # "+": one, then as "*"
                if ok:
                    stack.append((i + 1, j + 1))
                    stack.append((i + 1, j))


def compile_patterns(patterns: Iterable[tuple[str, list[dict]]], add) -> LowerPatternMatcher | None:
    """A :class:`LowerPatternMatcher` for (label, pattern) pairs, or None if some pattern tests
    anything but LOWER (``add`` maps a word to its hash, e.g. ``vocab.strings.add``)."""
    compiled = []
    for label, pattern in patterns:
        toks = []
        for tok in pattern:
            t = _token_test(tok, add)
            if t is False:
                return None
            toks.append(t)
        if not toks:
            return None
        compiled.append((label, toks))
    return LowerPatternMatcher(compiled)
