#!/usr/bin/env bash
# The fast loop while editing: scripts/test.sh (lint, format, types, import contracts, workflows)
# without the engine-protocol tests, which start provider processes and drive them over gRPC,
# and the slow ones, which run the package in new Python processes (tests/conftest.py).
# Run ./scripts/test.sh, which includes them, before you push. Extra arguments go to pytest
# (e.g. ./scripts/test-fast.sh tests/test_cli.py -x).
set -euo pipefail
# -m replaces pyproject's addopts marker expression, so soak stays out here too.
exec "$(dirname "$0")/test.sh" -m "not engine and not slow and not soak" "$@"
