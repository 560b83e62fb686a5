"""Keyword search, as an analyst does it with Excel's search: a theme is present when any of its
keywords (case-insensitive substring; short all-capitals keywords such as 'DA' match case) appears.
The baseline every quality figure is compared with, and the evidence the keyword check of
:mod:`rhi_nlp.transfer` compares the model with."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from .themes import Theme


def _patterns(theme: Theme) -> re.Pattern | None:
    parts = [(re.escape(k), k.isupper() and len(k) <= 3) for k in theme.keywords]
    if not parts:
        return None
    # one alternation per theme: the case-sensitive keywords keep their case via an inline flag
    return re.compile("|".join(p if exact else f"(?i:{p})" for p, exact in parts))


def keyword_baseline(texts: Sequence[str], themes: Sequence[Theme]) -> np.ndarray:
    """(n texts x n themes) 0/1: does any of the theme's keywords appear in the text."""
    out = np.zeros((len(texts), len(themes)), dtype=int)
    for j, th in enumerate(themes):
        pat = _patterns(th)
        if pat is None:
            continue
        for i, t in enumerate(texts):
            out[i, j] = int(pat.search(t) is not None)
    return out
