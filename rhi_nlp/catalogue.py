"""The models a user has: where each is, its card's key figures and which is the default."""

from __future__ import annotations

import json
from pathlib import Path

from .paths import BUNDLED_MODEL, find_model, model_search_path
from .persistence import CARD_FILE, has_model


def _figures(card: dict) -> dict:
    lovo = card.get("leave_one_voice_out") or {}
    locked = card.get("locked_test") or {}
    held = card.get("heldout") or {}
    return {"created_utc": card.get("created_utc"), "n_training": card.get("n_training"),
            "rhi_nlp": (card.get("versions") or {}).get("rhi_nlp"),
            "leave_one_voice_out_macro_f1": lovo.get("mean_macro_f1"),
            "locked_macro_f1": locked.get("macro_f1"), "generator_split_macro_f1": held.get("macro_f1"),
            "labelled_files": [d.get("file") for d in card.get("training_data", [])]}


def list_models() -> list[dict]:
    """Every model folder in the search path, then the package's release model; each with its
    card's key figures (or the reason its card cannot be read) and whether it is the default."""
    default = find_model("default")
    seen, out = set(), []
    places = [(root, "home" if k == 0 else "user folder") for k, root in enumerate(model_search_path())]
    for root, where in places:
        if not root.is_dir():
            continue
        for folder in sorted(p for p in root.iterdir() if p.is_dir() and has_model(p)):
            out.append(_entry(folder, folder.name, where, default))
            seen.add(folder.resolve())
    if has_model(BUNDLED_MODEL) and BUNDLED_MODEL.resolve() not in seen:
        out.append(_entry(BUNDLED_MODEL, "release (in the package)", "package", default))
    return out


def _entry(folder: Path, name: str, where: str, default: Path | None) -> dict:
    entry = {"name": name, "path": str(folder), "where": where,
             "default": default is not None and folder.resolve() == default.resolve()}
    try:
        card = json.loads((folder / CARD_FILE).read_text(encoding="utf-8"))
        entry.update(_figures(card if isinstance(card, dict) else {}))
    except (OSError, ValueError):
        entry["problem"] = "model card unreadable"
    return entry
