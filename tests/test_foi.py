"""The FOI workflow on the demo export, tagged once with the small test model."""

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from rhi_nlp.cli import cli
from rhi_nlp.errors import AuditError, InputError
from rhi_nlp.foi import Period, draw_sample, estimate_themes, plan, result_to_dict



from .conftest import label_from_truth as _label


def _true_count(tagged_path, truth, theme, mask=None):
    t = pd.read_csv(tagged_path, dtype=str, keep_default_na=False)
    rec = t[t["narrative_status"] == "recorded"]
    if mask is not None:
        rec = rec[mask(rec)]
    return int(truth.loc[rec["rhi_id"], theme].astype(int).sum())


def test_foi_random_audit_interval_contains_truth(demo_tagged, truth, tmp_path):
    audit = tmp_path / "audit.csv"
    info = draw_sample(demo_tagged, audit, size=150, seed=3, id_col="rhi_id")
    assert info["rows"] == 150
    df = pd.read_csv(audit, dtype=str, keep_default_na=False)
    assert set(df["parental_conflict"]) == {""}
    assert df["audit_size"].iloc[0] == "150" and df["audit_population"].iloc[0] == str(info["population"])
    _label(audit, truth)
    res = estimate_themes(demo_tagged, themes=["parental_conflict", "any_family_conflict"], audit_path=audit, id_col="rhi_id")
    pc, fam = res
    assert pc.estimate.covers(_true_count(demo_tagged, truth, "parental_conflict"))
    assert not pc.estimate.model_only and pc.estimate.n == 150
    t = pd.read_csv(demo_tagged, dtype=str, keep_default_na=False)
    rec = t[t["narrative_status"] == "recorded"]["rhi_id"]
    true_fam = int(truth.loc[rec, ["parental_conflict", "parent_child_conflict", "domestic_abuse"]].astype(int).max(axis=1).sum())
    assert fam.estimate.covers(true_fam)


def test_foi_stratified_audit(demo_tagged, truth, tmp_path):
    audit = tmp_path / "strat.csv"
    draw_sample(demo_tagged, audit, size=150, design="stratified", theme="parental_conflict", seed=4, id_col="rhi_id")
    df = pd.read_csv(audit, dtype=str, keep_default_na=False)
    assert list(df.columns[2:3]) == ["parental_conflict"]
    # nothing in the file tells the labeller a row's score band (strata are recomputed on loading)
    assert not [c for c in df.columns if "stratum" in c or "inclusion" in c or "prob" in c]
    _label(audit, truth)
    (r,) = estimate_themes(demo_tagged, themes=["parental_conflict"], audit_path=audit, id_col="rhi_id")
    assert "stratified" in r.estimate.method
    assert r.estimate.covers(_true_count(demo_tagged, truth, "parental_conflict"))


def test_foi_sample_is_reproducible_and_nested(demo_tagged, tmp_path):
    a, b, c = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.csv"
    draw_sample(demo_tagged, a, size=50, seed=9, id_col="rhi_id")
    draw_sample(demo_tagged, b, size=50, seed=9, id_col="rhi_id")
    draw_sample(demo_tagged, c, size=120, seed=9, id_col="rhi_id")
    assert a.read_bytes() == b.read_bytes()
    ids_a = set(pd.read_csv(a, dtype=str)["rhi_id"])
    assert ids_a <= set(pd.read_csv(c, dtype=str)["rhi_id"])


@pytest.mark.parametrize("override, message", [
    ({(3, "parental_conflict"): "2"}, r"column 'parental_conflict': label must be 0 or 1"),
    ({(5, "parental_conflict"): ""}, r"column 'parental_conflict': label is missing"),
])
def test_foi_bad_audit_labels(demo_tagged, truth, tmp_path, override, message):
    audit = tmp_path / "audit.csv"
    draw_sample(demo_tagged, audit, size=40, seed=1, id_col="rhi_id")
    _label(audit, truth, override)
    with pytest.raises(AuditError, match=r"row id 'RHI-25-\d{4}', " + message):
        estimate_themes(demo_tagged, themes=["parental_conflict"], audit_path=audit, id_col="rhi_id")


def test_foi_audit_from_another_file(demo_tagged, truth, tmp_path):
    audit = tmp_path / "audit.csv"
    draw_sample(demo_tagged, audit, size=40, seed=1, id_col="rhi_id")
    _label(audit, truth)
    other = tmp_path / "other.csv"
    t = pd.read_csv(demo_tagged, dtype=str, keep_default_na=False)
    t.loc[0, "parental_conflict_prob"] = "0.9999"
    t.to_csv(other, index=False)
    with pytest.raises(AuditError, match="drawn from another tagged file"):
        estimate_themes(other, themes=["parental_conflict"], audit_path=audit, id_col="rhi_id")


def test_foi_model_only_is_labelled_as_range(demo_tagged, small_model_dir):
    (r,) = estimate_themes(demo_tagged, themes=["parental_conflict"], id_col="rhi_id", model_dir=small_model_dir)
    d = result_to_dict(r)
    assert d["model_only"] and d["interval_kind"] == "model-based range"
    assert "not a confidence interval" in " ".join(d["notes"])
    assert set(r.shift) >= {"pcc", "pacc", "emq", "hdy", "flag"}
    assert d["not_recorded"] > 0 and d["n_total"] + d["not_recorded"] == 807


def test_foi_period_by_group_and_suppression(demo_tagged, truth, tmp_path):
    audit = tmp_path / "audit.csv"
    draw_sample(demo_tagged, audit, size=200, seed=2, id_col="rhi_id")
    _label(audit, truth)
    period = Period(date_col="interview_date", start=pd.Timestamp("2025-07-01").date(), end=None)
    res = estimate_themes(demo_tagged, themes=["placement_issues"], audit_path=audit, id_col="rhi_id",
                          period=period, by="setting")
    rows = [result_to_dict(r) for r in res]
    total = rows[0]
    assert total["group"] is None and total["n_total"] < 752 and "1 July 2025" in total["period"]
    home = [r for r in rows if r["group"] == "Home"][0]
    assert home["suppressed"] and home["display"]["estimate"] == "fewer than 5"


def test_foi_child_unit(demo_tagged, truth, tmp_path):
    audit = tmp_path / "kids.csv"
    info = draw_sample(demo_tagged, audit, size=80, seed=5, id_col="rhi_id", unit="child", child_col="child_id")
    assert info["rows"] >= 80
    _label(audit, truth)
    (r,) = estimate_themes(demo_tagged, themes=["exploitation_risk"], audit_path=audit, id_col="rhi_id",
                           unit="child", child_col="child_id")
    t = pd.read_csv(demo_tagged, dtype=str, keep_default_na=False)
    rec = t[t["narrative_status"] == "recorded"]
    kids = rec.assign(y=truth.loc[rec["rhi_id"], "exploitation_risk"].astype(int).to_numpy()).groupby("child_id")["y"].max()
    assert r.estimate.N == len(kids) and r.estimate.covers(int(kids.sum()))
    (c,) = estimate_themes(demo_tagged, themes=["exploitation_risk"], audit_path=audit, id_col="rhi_id")
    assert "cluster" in c.estimate.method


def test_foi_child_unit_needs_child_audit(demo_tagged, truth, tmp_path):
    audit = tmp_path / "audit.csv"
    draw_sample(demo_tagged, audit, size=40, seed=1, id_col="rhi_id")
    _label(audit, truth)
    with pytest.raises(AuditError, match="needs an audit drawn by child"):
        estimate_themes(demo_tagged, audit_path=audit, id_col="rhi_id", unit="child", child_col="child_id")


def test_foi_bad_date_names_row(tmp_path, demo_tagged):
    t = pd.read_csv(demo_tagged, dtype=str, keep_default_na=False)
    t.loc[4, "interview_date"] = "sometime"
    bad = tmp_path / "bad.csv"
    t.to_csv(bad, index=False)
    with pytest.raises(InputError, match=rf"row id '{t.loc[4, 'rhi_id']}', column 'interview_date': not a date"):
        estimate_themes(bad, id_col="rhi_id", period=Period(date_col="interview_date"))


def test_foi_plan_model_assisted_needs_fewer(demo_tagged):
    p = plan(demo_tagged, half_width=20, id_col="rhi_id")
    assert p["model_assisted"] < p["labels_only"] <= p["N"] and "pilot" in p["note"]


def test_foi_cli_estimate_json_and_report(demo_tagged, truth, tmp_path, small_model_dir):
    audit = tmp_path / "audit.csv"
    r = CliRunner().invoke(cli, ["sample", str(demo_tagged), "--id-col", "rhi_id", "--size", "120", "-o", str(audit)])
    assert r.exit_code == 0, r.output
    _label(audit, truth)
    r = CliRunner().invoke(cli, ["estimate", str(demo_tagged), "--id-col", "rhi_id", "--audit", str(audit),
                                 "--theme", "parental_conflict", "--format", "json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)["themes"]["parental_conflict"]
    for key in ("estimate", "ci_low", "ci_high", "confidence", "n_total", "n_audited", "method", "model_only",
                "suppressed", "unrounded"):
        assert key in doc
    assert doc["n_audited"] == 120 and doc["model_only"] is False
    assert doc["ci_low"] <= doc["estimate"] <= doc["ci_high"]
    assert doc["ci_low"] <= doc["unrounded"]["ci_low"] and doc["ci_high"] >= doc["unrounded"]["ci_high"]
    out = tmp_path / "rep"
    r = CliRunner().invoke(cli, ["report", str(demo_tagged), "--id-col", "rhi_id", "--audit", str(audit),
                                 "--theme", "parental_conflict", "--theme", "mental_health", "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert (out / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    html = (out / "report.html").read_text()
    md = (out / "report.md").read_text()
    assert "confidence interval" in md and "Definition used" in md
    narratives = pd.read_csv(demo_tagged, dtype=str, keep_default_na=False)["narrative"]
    assert not any(len(n) > 40 and n[:40] in html for n in narratives)


def test_foi_cli_estimate_error_exit_code(demo_tagged, tmp_path):
    r = CliRunner().invoke(cli, ["estimate", str(demo_tagged), "--id-col", "rhi_id", "--theme", "nope"])
    assert r.exit_code == 1 and "unknown theme 'nope'" in r.output
