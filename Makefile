# The two commands a new machine needs: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FRONTEND := node_modules/.installed

.PHONY: demo test lint typecheck pytest test-browser bench bench-linkage clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# govuk-frontend (served by the pages) and axe-core (the browser tests), as the lock file
# pins them; reinstalled only when package.json or package-lock.json change.
$(FRONTEND): package.json package-lock.json
	scripts/ensure-frontend
	touch $@

demo: $(BIN)/.installed $(FRONTEND)
	$(BIN)/contactpoint demo

test: $(BIN)/.installed $(FRONTEND)
	scripts/ensure-postgres
	scripts/ensure-chromium
	$(MAKE) lint typecheck pytest

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(BIN)/.installed
	$(BIN)/mypy src benchmarks

pytest: $(BIN)/.installed $(FRONTEND)
	$(BIN)/pytest -n 2 --dist loadgroup

# Only the pages in a real browser (Debian's Chromium, headless); screenshots land in
# test-artifacts/screenshots/.
test-browser: $(BIN)/.installed $(FRONTEND)
	scripts/ensure-postgres
	scripts/ensure-chromium
	$(BIN)/pytest tests/browser

bench: $(BIN)/.installed
	scripts/ensure-postgres
	$(BIN)/python benchmarks/ingest.py

bench-linkage: $(BIN)/.installed
	scripts/ensure-postgres
	$(BIN)/python benchmarks/linkage.py

clean:
	rm -rf $(VENV) .contactpoint .mypy_cache .ruff_cache .pytest_cache node_modules test-artifacts
