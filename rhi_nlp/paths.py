"""Where the project's models and training data live.

``RHI_NLP_HOME`` overrides; otherwise the checkout the package sits in (an editable install),
else the current folder.
"""

from __future__ import annotations

import os
from pathlib import Path


def project_home() -> Path:
    env = os.environ.get("RHI_NLP_HOME")
    if env:
        return Path(env)
    repo = Path(__file__).resolve().parent.parent
    if (repo / "training_data").is_dir():
        return repo
    return Path.cwd()


def models_dir() -> Path:
    return project_home() / "models"


def training_dir() -> Path:
    return project_home() / "training_data"


def default_model_dir() -> Path:
    return models_dir() / "default"
