# The verbs a user types. `make help` lists them.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
SPSC   := $(BIN)/spsc
STAMP  := $(VENV)/.installed
SAMPLE := data/raw/sample
QUARTER ?= 2024Q4

.PHONY: help demo test report lab bench lint clean

help: ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $(STAMP)

$(SAMPLE)/truth.json: | $(STAMP)
	$(SPSC) synth --out $(SAMPLE)

demo: $(STAMP) $(SAMPLE)/truth.json ## sample data -> warehouse -> indicators -> maps -> reports
	$(SPSC) init
	$(SPSC) register $(SAMPLE)
	$(SPSC) status

test: $(STAMP) ## run the whole test suite
	$(BIN)/python -m pytest

report: $(STAMP) ## one quarter's reports: make report QUARTER=2024Q4
	$(SPSC) report --period $(QUARTER) --all

lab: $(STAMP) ## JupyterLab on notebooks/ with the project's environment
	$(BIN)/python -m ipykernel install --user --name spsc-pipeline --display-name "spsc-pipeline" >/dev/null
	$(BIN)/jupyter lab notebooks/

bench: $(STAMP) ## run the benchmarks (ratios against references measured in the same run)
	$(BIN)/python benchmarks/run.py

lint: $(STAMP) ## ruff
	$(BIN)/ruff check pipeline tests benchmarks

clean: ## remove generated data and reports (keeps raw sample and the secret)
	rm -rf data/processed/* reports/* benchmarks/out
	@touch data/processed/.gitkeep reports/.gitkeep
