"""Shared fixtures: a small model trained once per session on part of the synthetic corpus."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from rhi_nlp.nlp import build_pipeline
from rhi_nlp.persistence import load_model
from rhi_nlp.training import train_model

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "training_data" / "corpus.csv"
HELDOUT = ROOT / "training_data" / "heldout" / "heldout.csv"
DEMO = ROOT / "training_data" / "demo" / "northmoor_rhi_2025.csv"
DEMO_TRUTH = ROOT / "training_data" / "demo" / "northmoor_rhi_2025_true_labels.csv"


@pytest.fixture(scope="session")
def nlp():
    return build_pipeline()


@pytest.fixture(scope="session")
def small_model_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("models")
    subset = root / "train_subset.csv"
    pd.read_csv(CORPUS, dtype=str, keep_default_na=False).head(1500).to_csv(subset, index=False)
    heldout = root / "heldout_subset.csv"
    pd.read_csv(HELDOUT, dtype=str, keep_default_na=False).head(300).to_csv(heldout, index=False)
    train_model(name="small", models_root=root, base_files=[subset], evaluation_file=heldout, seed=0)
    return root / "small"


@pytest.fixture(scope="session")
def small_model(small_model_dir):
    return load_model(small_model_dir)


@pytest.fixture
def narratives_csv(tmp_path) -> Path:
    """Invented narratives (never real) with an id column and a narrative column."""
    df = pd.DataFrame({
        "id": ["A1", "A2", "A3", "A4", "A5"],
        "narrative": [
            "YP said mum and her partner have been rowing every night and he left to get away from it.",
            "No concerns re CSE. Discussed risks of county lines. YP was at a friend's house.",
            "",
            "   ",
            "Her friend's parents argue a lot. She said home is fine and her parents get on well.",
        ],
        "team": ["north", "south", "north", "east", "west"],
    })
    path = tmp_path / "export.csv"
    df.to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def demo_tagged(small_model, tmp_path_factory):
    """The demo export tagged once with the small model."""
    from rhi_nlp.tagging import tag_file

    out = tmp_path_factory.mktemp("demo") / "tagged.csv"
    tag_file(DEMO, out, small_model, id_col="rhi_id")
    return out


@pytest.fixture(scope="session")
def truth():
    return pd.read_csv(DEMO_TRUTH, dtype=str).set_index("rhi_id")


def label_from_truth(audit_path, truth, override=None):
    """Play the labeller: fill an audit's theme columns from the demo's true labels."""
    df = pd.read_csv(audit_path, dtype=str, keep_default_na=False)
    for c in truth.columns:
        if c in df.columns:
            df[c] = df["rhi_id"].map(truth[c])
    for (row, col), v in (override or {}).items():
        df.loc[row, col] = v
    df.to_csv(audit_path, index=False)
