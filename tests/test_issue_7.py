"""Regression tests for issue 7 (hardening): one test per fault, each failing on the code before it."""

import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from rhi_nlp.cli import cli
from rhi_nlp.disclosure import disclose
from rhi_nlp.errors import AuditError, InputError, ModelFileError
from rhi_nlp.foi import Period, draw_sample, estimate_themes, result_to_dict, secondary_suppression
from rhi_nlp.io import read_table, write_table
from rhi_nlp.persistence import load_model
from rhi_nlp.report import render_html, render_json, render_markdown, render_text
from rhi_nlp.tagging import tag_file

from .conftest import DEMO, ROOT, label_from_truth

MARKER = "Zebrawombat"  # stands for narrative text: it must never reach stderr or an error message


def _run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


# --- wrong answers ---------------------------------------------------------------------------

def test_issue_7_iso_dates_are_not_read_day_first(demo_tagged):
    df = pd.read_csv(DEMO, dtype=str, keep_default_na=False)
    q1 = int(((df["interview_date"] >= "2025-01-01") & (df["interview_date"] <= "2025-03-31")).sum())
    (r,) = estimate_themes(demo_tagged, themes=["parental_conflict"], id_col="rhi_id",
                           period=Period("interview_date", pd.Timestamp("2025-01-01").date(),
                                         pd.Timestamp("2025-03-31").date()))
    assert r.n_rows_total == q1 == 201  # was 182, of which only 134 were in Q1


def test_issue_7_bare_carriage_return_round_trips(small_model, tmp_path):
    src = tmp_path / "in.csv"
    texts = ["Mum and dad\rrowing again.", "Line one\r\nline two\rline three", "plain"]
    write_table(pd.DataFrame({"id": ["a", "b", "c"], "narrative": texts}), src)
    out = tmp_path / "out.csv"
    tag_file(src, out, small_model)
    back = read_table(out)
    assert back["id"].tolist() == ["a", "b", "c"] and back["narrative"].tolist() == texts


@pytest.fixture
def labelled_audit(demo_tagged, truth, tmp_path):
    path = tmp_path / "audit.csv"
    draw_sample(demo_tagged, path, size=60, seed=11, id_col="rhi_id")
    label_from_truth(path, truth)
    return path


def _edit(path, fn):
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    fn(df).to_csv(path, index=False)


def test_issue_7_audit_with_added_rows_is_refused(demo_tagged, labelled_audit):
    audit = pd.read_csv(labelled_audit, dtype=str, keep_default_na=False)
    tagged = pd.read_csv(demo_tagged, dtype=str, keep_default_na=False)
    extra = tagged[(tagged.narrative_status == "recorded") & ~tagged.rhi_id.isin(audit.rhi_id)].head(5)
    rows = pd.DataFrame({c: (extra[c].tolist() if c in extra else [audit[c].iloc[0]] * 5) for c in audit.columns})
    rows["parental_conflict"] = "1"
    _edit(labelled_audit, lambda df: pd.concat([df, rows]))
    with pytest.raises(AuditError, match=r"row id '.*' was not drawn in this sample \(5 such row\(s\)\)"):
        estimate_themes(demo_tagged, themes=["parental_conflict"], audit_path=labelled_audit, id_col="rhi_id")


def test_issue_7_audit_with_deleted_rows_is_refused(demo_tagged, labelled_audit):
    _edit(labelled_audit, lambda df: df[df["parental_conflict"] != "1"])
    with pytest.raises(AuditError, match=r"was drawn but is missing from the audit \(\d+ such row\(s\)\); label the whole"):
        estimate_themes(demo_tagged, themes=["parental_conflict"], audit_path=labelled_audit, id_col="rhi_id")


def test_issue_7_audit_with_duplicated_row_is_refused(demo_tagged, labelled_audit):
    _edit(labelled_audit, lambda df: pd.concat([df, df.head(1)]))
    with pytest.raises(AuditError, match=r"row id '.*' appears 2 times; each drawn row must appear once"):
        estimate_themes(demo_tagged, themes=["parental_conflict"], audit_path=labelled_audit, id_col="rhi_id")


def test_issue_7_audit_with_edited_design_is_refused(demo_tagged, labelled_audit):
    _edit(labelled_audit, lambda df: df.assign(audit_size="61"))
    with pytest.raises(AuditError, match=r"design columns \(size, seed, design, theme, group\) were edited"):
        estimate_themes(demo_tagged, themes=["parental_conflict"], audit_path=labelled_audit, id_col="rhi_id")


def test_issue_7_blank_child_ids_are_refused_not_merged(demo_tagged, tmp_path):
    df = pd.read_csv(demo_tagged, dtype=str, keep_default_na=False)
    df.loc[[3, 9, 40], "child_id"] = ""
    path = tmp_path / "t.csv"
    df.to_csv(path, index=False)
    with pytest.raises(InputError, match=r"row id 'RHI-25-\d+' \(and 2 other row\(s\)\) has no child id in column 'child_id'"):
        estimate_themes(path, themes=["parental_conflict"], unit="child", child_col="child_id", id_col="rhi_id")
    with pytest.raises(InputError, match=r"has no child id in column 'child_id'"):
        draw_sample(path, tmp_path / "a.csv", size=20, unit="child", child_col="child_id", id_col="rhi_id")


def test_issue_7_not_recorded_children_are_those_with_no_recorded_narrative(demo_tagged):
    df = pd.read_csv(demo_tagged, dtype=str, keep_default_na=False)
    rec = set(df.loc[df.narrative_status == "recorded", "child_id"])
    none_recorded = set(df.loc[df.narrative_status != "recorded", "child_id"]) - rec
    (r,) = estimate_themes(demo_tagged, themes=["parental_conflict"], unit="child", child_col="child_id", id_col="rhi_id")
    assert r.estimate.N == len(rec) and r.n_not_recorded == len(none_recorded)
    assert r.estimate.N + r.n_not_recorded == df["child_id"].nunique()


@pytest.mark.parametrize("point, lo, hi, N, shown, reason", [
    (6.6, 5.0, 9.0, 7, "c", "nearly all"),      # was "5, 100.0% (range 5 to 10)" for a group of 7
    (2.0, 1.0, 3.0, 3, "c", "small group"),
    (11.0, 6.0, 19.0, 23, "10", None),           # an ordinary group: published as usual
])
def test_issue_7_small_groups_are_withheld(point, lo, hi, N, shown, reason):
    d = disclose(point, lo, hi, N)
    assert d.text_estimate == shown and d.reason == reason
    assert d.ci_high is None or d.ci_high <= N


def test_issue_7_upper_limit_capped_at_group_size():
    d = disclose(18.0, 14.0, 22.5, 23)
    assert d.ci_high == 23 and d.text_high == "23"


def test_issue_7_small_group_rule_reaches_every_output(demo_tagged, tmp_path):
    df = pd.read_csv(demo_tagged, dtype=str, keep_default_na=False)
    p = pd.to_numeric(df["parental_conflict_prob"])
    top = p[df.narrative_status == "recorded"].sort_values().index[-7:]
    df["team"] = "main"
    df.loc[top, "team"] = "tiny"
    path = tmp_path / "t.csv"
    df.to_csv(path, index=False)
    results = estimate_themes(path, themes=["parental_conflict"], by="team", id_col="rhi_id")
    rows = [result_to_dict(r) for r in results]
    secondary_suppression(rows)
    tiny = next(r for r in rows if r["group"] == "tiny")
    assert tiny["suppressed"] and tiny["suppression_reason"] == "nearly all" and tiny["unrounded"] is None
    assert tiny["share_percent"] is None and tiny["display"]["estimate"] == "c"
    tiny_sentence = [line for line in render_text(rows).splitlines() if "'tiny'" in line][0]
    assert "withheld (c)" in tiny_sentence and "%" not in tiny_sentence
    js = json.loads(render_json(rows))["themes"]["parental_conflict"]["groups"]["tiny"]
    assert js["estimate"] is None and js["unrounded"] is None
    md, page = render_markdown(rows), render_html(rows, "t", b"")
    assert "| tiny | c | withheld |" in md and "withheld (c) because nearly all" in md
    assert "withheld (c) because nearly all" in page


# --- security --------------------------------------------------------------------------------

class _Payload:
    def __reduce__(self):
        return (open, (os.environ["RHI_NLP_TEST_MARKER"], "w"))


def _reseal(copy):
    """Give the crafted files a matching card, as an attacker who can write the folder would."""
    import hashlib

    card = json.loads((copy / "model_card.json").read_text())
    for key, name in (("model_sha256", "model.npz"), ("model_json_sha256", "model.json")):
        if (copy / name).exists():
            card[key] = hashlib.sha256((copy / name).read_bytes()).hexdigest()
    (copy / "model_card.json").write_text(json.dumps(card))


def test_issue_7_crafted_model_files_cannot_run_code(small_model_dir, tmp_path, monkeypatch):
    marker = tmp_path / "code_ran"
    monkeypatch.setenv("RHI_NLP_TEST_MARKER", str(marker))
    # 1. an object array (a pickle) inside model.npz, with a card that matches it
    copy = tmp_path / "npz"
    shutil.copytree(small_model_dir, copy)
    with np.load(copy / "model.npz") as z:
        arrays = {k: z[k] for k in z.files}
    arrays["coef"] = np.array([_Payload()], dtype=object)
    np.savez(copy / "model.npz", **arrays)
    _reseal(copy)
    with pytest.raises(ModelFileError, match=r"not an rhi-nlp model"):
        load_model(copy)
    # 2. an old-style joblib pickle with a matching card
    old = tmp_path / "joblib"
    shutil.copytree(small_model_dir, old)
    (old / "model.npz").unlink()
    (old / "model.joblib").write_bytes(pickle.dumps(_Payload()))
    with pytest.raises(ModelFileError, match=r"old joblib format, which can run code when loaded, so it is not opened"):
        load_model(old)
    result = _run("tag", ROOT / "training_data" / "handwritten" / "handwritten.csv", "-o", tmp_path / "o.csv", "--model", old)
    assert result.exit_code == 1 and "not opened" in result.output
    assert not marker.exists()


def test_issue_7_model_round_trip_is_exact(small_model_dir, small_model, tmp_path, nlp):
    from rhi_nlp.features import iter_records
    from rhi_nlp.persistence import save_model
    from rhi_nlp.training import model_card_markdown

    save_model(small_model, tmp_path / "again", model_card_markdown(small_model.card))
    again = load_model(tmp_path / "again")
    texts = ["Mum and her partner argue every night.", "No concerns re CSE. Denies drugs."]
    recs = list(iter_records(nlp, texts, small_model.theme_ids))
    assert np.array_equal(small_model.classifier.predict_proba(recs), again.classifier.predict_proba(recs))


def test_issue_7_installed_package_never_reads_models_from_current_folder(tmp_path, monkeypatch, small_model_dir):
    import shutil

    from rhi_nlp import paths

    shutil.copytree(small_model_dir, tmp_path / "models" / "default")   # a model in the current folder
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RHI_NLP_HOME", raising=False)
    monkeypatch.setattr(paths, "_checkout", lambda: None)
    monkeypatch.setattr(paths, "user_home", lambda: tmp_path / "user")
    assert paths.find_model() == paths.BUNDLED_MODEL           # the package's, not the current folder's
    assert paths.models_dir() == tmp_path / "user" / "models"              # trained models go to the user folder
    monkeypatch.setenv("RHI_NLP_HOME", str(tmp_path))           # named by the user: used
    assert paths.find_model() == tmp_path / "models" / "default"


def test_issue_7_audit_files_are_excel_safe_and_read_back_intact(small_model, tmp_path, truth):
    src = tmp_path / "in.csv"
    ids = ["=HYPERLINK(1)", "+44", "-3", "@x"] + [f"id{i}" for i in range(16)]
    texts = ["=cmd|' /C calc'!A0", "\tTabbed start", "\rCR start", "- dash list"] + ["Mum and dad argue."] * 16
    write_table(pd.DataFrame({"id": ids, "narrative": texts}), src)
    tagged = tmp_path / "tagged.csv"
    tag_file(src, tagged, small_model)
    for ext in ("csv", "xlsx"):
        audit = tmp_path / f"audit.{ext}"
        draw_sample(tagged, audit, size=20, seed=1)
        if ext == "csv":
            raw = audit.read_text(encoding="utf-8")
            assert "'=HYPERLINK(1)" in raw and "'=cmd" in raw and "\n=" not in raw and ",=" not in raw
        back = read_table(audit, excel_escaped=True)
        assert sorted(back["id"]) == sorted(ids)
        assert dict(zip(back["id"], back["narrative"])) == dict(zip(ids, texts))


# --- narrative text in errors ------------------------------------------------------------------

def test_issue_7_headerless_export_is_not_echoed(tmp_path, small_model_dir):
    path = tmp_path / "nohead.csv"
    path.write_text(f"1,The child said {MARKER} and mum argue all the time at home\n2,second\n")
    result = _run("tag", path, "-o", tmp_path / "o.csv", "--model", small_model_dir)
    assert result.exit_code == 1 and MARKER not in result.output
    assert "the first row does not look like a header" in result.output


def test_issue_7_swapped_id_column_is_not_echoed(tmp_path, small_model_dir):
    path = tmp_path / "x.csv"
    pd.DataFrame({"id": ["1", "2"], "narrative": [f"{MARKER} went missing with friends again", "x"]}).to_csv(path, index=False)
    result = _run("tag", path, "-o", tmp_path / "o.csv", "--id-col", "narrative", "--text-col", "id",
                  "--model", small_model_dir)
    assert result.exit_code == 1 and MARKER not in result.output
    assert "row 2, column 'narrative': the value is long free text, not an id" in result.output


def test_issue_7_library_errors_do_not_quote_cells(tmp_path, small_model_dir):
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"PAR1" + f"{MARKER} not really parquet".encode() + b"PAR1")
    result = _run("tag", bad, "-o", tmp_path / "o.csv", "--model", small_model_dir)
    assert result.exit_code == 1 and MARKER not in result.output and "cannot read" in result.output


# --- killed runs and permissions ---------------------------------------------------------------

def test_issue_7_sigterm_and_sighup_leave_no_part_file(small_model_dir, tmp_path):
    src = tmp_path / "big.csv"
    pd.DataFrame({"id": [str(i) for i in range(6000)],
                  "narrative": ["Mum and her partner argue. He went to a friend's house."] * 6000}).to_csv(src, index=False)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for sig in (signal.SIGTERM, signal.SIGHUP):
        out = tmp_path / f"out{sig}.csv"
        proc = subprocess.Popen([sys.executable, "-m", "rhi_nlp", "tag", str(src), "-o", str(out),
                                 "--model", str(small_model_dir), "--chunk-size", "50", "--quiet"],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 60
        while time.time() < deadline and not list(tmp_path.glob(f".{out.name}.*.part")):
            time.sleep(0.05)
        assert list(tmp_path.glob(f".{out.name}.*.part")), "the run never started writing"
        time.sleep(0.3)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 128 + sig and b"Traceback" not in err
        assert not list(tmp_path.glob(".*.part")) and not out.exists()


def test_issue_7_stale_parts_of_a_killed_run_are_removed(small_model, narratives_csv, tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".o.csv.{dead.pid}.abcd.part"
    stale.write_text("confidential half-written output")
    other = tmp_path / f".other.csv.{dead.pid}.abcd.part"
    other.write_text("x")
    tag_file(narratives_csv, tmp_path / "o.csv", small_model)
    assert not stale.exists() and other.exists()


def test_issue_7_outputs_follow_the_umask(small_model, narratives_csv, tmp_path):
    old = os.umask(0o022)
    try:
        tag_file(narratives_csv, tmp_path / "o.csv", small_model)
        assert (tmp_path / "o.csv").stat().st_mode & 0o777 == 0o644
    finally:
        os.umask(old)


def test_issue_7_unreadable_model_card_says_permission(small_model_dir, tmp_path, monkeypatch):
    from pathlib import Path

    real = Path.read_text

    def deny(self, *a, **k):
        if self.name == "model_card.json":
            raise PermissionError(13, "Permission denied")
        return real(self, *a, **k)

    monkeypatch.setattr(Path, "read_text", deny)
    with pytest.raises(ModelFileError, match=r"model_card.json: permission denied: cannot read the model card"):
        load_model(small_model_dir)


# --- clear errors instead of tracebacks --------------------------------------------------------

def test_issue_7_empty_period_without_audit(demo_tagged):
    r = _run("estimate", demo_tagged, "--id-col", "rhi_id", "--date-col", "interview_date",
             "--from", "2030-01-01", "--to", "2030-02-01")
    assert r.exit_code == 1 and "no RHI falls in 1 January 2030 to 1 February 2030" in r.output
    assert "run from 2025-01-" in r.output


@pytest.mark.parametrize("conf", ["1", "1.5", "0"])
def test_issue_7_plan_confidence_out_of_range(demo_tagged, conf):
    r = _run("plan", demo_tagged, "--id-col", "rhi_id", "--half-width", "10", "--confidence", conf)
    assert r.exit_code == 1 and "--confidence must be between 0.5 and 1" in r.output


def test_issue_7_title_with_dollar_and_markup_is_safe(demo_tagged, tmp_path):
    title = "Costs $5 | <script>alert(1)</script> $x^2$"
    r = _run("report", demo_tagged, "--id-col", "rhi_id", "--theme", "parental_conflict", "-o", tmp_path / "rep",
             "--title", title)
    assert r.exit_code == 0, r.output
    md = (tmp_path / "rep" / "report.md").read_text()
    page = (tmp_path / "rep" / "report.html").read_text()
    assert "<script>" not in md and "<script>" not in page and "\\|" in md


def test_issue_7_report_escapes_group_names(demo_tagged, tmp_path):
    df = pd.read_csv(demo_tagged, dtype=str, keep_default_na=False)
    df["grp"] = np.where(np.arange(len(df)) % 2, "a|b", "<img src=x onerror=alert(1)>")
    path = tmp_path / "t.csv"
    df.to_csv(path, index=False)
    rows = [result_to_dict(r) for r in estimate_themes(path, themes=["parental_conflict"], by="grp", id_col="rhi_id")]
    md = render_markdown(rows)
    assert "<img" not in md and "a\\|b" in md
    assert all(line.count("|") - line.count("\\|") == 6 for line in md.splitlines() if line.startswith("| Parental"))


def test_issue_7_unwritable_output_folder(small_model_dir, narratives_csv, demo_tagged, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = _run("tag", narratives_csv, "-o", blocker / "o.csv", "--model", small_model_dir)
    assert r.exit_code == 1 and "is not a folder" in r.output
    r = _run("report", demo_tagged, "--id-col", "rhi_id", "-o", blocker, "--theme", "parental_conflict")
    assert r.exit_code == 2 and "is a file" in r.output  # click's own usage error, no traceback
    from rhi_nlp.report import write_report

    with pytest.raises(InputError, match=r"file: is a file; -o names the folder for the report"):
        write_report([], blocker, "t")


def test_issue_7_parquet_types_written_to_xlsx(small_model, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    src = tmp_path / "in.parquet"
    pq.write_table(pa.table({
        "id": ["a", "b"], "narrative": ["Mum and dad argue.", "No concerns."],
        "when": pa.array([pd.Timestamp("2025-01-02 10:00", tz="Europe/London")] * 2),
        "tags": pa.array([["x", "y"], []]),
    }), src)
    tag_file(src, tmp_path / "o.xlsx", small_model)
    back = read_table(tmp_path / "o.xlsx")
    assert back["when"].iloc[0] == "2025-01-02T10:00:00+00:00" and back["tags"].iloc[0] == '["x", "y"]'
    pq.write_table(pa.table({"id": ["a"], "narrative": ["x"], "blob": pa.array([b"\x00\x01"])}), src)
    with pytest.raises(InputError, match=r"column 'blob' holds binary data, which an .xlsx cell cannot hold"):
        tag_file(src, tmp_path / "p.xlsx", small_model)
    assert not (tmp_path / "p.xlsx").exists() and not list(tmp_path.glob(".*.part"))


def test_issue_7_excel_column_blank_for_first_rows_to_parquet(small_model, tmp_path):
    n = 1200
    df = pd.DataFrame({"id": [f"r{i}" for i in range(n)], "narrative": ["Mum and dad argue."] * n,
                       "notes": [None] * 700 + ["late note"] * (n - 700)})
    src = tmp_path / "in.xlsx"
    write_table(df, src)
    tag_file(src, tmp_path / "o.parquet", small_model, chunk_size=500)
    back = pd.read_parquet(tmp_path / "o.parquet")
    assert back["notes"].iloc[-1] == "late note" and len(back) == n


def test_issue_7_sample_refuses_its_own_input(demo_tagged, tmp_path):
    copy = tmp_path / "t.csv"
    shutil.copy(demo_tagged, copy)
    with pytest.raises(InputError, match=r"the audit must not overwrite its input file"):
        draw_sample(copy, copy, size=10, id_col="rhi_id")


def test_issue_7_one_cp1252_byte_does_not_garble_the_file(small_model, tmp_path):
    src = tmp_path / "mixed.csv"
    src.write_bytes("id,narrative\n1,Café with Zoë\n2,it\x92s mum\n3,naïve\n".encode("utf-8").replace(b"\xc2\x92", b"\x92"))
    summary = tag_file(src, tmp_path / "o.csv", small_model)
    assert read_table(tmp_path / "o.csv")["narrative"].tolist() == ["Café with Zoë", "it\u2019s mum", "naïve"]
    assert any("1 byte(s) are not UTF-8 (the first on line 3)" in n for n in summary.notes)


def test_issue_7_utf16_files(small_model, tmp_path):
    src = tmp_path / "u16.csv"
    src.write_bytes("id,narrative\n1,Mum and dad argue a lot\n".encode("utf-16"))
    tag_file(src, tmp_path / "o.csv", small_model)
    assert read_table(tmp_path / "o.csv")["narrative"].tolist() == ["Mum and dad argue a lot"]
    src.write_bytes("id,narrative\n1,x\n".encode("utf-16-le"))
    with pytest.raises(InputError, match=r"looks like UTF-16 text without a byte-order mark; pass --encoding utf-16-le"):
        tag_file(src, tmp_path / "p.csv", small_model)


def test_issue_7_excel_with_several_sheets(small_model, tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.title = "Notes"
    wb.active.append(["about this export"])
    ws = wb.create_sheet("RHIs")
    ws.append(["id", "narrative"])
    ws.append(["1", "Mum and dad argue"])
    wb.save(tmp_path / "two.xlsx")
    with pytest.raises(InputError, match=r"has 2 sheets \('Notes', 'RHIs'\); pass --sheet"):
        tag_file(tmp_path / "two.xlsx", tmp_path / "o.csv", small_model)
    tag_file(tmp_path / "two.xlsx", tmp_path / "o.csv", small_model, sheet="RHIs")
    assert read_table(tmp_path / "o.csv")["id"].tolist() == ["1"]


def test_issue_7_xlsx_row_limit(small_model, narratives_csv, tmp_path, monkeypatch):
    from rhi_nlp import io

    monkeypatch.setattr(io, "EXCEL_MAX_ROWS", 4)
    with pytest.raises(InputError, match=r"an .xlsx sheet holds at most 4 rows including the header; write .csv"):
        tag_file(narratives_csv, tmp_path / "o.xlsx", small_model)
    assert not list(tmp_path.glob("*.xlsx")) and not list(tmp_path.glob(".*.part"))


def test_issue_7_long_narratives_are_noted(small_model, tmp_path, monkeypatch):
    from rhi_nlp import tagging

    src = tmp_path / "long.csv"
    pd.DataFrame({"id": ["1", "2"], "narrative": ["word " * 8000, "short"]}).to_csv(src, index=False)
    s = tag_file(src, tmp_path / "o.xlsx", small_model)
    assert any("1 cell(s) longer than Excel's 32,767-character limit were cut" in n for n in s.notes)
    monkeypatch.setattr(tagging, "MAX_CHARS", 1000)
    s = tag_file(src, tmp_path / "o.csv", small_model)
    assert any("1 narrative(s) longer than 1,000 characters were tagged on their first 1,000" in n for n in s.notes)


# --- fuzz: malformed files and options through the CLI ------------------------------------------

def _valid_csv(n=6):
    rows = [f"r{i},{MARKER} went missing after mum and stepdad argued {i},2025-0{1 + i % 9}-1{i % 9}" for i in range(n)]
    return ("id,narrative,interview_date\n" + "\n".join(rows) + "\n").encode()


def _mutations():
    base = _valid_csv()
    return {
        "truncated": base[: len(base) // 2],
        "quote_open": base.replace(b"went", b'"went', 1),
        "nul_bytes": base.replace(b"mum", b"m\x00m"),
        "cp1252": base.replace(b"mum", b"m\x92m"),
        "utf16_nobom": base.decode().encode("utf-16-le"),
        "extra_fields": base.replace(b"argued 1,", b"argued 1,x,y,z,"),
        "header_only": b"id,narrative\n",
        "empty": b"",
        "no_header": base.split(b"\n", 1)[1],
        "dup_ids": base.replace(b"r1,", b"r0,"),
        "binary": os.urandom(64) + MARKER.encode() + os.urandom(64),
        "xlsx_junk": b"PK\x03\x04" + MARKER.encode() * 10,
    }


OPTION_SETS = [
    [], ["--id-col", "narrative"], ["--text-col", "id"], ["--id-col", "nope"], ["--encoding", "klingon"],
    ["--encoding", "ascii"], ["--sheet", "x"], ["--chunk-size", "1"], ["--id-col", "narrative", "--text-col", "id"],
]


@pytest.mark.parametrize("name", sorted(_mutations()))
def test_issue_7_fuzz_cli_never_tracebacks_or_leaks(name, small_model_dir, tmp_path, demo_tagged):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    data = _mutations()[name]
    ext = ".xlsx" if name == "xlsx_junk" else (".parquet" if name == "binary" else ".csv")
    src = tmp_path / f"in{ext}"
    src.write_bytes(data)

    @settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
    @given(opts=st.sampled_from(OPTION_SETS), out_ext=st.sampled_from([".csv", ".xlsx", ".parquet"]),
           command=st.sampled_from(["tag", "estimate", "sample"]))
    def check(opts, out_ext, command):
        out = tmp_path / f"out{out_ext}"
        out.unlink(missing_ok=True)
        if command == "tag":
            args = ["tag", src, "-o", out, "--model", small_model_dir, *opts]
        elif command == "estimate":
            args = ["estimate", src, "--date-col", "interview_date", "--from", "2025-01-01",
                    *[o for o in opts if not o.startswith("--sheet") and o != "x"][:2]]
            args = [a for a in args if a not in ("--encoding", "klingon", "ascii", "--chunk-size", "1", "--text-col")]
        else:
            args = ["sample", src, "--size", "3", "-o", out]
        result = _run(*args)
        assert result.exception is None or isinstance(result.exception, SystemExit), (args, result.exception)
        assert MARKER not in result.output, args
        assert "Traceback" not in result.output
        if result.exit_code != 0:
            assert not out.exists(), args
        assert not list(tmp_path.glob(".*.part"))

    check()


def test_issue_7_report_states_the_rule_it_applied(demo_tagged):
    from rhi_nlp.disclosure import DisclosureRule
    from rhi_nlp.report import paragraph_parts

    (r,) = estimate_themes(demo_tagged, themes=["parental_conflict"], id_col="rhi_id")
    row = result_to_dict(r, DisclosureRule(threshold=10, base=5))
    assert any("figures below 10 are shown as 'fewer than 10'" in p for p in paragraph_parts(row))
