# Quick start: `make up` (serve API + dashboard on embedded Postgres), `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
FOCUS_VENV := .venv-focus
FOCUS_STAMP := $(FOCUS_VENV)/.installed-stamp
ARGS ?=

.PHONY: up demo test lint audit bench regression-bench profile corpus-compare screenshots tools clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

# The FOCUS validator the export tests run (tests/test_focus.py).
$(FOCUS_STAMP): scripts/focus-validator.txt
	python3 -m venv $(FOCUS_VENV)
	$(FOCUS_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r $<
	touch $(FOCUS_STAMP)

up: $(STAMP)
	$(VENV)/bin/cachemeter up $(ARGS)

demo: $(STAMP)
	$(VENV)/bin/cachemeter up --demo $(ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

tools:
	@bash scripts/ensure-tools

# Known vulnerabilities in the installed dependencies; accepted ones are listed, with the
# reason, in audit-ignore.txt (README "Reliability").
audit: $(STAMP)
	$(VENV)/bin/pip-audit --progress-spinner off --skip-editable \
		$$(grep -v '^#' audit-ignore.txt | awk 'NF {print "--ignore-vuln", $$1}')

test: $(STAMP) $(FOCUS_STAMP) tools lint audit
	$(VENV)/bin/pytest $(ARGS)

bench: $(STAMP)
	$(PY) bench/ingest_bench.py $(ARGS)

# Regression detection on synthetic streams: delays per traffic level, false alarms a month.
regression-bench: $(STAMP)
	$(PY) bench/regression_streams.py $(ARGS)

profile: $(STAMP)
	$(PY) bench/profile_ingest.py $(ARGS)

# cachemeter against genai-prices and LiteLLM on tests/corpus (LiteLLM is a dev dependency).
corpus-compare: $(STAMP)
	$(PY) bench/corpus_compare.py $(ARGS)

# The README's dashboard screenshots, taken by the browser tests on the demo data.
screenshots: $(STAMP) tools
	CACHEMETER_TEST_OUTPUT=docs/screenshots $(VENV)/bin/pytest -q tests/test_dashboard_browser.py

clean:
	rm -rf $(VENV) $(FOCUS_VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
