#!/usr/bin/env bash
# Benchmarks against the local fake API: prints a table and writes BENCHMARKS.md.
# ./scripts/bench.sh          full run (about 5 minutes)
# ./scripts/bench.sh --quick  CI-speed run (about a minute)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_venv.sh
exec "$VENV/bin/python" -m benchmarks "$@"
