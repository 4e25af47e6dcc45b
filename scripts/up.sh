#!/usr/bin/env bash
# Quick start: installs what is missing, builds, and runs the single-machine stack (driver side, one agent,
# an embedded MQTT broker) with an example service deployed. Stop it with Ctrl-C.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
IOTFOG_SETUP_SKIP_BROWSER="${IOTFOG_SETUP_SKIP_BROWSER:-1}" IOTFOG_SETUP_SECOND_ENGINE="${IOTFOG_SETUP_SECOND_ENGINE:-0}" \
  bash scripts/setup.sh
bash scripts/install-deps.sh
npx tsc -b
exec node cli/bin/iotfog.js up --config examples/up.yaml "$@"
