#!/usr/bin/env bash
# Tears down what scripts/deploy-local.sh made: the dev stack's instances, then the local API.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_pulumi.sh
ensure_pulumi || exit 1
export PULUMI_BACKEND_URL="file://$PWD/.pulumi-state"
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE-local-dev-only}"
pulumi destroy --yes --non-interactive --stack dev
if [ -f .pulumi-state/fake-api.pid ]; then
  kill "$(cat .pulumi-state/fake-api.pid)" 2>/dev/null || true
  rm -f .pulumi-state/fake-api.pid
fi
