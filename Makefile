# Two commands on a fresh clone: `make demo` and `make test`.
VENV ?= .venv
PYTHON ?= python3
STAMP := $(VENV)/.installed-stamp

.PHONY: install demo test fuzz lint format bench clean sandbox-conformance

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/fulfillbridge demo

test: $(STAMP)
	VENV=$(VENV) bash scripts/test.sh

# The API fuzzer of `make test`, with many more cases per operation (a few minutes).
fuzz: $(STAMP)
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-200} $(VENV)/bin/pytest -p no:cacheprovider tests/web/test_fuzz_api.py

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/lint-imports --no-logo
	$(VENV)/bin/mypy --strict src/fulfillbridge/core src/fulfillbridge/shopify

format: $(STAMP)
	$(VENV)/bin/ruff format src tests bench
	$(VENV)/bin/ruff check --fix src tests bench

# Replays every capture in tests/fixtures/captures against the sandbox; a table of matched and
# compared points per capture; fails when any point differs (docs/sandbox.md).
sandbox-conformance: $(STAMP)
	$(VENV)/bin/python -m tests.sandbox.conformance

bench: $(STAMP)
	for script in bench/*.py; do $(VENV)/bin/python $$script || exit 1; done

clean:
	rm -rf $(VENV) .fulfillbridge .pytest_cache
