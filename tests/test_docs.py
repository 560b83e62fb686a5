"""The README and CI stay true to the tool."""

from pathlib import Path

from rhi_nlp.cli import cli

ROOT = Path(__file__).resolve().parent.parent


def test_docs_every_command_in_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in cli.commands:
        assert f"rhi-nlp {name}" in readme, name


def test_docs_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in readme and "make demo" in readme
    assert [ln for ln in ci.splitlines() if ln and not ln.startswith("#")][-1] == "make test"
