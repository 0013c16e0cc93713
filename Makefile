# Every target sets up what it needs: a virtualenv from the lock file, and Debian packages.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.mailflow-installed

# Offline Pulumi: state in the project, no update check, no plugin downloads. The passphrase
# protects the local stack only (it holds no secrets); other stacks set their own.
export PULUMI_BACKEND_URL ?= file://$(CURDIR)/.pulumi-state
export PULUMI_CONFIG_PASSPHRASE ?= mailflow-local-only
export PULUMI_SKIP_UPDATE_CHECK := true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION := true
PULUMI_PATH = $$(scripts/install-pulumi.sh):$$PATH

.PHONY: setup pulumi demo preview-example test lint bench lock clean

setup: $(STAMP)

# Both locks carry hashes, so pip checks every download; the package itself goes in editable.
$(STAMP): requirements.lock requirements-dev.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.lock -r requirements-dev.lock
	$(BIN)/pip install -q --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

pulumi:
	scripts/install-pulumi.sh >/dev/null

# The main job: `pulumi up` on the local stack (zone files under out/zones), then show them.
demo: $(STAMP) pulumi
	mkdir -p .pulumi-state
	PATH="$(PULUMI_PATH)" pulumi stack select local --create --non-interactive
	PATH="$(PULUMI_PATH)" pulumi up --yes --stack local --non-interactive
	@for zone in out/zones/*.zone; do echo "== $$zone"; cat "$$zone"; done

# `pulumi preview` of a shipped stack as it is (STACK=staging or STACK=prod), in a state of its own
# that holds no secret (the passphrase above serves). `pulumi stack init` writes an encryption salt
# into the stack's file, so the stack is created beside a copy of that file, which the preview then
# reads (--config-file): no tracked file changes.
preview-example: $(STAMP) pulumi
	@test -f "stacks/Pulumi.$(STACK).yaml" || { echo "make preview-example: set STACK to a stack of stacks/, e.g. STACK=staging" >&2; exit 2; }
	@scratch="$$(mktemp -d)" && trap 'rm -rf "$$scratch"' EXIT && \
	mkdir "$$scratch/state" "$$scratch/stacks" && cp Pulumi.yaml "$$scratch/" && \
	cp "stacks/Pulumi.$(STACK).yaml" "$$scratch/stacks/" && \
	export PATH="$(PULUMI_PATH)" PULUMI_BACKEND_URL="file://$$scratch/state" && \
	pulumi --cwd "$$scratch" stack init "$(STACK)" --no-select --non-interactive >/dev/null && \
	pulumi preview --stack "$(STACK)" --config-file "$$scratch/stacks/Pulumi.$(STACK).yaml" --non-interactive

test: $(STAMP) pulumi
	scripts/install-system-deps.sh
	$(BIN)/pytest -q

lint: $(STAMP)
	scripts/install-system-deps.sh
	$(BIN)/ruff check mailflow tests bench scripts __main__.py
	$(BIN)/mypy
	shellcheck scripts/*.sh

# Every benchmark of docs/BENCHMARKS.md, one table; BENCH_ARGS narrows it (see python -m bench -h).
bench: $(STAMP) pulumi
	scripts/install-system-deps.sh
	$(BIN)/python -m bench $(BENCH_ARGS)

# Re-pin every dependency, with hashes (needs uv: pip install uv): what the package needs to run
# with both provider SDKs, then the dev group constrained by it.
lock:
	uv pip compile pyproject.toml --extra cloudflare --extra azure --generate-hashes --python-version 3.11 -o requirements.lock
	uv pip compile --group dev -c requirements.lock --generate-hashes --python-version 3.11 -o requirements-dev.lock

clean:
	rm -rf $(VENV) out .pulumi-state
