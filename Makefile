# Three commands for a fresh machine: `make demo`, `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run demo test test-fast bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	PYTHONWARNINGS=ignore $(BIN)/python -m pip install -q --upgrade pip

# Re-install only when the project definition changes.
# PYTHONWARNINGS: setuptools' notes to packagers are not for someone running `make run`.
$(VENV)/.installed-run: $(BIN)/python pyproject.toml
	PYTHONWARNINGS=ignore $(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-test: $(BIN)/python pyproject.toml
	PYTHONWARNINGS=ignore $(BIN)/pip install -q -e '.[test]'
	touch $@

$(VENV)/.installed-bench: $(BIN)/python pyproject.toml
	PYTHONWARNINGS=ignore $(BIN)/pip install -q -e '.[test,bench]'
	touch $@

run: $(VENV)/.installed-run
	$(BIN)/spacedigest run

# The real pipeline on the bundled sample week, offline, in data/demo/ (wiped and rebuilt each time).
# `make demo DEMO_ARGS=--open` then serves the archive on loopback until Ctrl-C.
demo: $(VENV)/.installed-run
	$(BIN)/spacedigest demo $(DEMO_ARGS)

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q

# The unit tier while working: no Prefect server, browser or benchmark; spread over the cores
# (pytest-xdist), since a third of its time is tests waiting on deadlines and servers (~35 s on 2 cores).
test-fast: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q -m "not slow" -n auto

bench: $(VENV)/.installed-bench
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache
