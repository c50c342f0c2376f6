# Two commands do all set-up: `make lab` starts the course, `make test` runs every test.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP_LAB  := $(VENV)/.installed-lab
STAMP_TEST := $(VENV)/.installed-test

.PHONY: lab test notebooks exercises lint bench bench-network bench-notebooks bench-widgets clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP_LAB): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(STAMP_TEST): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@ $(STAMP_LAB)

# JupyterLab serves the whole repository (lessons link to ../exercises/ and ../solutions/)
# and opens the welcome notebook.
lab: $(STAMP_LAB)
	$(BIN)/jupyter lab --ServerApp.root_dir=. --LabApp.default_url=/lab/tree/notebooks/00-welcome.ipynb \
	  $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

# pyproject.toml's pytest settings make this one run cover the unit tests, the doctests and
# nbval over notebooks/ and solutions/ (stored outputs compared exactly); tests/test_course.py
# runs each exercise up to its first blank and fails when exercises/ is stale.
test: $(STAMP_TEST)
	$(BIN)/ruff check k8slab tests benchmarks
	@# pytest exits 5 when it collected no test at all: say so plainly instead of failing obscurely.
	$(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo 'pytest collected no tests'; exit 0; fi; exit $$rc

# Re-execute every lesson and solution in place (deterministic outputs), then regenerate exercises/.
# `make notebooks NOTEBOOKS=notebooks/01-apply-a-deployment.ipynb` rebuilds only that one.
notebooks: $(STAMP_LAB)
	$(BIN)/python -m k8slab.course build $(NOTEBOOKS)

exercises: $(STAMP_LAB)
	$(BIN)/python -m k8slab.course exercises

lint: $(STAMP_TEST)
	$(BIN)/ruff check k8slab tests benchmarks

bench: $(STAMP_LAB)
	$(BIN)/python benchmarks/deployment_scale.py

bench-network: $(STAMP_LAB)
	$(BIN)/python benchmarks/service_rules.py

bench-notebooks: $(STAMP_LAB)
	$(BIN)/python benchmarks/notebook_times.py

bench-widgets: $(STAMP_LAB)
	$(BIN)/python benchmarks/widget_interaction.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
