# Assistant services publics: every command a developer or CI needs.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements.lock | sha256sum | cut -c1-12)
export TF_CPP_MIN_LOG_LEVEL := 2
export PYTHONDONTWRITEBYTECODE := 1
export RASA_TELEMETRY_ENABLED := false

help: ## List the targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-12s %s\n", $$1, $$2}'

install: $(STAMP) ## Create .venv with Python 3.10 and install the locked dependency tree

$(STAMP): requirements.txt requirements.lock
	@PYBIN=$$(scripts/find_python.sh) || exit 1; \
	if [ ! -x $(PY) ] || ! $(PY) -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null; then \
		echo "Creating $(VENV) with $$PYBIN"; rm -rf $(VENV); $$PYBIN -m venv $(VENV) || exit 1; fi
	$(PY) -m pip install --quiet --upgrade "pip<25"
	@echo "Installing the locked dependency tree (about 2-3 minutes the first time)..."
	$(PY) -m pip install --progress-bar off -r requirements.txt -c requirements.lock
	$(PY) -m pip check
	@rm -f $(VENV)/.installed-*; touch $@

assets: ## npm ci (committed lock) and vendor the DSFR into the portal's static files
	scripts/install_node_deps.sh
	scripts/vendor_dsfr.sh

test-deps: install assets ## Install the test-only tools too: Debian's Chromium (browser tests) and nginx
	scripts/install_test_packages.sh

lock: ## Regenerate requirements.lock from the current venv (after changing requirements.txt)
	@(echo "# Full pinned dependency tree (pip freeze of a working Python 3.10 venv). Regenerate: make lock"; \
	  $(PY) -m pip freeze | sort -f) > requirements.lock

train: install ## Train the Rasa model if config.yml, domain.yml or bot/data changed (cached by hash)
	$(PY) -m scripts.model_cache

run: install assets ## Install, train if needed, start Rasa (:5005), actions (:5055), portal (:8000); PROFILE=prod for PostgreSQL/Redis/RabbitMQ
	$(PY) -m scripts.launch --profile $(or $(PROFILE),embedded)

lint: install ## ruff check + format check
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

validate: install ## Rasa data validation, failing on warnings (see scripts/validate_data.py)
	$(PY) -m scripts.validate_data

test-bot: train ## NLU held-out evaluation (threshold) and test stories (--fail-on-prediction-errors)
	$(PY) -m scripts.bot_checks

test-unit: install ## Unit tests only
	$(PY) -m pytest tests/unit -q

test-e2e: train ## End-to-end tests (starts the three servers on free ports)
	$(PY) -m pytest tests/e2e -q

test: install test-deps lint validate test-bot ## Install and run the whole suite (lint, Rasa checks, pytest)
	$(PY) -m pytest -q -ra tests/unit tests/integration tests/e2e tests/browser

bench: install ## Run every benchmark in bench/ and print the figures
	@for b in bench/bench_*.py; do m=$${b%.py}; echo "== $$m"; $(PY) -m $${m//\//.} || exit 1; done

clean: ## Remove var/ (databases, logs, results); keeps .venv and the model cache
	rm -rf var/ results/ .pytest_cache

.PHONY: help install assets test-deps lock train run lint validate test-bot test-unit test-e2e test bench clean
