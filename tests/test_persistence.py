import shutil

import numpy as np
import pytest

from rhi_nlp.errors import ModelFileError
from rhi_nlp.persistence import load_model
from rhi_nlp.training import records_for


def test_persistence_round_trip_identical_probabilities(small_model_dir, small_model):
    again = load_model(small_model_dir)
    recs = records_for(["Mum and stepdad keep rowing.", "No concerns re CSE."], small_model.theme_ids)
    assert np.array_equal(again.classifier.predict_proba(recs), small_model.classifier.predict_proba(recs))
    card = again.card
    for key in ("versions", "themes_sha256", "training_data", "thresholds", "heldout", "model_sha256"):
        assert key in card
    assert set(card["heldout"]["themes"]["parental_conflict"]) >= {"precision", "recall", "f1", "brier"}


def test_persistence_changed_model_file_is_refused(small_model_dir, tmp_path):
    copy = tmp_path / "m"
    shutil.copytree(small_model_dir, copy)
    with open(copy / "model.npz", "ab") as fh:
        fh.write(b"\0")
    with pytest.raises(ModelFileError, match="do not match the hashes on the model card"):
        load_model(copy)


def test_persistence_missing_model_is_a_clear_error(tmp_path):
    with pytest.raises(ModelFileError, match=r"no model at .*nothere .*rhi-nlp train --name nothere"):
        load_model(tmp_path / "nothere")
