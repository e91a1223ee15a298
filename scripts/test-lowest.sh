#!/usr/bin/env bash
# The test suite against the OLDEST versions pyproject.toml allows: every direct dependency at
# its floor (uv's --resolution lowest-direct), everything else as new as those allow. It proves
# the floors rather than guessing them; CI runs it next to ./scripts/test.sh (the newest).
#
# Its own virtualenv, .venv-lowest, made fresh on every run: a newer version left over from an
# earlier install would hide a floor that no longer works. No lint or type check here: those
# judge the code, not the dependencies, and run in ./scripts/test.sh.
# PYTHON picks the interpreter (default python3; CI uses the oldest supported, 3.10).
# Extra arguments go to pytest (e.g. ./scripts/test-lowest.sh -k engine).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
VENV=.venv-lowest
rm -rf "$VENV"
"$PYTHON" -m venv "$VENV"
# uv only for the resolution: pip has no lowest-direct mode. Installed into this venv so that
# nothing outside the project changes; it never downloads an interpreter (the venv's is used).
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check 'uv>=0.8'
export UV_PYTHON_DOWNLOADS=never
"$VENV/bin/uv" pip install --quiet --python "$VENV/bin/python" --resolution lowest-direct \
  -e ".[langchain]" --group test
# Fail when a floor could not be installed as written (another requirement forced it higher):
# then the run below would prove a higher floor than pyproject.toml states.
"$VENV/bin/python" scripts/check-floors.py
"$VENV/bin/python" -m pytest -n 4 "$@"
