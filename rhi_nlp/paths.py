"""Where the project's models and training data live.

In order: ``RHI_NLP_HOME`` if set; the checkout the package sits in (an editable install, where
``make demo`` and ``make test`` work); otherwise the per-user data folder (``platformdirs``: e.g.
``~/.local/share/rhi-nlp`` or ``%LOCALAPPDATA%\\rhi-nlp``). The current folder is never searched: a
model is used from there only when the user names it with ``--model``.
"""

from __future__ import annotations

import os
from pathlib import Path


def _checkout() -> Path | None:
    repo = Path(__file__).resolve().parent.parent
    if (repo / "training_data").is_dir() and (repo / "setup.cfg").is_file():
        return repo
    return None


def project_home() -> Path:
    env = os.environ.get("RHI_NLP_HOME")
    if env:
        return Path(env)
    repo = _checkout()
    if repo is not None:
        return repo
    import platformdirs

    return Path(platformdirs.user_data_dir("rhi-nlp", appauthor=False))


def models_dir() -> Path:
    return project_home() / "models"


def training_dir() -> Path:
    return project_home() / "training_data"


def default_model_dir() -> Path:
    return models_dir() / "default"
