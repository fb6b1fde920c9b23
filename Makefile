# The two commands of the README: `make reproduce` and `make test`.
# Each creates the virtual environment if it is missing and installs the package.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
OUT ?= results

.PHONY: reproduce test test-slow lint format install clean notebooks

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

reproduce: $(STAMP)
	$(BIN)/secretome reproduce --out $(OUT)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

format: $(STAMP)
	$(BIN)/ruff check --fix src tests benchmarks
	$(BIN)/ruff format src tests benchmarks

test: lint
	$(BIN)/python -m pytest -q

# the slow tests also need the exchange tools (the `amici` extra: AMICI, which needs a
# C++ compiler and BLAS headers, fides, COPASI's basico)
test-slow: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,amici]'
	$(BIN)/python -m pytest -q -m slow

# The teaching notebooks in JupyterLab, installed into the project's environment.
notebooks: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[notebooks]'
	$(BIN)/jupyter lab notebooks/

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .hypothesis .ruff_cache

# Speed and memory (benchmarks/README.md); results with date and commit in benchmarks/results/.
.PHONY: bench
bench: $(STAMP)
	$(BIN)/python benchmarks/bench_simulation.py --out benchmarks/results/simulation.json
	$(BIN)/python benchmarks/bench_scaling.py --out benchmarks/results/scaling.json
	$(BIN)/python benchmarks/scaling_doc.py

# Every sensitivity result docs/sensitivity.md quotes, rerun into docs/results/sensitivity/
# (about 30 min on 2 shared cores), then its figures and results section rewritten from the tables.
# The shipped fit, its profiles, leave one study out and the model-versus-data
# table that docs/calibration.md quotes (docs/results/calibration/regenerate.py).
.PHONY: calibration-results
calibration-results: $(STAMP)
	$(BIN)/python docs/results/calibration/regenerate.py

# The PEtab numbers docs/petab.md quotes, measured at the shipped fit, and a pyPESTO
# refit of the export (docs/results/petab/measure.py; AMICI; about 6 min on 2 shared cores).
.PHONY: petab-results
petab-results: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,amici]'
	$(BIN)/python docs/results/petab/measure.py

.PHONY: sensitivity-results
sensitivity-results: $(STAMP)
	$(BIN)/python docs/results/sensitivity/regenerate.py

# The model selection docs/selection.md quotes: every shipped variant, 8 starts each,
# into docs/results/selection/ (about 20 min on 2 idle cores), timed into
# benchmarks/results/select.json; then the page's results sections from those files.
.PHONY: selection-results
selection-results: $(STAMP)
	$(BIN)/python docs/results/selection/regenerate.py --select

# Every notebook at its full teaching settings, timed (about 6 min on 2 cores); the
# run-time table of notebooks/README.md rewritten from benchmarks/results/notebooks.json.
.PHONY: notebook-times
notebook-times: $(STAMP)
	$(BIN)/python benchmarks/bench_notebooks.py --readme

# Posterior sampling on the real posterior (benchmarks/README.md), apart from `make bench`:
# it needs a finished fit in FIT_DIR (`secretome fit --starts 12 --seed 0 --workers 2 --out fit`).
FIT_DIR ?= fit
.PHONY: bench-sampling
bench-sampling: $(STAMP)
	$(BIN)/python benchmarks/bench_sampling.py --init $(FIT_DIR) --budget 6400 --workers 2 --out benchmarks/results/sampling.json
