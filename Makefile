# The two commands a new machine needs: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint typecheck pytest bench bench-linkage clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

demo: $(BIN)/.installed
	$(BIN)/contactpoint demo

test: $(BIN)/.installed
	scripts/ensure-postgres
	$(MAKE) lint typecheck pytest

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(BIN)/.installed
	$(BIN)/mypy src benchmarks

pytest: $(BIN)/.installed
	$(BIN)/pytest -n 2 --dist loadgroup

bench: $(BIN)/.installed
	scripts/ensure-postgres
	$(BIN)/python benchmarks/ingest.py

bench-linkage: $(BIN)/.installed
	scripts/ensure-postgres
	$(BIN)/python benchmarks/linkage.py

clean:
	rm -rf $(VENV) .contactpoint .mypy_cache .ruff_cache .pytest_cache
