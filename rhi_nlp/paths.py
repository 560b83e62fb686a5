"""Where the project's models and training data live.

Models and labelled files are **written** to one home: ``RHI_NLP_HOME`` if set; else the checkout
the package sits in (an editable install, where ``make demo`` and ``make test`` work); else the
per-user data folder (``platformdirs``: e.g. ``~/.local/share/rhi-nlp`` or
``%LOCALAPPDATA%\\rhi-nlp``).

The default model is **found** in this order: that home's ``models/default``, the per-user folder's
``models/default``, then the release model inside the installed package (``rhi_nlp/bundled``).
The base training corpus is found in the home's ``training_data/`` or else inside the package.
The current folder is never searched: a model is used from there only when the user names it
with ``--model``.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
BUNDLED = PACKAGE / "bundled"
BUNDLED_MODEL = BUNDLED / "model"
BUNDLED_TRAINING = BUNDLED / "training_data"


def _checkout() -> Path | None:
    repo = PACKAGE.parent
    if (repo / "training_data").is_dir() and (repo / "setup.cfg").is_file():
        return repo
    return None


def user_home() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("rhi-nlp", appauthor=False))


def project_home() -> Path:
    env = os.environ.get("RHI_NLP_HOME")
    if env:
        return Path(env)
    repo = _checkout()
    if repo is not None:
        return repo
    return user_home()


def models_dir() -> Path:
    """Where models are saved (and listed first)."""
    return project_home() / "models"


def model_search_path() -> list[Path]:
    """Folders holding models, in the order a name is looked up; the package's release model last."""
    out = [models_dir()]
    if user_home() / "models" not in out:
        out.append(user_home() / "models")
    return out


def training_dir() -> Path:
    """The base training corpus: the home's training_data/ when it holds one, else the package's."""
    home = project_home() / "training_data"
    if (home / "corpus.csv").exists():
        return home
    return BUNDLED_TRAINING


def labelled_dir() -> Path:
    """A user's own labelled files, added to every training run (in the home, never the package)."""
    return project_home() / "training_data" / "labelled"


def find_model(name: str = "default") -> Path | None:
    """The folder of the model called ``name``, first where it has a model file; for 'default' the
    package's release model when no other is found. None when there is none."""
    from .persistence import has_model

    for root in model_search_path():
        if has_model(root / name):
            return root / name
    if name == "default" and has_model(BUNDLED_MODEL):
        return BUNDLED_MODEL
    return None


def default_model_dir() -> Path:
    """The default model's folder (where it would be trained when there is none yet)."""
    return find_model("default") or models_dir() / "default"
