# Every target is one plain `python -m ...` command after the virtual environment exists, so each
# line also works typed by hand (on Windows use .venv\Scripts\python instead of .venv/bin/python).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-rhi-nlp
DEMO_IN := training_data/demo/northmoor_rhi_2025.csv
DEMO_OUT := demo_output

.PHONY: install model demo test test-slow bench bench-estimate data clean

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

models/default/model.joblib: $(STAMP) training_data/corpus.csv rhi_nlp/data/themes.json rhi_nlp/data/context_rules.json
	$(PY) -m rhi_nlp train --name default

model: models/default/model.joblib

# The main job on the bundled demo export: install, build the default model, tag 807 narratives.
demo: models/default/model.joblib
	$(PY) -c "import pathlib; pathlib.Path('$(DEMO_OUT)').mkdir(exist_ok=True)"
	$(PY) -m rhi_nlp tag $(DEMO_IN) --id-col rhi_id -o $(DEMO_OUT)/northmoor_tagged.csv

test: $(STAMP)
	$(PY) -m pytest

test-slow: $(STAMP)
	$(PY) -m pytest -m slow

bench: models/default/model.joblib
	$(PY) benchmarks/bench_quality.py

data:
	$(PY) training_data/synth/generate.py

clean:
	$(PY) -c "import shutil; [shutil.rmtree(p, ignore_errors=True) for p in ('$(DEMO_OUT)', 'models/default')]"
