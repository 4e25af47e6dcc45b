#!/usr/bin/env bash
# The whole test suite, as CI runs it (`npm test`): installs what is missing (npm dependencies, Docker,
# RabbitMQ, Mosquitto, Chromium, test images), builds, type-checks, lints, then runs the unit, integration
# and end-to-end tests against the real services. Prints how long each step took.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
t0=$(date +%s)
step() {
  local name="$1"; shift
  local s; s=$(date +%s)
  echo "=== $name"
  "$@"
  echo "=== $name: $(( $(date +%s) - s ))s"
}
step "npm dependencies" bash scripts/install-deps.sh
step "services (scripts/setup.sh)" bash scripts/setup.sh
step "build" npx tsc -b
step "type-check tests" npx tsc -p tsconfig.test.json
step "lint" npx eslint .
step "format" npx prettier --check . --log-level warn
mkdir -p test-artifacts
# One jest run, in band: integration tests share one RabbitMQ, one Mosquitto and one Docker engine, and one
# of them restarts the broker.
set +e
IOTFOG_LOG_SILENT="${IOTFOG_LOG_SILENT:-1}" npx jest --ci --runInBand --json --outputFile=test-artifacts/jest.json
rc=$?
set -e
node -e '
  const r = require("./test-artifacts/jest.json");
  const skipped = r.numPendingTests + r.numTodoTests;
  // The fuzz tests name their input counts ("10000 generated ..."): list them, with how long each took.
  const fuzz = r.testResults.flatMap((f) => f.assertionResults).filter((a) => /\bfuzz\b/i.test(a.fullName));
  for (const a of fuzz) console.log(`fuzz: ${a.fullName} (${a.status}, ${((a.duration ?? 0) / 1000).toFixed(1)} s)`);
  if (fuzz.length > 0) {
    const s = fuzz.reduce((t, a) => t + (a.duration ?? 0), 0) / 1000;
    console.log(`fuzz: ${fuzz.length} tests, ${s.toFixed(1)} s in all`);
  }
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed` + (skipped ? `, ${skipped} skipped` : ""));
' || true
echo "=== total: $(( $(date +%s) - t0 ))s"
exit "$rc"
