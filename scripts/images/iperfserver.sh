#!/usr/bin/env bash
# Builds iperfserver:latest, the server image of Open Baton's Docker tutorial (openbaton-config/nsd-iperf.json),
# as a tiny stand-in made from $TEST_IMAGE (busybox): no registry is reachable and the point of the tutorial
# NSD here is the dependency wiring (the client learns the server's hostname), not bandwidth figures. It serves
# TCP 5001 (iperf's port) and answers every connection with its hostname. Idempotent; prints one line when it
# built something.
set -euo pipefail
TEST_IMAGE="${TEST_IMAGE:-openiotfog/testbox:latest}"
TAG="iperfserver:latest"
SUDO=""
if ! docker info >/dev/null 2>&1 && command -v sudo >/dev/null; then SUDO="sudo"; fi
if $SUDO docker image inspect "$TAG" >/dev/null 2>&1; then exit 0; fi
name="iotfog-build-iperfserver-$$"
$SUDO docker create --name "$name" "$TEST_IMAGE" >/dev/null
trap '$SUDO docker rm -f "$name" >/dev/null 2>&1 || true' EXIT
$SUDO docker commit \
  -c 'EXPOSE 5001' \
  -c 'ENTRYPOINT ["sh", "-c", "echo \"iperf stand-in server on $(hostname):5001\"; while true; do echo \"iperf stand-in server $(hostname)\" | nc -l -p 5001; done"]' \
  -c 'CMD []' \
  -m "OpenIoTFog stand-in for the Open Baton tutorial's iperf server (busybox nc on 5001)" \
  "$name" "$TAG" >/dev/null
echo "built $TAG (stand-in for the Open Baton Docker tutorial's iperf server)"
