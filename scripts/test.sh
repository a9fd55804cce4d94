#!/usr/bin/env bash
# The whole suite: lint, format check, import contracts, strict types, then pytest on SQLite
# and, when a PostgreSQL server can be started here (or FULFILLBRIDGE_TEST_POSTGRES_URL names
# one), on PostgreSQL too.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}

"$VENV/bin/ruff" check src tests bench
"$VENV/bin/ruff" format --check src tests bench
# The package rules of docs/architecture.md, and strict typing where it is required.
"$VENV/bin/lint-imports" --no-logo
"$VENV/bin/mypy" --strict src/fulfillbridge/core src/fulfillbridge/shopify

if [ -z "${FULFILLBRIDGE_TEST_POSTGRES_URL:-}" ]; then
  if url=$(bash scripts/postgres.sh start); then
    export FULFILLBRIDGE_TEST_POSTGRES_URL="$url"
    trap 'bash scripts/postgres.sh stop' EXIT
  elif [ "${FULFILLBRIDGE_REQUIRE_POSTGRES:-0}" = 1 ]; then
    echo "PostgreSQL is required here but could not be started" >&2
    exit 1
  else
    echo "note: no PostgreSQL server binaries found; storage tests run on SQLite only" >&2
  fi
fi

# The tests wait on servers and subprocesses far more than they compute, so three pytest
# processes keep two cores busy; each gets its own PostgreSQL database (tests/conftest.py).
# PYTEST_WORKERS=0 runs them in this one process.
"$VENV/bin/pytest" -n "${PYTEST_WORKERS:-3}" "$@"
