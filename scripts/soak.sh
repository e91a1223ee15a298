#!/usr/bin/env bash
# The long reliability run (not part of ./scripts/test.sh): 50 whole lifecycles per fault rate
# (10% and 25%) through the engine-protocol harness, a create that takes over 200 s, and the
# slow reliability tests. Prints a summary table and records it in RELIABILITY.md.
# Extra arguments go to `python -m tests.reliability` (e.g. --lifecycles 10).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_venv.sh
"$VENV/bin/pytest" -m soak
"$VENV/bin/python" -m tests.reliability --lifecycles 50 --long-create --write RELIABILITY.md "$@"
# Two CI runners (own homes) sharing one journal in S3 (moto's server over HTTP), stacks that
# declare identical instances: only the shared journal tells their starts apart.
"$VENV/bin/python" -m tests.reliability --lifecycles 16 --machines 2 --identical --s3-journal \
  --write RELIABILITY.md --label soak-s3 "$@"
