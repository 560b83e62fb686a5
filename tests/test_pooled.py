"""A pooled file of several councils, one random audit per council (issue 10): per-council and
pooled intervals, on the demo export split into three councils."""

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from rhi_nlp import estimate as est
from rhi_nlp.cli import cli
from rhi_nlp.errors import AuditError, InputError
from rhi_nlp.foi import Period, draw_sample, estimate_themes, load_tagged
from rhi_nlp.io import fetch_values, read_columns
from rhi_nlp.pooled import audit_file_name, draw_group_samples

from .conftest import label_from_truth

COUNCILS = ["Northmoor", "Eastvale", "Kingsbridge & Wye"]


@pytest.fixture(scope="module")
def pooled(demo_tagged, tmp_path_factory):
    """The tagged demo as a pooled Parquet dataset (a folder of two files) with a council column."""
    t = pd.read_csv(demo_tagged, dtype=str, keep_default_na=False)
    for c in [c for c in t.columns if c.endswith("_prob")]:
        t[c] = t[c].astype(float)
    t["council"] = np.random.default_rng(1).choice(COUNCILS, len(t), p=[0.5, 0.38, 0.12])
    folder = tmp_path_factory.mktemp("pooled") / "pooled_tagged"
    folder.mkdir()
    half = len(t) // 2
    t.iloc[:half].to_parquet(folder / "part-0.parquet", index=False)
    t.iloc[half:].to_parquet(folder / "part-1.parquet", index=False)
    return folder, t


def _true(t, truth, theme, mask=None):
    rec = t[t["narrative_status"] == "recorded"]
    if mask is not None:
        rec = rec[mask(rec)]
    return int(truth.loc[rec["rhi_id"], theme].astype(int).sum())


def _labelled_audits(folder, tmp_path, truth, size=110, seed=0):
    out = tmp_path / "audits"
    r = CliRunner().invoke(cli, ["sample", str(folder), "--id-col", "rhi_id", "--by", "council", "--size", str(size),
                                 "--seed", str(seed), "-o", str(out)])
    assert r.exit_code == 0, r.output
    for f in out.iterdir():
        label_from_truth(f, truth)
    return out


def test_one_audit_per_council_gives_council_and_pooled_intervals(pooled, truth, tmp_path):
    folder, t = pooled
    audits = _labelled_audits(folder, tmp_path, truth)
    files = sorted(p.name for p in audits.iterdir())
    assert files == ["audit_Eastvale.csv", "audit_Kingsbridge_Wye.csv", "audit_Northmoor.csv"]
    # each council's file holds only that council's narratives
    for name, council in zip(files, sorted(COUNCILS)):
        a = pd.read_csv(audits / name, dtype=str, keep_default_na=False)
        assert set(t.set_index("rhi_id").loc[a["rhi_id"], "council"]) == {council}
        assert set(a["audit_group"]) == {council} and set(a["audit_group_col"]) == {"council"}
    r = CliRunner().invoke(cli, ["estimate", str(folder), "--id-col", "rhi_id", "--audit", str(audits),
                                 "--theme", "parental_conflict", "--theme", "school_bullying", "--format", "json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)["themes"]
    assert data["parental_conflict"]["interval_kind"] == "confidence interval"
    assert set(data["parental_conflict"]["groups"]) == set(COUNCILS)
    res = estimate_themes(folder, themes=["parental_conflict", "school_bullying"], audit_path=audits, id_col="rhi_id")
    assert [x.group for x in res] == [None] + sorted(COUNCILS) + [None] + sorted(COUNCILS)
    for x in res:
        mask = None if x.group is None else (lambda rec, g=x.group: rec["council"] == g)
        truth_count = _true(t, truth, x.theme, mask)
        assert x.estimate.covers(truth_count), (x.theme, x.group, x.estimate, truth_count)
        assert not x.estimate.model_only
    pooled_pc = res[0].estimate
    councils_pc = [x.estimate for x in res[1:4]]
    assert "one random audit per group" in pooled_pc.method
    assert pooled_pc.n == sum(e.n for e in councils_pc)
    # the pooled point is the sum of the councils' points, and its interval is narrower than the sum of theirs
    assert pooled_pc.point == pytest.approx(sum(e.point for e in councils_pc))
    assert pooled_pc.width < sum(e.width for e in councils_pc)
    # the smallest council (fewer recorded narratives than the sample size) was labelled in full: exact
    small = [x for x in res if x.group == "Kingsbridge & Wye"][0]
    assert small.estimate.n == small.estimate.N and small.estimate.width == 0
    assert any("labelled by hand, so the count is exact" in n for n in small.notes)
    # the published (rounded) pooled figure brackets the unrounded one
    pj = data["parental_conflict"]
    assert pj["ci_low"] <= pj["unrounded"]["estimate"] <= pj["ci_high"] and pj["n_audited"] == pooled_pc.n


def test_pooled_period_is_a_domain_within_each_council(pooled, truth, tmp_path):
    folder, t = pooled
    audits = _labelled_audits(folder, tmp_path, truth, size=150, seed=4)
    period = Period(date_col="interview_date", start=pd.Timestamp("2025-07-01").date(), end=None)
    res = estimate_themes(folder, themes=["any_family_conflict"], audit_path=audits, id_col="rhi_id", period=period)
    fam = ["parental_conflict", "parent_child_conflict", "domestic_abuse"]
    late = t[(t["narrative_status"] == "recorded") & (t["interview_date"] >= "2025-07-01")]
    for x in res:
        rows = late if x.group is None else late[late["council"] == x.group]
        true = int(truth.loc[rows["rhi_id"], fam].astype(int).max(axis=1).sum())
        assert x.estimate.N == len(rows) and x.estimate.covers(true), (x.group, x.estimate, true)


def test_councils_without_an_audit_get_no_pooled_figure(pooled, truth, tmp_path):
    folder, _ = pooled
    audits = _labelled_audits(folder, tmp_path, truth)
    (audits / "audit_Kingsbridge_Wye.csv").unlink()
    res = estimate_themes(folder, themes=["parental_conflict"], audit_path=audits, id_col="rhi_id")
    assert [x.group for x in res] == ["Eastvale", "Northmoor"]
    assert all(any("No pooled figure" in n and "Kingsbridge & Wye" in n for n in x.notes) for x in res)


def test_grouped_audits_are_checked(pooled, truth, tmp_path, demo_tagged):
    folder, _ = pooled
    audits = _labelled_audits(folder, tmp_path, truth)
    with pytest.raises(AuditError, match="--by council"):
        estimate_themes(folder, audit_path=audits, id_col="rhi_id", by="setting")
    one = audits / "audit_Eastvale.csv"
    with pytest.raises(AuditError, match="both audits of council 'Eastvale'"):
        estimate_themes(folder, audit_path=[one, one], id_col="rhi_id")
    whole = tmp_path / "whole.csv"
    draw_sample(folder, whole, size=60, id_col="rhi_id")
    label_from_truth(whole, truth)
    with pytest.raises(AuditError, match="audit of the whole file"):
        estimate_themes(folder, audit_path=[whole, one], id_col="rhi_id")
    # a council's audit relabelled as another council's no longer matches the rows drawn
    df = pd.read_csv(one, dtype=str, keep_default_na=False)
    df["audit_group"] = "Northmoor"
    df.to_csv(one, index=False)
    with pytest.raises(AuditError, match="edited"):
        estimate_themes(folder, audit_path=audits, id_col="rhi_id")
    # the folder for the audits must be new or empty: a second draw never overwrites labels
    with pytest.raises(Exception, match="new or empty folder"):
        draw_group_samples(folder, audits, by="council", size=10, id_col="rhi_id")


def test_audit_file_names_are_safe_and_unique():
    taken: set[str] = set()
    names = [audit_file_name(g, taken) for g in ["St Helens", "St. Helens", "../x", "", "Ynys Môn"]]
    assert names == ["audit_St_Helens.csv", "audit_St_Helens_2.csv", "audit_x.csv", "audit_blank.csv",
                     "audit_Ynys_M_n.csv"]


def test_stratified_by_council_estimator_covers_at_its_level():
    """Councils as strata, a random audit in each: the 95% interval for the pooled total covers the
    true total in about 95% of repeated audits (here over 400 audits of one synthetic consortium
    whose model is miscalibrated differently in each council)."""
    rng = np.random.default_rng(7)
    sizes, bias = [900, 400, 2500, 150], [0.0, 0.15, -0.1, 0.2]
    strata = np.repeat(np.arange(4), sizes)
    y = np.concatenate([rng.random(n) < p for n, p in zip(sizes, [0.15, 0.3, 0.1, 0.25])]).astype(float)
    f = np.clip(0.7 * y + 0.15 + np.concatenate([np.full(n, b) for n, b in zip(sizes, bias)])
                + rng.normal(0, 0.15, len(y)), 0, 1)
    hits = 0
    for _ in range(400):
        sample = np.concatenate([rng.choice(np.flatnonzero(strata == h), min(80, n), replace=False)
                                 for h, n in enumerate(sizes)])
        e = est.stratified_estimate(f, strata, sample, y[sample])
        hits += e.covers(y.sum())
    assert 0.92 <= hits / 400 <= 0.99


def test_load_tagged_fingerprint_is_computed_once(pooled):
    folder, _ = pooled
    from rhi_nlp.foi import fingerprint

    tagged = load_tagged(folder, id_col="rhi_id")
    first = fingerprint(tagged)
    tagged.df.loc[0, "parental_conflict_prob"] = 0.123456
    assert fingerprint(tagged) == first  # cached for the loaded file; a new load sees the change


def test_report_explains_the_per_council_design(pooled, truth, tmp_path):
    folder, _ = pooled
    audits = _labelled_audits(folder, tmp_path, truth)
    out = tmp_path / "report"
    r = CliRunner().invoke(cli, ["report", str(folder), "--id-col", "rhi_id", "--audit", str(audits),
                                 "--theme", "parental_conflict", "-o", str(out)])
    assert r.exit_code == 0, r.output
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "Each group drew a random sample of its own RHIs" in md
    assert "drawn more heavily where the model was unsure" not in md
    small = int(pd.read_csv(audits / "audit_Kingsbridge_Wye.csv").shape[0])
    assert f"All {small} RHIs were read and labelled by hand, so the count is exact" in md
    assert md.count("labelled by hand, so the count is exact") == 1  # not repeated as a note
    assert f"| all {small} labelled by hand: the exact count, rounded |" in md   # the summary table says so too
    assert "1 of the 3 groups had no more recorded narratives than the sample size" in md


def test_fingerprint_is_the_row_by_row_definition(demo_tagged):
    """The vectorised fingerprint equals the definition audits were stamped with: sha256 of
    id|status|p1|...|p13 per row, probabilities to 4 decimals."""
    import hashlib

    from rhi_nlp.foi import _fingerprint

    tagged = load_tagged(demo_tagged, id_col="rhi_id")
    tagged.df.loc[3, "parental_conflict_prob"] = 0.12345   # a value that rounds half-way
    tagged.df.loc[4, "domestic_abuse_prob"] = 1e-9
    h = hashlib.sha256()
    cols = ["rhi_id", "narrative_status"] + [f"{t}_prob" for t in tagged.theme_ids]
    for row in tagged.df[cols].itertuples(index=False, name=None):
        h.update(("|".join(f"{v:.4f}" if isinstance(v, float) else str(v) for v in row) + "\n").encode())
    assert _fingerprint(tagged) == h.hexdigest()[:16]


def test_estimating_reads_only_the_columns_it_needs(pooled):
    folder, _ = pooled
    lean = load_tagged(folder, id_col="rhi_id", keep={"council"})
    assert "narrative" not in lean.df.columns and "parental_conflict_evidence" not in lean.df.columns
    assert {"council", "rhi_id", "narrative_status", "parental_conflict_prob"} <= set(lean.df.columns)
    full = load_tagged(folder, id_col="rhi_id")
    assert "narrative" in full.df.columns and "parental_conflict_evidence" not in full.df.columns


def test_sample_by_writes_excel_audits_and_refuses_other_designs(pooled, truth, tmp_path):
    folder, t = pooled
    out = tmp_path / "xl"
    r = CliRunner().invoke(cli, ["sample", str(folder), "--id-col", "rhi_id", "--by", "council", "--size", "40",
                                 "--format", "xlsx", "-o", str(out)])
    assert r.exit_code == 0, r.output
    files = sorted(out.glob("*.xlsx"))
    assert len(files) == 3
    for f in files:  # label in Excel's place: read, fill from the truth, write back as .xlsx
        a = pd.read_excel(f, dtype=str).fillna("")
        for c in truth.columns:
            if c in a.columns:
                a[c] = a["rhi_id"].map(truth[c]).to_numpy()
        a.to_excel(f, index=False)
    res = estimate_themes(folder, themes=["peer_pull"], audit_path=out, id_col="rhi_id")
    assert [x.group for x in res] == [None] + sorted(COUNCILS)
    rec = t[t["narrative_status"] == "recorded"]
    assert res[0].estimate.covers(int(truth.loc[rec["rhi_id"], "peer_pull"].astype(int).sum()))
    bad = CliRunner().invoke(cli, ["sample", str(folder), "--id-col", "rhi_id", "--by", "council", "--size", "40",
                                   "--design", "stratified", "--theme", "peer_pull", "-o", str(tmp_path / "s")])
    assert bad.exit_code != 0 and "--by draws a random sample" in bad.output


def test_sample_by_refuses_blank_groups_and_leaves_no_half_drawn_folder(pooled, tmp_path, monkeypatch):
    folder, t = pooled
    blank = t.copy()
    blank.loc[[5, 9], "council"] = " "
    src = tmp_path / "blank.parquet"
    blank.to_parquet(src, index=False)
    out = tmp_path / "audits"
    first = blank.loc[blank["narrative_status"] == "recorded"].index.intersection([5, 9])[0]
    with pytest.raises(Exception, match=rf"row id '{blank.loc[first, 'rhi_id']}' \(and \d other row\(s\)\) has no "
                                        r"value in column 'council'"):
        draw_group_samples(src, out, by="council", size=10, id_col="rhi_id")
    # a draw that fails part-way (here: one group's file cannot be written) leaves nothing behind
    import rhi_nlp.foi as foi

    calls = []

    def failing(*a, **k):
        calls.append(1)
        if len(calls) == 2:
            raise OSError("disk full")
        return real(*a, **k)

    real = foi.draw_sample
    monkeypatch.setattr(foi, "draw_sample", failing)
    with pytest.raises(OSError):
        draw_group_samples(folder, out, by="council", size=10, id_col="rhi_id")
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".audits")]


def test_sample_by_takes_only_the_drawn_narratives_and_each_is_its_own_rows(pooled, tmp_path):
    """The pooled file is read without its narratives; the drawn rows' narratives are then read
    a chunk at a time, and each audit row carries the narrative of its own id."""
    folder, t = pooled
    out = tmp_path / "audits"
    draw_group_samples(folder, out, by="council", size=40, id_col="rhi_id")
    by_id = t.set_index("rhi_id")["narrative"]
    n = 0
    for f in out.iterdir():
        a = pd.read_csv(f, dtype=str, keep_default_na=False)
        assert (a["narrative"].to_numpy() == by_id.loc[a["rhi_id"]].to_numpy()).all()
        n += len(a)
    recorded = t[t["narrative_status"] == "recorded"]["council"].value_counts()
    assert n == sum(min(40, int(k)) for k in recorded)
    with pytest.raises(InputError, match="column 'story' not found"):
        draw_group_samples(folder, tmp_path / "none", by="council", size=40, id_col="rhi_id", text_col="story")
    assert not (tmp_path / "none").exists()


@pytest.mark.parametrize("kind", ["csv", "xlsx", "parquet", "dataset"])
def test_fetch_values_reads_the_wanted_rows_a_chunk_at_a_time(pooled, tmp_path, kind):
    folder, t = pooled
    small = t[["rhi_id", "narrative", "council"]].head(120)
    if kind == "dataset":
        path = folder
        small = t
    elif kind == "xlsx":
        path = tmp_path / "t.xlsx"
        small.to_excel(path, index=False)
    else:
        path = tmp_path / f"t.{kind}"
        getattr(small, f"to_{kind}")(path, index=False)
    want = small["rhi_id"].iloc[[0, 7, 59, 60, 119]].tolist() + ["not-an-id"]
    got = fetch_values(path, "rhi_id", "narrative", want, chunk_size=50)
    assert got == dict(zip(want[:-1], small.set_index("rhi_id").loc[want[:-1], "narrative"]))
    assert {"rhi_id", "narrative"} <= set(read_columns(path))
