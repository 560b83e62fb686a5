"""Saving and loading models with their cards.

A model is ``model.joblib`` plus ``model_card.json`` and ``model_card.md``. joblib files are pickles
and run code when loaded, so ``load_model`` first checks the file's SHA-256 against the card and
refuses a file that does not match; it also checks the themes and context-rules files.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import joblib

from .classifier import ThemeClassifier
from .errors import ModelFileError
from .themes import file_sha256, rules_path, themes_path

MODEL_FILE = "model.joblib"
CARD_FILE = "model_card.json"
CARD_MD = "model_card.md"


@dataclass
class Model:
    classifier: ThemeClassifier
    card: dict
    path: Path | None = None

    @property
    def theme_ids(self) -> tuple[str, ...]:
        return self.classifier.theme_ids_


def _atomic_bytes(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


def save_model(model: Model, directory: str | Path, card_markdown: str) -> Path:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".model.", dir=directory)
    os.close(fd)
    try:
        joblib.dump(model.classifier, tmp, compress=3)
        model.card["model_sha256"] = file_sha256(Path(tmp))
        os.replace(tmp, directory / MODEL_FILE)
    finally:
        Path(tmp).unlink(missing_ok=True)
    _atomic_bytes(directory / CARD_FILE, (json.dumps(model.card, indent=2) + "\n").encode("utf-8"))
    _atomic_bytes(directory / CARD_MD, card_markdown.encode("utf-8"))
    model.path = directory
    return directory


def load_model(directory: str | Path) -> Model:
    directory = Path(directory)
    mfile, cfile = directory / MODEL_FILE, directory / CARD_FILE
    if not mfile.exists() or not cfile.exists():
        raise ModelFileError(f"no model at {directory} (expected {MODEL_FILE} and {CARD_FILE}); "
                             f"train one with: rhi-nlp train --name {directory.name}")
    try:
        card = json.loads(cfile.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        raise ModelFileError(f"{cfile}: the model card is not valid JSON; retrain the model") from None
    expected = card.get("model_sha256")
    if not expected or file_sha256(mfile) != expected:
        raise ModelFileError(f"{mfile} does not match the hash on its model card: it was changed or "
                             f"replaced after training, so it is not loaded (joblib files can run "
                             f"code). Retrain with: rhi-nlp train --name {directory.name}")
    if card.get("themes_sha256") != file_sha256(themes_path()):
        raise ModelFileError(f"{directory}: the model was trained with a different themes file than "
                             f"the one installed; retrain with: rhi-nlp train --name {directory.name}")
    if card.get("context_rules_sha256") != file_sha256(rules_path()):
        raise ModelFileError(f"{directory}: the model was trained with different context rules than "
                             f"the ones installed; retrain with: rhi-nlp train --name {directory.name}")
    import sklearn

    if card.get("versions", {}).get("scikit-learn") != sklearn.__version__:
        warnings.warn(f"{directory} was trained with scikit-learn "
                      f"{card.get('versions', {}).get('scikit-learn')} but {sklearn.__version__} is "
                      f"installed; retrain if results look wrong", stacklevel=2)
    clf = joblib.load(mfile)
    if not isinstance(clf, ThemeClassifier):
        raise ModelFileError(f"{mfile} is not an rhi-nlp model")
    return Model(classifier=clf, card=card, path=directory)
