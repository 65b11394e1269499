# django-tryon: `make demo` runs the example shop, `make test` runs the whole suite.
# Both create their own virtualenv (.venv) and need nothing but Python 3.11+ and make.

PYTHON ?= python3
VENV ?= .venv
DJANGO ?= django>=5.2,<7
BIN := $(VENV)/bin
MANAGE := $(BIN)/python example_project/manage.py
DEMO_PORT ?= 8000
SANDBOX_PORT ?= 8765
PYTEST_ARGS ?=
BENCH_ARGS ?=
CHAOS_ARGS ?=

.PHONY: help venv demo test lint format bench chaos clean

help:
	@echo "make demo   - install, migrate, seed, start the sandbox, a Celery worker and the shop on http://127.0.0.1:$(DEMO_PORT)/"
	@echo "make test   - lint and run the whole test suite"
	@echo "make bench  - run the benchmarks (BENCH_ARGS=--quick for a smoke run), table in docs/performance.md"
	@echo "make chaos  - the chaos run: 520 try-ons under faults, then the money invariants (CHAOS_ARGS=--short: about 100)"
	@echo "make clean  - remove the virtualenv and local data"

$(BIN)/.installed: setup.cfg pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (set PYTHON=...)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]" "$(DJANGO)"
	@touch $@

venv: $(BIN)/.installed

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: venv lint
	@$(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

demo: venv
	@bash scripts/demo.sh "$(BIN)" "$(DEMO_PORT)" "$(SANDBOX_PORT)"

bench: venv
	$(BIN)/python -m bench $(BENCH_ARGS)

chaos: venv
	$(BIN)/python -m bench.chaos $(CHAOS_ARGS)

clean:
	rm -rf $(VENV) var build dist *.egg-info
