# The verbs a user types. `make help` lists them.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PROJECT ?= examples/spsc
SPSC   := $(BIN)/spsc --project $(PROJECT)
SAMPLE := $(PROJECT)/data/raw/sample
QUARTER ?= 2024Q4
# make test runs the suite in one process per core (pytest-xdist); TEST_WORKERS=0: in one process
TEST_WORKERS ?= auto

.PHONY: help demo test report lab bench lint clean

help: ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

# The environment is exactly uv.lock (every package pinned, hashes checked), installed by uv.
# uv itself is pinned and brought from the package registry into .tools/ on first use
# (`make UV=uv` uses another one). After editing pyproject.toml's dependencies: `$(UV) lock`.
# --compile-bytecode as pip does: without .pyc files (PYTHONDONTWRITEBYTECODE) every start
# of spsc or a kernel takes 3x longer.
UV_VERSION := 0.13.9
UV     ?= .tools/bin/uv
export UV_PYTHON_DOWNLOADS := never

.tools/bin/uv:
	$(PYTHON) -m pip install -q --disable-pip-version-check --target .tools uv==$(UV_VERSION) \
	  || { $(PYTHON) -m venv .tools/venv && .tools/venv/bin/pip install -q uv==$(UV_VERSION) \
	       && mkdir -p .tools/bin && ln -sf ../venv/bin/uv .tools/bin/uv; }

$(STAMP): pyproject.toml uv.lock | $(filter .tools/bin/uv,$(UV))
	UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --locked --extra dev --compile-bytecode --python $(PYTHON)
	@touch $(STAMP)

$(SAMPLE)/truth.json: | $(STAMP)
	$(SPSC) synth

demo: $(STAMP) $(SAMPLE)/truth.json ## the example project (examples/spsc): sample data -> warehouse -> indicators -> maps -> reports
	$(SPSC) init
	$(SPSC) register $(SAMPLE)
	for wave in 2023Q1 2024Q1 2024Q4; do \
	  $(SPSC) ingest survey $(SAMPLE)/survey/citizen_survey_$$wave.xlsx \
	    --form $(SAMPLE)/survey/citizen_survey_form.xlsx --wave $$wave || exit 1; \
	done
	$(SPSC) ingest survey $(SAMPLE)/survey/youth_prepost_2024Q4.xlsx \
	  --form $(SAMPLE)/survey/youth_prepost_form.xlsx --wave 2024Q4
	$(SPSC) ingest events $(SAMPLE)/attendance/events.xlsx
	$(SPSC) ingest attendance $$(ls $(SAMPLE)/attendance/*.xlsx | grep -v '/events.xlsx$$')
	$(SPSC) clean apply
	$(SPSC) build
	$(SPSC) indicators --period $(QUARTER) --format xlsx --out $(PROJECT)/reports/$(QUARTER)/indicators_$(QUARTER).xlsx
	@if [ -n "$$SPSC_BOUNDARIES" ]; then $(SPSC) boundaries import "$$SPSC_BOUNDARIES"; \
	 else $(SPSC) boundaries fetch || echo "no boundaries: maps will be skipped (set SPSC_BOUNDARIES to a folder holding them)"; fi
	$(SPSC) maps --period $(QUARTER)
	$(SPSC) report --period $(QUARTER) --all
	$(SPSC) deck --period $(QUARTER)
	@echo
	@echo "Done. Open $(PROJECT)/reports/$(QUARTER)/index.html (reports, figures, tables) and $(PROJECT)/reports/$(QUARTER)/*.pptx (donor deck);"
	@echo "maps are in $(PROJECT)/reports/maps/$(QUARTER)/, the warehouse in $(PROJECT)/data/processed/spsc.duckdb ('$(SPSC) status')."

test: $(STAMP) ## run the whole test suite, one process per core (TEST_WORKERS=0: one process)
	$(BIN)/python -m pytest -n $(TEST_WORKERS)

report: $(STAMP) ## one quarter's reports: make report QUARTER=2024Q4 [PROJECT=folder]
	$(SPSC) report --period $(QUARTER) --all

lab: $(STAMP) ## JupyterLab on notebooks/ with the project's environment
	$(BIN)/python -m ipykernel install --user --name spsc-pipeline --display-name "spsc-pipeline" >/dev/null
	SPSC_PROJECT=$(abspath $(PROJECT)) $(BIN)/jupyter lab notebooks/

bench: $(STAMP) ## run the benchmarks (ratios against references measured in the same run)
	$(BIN)/python benchmarks/run.py

lint: $(STAMP) ## ruff
	$(BIN)/ruff check pipeline tests benchmarks

clean: ## remove the example's generated warehouse and reports (keeps its raw sample and secret)
	rm -rf $(PROJECT)/data/processed $(PROJECT)/reports benchmarks/out
