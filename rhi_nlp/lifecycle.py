"""Promoting a trained model to the default, and rolling back.

``promote NAME`` copies the model into ``models/default`` of the rhi-nlp home (see
:mod:`rhi_nlp.paths`), keeping the default it replaces as ``models/default.previous``;
``rollback`` swaps the two back. Each step is a rename of a complete folder, so the default is
never half-written. The card of the promoted copy records what it was promoted from and when.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from pathlib import Path

from .errors import InputError
from .paths import find_model, models_dir
from .persistence import CARD_FILE, has_model, load_model

DEFAULT, PREVIOUS = "default", "default.previous"


def resolve(name_or_path: str) -> Path:
    """A model by name (searched like the default) or by folder."""
    p = Path(name_or_path)
    if has_model(p):
        return p
    found = find_model(name_or_path)
    if found is None:
        raise InputError(f"no model called {name_or_path!r} (see rhi-nlp models)")
    return found


def promote(name: str) -> dict:
    if name in (DEFAULT, PREVIOUS):
        raise InputError(f"{name!r} is already the default or the previous default; name a trained model")
    src = resolve(name)
    load_model(src)  # refuses a changed, stale or foreign model before it becomes the default
    root = models_dir()
    root.mkdir(parents=True, exist_ok=True)
    staging = root / ".default.staging"
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(src, staging)
    card = json.loads((staging / CARD_FILE).read_text(encoding="utf-8"))
    card["promoted"] = {"from": str(src), "name": name,
                        "utc": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
    (staging / CARD_FILE).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    kept = None
    if has_model(root / DEFAULT):
        shutil.rmtree(root / PREVIOUS, ignore_errors=True)
        os.replace(root / DEFAULT, root / PREVIOUS)
        kept = str(root / PREVIOUS)
    os.replace(staging, root / DEFAULT)
    return {"default": str(root / DEFAULT), "previous": kept, "from": str(src)}


def rollback() -> dict:
    root = models_dir()
    if not has_model(root / PREVIOUS):
        if has_model(root / DEFAULT):
            os.replace(root / DEFAULT, root / PREVIOUS)
            return {"default": str(find_model(DEFAULT)), "previous": str(root / PREVIOUS)}
        raise InputError(f"nothing to roll back in {root}: no promoted default")
    swap = root / ".default.swap"
    shutil.rmtree(swap, ignore_errors=True)
    if has_model(root / DEFAULT):
        os.replace(root / DEFAULT, swap)
    os.replace(root / PREVIOUS, root / DEFAULT)
    if swap.exists():
        os.replace(swap, root / PREVIOUS)
    return {"default": str(root / DEFAULT), "previous": str(root / PREVIOUS) if has_model(root / PREVIOUS) else None}
