import json

import pandas as pd
import pytest
from click.testing import CliRunner

from rhi_nlp.cli import cli

from .conftest import HELDOUT

COMMANDS = ["tag", "train", "evaluate", "themes", "sample", "plan", "estimate", "report"]


@pytest.mark.parametrize("command", COMMANDS)
def test_cli_every_command_has_help(command):
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output


def test_cli_themes_lists_13():
    result = CliRunner().invoke(cli, ["themes", "--format", "json"])
    assert result.exit_code == 0 and len(json.loads(result.output)) == 13


def test_cli_tag_writes_output_and_summary(small_model_dir, narratives_csv, tmp_path):
    out = tmp_path / "tagged.csv"
    result = CliRunner().invoke(cli, ["tag", str(narratives_csv), "-o", str(out), "--model", str(small_model_dir)])
    assert result.exit_code == 0, result.output
    assert "Tagged 5 narratives" in result.output and "2 empty or whitespace" in result.output
    assert len(pd.read_csv(out)) == 5


def test_cli_tag_missing_column_exit_1_no_output(small_model_dir, narratives_csv, tmp_path):
    out = tmp_path / "tagged.csv"
    result = CliRunner().invoke(cli, ["tag", str(narratives_csv), "-o", str(out), "--model",
                                      str(small_model_dir), "--text-col", "notes"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: ") and "column 'notes' not found (columns found: 'id', 'narrative', 'team')" in result.output
    assert "rowing" not in result.output and not out.exists()


def test_cli_tag_changed_model_refused(small_model_dir, narratives_csv, tmp_path):
    import shutil

    copy = tmp_path / "m"
    shutil.copytree(small_model_dir, copy)
    (copy / "model.json").write_bytes(b"not a model")
    result = CliRunner().invoke(cli, ["tag", str(narratives_csv), "-o", str(tmp_path / "o.csv"), "--model", str(copy)])
    assert result.exit_code == 1 and "do not match the hashes on the model card" in result.output


def test_cli_evaluate_json_shape(small_model_dir, tmp_path):
    part = tmp_path / "part.csv"
    pd.read_csv(HELDOUT, dtype=str, keep_default_na=False).tail(120).to_csv(part, index=False)
    result = CliRunner().invoke(cli, ["evaluate", str(part), "--model", str(small_model_dir), "--format", "json", "--baseline"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert set(doc["themes"]["parental_conflict"]) >= {"precision", "recall", "f1"}
    assert 0.5 < doc["macro_f1"] <= 1 and doc["keyword_baseline"]["macro_f1"] < doc["macro_f1"]


def test_cli_evaluate_bad_label_names_row_and_column(small_model_dir, tmp_path):
    part = tmp_path / "bad.csv"
    df = pd.read_csv(HELDOUT, dtype=str, keep_default_na=False).head(3)
    df.loc[1, "mental_health"] = "yes"
    df.to_csv(part, index=False)
    result = CliRunner().invoke(cli, ["evaluate", str(part), "--model", str(small_model_dir)])
    assert result.exit_code == 1
    assert f"row id '{df['id'].iloc[1]}', column 'mental_health': label must be 0 or 1" in result.output


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_cli_tag_progress_on_a_terminal(small_model_dir, narratives_csv, tmp_path, monkeypatch, suffix):
    import rhi_nlp.cli as cli_mod

    monkeypatch.setattr(cli_mod, "_interactive", lambda: True)
    src = narratives_csv
    if suffix == ".parquet":
        src = tmp_path / "in.parquet"
        pd.read_csv(narratives_csv, dtype=str, keep_default_na=False).to_parquet(src, index=False)
    result = CliRunner().invoke(cli, ["tag", str(src), "-o", str(tmp_path / "o.csv"), "--model", str(small_model_dir)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Tagging")  # the progress path ran (it crashed on CSV before)


def test_cli_tag_progress_unknown_length_counts(monkeypatch, capsys):
    import rhi_nlp.cli as cli_mod

    monkeypatch.setattr(cli_mod, "_interactive", lambda: True)
    with cli_mod.progressbar(None, "Tagging") as update:
        update(3)
        update(4)
    assert "Tagging: 7 rows" in capsys.readouterr().err
