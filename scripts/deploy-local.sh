#!/usr/bin/env bash
# Deploys the dev stack (stacks/Pulumi.dev.yaml) against the bundled local API, with the state in
# .pulumi-state/. Leaves the instances and the local API running; scripts/destroy-local.sh tears
# both down. Installs the pinned Pulumi CLI into .pulumi-cli/ first when `pulumi` is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
# The Pulumi CLI: the one on PATH, else the project's own (.pulumi-cli/), installed now if missing.
. scripts/_pulumi.sh
ensure_pulumi || exit 1
# Also proves the CLI runs before anything is started.
pulumi_version="$(pulumi version)"
echo "Pulumi CLI: $(command -v pulumi) ($pulumi_version)"
. scripts/_venv.sh
mkdir -p .pulumi-state
PORT=8711
if ! "$VENV/bin/python" -c "import httpx,sys; httpx.get('http://127.0.0.1:$PORT/api/v1/models/').raise_for_status()" 2>/dev/null; then
  nohup "$VENV/bin/python" -u -m pulumi_cortecs.testing.fake --port "$PORT" --step-seconds 2 \
    > .pulumi-state/fake-api.log 2>&1 &
  echo $! > .pulumi-state/fake-api.pid
  for _ in $(seq 50); do grep -q "/api/v1" .pulumi-state/fake-api.log 2>/dev/null && break; sleep 0.1; done
  echo "local API: $(head -n1 .pulumi-state/fake-api.log) (pid $(cat .pulumi-state/fake-api.pid))"
fi
export PULUMI_BACKEND_URL="file://$PWD/.pulumi-state"
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE-local-dev-only}"
pulumi stack select dev --create --non-interactive
pulumi up --yes --non-interactive --stack dev
pulumi stack output --json --stack dev
