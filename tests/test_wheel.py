"""Issue 11: `pip install rhi-nlp` works on its own.

Builds the sdist and the wheel (the wheel from the sdist, as `python -m build` does), checks them
with twine, installs the wheel into a fresh virtual environment outside the checkout with no
package index, and from an empty folder runs tag, sample, estimate, train --labels and models.
The fresh environment gets its dependencies from this one's site-packages (a .pth line), so
nothing is downloaded. About two minutes, most of it the retraining."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from rhi_nlp.paths import BUNDLED_MODEL

from .conftest import DEMO, ROOT, label_from_truth

pytestmark = pytest.mark.wheel
MAX_WHEEL_MB = 50


def _run(args, **kw):
    proc = subprocess.run(args, capture_output=True, text=True, timeout=900, **kw)
    assert proc.returncode == 0, f"{args[:3]} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    return proc


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)])
    return out


def test_wheel_carries_the_release_model_and_the_base_corpus(dist):
    wheel = next(dist.glob("*.whl"))
    assert wheel.stat().st_size < MAX_WHEEL_MB * 1024 * 1024
    names = set(zipfile.ZipFile(wheel).namelist())
    for need in ("rhi_nlp/bundled/model/model.npz", "rhi_nlp/bundled/model/model.json",
                 "rhi_nlp/bundled/model/model_card.json", "rhi_nlp/data/themes.json",
                 "rhi_nlp/data/context_rules.json", "rhi_nlp/data/relations.json",
                 "rhi_nlp/bundled/training_data/corpus.csv",
                 "rhi_nlp/bundled/training_data/independent/independent.csv"):
        assert need in names, need
    assert not any(n.endswith(".joblib") or n.startswith("tests/") for n in names)
    assert len(list(dist.glob("*.tar.gz"))) == 1
    _run([sys.executable, "-m", "twine", "check", "--strict", *map(str, dist.iterdir())])


@pytest.fixture(scope="module")
def fresh(dist, tmp_path_factory) -> dict:
    """A new venv with only the wheel installed (no index); dependencies from this environment."""
    root = tmp_path_factory.mktemp("fresh")
    venv = root / "venv"
    _run([sys.executable, "-m", "venv", str(venv)])
    py = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    site = _run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip()
    Path(site, "dev_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    wheel = next(dist.glob("*.whl"))
    _run([str(py), "-m", "pip", "install", "--no-deps", "--no-index", "--quiet", str(wheel)])
    home = root / "home"
    work = root / "work"
    home.mkdir()
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RHI_NLP", "PYTHON", "VIRTUAL_ENV"))}
    env.update({"HOME": str(home), "XDG_DATA_HOME": str(home / "data"), "LOCALAPPDATA": str(home / "data"),
                "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9", "no_proxy": ""})
    cli = venv / ("Scripts/rhi-nlp.exe" if os.name == "nt" else "bin/rhi-nlp")
    return {"py": py, "cli": str(cli), "env": env, "work": work, "home": home}


def _cli(fresh, *args):
    return _run([fresh["cli"], *args], cwd=fresh["work"], env=fresh["env"])


def test_installed_wheel_runs_the_whole_job_from_an_empty_folder(fresh, truth):
    where = _run([str(fresh["py"]), "-c", "import rhi_nlp, rhi_nlp.paths as p; print(rhi_nlp.__file__); "
                  "print(p.find_model()); print(p.training_dir())"], cwd=fresh["work"], env=fresh["env"]).stdout.split()
    venv = str(fresh["py"].parent.parent)
    assert where[0].startswith(venv), "rhi_nlp must come from the wheel, not the checkout"
    assert where[1].startswith(venv) and where[1].endswith("bundled/model")
    assert where[2].startswith(venv)

    work = fresh["work"]
    demo = pd.read_csv(DEMO, dtype=str, keep_default_na=False).head(300)
    demo.to_csv(work / "export.csv", index=False)
    out = _cli(fresh, "tag", "export.csv", "--id-col", "rhi_id", "-o", "tagged.csv").stdout
    assert "Tagged 300 narratives" in out
    assert not (work / "models").exists()                       # nothing written to the current folder

    _cli(fresh, "sample", "tagged.csv", "--id-col", "rhi_id", "--size", "60", "--seed", "3", "-o", "audit.csv")
    label_from_truth(work / "audit.csv", truth)
    est = json.loads(_cli(fresh, "estimate", "tagged.csv", "--id-col", "rhi_id", "--audit", "audit.csv",
                          "--theme", "parental_conflict", "--format", "json").stdout)
    pc = est["themes"]["parental_conflict"]
    true_pc = int(truth.loc[demo["rhi_id"], "parental_conflict"].astype(int).sum())
    assert not pc["model_only"] and pc["n_audited"] == 60
    assert pc["unrounded"]["ci_low"] <= true_pc <= pc["unrounded"]["ci_high"]

    labels = pd.read_csv(work / "audit.csv", dtype=str, keep_default_na=False)
    labels[["rhi_id", "narrative", *truth.columns]].rename(columns={"rhi_id": "id"}).to_csv(
        work / "labels.csv", index=False)
    trained = _cli(fresh, "train", "--labels", "labels.csv", "--name", "council").stdout
    user_models = fresh["home"] / "data" / "rhi-nlp" / "models"
    assert (user_models / "council" / "model.npz").exists(), trained
    card = json.loads((user_models / "council" / "model_card.json").read_text())
    assert [d["file"] for d in card["training_data"]] == ["corpus.csv", "independent.csv", "labels.csv"]

    listing = json.loads(_cli(fresh, "models", "--format", "json").stdout)
    by_name = {e["name"]: e for e in listing}
    assert by_name["council"]["where"] in ("home", "user folder") and not by_name["council"]["default"]
    release = by_name["release (in the package)"]
    assert release["default"] and release["leave_one_voice_out_macro_f1"] and release["locked_macro_f1"]
    _cli(fresh, "tag", "export.csv", "--id-col", "rhi_id", "-o", "tagged2.csv",
         "--model", str(user_models / "council"), "--quiet")
    assert not (work / "models").exists()


def test_bundled_release_model_matches_this_checkout():
    """The model the wheel carries loads with the installed themes, rules and relations (their
    hashes are on its card) and was trained on the training data in this checkout."""
    from rhi_nlp.persistence import load_model
    from rhi_nlp.themes import file_sha256

    model = load_model(BUNDLED_MODEL)
    files = {d["file"]: d["sha256"] for d in model.card["training_data"]}
    assert files == {"corpus.csv": file_sha256(ROOT / "training_data" / "corpus.csv"),
                     "independent.csv": file_sha256(ROOT / "training_data" / "independent" / "independent.csv")}
    assert "transfer" in model.card and model.card.get("locked_test") and model.card.get("leave_one_voice_out")
