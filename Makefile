# Two commands do all set-up: `make lab` starts the course, `make test` runs every test.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP_LAB  := $(VENV)/.installed-lab
STAMP_TEST := $(VENV)/.installed-test

.PHONY: lab test lint bench bench-network clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP_LAB): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(STAMP_TEST): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@ $(STAMP_LAB)

lab: $(STAMP_LAB)
	mkdir -p notebooks
	$(BIN)/jupyter lab --ServerApp.root_dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

test: $(STAMP_TEST)
	$(BIN)/ruff check k8slab tests benchmarks
	@# pytest exits 5 when it collected no test at all: say so plainly instead of failing obscurely.
	$(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo 'pytest collected no tests'; exit 0; fi; exit $$rc

lint: $(STAMP_TEST)
	$(BIN)/ruff check k8slab tests benchmarks

bench: $(STAMP_LAB)
	$(BIN)/python benchmarks/deployment_scale.py

bench-network: $(STAMP_LAB)
	$(BIN)/python benchmarks/service_rules.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
