"""Issue 9 beyond the page: training samples, comparing, promoting and rolling back models, and
the warning when a model trained on an audit estimates from it."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
from click.testing import CliRunner

from rhi_nlp.cli import cli
from rhi_nlp.errors import AuditError
from rhi_nlp.foi import draw_sample, estimate_themes
from rhi_nlp.labels import LabelFile

from .conftest import CORPUS, HELDOUT, label_from_truth


def test_training_sample_picks_uncertain_narratives_and_is_refused_as_an_audit(demo_tagged, tmp_path):
    out = tmp_path / "train.csv"
    res = CliRunner().invoke(cli, ["sample", str(demo_tagged), "--id-col", "rhi_id", "--purpose", "training",
                                   "--size", "40", "-o", str(out)])
    assert res.exit_code == 0, res.output
    df = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert len(df) == 40 and (df["sample_purpose"] == "training").all() and "audit_design" not in df
    tagged = pd.read_csv(demo_tagged, dtype=str, keep_default_na=False)
    tagged = tagged[tagged["narrative_status"] == "recorded"]
    probs = tagged[[c for c in tagged.columns if c.endswith("_prob")]].astype(float)
    margin = (probs - 0.5).abs().min(axis=1)                  # nearest 0.5 on any theme
    chosen = margin[tagged["rhi_id"].isin(df["id"]).to_numpy()]
    assert chosen.median() < margin.median() / 2               # the model's unsure narratives
    with pytest.raises(AuditError, match="training sample"):
        estimate_themes(demo_tagged, audit_path=out, id_col="rhi_id")
    assert LabelFile(out).is_audit is False
    bad = CliRunner().invoke(cli, ["sample", str(demo_tagged), "--id-col", "rhi_id", "--design", "uncertain",
                                   "--size", "10", "-o", str(tmp_path / "x.csv")])
    assert bad.exit_code != 0 and "purpose training" in bad.output


@pytest.fixture(scope="module")
def second_model_dir(tmp_path_factory):
    from rhi_nlp.training import train_model

    root = tmp_path_factory.mktemp("models_b")
    subset = root / "b.csv"
    pd.read_csv(CORPUS, dtype=str, keep_default_na=False).iloc[1500:2300].to_csv(subset, index=False)
    train_model(name="b", models_root=root, base_files=[subset], evaluation_file=HELDOUT, seed=1)
    return root / "b"


def test_compare_shows_both_models_and_a_paired_bootstrap_interval(small_model_dir, second_model_dir, tmp_path):
    labels = tmp_path / "labels.csv"
    pd.read_csv(HELDOUT, dtype=str, keep_default_na=False).head(200).to_csv(labels, index=False)
    res = CliRunner().invoke(cli, ["compare", str(small_model_dir), str(second_model_dir), "--labels", str(labels),
                                   "--format", "json"])
    assert res.exit_code == 0, res.output
    r = json.loads(res.output)
    d = r["macro_f1_difference"]
    assert r["n"] == 200 and set(r["models"]) == {"a", "b"}
    assert d["low"] <= d["b_minus_a"] <= d["high"] and d["high"] - d["low"] > 0
    assert d["b_minus_a"] == pytest.approx(r["models"]["b"]["macro_f1"] - r["models"]["a"]["macro_f1"], abs=1e-4)
    same = json.loads(CliRunner().invoke(cli, ["compare", str(small_model_dir), str(small_model_dir), "--labels",
                                               str(labels), "--format", "json"]).output)
    assert same["macro_f1_difference"] == {**same["macro_f1_difference"], "b_minus_a": 0.0, "low": 0.0, "high": 0.0}
    text = CliRunner().invoke(cli, ["compare", str(small_model_dir), str(second_model_dir), "--labels", str(labels)])
    assert "paired bootstrap interval" in text.output and "parental_conflict" in text.output


def test_promote_keeps_the_previous_default_and_rollback_swaps_back(small_model_dir, second_model_dir, tmp_path,
                                                                    monkeypatch):
    from rhi_nlp.paths import find_model

    monkeypatch.setenv("RHI_NLP_HOME", str(tmp_path))
    for name, src in (("first", small_model_dir), ("second", second_model_dir)):
        shutil.copytree(src, tmp_path / "models" / name)
    run = CliRunner()
    assert run.invoke(cli, ["promote", "first"]).exit_code == 0
    card = json.loads((tmp_path / "models" / "default" / "model_card.json").read_text())
    assert card["promoted"]["name"] == "first" and find_model() == tmp_path / "models" / "default"
    res = run.invoke(cli, ["promote", "second"])
    assert res.exit_code == 0 and "rhi-nlp rollback" in res.output
    name_of = (lambda d: json.loads((tmp_path / "models" / d / "model_card.json").read_text())["promoted"]["name"])
    assert name_of("default") == "second" and name_of("default.previous") == "first"
    assert run.invoke(cli, ["rollback"]).exit_code == 0
    assert name_of("default") == "first" and name_of("default.previous") == "second"
    listing = json.loads(run.invoke(cli, ["models", "--format", "json"]).output)
    assert [e["name"] for e in listing if e["default"]] == ["default"]
    assert run.invoke(cli, ["promote", "nosuch"]).exit_code != 0


def test_a_model_trained_on_an_audit_warns_when_it_estimates_from_that_audit(demo_tagged, truth, tmp_path):
    from rhi_nlp.training import train_model

    audit = tmp_path / "audit.csv"
    draw_sample(demo_tagged, audit, size=60, seed=3, id_col="rhi_id")
    label_from_truth(audit, truth)
    labels = tmp_path / "audit_labels.csv"
    pd.read_csv(audit, dtype=str, keep_default_na=False).rename(columns={"rhi_id": "id"}).to_csv(labels, index=False)
    subset = tmp_path / "base.csv"
    pd.read_csv(CORPUS, dtype=str, keep_default_na=False).head(1500).to_csv(subset, index=False)
    with pytest.warns(UserWarning, match="audit sample: train on it only after its estimate is published"):
        model = train_model(name="onaudit", models_root=tmp_path / "models", base_files=[subset],
                            label_files=[labels], evaluation_file=HELDOUT)
    assert model.card["audits_used"][0]["file"] == "audit_labels.csv"
    r = estimate_themes(demo_tagged, themes=["parental_conflict"], audit_path=audit, id_col="rhi_id",
                        model_dir=model.path)[0]
    assert any("trained on this audit's labels" in n for n in r.notes)


def test_an_excel_audit_labelled_in_the_workbench_round_trips_to_estimate(demo_tagged, truth, tmp_path,
                                                                          small_model_dir):
    audit = tmp_path / "audit.xlsx"
    draw_sample(demo_tagged, audit, size=30, seed=4, id_col="rhi_id")
    lf = LabelFile(audit)
    assert lf.is_audit
    for i in lf.ids:
        lf.record("main", i, done=True, labels={t: int(truth.loc[i, t]) for t in truth.columns if t in lf.df})
    lf.flush()
    back = LabelFile(audit)                       # reopened from the rewritten workbook and the journal
    assert back.progress("main")["done"] == 30
    r = estimate_themes(demo_tagged, themes=["parental_conflict"], audit_path=audit, id_col="rhi_id",
                        model_dir=small_model_dir)[0]
    assert r.estimate.n == 30 and r.estimate.x == sum(int(truth.loc[i, "parental_conflict"]) for i in lf.ids)


def test_labels_typed_in_a_spreadsheet_are_kept_and_agreement_needs_a_journal(tmp_path):
    from rhi_nlp.agreement import agreement
    from rhi_nlp.errors import InputError
    from rhi_nlp.labels import journal_path
    from rhi_nlp.themes import load_themes

    ids = [t.id for t in load_themes()]
    df = pd.DataFrame({"id": ["a", "b"], "narrative": ["Mum and dad argue.", "School is fine."]})
    for t in ids:
        df[t] = ["1.0" if t == "parental_conflict" else "0.0", ""]   # as Excel numbers come back
    path = tmp_path / "typed.csv"
    df.to_csv(path, index=False)
    with pytest.raises(InputError, match="no labelling journal"):
        agreement(path)
    assert not journal_path(path).exists()                          # reading agreement wrote nothing
    st = LabelFile(path).state("main")
    assert st["a"].done and st["a"].labels["parental_conflict"] == 1 and "b" not in st


def test_a_training_sample_cannot_hold_a_live_formula_and_trains_on_the_text_as_written(demo_tagged, tmp_path):
    from rhi_nlp.active import draw_training_sample
    from rhi_nlp.themes import load_themes
    from rhi_nlp.training import load_labelled

    df = pd.read_csv(demo_tagged, dtype=str, keep_default_na=False)
    rec = df.index[df["narrative_status"] == "recorded"]
    df.loc[rec, "narrative"] = "=1+2 mum and dad argue"
    tagged = tmp_path / "tagged.csv"
    df.to_csv(tagged, index=False)
    out = tmp_path / "train.csv"
    draw_training_sample(tagged, out, size=10, id_col="rhi_id")
    raw = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert (raw["narrative"] == "'=1+2 mum and dad argue").all()       # Excel shows text, runs nothing
    lf = LabelFile(out)
    assert (lf.df["narrative"] == "=1+2 mum and dad argue").all()
    ids = [t.id for t in load_themes()]
    for i in lf.ids:
        lf.record("main", i, done=True, labels={"parental_conflict": 1})
    lf.flush()
    assert (pd.read_csv(out, dtype=str, keep_default_na=False)["narrative"] == "'=1+2 mum and dad argue").all()
    _, texts, Y = load_labelled([out], ids)
    assert texts == ["=1+2 mum and dad argue"] * 10 and Y[:, 0].tolist() == [1] * 10
