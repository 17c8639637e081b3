# Dirigent developer commands. `make up` brings the studio up on the embedded default;
# `make test` runs the test suite (scripts/test.sh: SQLite, then PostgreSQL if available).

VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
TORCH  := torch==2.13.0

# Extras of pyproject.toml to install; the ones pyproject.toml does not define (yet) are skipped.
EXTRAS ?= test knowledge studio bench observability

# A Python 3.11 or 3.12 that can create virtual environments (override: make PYTHON=...).
PYTHON ?= $(shell for p in python3.11 python3.12 python3; do \
	$$p -c 'import sys, ensurepip; sys.exit(sys.version_info[:2] not in ((3, 11), (3, 12)))' \
	2>/dev/null && { command -v $$p; break; }; done)

# Extra arguments for the first (SQLite) pytest run, e.g. make test PYTEST_ARGS="-k flows -x".
PYTEST_ARGS ?=

.PHONY: venv up test lint studio-types bench load clean

venv: $(VENV)/.installed

# Reinstalled whenever pyproject.toml changes. torch goes first, from the local CPU wheel,
# so that nothing that depends on it pulls a different (multi-GB) build.
$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || { \
		test -n "$(PYTHON)" || { echo "No Python 3.11/3.12 with venv support found; set PYTHON=..." >&2; exit 1; }; \
		echo "Creating $(VENV) with $(PYTHON)"; \
		$(PYTHON) -m venv $(VENV); }
	$(PIP) install --quiet --upgrade pip
	$(PIP) install $(TORCH)
	@extras=$$($(PY) -c 'import sys, tomllib; \
		defined = tomllib.load(open("pyproject.toml", "rb"))["project"].get("optional-dependencies", {}); \
		print(",".join(e for e in sys.argv[1:] if e in defined))' $(EXTRAS)); \
	echo "$(PIP) install -e '.[$$extras]'"; \
	$(PIP) install -e ".[$$extras]"
	@touch $@

up: venv
	$(VENV)/bin/dirigent up

test: venv
	bash scripts/test.sh $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .

# The studio's types of the runtime's answers, from the runtime's OpenAPI (after a response
# model changed; tests/studio/test_api_types.py tells when).
studio-types: venv
	PYTHONPATH=$(CURDIR) $(PY) scripts/studio_api_types.py

# Every bench/*.py but the load test, which runs for minutes (make load).
bench: venv
	@set -e; found=; for f in bench/*.py; do \
		[ -e "$$f" ] && [ "$$f" != bench/load.py ] || continue; found=1; \
		echo "==== $$f"; $(PY) "$$f"; done; \
	[ -n "$$found" ] || echo "No benchmarks in bench/"

# 200 chat sessions for 10 minutes against two runtimes on a throwaway PostgreSQL
# (LOAD_ARGS="--minutes 2 --sessions 50" for a shorter one).
LOAD_ARGS ?=
load: venv
	$(PY) bench/load.py $(LOAD_ARGS)

# Keeps .venv and .dirigent (the embedded database); delete those by hand if you mean to.
clean:
	rm -rf .pytest_cache .ruff_cache .mypy_cache build dist *.egg-info tests/artifacts
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +
