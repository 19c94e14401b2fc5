# Both targets create their own virtual environment, so a fresh clone needs nothing else.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: demo console test lint typecheck check clean messages

# axe-core (the npm package) checks the console's pages for accessibility in the browser
# tests; it is fetched from the npm registry once, into the venv, and served to the
# browser by the tests themselves.
AXE_VERSION = 4.11.4
AXE = $(VENV)/npm/node_modules/axe-core/axe.min.js

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	# Compile the columns solver's numba kernels once (cached in __pycache__), so that
	# the first city-scale plan does not wait for it.
	$(BIN)/matcher plan tests/data/example/dataset --param flow_solver=columns \
		--out $(VENV)/compiled-example > /dev/null
	# ... and the lead units' ones (the Lagrangian bound and the tabu search).
	$(BIN)/matcher plan tests/data/lead-units --out $(VENV)/compiled-leads > /dev/null
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/matcher plan datasets/fuzhou-demo --out out/fuzhou-demo
	$(BIN)/matcher report out/fuzhou-demo --out out/fuzhou-demo/report.html

# The console on the demo city: a Gulou cycle and a user per role (passwords printed).
console: $(STAMP)
	mkdir -p out
	$(BIN)/matcher serve --demo --database-url sqlite:///out/console-demo.db

$(AXE): | $(STAMP)
	npm install --silent --no-audit --no-fund --prefix $(VENV)/npm axe-core@$(AXE_VERSION)

test: $(STAMP) $(AXE)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check matcher api tests datasets benchmarks
	$(BIN)/ruff format --check matcher api tests datasets benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy
	$(BIN)/mypy --strict api

# Brings every catalogue (matcher/locale/<lang>/LC_MESSAGES/matcher.po) up to date with
# the texts marked in the code; NEW=fr starts a catalogue for a new language.
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg --no-location \
		--project coplanner-matcher -o $(VENV)/matcher.pot .
	$(if $(NEW),$(BIN)/pybabel init -i $(VENV)/matcher.pot -d matcher/locale -D matcher -l $(NEW))
	$(BIN)/pybabel update -i $(VENV)/matcher.pot -d matcher/locale -D matcher \
		--no-fuzzy-matching --ignore-obsolete

check: lint typecheck test

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache
