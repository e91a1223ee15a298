#!/usr/bin/env bash
# The API reference, generated from the docstrings with pdoc into docs/api/ (scripts/docs.py
# says which modules, and which pdoc warnings are expected). docs/api/ is git-ignored: it is
# rebuilt from the code in seconds, and a committed copy (about 1 MB of HTML) would go stale with
# every change. Open docs/api/index.html. tests/test_docs.py builds it and fails on a warning.
# -o DIR writes elsewhere.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_venv.sh
exec "$VENV/bin/python" scripts/docs.py "$@"
