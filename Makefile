# The two set-up commands of the README:
#   make demo   venv, install, simulator + server, a sample sync end to end
#   make test   venv, install, lint, the whole test suite (SQLite, then PostgreSQL)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: demo test lint bench venv clean

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

demo: venv
	$(BIN)/gradesync demo

test: venv
	bash scripts/system-deps.sh
	$(BIN)/ruff check server tests bench
	bash scripts/run-tests.sh

lint: venv
	$(BIN)/ruff check server tests bench
	$(BIN)/ruff format --check server tests bench

bench: venv
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var .pytest_cache
