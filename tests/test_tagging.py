import pandas as pd
import pytest

from rhi_nlp.errors import InputError
from rhi_nlp.tagging import tag_file


def test_tagging_output_columns_status_and_evidence(small_model, narratives_csv, tmp_path):
    out = tmp_path / "tagged.csv"
    summary = tag_file(narratives_csv, out, small_model, chunk_size=2)
    df = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(df.columns[:3]) == ["id", "narrative", "team"]
    for t in small_model.theme_ids:
        assert {t, f"{t}_prob", f"{t}_evidence"} <= set(df.columns)
    assert df["narrative_status"].tolist()[2:4] == ["empty", "empty"]
    assert summary.n_empty == 2 and summary.n_rows == 5
    row = df.set_index("id")
    assert row.loc["A1", "parental_conflict"] == "1"
    assert "rowing" in row.loc["A1", "parental_conflict_evidence"]
    assert row.loc["A2", "exploitation_risk"] == "0"   # negated and advice-only mentions
    assert row.loc["A5", "parental_conflict"] == "0"   # another family's conflict
    assert row.loc["A3", "parental_conflict_prob"] == "0.0"


@pytest.mark.parametrize("suffix", [".xlsx", ".parquet"])
def test_tagging_other_formats(small_model, narratives_csv, tmp_path, suffix):
    src = tmp_path / f"in{suffix}"
    df = pd.read_csv(narratives_csv, dtype=str, keep_default_na=False)
    (df.to_excel if suffix == ".xlsx" else df.to_parquet)(src, index=False)
    out = tmp_path / f"out{suffix}"
    tag_file(src, out, small_model)
    back = pd.read_excel(out) if suffix == ".xlsx" else pd.read_parquet(out)
    assert len(back) == 5 and int(back["parental_conflict"].iloc[0]) == 1


def test_tagging_duplicate_ids_error_names_rows_and_leaves_no_output(small_model, tmp_path):
    src = tmp_path / "dup.csv"
    pd.DataFrame({"id": ["a", "b", "a"], "narrative": ["secret one", "secret two", "secret three"]}).to_csv(src, index=False)
    out = tmp_path / "out.csv"
    with pytest.raises(InputError, match=r"duplicate id 'a' in column 'id' at rows 2 and 4") as err:
        tag_file(src, out, small_model, chunk_size=1)
    assert "secret" not in str(err.value)
    assert not out.exists() and [p.name for p in tmp_path.iterdir()] == ["dup.csv"]


def test_tagging_long_narrative_and_html(small_model, tmp_path):
    long_text = ("YP was at the park with friends. " * 7000)[:200_000]
    src = tmp_path / "long.csv"
    pd.DataFrame({"id": ["L", "H"], "narrative": [long_text, "<p>Mum and her partner were <b>rowing</b> all night.</p>"]}).to_csv(src, index=False)
    out = tmp_path / "out.csv"
    tag_file(src, out, small_model)
    df = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert len(df["narrative"].iloc[0]) == 200_000
    assert df["peer_pull"].iloc[0] == "1" and len(df["peer_pull_evidence"].iloc[0]) < 1000
    assert "<b>" not in df["parental_conflict_evidence"].iloc[1]


def test_tagging_refuses_to_overwrite_input(small_model, narratives_csv):
    with pytest.raises(InputError, match="must not overwrite the input"):
        tag_file(narratives_csv, narratives_csv, small_model)
