"""Saving and loading models with their cards, in a format whose loading cannot run code.

A model folder holds:

- ``model.npz``: the numeric arrays (coefficients, idf weights, calibration knots, out-of-fold
  scores), read with ``numpy.load(allow_pickle=False)``, which refuses object arrays;
- ``model.json``: theme ids, parameters, vocabulary and thresholds (plain JSON);
- ``model_card.json`` and ``model_card.md``: versions, hashes, metrics.

Nothing is unpickled, so a crafted model folder can at worst fail to load. Older models saved as
``model.joblib`` (a pickle, which runs code when loaded) are refused without being opened. The card
records the SHA-256 of both model files, and loading checks them, the themes file and the context
rules, so a model is only used with the data files it was trained with.
"""

from __future__ import annotations

import hashlib
import io
import json
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .classifier import ThemeClassifier
from .errors import ModelFileError
from .files import write_bytes
from .themes import file_sha256, relations_path, rules_path, themes_path

ARRAYS_FILE = "model.npz"
META_FILE = "model.json"
CARD_FILE = "model_card.json"
CARD_MD = "model_card.md"
LEGACY_FILE = "model.joblib"
FORMAT = "rhi-nlp-model"
FORMAT_VERSION = 1


@dataclass
class Model:
    classifier: ThemeClassifier
    card: dict
    path: Path | None = None

    @property
    def theme_ids(self) -> tuple[str, ...]:
        return self.classifier.theme_ids_


def has_model(directory: str | Path) -> bool:
    return (Path(directory) / ARRAYS_FILE).exists()


def save_model(model: Model, directory: str | Path, card_markdown: str) -> Path:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    meta, arrays = model.classifier.to_arrays()
    meta = {"format": FORMAT, "format_version": FORMAT_VERSION, **meta}
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    npz = buf.getvalue()
    meta_bytes = (json.dumps(meta, ensure_ascii=False) + "\n").encode("utf-8")
    model.card["model_sha256"] = hashlib.sha256(npz).hexdigest()
    model.card["model_json_sha256"] = hashlib.sha256(meta_bytes).hexdigest()
    model.card["model_format"] = f"{FORMAT} {FORMAT_VERSION} (model.npz + model.json; no pickles)"
    write_bytes(directory / ARRAYS_FILE, npz)
    write_bytes(directory / META_FILE, meta_bytes)
    write_bytes(directory / CARD_FILE, (json.dumps(model.card, indent=2) + "\n").encode("utf-8"))
    write_bytes(directory / CARD_MD, card_markdown.encode("utf-8"))
    (directory / LEGACY_FILE).unlink(missing_ok=True)
    model.path = directory
    return directory


def _read_text(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except PermissionError:
        raise ModelFileError(f"{path}: permission denied: cannot read the {what}") from None
    except (OSError, UnicodeDecodeError):
        raise ModelFileError(f"{path}: cannot read the {what}; retrain the model") from None


def _sha(path: Path) -> str:
    try:
        return file_sha256(path)
    except PermissionError:
        raise ModelFileError(f"{path}: permission denied: cannot read the model file") from None


def load_model(directory: str | Path) -> Model:
    directory = Path(directory)
    afile, mfile, cfile = directory / ARRAYS_FILE, directory / META_FILE, directory / CARD_FILE
    retrain = f"retrain with: rhi-nlp train --name {directory.name}"
    if (directory / LEGACY_FILE).exists() and not afile.exists():
        raise ModelFileError(f"{directory} holds a model in the old joblib format, which can run code when "
                             f"loaded, so it is not opened; {retrain}")
    if not afile.exists() or not mfile.exists() or not cfile.exists():
        raise ModelFileError(f"no model at {directory} (expected {ARRAYS_FILE}, {META_FILE} and {CARD_FILE}); "
                             f"train one with: rhi-nlp train --name {directory.name}")
    try:
        card = json.loads(_read_text(cfile, "model card"))
    except json.JSONDecodeError:
        raise ModelFileError(f"{cfile}: the model card is not valid JSON; {retrain}") from None
    if not isinstance(card, dict):
        raise ModelFileError(f"{cfile}: the model card is not an rhi-nlp model card; {retrain}")
    if _sha(afile) != card.get("model_sha256") or _sha(mfile) != card.get("model_json_sha256"):
        raise ModelFileError(f"{directory}: the model files do not match the hashes on the model card: they "
                             f"were changed or replaced after training, so they are not used; {retrain}")
    if card.get("themes_sha256") != file_sha256(themes_path()):
        raise ModelFileError(f"{directory}: the model was trained with a different themes file than "
                             f"the one installed; {retrain}")
    if card.get("relations_sha256") != file_sha256(relations_path()):
        raise ModelFileError(f"{directory}: the model was trained with different relation patterns than "
                             f"the ones installed; {retrain}")
    if card.get("context_rules_sha256") != file_sha256(rules_path()):
        raise ModelFileError(f"{directory}: the model was trained with different context rules than "
                             f"the ones installed; {retrain}")
    try:
        meta = json.loads(_read_text(mfile, "model metadata"))
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise ValueError("not an rhi-nlp model")
        if meta.get("format_version") != FORMAT_VERSION:
            raise ModelFileError(f"{mfile}: model format version {meta.get('format_version')!r} is not "
                                 f"supported by this rhi-nlp (expects {FORMAT_VERSION}); {retrain}")
        with np.load(afile, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        clf = ThemeClassifier.from_arrays(meta, arrays)
    except ModelFileError:
        raise
    except (ValueError, KeyError, TypeError, OSError, zipfile.BadZipFile, json.JSONDecodeError):
        raise ModelFileError(f"{directory}: not an rhi-nlp model (the model files cannot be read as one); "
                             f"{retrain}") from None
    import sklearn

    trained_with = card.get("versions", {}).get("scikit-learn")
    if trained_with and trained_with.split(".")[:2] != sklearn.__version__.split(".")[:2]:
        warnings.warn(f"{directory} was trained with scikit-learn {trained_with} but {sklearn.__version__} "
                      f"is installed; the stored arrays load the same, but retrain if results look wrong",
                      stacklevel=2)
    return Model(classifier=clf, card=card, path=directory)
