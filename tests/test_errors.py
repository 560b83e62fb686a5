"""Every deliberate error names the file, row id or column and says what to do; none echoes text."""

import json
import shutil

import pandas as pd
import pytest

from rhi_nlp.errors import AuditError, InputError, ModelFileError, ThemeFileError
from rhi_nlp.foi import Period, draw_sample, estimate_themes, load_tagged
from rhi_nlp.io import TableReader, TableWriter
from rhi_nlp.persistence import load_model
from rhi_nlp.tagging import tag_file
from rhi_nlp.themes import load_unions, themes_to_json, load_themes
from rhi_nlp.training import load_labelled, train_model

SECRET = "Secret narrative about a child"


def _csv(tmp_path, name, df):
    p = tmp_path / name
    df.to_csv(p, index=False)
    return p


def test_errors_io(tmp_path):
    p = _csv(tmp_path, "a.csv", pd.DataFrame({"id": ["1"], "narrative": [SECRET]}))
    with pytest.raises(InputError, match=r"unknown --encoding 'klingon'; try utf-8, cp1252 or utf-16"):
        TableReader(p, "id", "narrative", encoding="klingon")
    (tmp_path / "dir.csv").mkdir()
    with pytest.raises(InputError, match=r"dir.csv: is a folder, not a file"):
        TableReader(tmp_path / "dir.csv", "id", "narrative")
    head = tmp_path / "head.csv"
    head.write_text("id,narrative\n")
    with pytest.raises(InputError, match=r"head.csv: the file has a header but no rows"):
        list(TableReader(head, "id", "narrative"))
    with pytest.raises(InputError, match=r"the folder .*nowhere does not exist"):
        TableWriter(tmp_path / "nowhere" / "out.csv")
    empty = tmp_path / "empty.xlsx"
    from openpyxl import Workbook
    Workbook().save(empty)
    with pytest.raises(InputError, match=r"empty.xlsx: the sheet 'Sheet' is empty"):
        list(TableReader(empty, "id", "narrative"))


def test_errors_tagging(small_model, tmp_path):
    p = _csv(tmp_path, "a.csv", pd.DataFrame({"id": ["1", ""], "narrative": [SECRET, SECRET]}))
    with pytest.raises(InputError, match=r"row 3 has an empty id in column 'id'") as e:
        tag_file(p, tmp_path / "o.csv", small_model)
    assert SECRET not in str(e.value) and not (tmp_path / "o.csv").exists()
    q = _csv(tmp_path, "b.csv", pd.DataFrame({"id": ["1"], "narrative": [SECRET], "mental_health_prob": ["x"]}))
    with pytest.raises(InputError, match=r"column 'mental_health_prob' would be overwritten by the output"):
        tag_file(q, tmp_path / "o.csv", small_model)


def test_errors_training(tmp_path, small_model):
    themes = small_model.theme_ids
    good = pd.DataFrame({"id": ["a"], "narrative": [SECRET], **{t: ["0"] for t in themes}})
    p = _csv(tmp_path, "l.csv", good)
    q = _csv(tmp_path, "m.csv", good)
    with pytest.raises(InputError, match=r"id 'a' appears again \(also in .*l.csv\)"):
        load_labelled([p, q], themes)
    r = _csv(tmp_path, "n.csv", good.drop(columns=["mental_health"]))
    with pytest.raises(InputError, match=r"n.csv: missing column\(s\) \['mental_health'\]"):
        load_labelled([r], themes)
    with pytest.raises(InputError, match=r"model name 'bad/name'"):
        train_model(name="bad/name", models_root=tmp_path)
    with pytest.raises(InputError, match=r"nofile.csv: training file not found"):
        train_model(name="x", models_root=tmp_path, base_files=[tmp_path / "nofile.csv"])
    with pytest.raises(InputError, match=r"theme 'parental_conflict' has 0 positive and 1 negative"):
        train_model(name="x", models_root=tmp_path, base_files=[p])


def test_errors_persistence(small_model_dir, tmp_path):
    copy = tmp_path / "m"
    shutil.copytree(small_model_dir, copy)
    card = json.loads((copy / "model_card.json").read_text())
    card["themes_sha256"] = "0" * 64
    (copy / "model_card.json").write_text(json.dumps(card))
    with pytest.raises(ModelFileError, match=r"trained with a different themes file"):
        load_model(copy)
    (copy / "model_card.json").write_text("{not json")
    with pytest.raises(ModelFileError, match=r"the model card is not valid JSON"):
        load_model(copy)


def test_errors_unions(tmp_path):
    doc = json.loads(themes_to_json(load_themes()))
    doc["unions"] = [{"id": "u", "name": "U", "of": ["parental_conflict", "nope"]}]
    p = tmp_path / "t.json"
    p.write_text(json.dumps(doc))
    with pytest.raises(ThemeFileError, match=r"'of' must list at least two known theme ids \(unknown: \['nope'\]\)"):
        load_unions(p)


@pytest.fixture(scope="module")
def tagged(small_model, tmp_path_factory):
    d = tmp_path_factory.mktemp("err")
    src = d / "in.csv"
    pd.DataFrame({"id": [f"r{i}" for i in range(60)], "narrative": ["Mum and dad keep rowing."] * 30 + ["YP was fine."] * 30,
                  "date": ["2025-01-05"] * 60, "kid": [f"k{i % 20}" for i in range(60)]}).to_csv(src, index=False)
    out = d / "tagged.csv"
    tag_file(src, out, small_model)
    return out


@pytest.mark.parametrize("kwargs, error, message", [
    ({"themes": ["parental_conflict"], "period": Period(start=pd.Timestamp("2025-01-01").date())}, InputError,
     r"--from/--to need --date-col"),
    ({"confidence": 95}, InputError, r"--confidence must be between 0.5 and 1"),
    ({"unit": "child"}, InputError, r"--unit child needs --child-col"),
    ({"by": "team"}, InputError, r"--by column 'team' not found"),
    ({"period": Period(date_col="when")}, InputError, r"date column 'when' not found"),
])
def test_errors_estimate_options(tagged, kwargs, error, message):
    with pytest.raises(error, match=message):
        estimate_themes(tagged, **kwargs)


def test_errors_sample_options(tagged, tmp_path):
    with pytest.raises(InputError, match=r"stratified by one theme's probability: pass --theme"):
        draw_sample(tagged, tmp_path / "a.csv", size=10, design="stratified")
    with pytest.raises(InputError, match=r"--size must be between 2 and 60"):
        draw_sample(tagged, tmp_path / "a.csv", size=61)
    with pytest.raises(InputError, match=r"--unit child needs --child-col"):
        draw_sample(tagged, tmp_path / "a.csv", size=5, unit="child")
    with pytest.raises(InputError, match=r"column 'story' not found; pass --text-col"):
        draw_sample(tagged, tmp_path / "a.csv", size=5, text_col="story")


def test_errors_audit_files(tagged, tmp_path):
    a = tmp_path / "a.csv"
    draw_sample(tagged, a, size=20, design="stratified", theme="parental_conflict", seed=1)
    with pytest.raises(AuditError, match=r"no label column 'mental_health'; this audit was drawn for parental_conflict"):
        estimate_themes(tagged, themes=["mental_health"], audit_path=a)
    with pytest.raises(AuditError, match=r"a stratified audit supports estimates for the whole file only"):
        estimate_themes(tagged, audit_path=a, by="kid")
    df = pd.read_csv(a, dtype=str, keep_default_na=False)
    df.loc[0, "id"] = "zzz"
    df.to_csv(a, index=False)
    with pytest.raises(AuditError, match=r"row id 'zzz' is not in"):
        estimate_themes(tagged, audit_path=a)
    not_audit = _csv(tmp_path, "n.csv", df.drop(columns=["audit_source"]))
    with pytest.raises(AuditError, match=r"not an audit sample from rhi-nlp sample \(missing column 'audit_source'\)"):
        estimate_themes(tagged, audit_path=not_audit)
    with pytest.raises(InputError, match=r"not a tagged file \(missing column 'narrative_status'\)"):
        load_tagged(not_audit)


def test_errors_child_samples_are_random_only(tagged, tmp_path):
    with pytest.raises(InputError, match=r"samples of children are random only"):
        draw_sample(tagged, tmp_path / "a.csv", size=5, unit="child", child_col="kid", design="stratified",
                    theme="parental_conflict")
