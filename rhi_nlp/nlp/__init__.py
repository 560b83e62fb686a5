"""Build the rule-based spaCy pipeline from the package's data files.

The pipeline is never pickled with a model: it is rebuilt from the themes and context-rules files,
whose hashes are recorded on the model card.
"""

from __future__ import annotations

from dataclasses import asdict

import spacy
from spacy.language import Language

from ..themes import ContextRule, Theme, load_context_rules, load_relations, load_themes
from . import components  # noqa: F401  (registers the factories)

MAX_CHARS = 2_000_000


def build_pipeline(themes: tuple[Theme, ...] | None = None,
                   rules: tuple[ContextRule, ...] | None = None,
                   default_max_scope: int | None = None) -> Language:
    """Return ``spacy.blank("en")`` with the case-note sentencizer, theme cues and ConText."""
    themes = themes if themes is not None else load_themes()
    if rules is None:
        rules, scope = load_context_rules()
        default_max_scope = default_max_scope or scope
    nlp = spacy.blank("en")
    nlp.max_length = MAX_CHARS
    nlp.add_pipe("rhi_sentences")
    nlp.add_pipe("rhi_theme_cues", config={"cues": {t.id: list(t.cues) for t in themes}})
    relations = load_relations()
    precedence = relations.pop("precedence")
    nlp.add_pipe("rhi_relations", config={"relations": relations, "precedence": precedence})
    rule_dicts = [{k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(r).items()} for r in rules]
    nlp.add_pipe("rhi_context", config={"rules": rule_dicts, "default_max_scope": default_max_scope or 8})
    return nlp
