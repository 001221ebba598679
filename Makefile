# segkit — run `make help` for the list of targets.
# Plain venv + pip (conda users: environment.yml lists the same packages).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.segkit-installed
DATA   ?= data/sample
OUT    ?= reports

.DEFAULT_GOAL := help
.PHONY: help install test test-fast report lab sample benchmark clean

help: ## Show this list of targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,lab,spark]"
	@touch $(STAMP)

install: $(STAMP) ## Create .venv (if missing) and install segkit with test, lab and spark extras

test: $(STAMP) ## Run the whole test suite: unit tests, doctests, notebooks (nbval), import layers; one worker per core
	$(BIN)/python -m pytest -n auto --dist loadfile

test-fast: $(STAMP) ## Run the tests without the slow ones (notebooks, reports)
	$(BIN)/python -m pytest -m "not slow"

report: $(STAMP) ## Latest complete quarter of $(DATA): both reports in zh and en (HTML, PDF) + tables, into $(OUT)/
	$(BIN)/segkit quarter-outputs --data $(DATA) --out $(OUT)
	$(BIN)/segkit report quarterly --data $(DATA) --out $(OUT) --lang zh,en
	$(BIN)/segkit report churn --data $(DATA) --out $(OUT) --lang zh,en

lab: $(STAMP) ## Start JupyterLab on the notebooks (sample data in data/sample)
	$(BIN)/jupyter lab --notebook-dir=. $(if $(filter 0,$(shell id -u)),--allow-root,)

sample: $(STAMP) ## Regenerate data/sample (deterministic: same seed, same bytes)
	$(BIN)/segkit sample --out data/sample --seed 20260930

benchmark: $(STAMP) ## Run the benchmarks against lifetimes (minutes; writes benchmarks/RESULTS.md)
	$(BIN)/python benchmarks/bench_btyd.py

clean: ## Remove generated reports and caches (keeps .venv)
	rm -rf $(OUT)/*/ .pytest_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
