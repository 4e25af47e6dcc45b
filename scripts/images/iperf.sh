#!/usr/bin/env bash
# Builds iperfserver:latest and iperfclient:latest, the images of Open Baton's Docker tutorial
# (openbaton-config/nsd-iperf.json), as tiny stand-ins made from $TEST_IMAGE (busybox): no registry is reachable and
# the point of the tutorial NSD here is the dependency wiring (the client learns the server's hostname), not
# bandwidth figures.
# - The server serves TCP 5001 (iperf's port) and answers every connection with its hostname.
# - The client connects to its server every few seconds, at the address the VNFM put in its environment
#   (SERVER_HOSTNAME from `requires: {iperf-server: {parameters: [hostname]}}`, or SERVER_MGMT as in go-docker-vnfm's
#   own client image), and logs what it got. It keeps running while the server is unreachable, so the VNF stays
#   ACTIVE.
# Idempotent; prints one line when it built something.
set -euo pipefail
TEST_IMAGE="${TEST_IMAGE:-openiotfog/testbox:latest}"
SUDO=""
if ! docker info >/dev/null 2>&1 && command -v sudo >/dev/null; then SUDO="sudo"; fi

build_containers=()
trap 'for c in "${build_containers[@]}"; do $SUDO docker rm -f "$c" >/dev/null 2>&1 || true; done' EXIT
built=()

# stand_in TAG MESSAGE CHANGE...: commits a container of $TEST_IMAGE as TAG with the given `docker commit -c`
# changes, unless TAG exists.
stand_in() {
  local tag="$1" message="$2"
  shift 2
  if $SUDO docker image inspect "$tag" >/dev/null 2>&1; then return 0; fi
  local name="iotfog-build-${tag%%:*}-$$"
  build_containers+=("$name")
  $SUDO docker create --name "$name" "$TEST_IMAGE" >/dev/null
  local changes=()
  for c in "$@"; do changes+=(-c "$c"); done
  $SUDO docker commit "${changes[@]}" -c 'CMD []' -m "$message" "$name" "$tag" >/dev/null
  built+=("$tag")
}

stand_in iperfserver:latest \
  "OpenIoTFog stand-in for the Open Baton tutorial's iperf server (busybox nc on 5001)" \
  'EXPOSE 5001' \
  'ENTRYPOINT ["sh", "-c", "echo \"iperf stand-in server on $(hostname):5001\"; while true; do echo \"iperf stand-in server $(hostname)\" | nc -l -p 5001; done"]'
stand_in iperfclient:latest \
  "OpenIoTFog stand-in for the Open Baton tutorial's iperf client (busybox nc to \$SERVER_HOSTNAME:5001)" \
  'ENTRYPOINT ["sh", "-c", "server=\"${SERVER_HOSTNAME:-$SERVER_MGMT}\"; echo \"Connecting to $server\"; while true; do nc -w 2 \"$server\" 5001 </dev/null || echo \"no answer from $server\"; sleep 5; done"]'

if [ "${#built[@]}" -gt 0 ]; then
  echo "built ${built[*]} (stand-ins for the Open Baton Docker tutorial's iperf server and client)"
fi
