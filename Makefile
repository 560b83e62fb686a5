# Every target is one plain `python -m ...` command after the virtual environment exists, so each
# line also works typed by hand (on Windows use .venv\Scripts\python instead of .venv/bin/python).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-rhi-nlp
DEMO_IN := training_data/demo/northmoor_rhi_2025.csv
DEMO_OUT := demo_output

.PHONY: install model demo demo-tag demo-foi test test-slow bench bench-speed bench-locked bench-estimate data corpus release-model wheel clean

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

models/default/model.npz: training_data/corpus.csv training_data/independent/independent.csv rhi_nlp/data/themes.json rhi_nlp/data/context_rules.json rhi_nlp/data/relations.json | $(STAMP)
	$(PY) -m rhi_nlp train --name default

model: models/default/model.npz

# The main job on the bundled demo export: install, build the default model, tag the 807
# narratives, then the FOI workflow (plan, pilot, audit sample labelled from the demo's true
# labels, estimate, report) and a comparison with the true and tick-box counts.
demo: demo-tag demo-foi

demo-tag: models/default/model.npz
	$(PY) -c "import pathlib; pathlib.Path('$(DEMO_OUT)').mkdir(exist_ok=True)"
	$(PY) -m rhi_nlp tag $(DEMO_IN) --id-col rhi_id -o $(DEMO_OUT)/northmoor_tagged.csv

demo-foi: demo-tag
	$(PY) -m rhi_nlp sample $(DEMO_OUT)/northmoor_tagged.csv --id-col rhi_id --size 40 --seed 2025 -o $(DEMO_OUT)/pilot.csv
	$(PY) training_data/demo/label_from_truth.py $(DEMO_OUT)/pilot.csv
	$(PY) -m rhi_nlp plan $(DEMO_OUT)/northmoor_tagged.csv --id-col rhi_id --theme parental_conflict --half-width 15 --pilot $(DEMO_OUT)/pilot.csv
	$(PY) -m rhi_nlp sample $(DEMO_OUT)/northmoor_tagged.csv --id-col rhi_id --size 150 --seed 2025 --labels-from $(DEMO_OUT)/pilot.csv -o $(DEMO_OUT)/audit.csv
	$(PY) training_data/demo/label_from_truth.py $(DEMO_OUT)/audit.csv
	$(PY) -m rhi_nlp estimate $(DEMO_OUT)/northmoor_tagged.csv --id-col rhi_id --audit $(DEMO_OUT)/audit.csv --theme parental_conflict --theme any_family_conflict --date-col interview_date --from 2025-01-01 --to 2025-12-31
	$(PY) -m rhi_nlp report $(DEMO_OUT)/northmoor_tagged.csv --id-col rhi_id --audit $(DEMO_OUT)/audit.csv --date-col interview_date --from 2025-01-01 --to 2025-12-31 --title "Northmoor Borough Council: themes in 2025 Return Home Interviews" -o $(DEMO_OUT)/report
	$(PY) training_data/demo/compare.py $(DEMO_OUT)/report/estimates.json $(DEMO_OUT)/northmoor_tagged.csv

test: $(STAMP)
	$(PY) -m pytest

test-slow: $(STAMP)
	$(PY) -m pytest -m slow

# Quality on writing the model never learned from: leave-one-voice-out over the independent corpus
# and the real-world check (headline figures), then speed, memory and the generator's own split.
bench: models/default/model.npz
	$(PY) benchmarks/bench_generalisation.py
	$(PY) benchmarks/bench_quality.py
	$(PY) benchmarks/bench_label.py

# Tagging speed (1 and 2 workers, beside the tokenizer and a regex pass), a profile, and peak memory.
# The national-scale memory check: make bench-speed SPEED_ARGS=--memory-rows=1000000
bench-speed: models/default/model.npz
	$(PY) benchmarks/bench_speed.py $(SPEED_ARGS)

# The locked test set, scored once per release (never used to choose anything).
bench-locked: models/default/model.npz
	$(PY) benchmarks/bench_generalisation.py --locked

# Interval benchmark (ESTIMATION.md section 7) with ppi_py and QuaPy as peers (benchmark-only
# requirements). Reduced grid by default; the full grid: make bench-estimate BENCH_ARGS=--full
bench-estimate: $(STAMP)
	$(PY) -m pip install --quiet -e ".[bench]"
	$(PY) -m pip install --quiet --no-deps ssepy
	$(PY) benchmarks/bench_estimate.py $(BENCH_ARGS)

# The release model the package carries (rhi_nlp/bundled/model, committed): the default model,
# after make bench-locked has put its leave-one-voice-out and locked-test figures on its card.
release-model:
	$(PY) -c "import json, shutil, sys; c = json.load(open('models/default/model_card.json')); 'locked_test' in c or sys.exit('models/default has no locked-test figures on its card: run make bench-locked first'); shutil.copytree('models/default', 'rhi_nlp/bundled/model', dirs_exist_ok=True)"

# sdist and wheel (the wheel carries the release model and the base training corpus) in dist/
wheel: $(STAMP)
	$(PY) -m build --no-isolation --outdir dist .
	$(PY) -m twine check --strict dist/*

data:
	$(PY) training_data/synth/generate.py

# Rebuild the independent corpus CSVs from the hand-written JSON Lines (validated; deterministic).
corpus:
	$(PY) training_data/independent/build.py

clean:
	$(PY) -c "import shutil; [shutil.rmtree(p, ignore_errors=True) for p in ('$(DEMO_OUT)', 'models/default')]"
