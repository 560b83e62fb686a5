"""All rhi-nlp exceptions. Messages name files, rows, ids and columns, never narrative text."""

from __future__ import annotations


class RhiNlpError(Exception):
    """Base class for every error rhi-nlp raises on purpose."""


class InputError(RhiNlpError, ValueError):
    """A user's input file or option is unusable."""


class ThemeFileError(RhiNlpError, ValueError):
    """The themes or context-rules file is malformed."""


class ModelFileError(RhiNlpError, OSError):
    """A model file is missing, changed since it was saved, or not one of ours."""


class NotFittedError(RhiNlpError, ValueError, AttributeError):
    """A model was used before it was trained."""


class AuditError(RhiNlpError, ValueError):
    """An audit sample does not match its tagged file, or holds invalid labels."""


ID_MAX_CHARS = 40
ID_MAX_WORDS = 4


def looks_like_id(value: object) -> bool:
    """Ids are short codes; a long, wordy value is probably narrative text and is never shown."""
    s = str(value)
    return len(s) <= ID_MAX_CHARS and len(s.split()) <= ID_MAX_WORDS


def show_id(value: object) -> str:
    """An id for an error message: quoted if it looks like an id, else withheld."""
    return repr(str(value)) if looks_like_id(value) else "(a long value, not shown)"
