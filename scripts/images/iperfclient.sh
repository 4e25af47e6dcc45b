#!/usr/bin/env bash
# Builds iperfclient:latest, the client image of Open Baton's Docker tutorial (openbaton-config/nsd-iperf.json),
# as a tiny stand-in made from $TEST_IMAGE (busybox): it connects to its server every few seconds, at the address
# the VNFM put in its environment (SERVER_HOSTNAME from `requires: {iperf-server: {parameters: [hostname]}}`, or
# SERVER_MGMT as in go-docker-vnfm's own client image), and logs what it got. It keeps running while the
# server is unreachable, so the VNF stays ACTIVE. Idempotent; prints one line when it built something.
set -euo pipefail
TEST_IMAGE="${TEST_IMAGE:-openiotfog/testbox:latest}"
TAG="iperfclient:latest"
SUDO=""
if ! docker info >/dev/null 2>&1 && command -v sudo >/dev/null; then SUDO="sudo"; fi
if $SUDO docker image inspect "$TAG" >/dev/null 2>&1; then exit 0; fi
name="iotfog-build-iperfclient-$$"
$SUDO docker create --name "$name" "$TEST_IMAGE" >/dev/null
trap '$SUDO docker rm -f "$name" >/dev/null 2>&1 || true' EXIT
$SUDO docker commit \
  -c 'ENTRYPOINT ["sh", "-c", "server=\"${SERVER_HOSTNAME:-$SERVER_MGMT}\"; echo \"Connecting to $server\"; while true; do nc -w 2 \"$server\" 5001 </dev/null || echo \"no answer from $server\"; sleep 5; done"]' \
  -c 'CMD []' \
  -m "OpenIoTFog stand-in for the Open Baton tutorial's iperf client (busybox nc to \$SERVER_HOSTNAME:5001)" \
  "$name" "$TAG" >/dev/null
echo "built $TAG (stand-in for the Open Baton Docker tutorial's iperf client)"
