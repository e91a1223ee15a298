#!/usr/bin/env bash
# Everything a fresh machine needs, then every check: lint, format, types, the layers' imports,
# the whole test suite.
# Extra arguments go to pytest (e.g. ./scripts/test.sh -k engine).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_venv.sh
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
"$VENV/bin/mypy"
# The layers' import contracts ([tool.importlinter] in pyproject.toml).
"$VENV/bin/lint-imports" --no-cache
# The GitHub workflows: expressions, action inputs, job graph, and their scripts via shellcheck
# (from the venv, hence the PATH).
PATH="$VENV/bin:$PATH" "$VENV/bin/actionlint"
# Four workers on any machine: the engine tests mostly wait (on provider processes, the fake's
# init steps, polls), so they overlap well even on two cores.
"$VENV/bin/pytest" -n 4 "$@"
