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
