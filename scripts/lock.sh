#!/usr/bin/env bash
# Regenerates requirements.lock: every package the deploy workflows install, at an exact version
# with its hashes (pip install --require-hashes), so a deploy runs the code that was reviewed and
# a tampered or re-uploaded file fails the install. Runtime dependencies and the s3 extra (the
# journal the workflows use when CORTECS_JOURNAL_URL is set): a Pulumi program needs neither the
# langchain extra nor the dev tools.
#
# Resolved for the workflows' runner (Python 3.12, x86_64 Linux), whatever machine runs this.
# Existing pins are kept unless pyproject.toml no longer allows them; pass --upgrade to take the
# newest (then set .pulumi.version to the locked pulumi, so the CLI and the SDK match:
# tests/test_packaging.py checks it). Commit the lock with the change that needed it.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_venv.sh
"$VENV/bin/uv" pip compile pyproject.toml --extra s3 --quiet --generate-hashes \
  --python-version 3.12 --python-platform x86_64-unknown-linux-gnu \
  --custom-compile-command ./scripts/lock.sh --output-file requirements.lock "$@"
