# Two commands do everything on a fresh machine with Python 3.11+ and make:
#   make demo   set up .venv, then run the demo
#   make test   set up .venv, then run every test
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint bench model setup clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "FirstCall needs Python 3.11 or newer; set PYTHON=python3.11")'
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	@$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	@$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	@touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/firstcall demo

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest

# Retrain the reply parser's learned model from rules/replies/corpus/ (commit the result:
# a test fails while the shipped model is stale against the corpus).  The fold models the
# thresholds were chosen on are kept in build/folds for `benchmarks/replies.py --folds`.
model: $(STAMP)
	$(VENV)/bin/python -m rules.replies.training --folds build/folds

bench: $(STAMP)
	$(VENV)/bin/python benchmarks/replies.py
	$(VENV)/bin/python benchmarks/gateway.py
	$(VENV)/bin/python benchmarks/sweep.py

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache .mypy_cache
