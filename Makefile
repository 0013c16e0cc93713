# Every target sets up what it needs: a virtualenv from the lock file, and Debian packages.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.mailflow-installed

.PHONY: setup test lint bench lock clean

setup: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install -q --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

test: $(STAMP)
	scripts/install-system-deps.sh
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check mailflow tests bench __main__.py
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m bench

# Re-pin every dependency (needs uv: pip install uv).
lock:
	uv pip compile pyproject.toml --all-extras --python-version 3.11 -o requirements.lock

clean:
	rm -rf $(VENV) out .pulumi-state
