"""Issue 12: model-only figures that stay honest on writing unlike the training data.

The range gains the between-voice spread of the count ratio that fits how familiar the file's
wording is; checks for unfamiliar writing and keyword disagreement join the prevalence-shift
check; model-only output is triage wording, marked on every line of a report."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from rhi_nlp import estimate as est
from rhi_nlp import model_only, transfer
from rhi_nlp.familiarity import COLUMN, familiarity, group_out_familiarity
from rhi_nlp.foi import estimate_themes, result_to_dict
from rhi_nlp.report import render_html, render_markdown, render_text

from .conftest import ROOT, label_from_truth

REALWORLD = ROOT / "training_data" / "realworld" / "realworld.csv"


# --- familiarity ----------------------------------------------------------------------------

def test_familiarity_is_the_share_of_word_pairs_in_the_vocabulary():
    vocab = {"mum and": 0, "and dad": 1, "dad argue": 2}
    f = familiarity(["mum and dad argue", "mum and stepdad row", "hello"], vocab)
    assert f[0] == 1.0 and f[1] == pytest.approx(1 / 3) and math.isnan(f[2])


def test_group_out_familiarity_scores_a_voice_against_the_other_voices_only():
    shared = ["mum and dad argue a lot"] * 4
    own = ["yp mh crisis camhs ref", "yp mh crisis camhs ref"]   # repeated inside its own group only
    texts = shared + own
    groups = ["a", "a", "b", "b", "c", "c"]
    f = group_out_familiarity(texts, groups)
    assert np.allclose(f[:4], 1.0)          # the same wording is used in the other group
    assert np.allclose(f[4:], 0.0)          # seen twice, but only in its own group


# --- the profile and the spread that applies ---------------------------------------------------

def _toy_profile():
    """Six groups: three familiar ones whose model sum is within 5% of the truth, three unfamiliar
    ones off by a factor 0.7, 1.0 and 1.4."""
    rng = np.random.default_rng(0)
    groups, probs, Y, fam, kw = [], [], [], [], []
    for g, ratio, f in (("g1", 1.05, 0.9), ("g2", 0.95, 0.9), ("g3", 1.0, 0.9),
                        ("v1", 0.7, 0.6), ("v2", 1.0, 0.6), ("v3", 1.4, 0.6)):
        y = np.r_[np.ones(40), np.zeros(160)]
        p = np.full(200, 40 * ratio / 200)
        groups += [g] * 200
        probs.append(p)
        Y.append(y)
        fam += [f] * 200
        kw.append((rng.random(200) < 0.25).astype(int))
    probs, Y, kw = np.concatenate(probs)[:, None], np.concatenate(Y)[:, None].astype(int), np.concatenate(kw)[:, None]
    seen = np.array([0.95 if g.startswith("g") else 0.8 for g in groups])
    return transfer.profile(probs, Y, groups, np.array(fam), kw, ["t"], seen_familiarity=seen)


def test_profile_measures_the_spread_of_the_count_ratio_by_familiarity():
    prof = _toy_profile()
    t = prof["themes"]["t"]
    assert t["rms_familiar"] == pytest.approx(math.sqrt((math.log(1.05) ** 2 + math.log(0.95) ** 2) / 3), rel=1e-6)
    assert t["rms_unfamiliar"] == pytest.approx(math.sqrt((math.log(0.7) ** 2 + math.log(1.4) ** 2) / 3), rel=1e-6)
    assert prof["familiarity_familiar"] == pytest.approx(0.9) and prof["familiarity_unfamiliar"] == pytest.approx(0.6)
    assert prof["familiarity_training"] == pytest.approx(0.95)
    assert t["groups"]["v3"]["true"] == 40 and t["groups"]["v3"]["sum_prob"] == pytest.approx(56)


def test_relative_sd_follows_familiarity_from_none_to_the_unfamiliar_voices_spread():
    prof = _toy_profile()
    t = prof["themes"]["t"]
    assert transfer.relative_sd(prof, "t", 0.97) == 0.0                      # as familiar as training text
    assert transfer.relative_sd(prof, "t", 0.9) == pytest.approx(t["rms_familiar"])
    assert transfer.relative_sd(prof, "t", 0.6) == pytest.approx(t["rms_unfamiliar"])
    assert transfer.relative_sd(prof, "t", 0.3) == pytest.approx(t["rms_unfamiliar"])
    assert transfer.relative_sd(prof, "t", float("nan")) == pytest.approx(t["rms_unfamiliar"])  # unknown: cautious
    mid = transfer.relative_sd(prof, "t", 0.75)
    assert t["rms_familiar"] < mid < t["rms_unfamiliar"]
    assert transfer.unfamiliarity_weight(prof, 0.75) == pytest.approx(0.5)
    assert transfer.relative_sd(prof, "no such theme", 0.7) is None


def test_keyword_check_flags_a_ratio_far_outside_the_training_groups():
    prof = _toy_profile()
    t = prof["themes"]["t"]
    mu, sd = t["keyword_log_ratio_mean"], t["keyword_log_ratio_sd"]
    S = 40.0
    inside = round(S * math.exp(mu))
    far = round(S * math.exp(mu + 4 * sd)) + 5
    assert transfer.keyword_check(prof, "t", inside, S) is False
    assert transfer.keyword_check(prof, "t", far, S) is True
    assert transfer.keyword_check(prof, "t", 0, S) is None      # nothing to compare


# --- the range -------------------------------------------------------------------------------

def test_range_with_the_between_voice_term_reaches_an_undercount_of_that_size():
    f = np.r_[np.full(50, 0.9), np.full(450, 0.02)]
    S = f.sum()
    plain = est.model_only_estimate(f)
    wide = est.model_only_estimate(f, relative_sd=0.2)
    z = 1.959964
    assert wide.point == plain.point and wide.lower <= plain.lower and wide.upper >= plain.upper
    assert wide.upper >= S * math.exp(z * 0.2) and wide.lower <= S * math.exp(-z * 0.2)
    assert wide.upper - S > S - wide.lower                       # a ratio error: wider above
    assert wide.details["relative_sd_between_voices"] == 0.2
    assert est.model_only_estimate(f, relative_sd=0.0).lower == plain.lower


def test_assess_raises_each_check_with_its_note():
    prof = _toy_profile()
    f = np.full(300, 0.15)
    cp = np.r_[np.full(100, 0.8), np.full(400, 0.05)]
    cy = np.r_[np.ones(90), np.zeros(10), np.zeros(400)].astype(int)
    kwargs = dict(theme="t", alpha=0.05, seed=0, calib_p=cp, calib_y=cy, threshold=0.5, prof=prof)
    e, notes, checks = model_only.assess(f, familiarity=0.96, keyword_hits=None, **kwargs)
    assert "unfamiliar writing" not in checks["reasons"] and notes[0] == model_only.TRIAGE_NOTE
    e2, notes2, checks2 = model_only.assess(f, familiarity=0.62, keyword_hits=None, **kwargs)
    assert "unfamiliar writing" in checks2["reasons"] and checks2["flag"]
    assert any("Writing unlike the training data" in n for n in notes2)
    assert e2.width > e.width
    _, notes3, checks3 = model_only.assess(f, familiarity=None, keyword_hits=None, **kwargs)
    assert "familiarity unknown" in checks3["reasons"]
    _, _, checks4 = model_only.assess(f, familiarity=0.96, keyword_hits=None, **{**kwargs, "prof": None})
    assert checks4["reasons"][0] == "no between-voice spread" and checks4["flag"]


# --- end to end: tag, estimate, report -------------------------------------------------------

def test_trained_model_card_records_the_transfer_profile(small_model):
    prof = small_model.card["transfer"]
    assert set(small_model.theme_ids) <= set(prof["themes"])
    assert "any_family_conflict" in prof["themes"]               # unions too
    assert 0 < prof["familiarity_unfamiliar"] <= 1
    md = (small_model.path / "model_card.md").read_text()
    assert "## Model-only ranges on unfamiliar writing" in md


@pytest.fixture(scope="module")
def realworld_tagged(small_model, tmp_path_factory):
    """Published case descriptions (paraphrased): writing unlike the small model's training data."""
    from rhi_nlp.tagging import tag_file

    folder = tmp_path_factory.mktemp("rw")
    export = folder / "export.csv"
    pd.read_csv(REALWORLD, dtype=str, keep_default_na=False)[["id", "narrative"]].to_csv(export, index=False)
    out = folder / "tagged.csv"
    tag_file(export, out, small_model, id_col="id")
    return out


def test_tagged_file_carries_familiarity_and_unfamiliar_writing_is_flagged(
        demo_tagged, realworld_tagged, small_model_dir):
    demo = pd.read_csv(demo_tagged)
    rw = pd.read_csv(realworld_tagged)
    assert COLUMN in demo.columns and demo[COLUMN].dropna().between(0, 1).all()
    assert demo.loc[demo["narrative_status"] == "empty", COLUMN].isna().all()
    assert demo[COLUMN].mean() > rw[COLUMN].mean() + 0.15
    kw = dict(themes=["mental_health"], model_dir=small_model_dir)
    near = estimate_themes(demo_tagged, id_col="rhi_id", **kw)[0]
    far = estimate_themes(realworld_tagged, id_col="id", **kw)[0]
    assert "unfamiliar writing" not in near.shift["reasons"]
    assert "unfamiliar writing" in far.shift["reasons"] and far.shift["flag"]
    assert any("audit before using this figure" in n for n in far.notes)
    assert far.shift["keyword_hits"] is not None                  # the narrative column was there
    assert far.estimate.details["relative_sd_between_voices"] > near.estimate.details["relative_sd_between_voices"]


def test_old_tagged_file_without_familiarity_is_treated_as_unfamiliar(demo_tagged, small_model_dir, tmp_path):
    df = pd.read_csv(demo_tagged, dtype=str, keep_default_na=False).drop(columns=[COLUMN])
    path = tmp_path / "old.csv"
    df.to_csv(path, index=False)
    r = estimate_themes(path, themes=["parental_conflict"], id_col="rhi_id", model_dir=small_model_dir)[0]
    assert "familiarity unknown" in r.shift["reasons"] and r.shift["flag"]


def test_model_only_wording_is_triage_and_a_mixed_report_says_so_on_every_line(
        demo_tagged, small_model_dir, truth, tmp_path):
    from rhi_nlp.foi import draw_sample

    audit = tmp_path / "audit.csv"
    draw_sample(demo_tagged, audit, size=60, seed=1, id_col="rhi_id", theme=None)
    label_from_truth(audit, truth)
    audited = estimate_themes(demo_tagged, themes=["parental_conflict"], audit_path=audit, id_col="rhi_id",
                              model_dir=small_model_dir)
    model = estimate_themes(demo_tagged, themes=["school_bullying"], id_col="rhi_id", model_dir=small_model_dir)
    rows = [result_to_dict(r) for r in audited + model]
    text = render_text(rows)
    mo_line = next(line for line in text.splitlines() if "School" in line and "sum of probabilities" in line)
    assert "MODEL-ONLY TRIAGE" in mo_line and "%" not in mo_line and "recorded school" not in mo_line.lower()
    assert text.startswith("Mixed report")
    md = render_markdown(rows)
    table = [line for line in md.splitlines() if line.startswith("| ") and "---" not in line][1:]
    assert len(table) == 2
    assert any("model-only triage" in line for line in table) and any("audited sample of 60" in line for line in table)
    assert "Mixed report" in md
    page = render_html(rows, "t", b"")
    assert page.count('class=triage') == 2 and "Mixed report" in page   # the table row and the section
    js = json.loads(json.dumps(rows[1]))
    assert js["model_only"] and "reasons" in js["shift_check"]
