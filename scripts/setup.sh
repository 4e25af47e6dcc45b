#!/usr/bin/env bash
# OpenIoTFog set-up: installs (from Debian's packages) and starts whatever is missing of
#   - a Docker engine (docker.io, dockerd),
#   - RabbitMQ with the rabbitmq_management plugin (the NFVO finds plugin queues through it),
#   - Mosquitto on 127.0.0.1:1883,
#   - Chromium (browser tests) and busybox-static (the local test image),
# then builds the local test image(s). Idempotent: running services are left alone; it waits until each
# service answers and prints what it did. No container registry is needed.
#
# Environment: IOTFOG_SETUP_SKIP_BROWSER=1 skips Chromium (a fog node running only the agent does not need it);
# IOTFOG_SETUP_SECOND_ENGINE=0 skips the second Docker engine that the test suite uses as a second fog node;
# IOTFOG_SETUP_ARM64=0 skips the emulated arm64 agent (scripts/arm64-agent.sh);
# IOTFOG_SETUP_SKIP_PROMETHEUS=1 skips the Prometheus server (the metrics test needs it, fog nodes do not).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOG_DIR="${IOTFOG_SETUP_LOG_DIR:-/var/log/openiotfog}"
TEST_IMAGE="openiotfog/testbox:latest"
did=()

say() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }

if [ "$(id -u)" -eq 0 ]; then SUDO=""; else
  command -v sudo >/dev/null || die "run as root or install sudo"
  SUDO="sudo"
fi
has_systemd() { [ -d /run/systemd/system ]; }

# Runs "$@" until it succeeds or the timeout (seconds) passes.
wait_until() {
  local what="$1" timeout="$2"; shift 2
  local start; start=$(date +%s)
  until "$@" >/dev/null 2>&1; do
    if [ $(( $(date +%s) - start )) -ge "$timeout" ]; then die "$what did not answer within ${timeout}s"; fi
    sleep 0.5
  done
  say "$what answers ($(( $(date +%s) - start ))s)"
}

# --- Node.js ---------------------------------------------------------------------------------------
command -v node >/dev/null || die "Node.js 20 or newer is required (https://nodejs.org or Debian's nodejs package)"
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || die "Node.js 20 or newer is required, found $(node --version)"

# --- Debian packages -------------------------------------------------------------------------------
missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
[ -x /usr/sbin/rabbitmq-server ] || command -v rabbitmq-server >/dev/null || missing+=(rabbitmq-server)
[ -x /usr/sbin/mosquitto ] || command -v mosquitto >/dev/null || missing+=(mosquitto)
command -v mosquitto_pub >/dev/null || missing+=(mosquitto-clients)
dpkg -s busybox-static >/dev/null 2>&1 || missing+=(busybox-static)
command -v curl >/dev/null || missing+=(curl)
command -v ip >/dev/null || missing+=(iproute2)
# The failover test and benchmark cut a node off silently: a network namespace whose traffic nftables drops.
command -v nft >/dev/null || [ -x /usr/sbin/nft ] || missing+=(nftables)
# The TLS tests make a CA and server certificates with it (docs/security.md shows the same commands).
command -v openssl >/dev/null || missing+=(openssl)
if [ "${IOTFOG_SETUP_SKIP_BROWSER:-0}" != "1" ]; then
  command -v chromium >/dev/null || missing+=(chromium)
fi
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing from Debian's packages: ${missing[*]}"
  $SUDO apt-get update -qq
  # The packages' own init scripts may fail to start services in a container without systemd; we start them below.
  DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1 $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 \
    || die "apt-get install ${missing[*]} failed (run it by hand to see why)"
  did+=("installed ${missing[*]}")
else
  say "Debian packages present"
fi
$SUDO mkdir -p "$LOG_DIR"

# --- Prometheus (the metrics integration test runs its own server; the package's service is not used) ----
# Its own block, so an older install gets it too. A service the package's scripts start is left alone.
if [ "${IOTFOG_SETUP_SKIP_PROMETHEUS:-0}" != "1" ] && ! command -v prometheus >/dev/null; then
  say "installing prometheus from Debian's packages"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1 $SUDO apt-get install -y -qq --no-install-recommends \
    prometheus >/dev/null 2>&1 || die "apt-get install prometheus failed (run it by hand to see why)"
  did+=("installed prometheus")
fi

# --- Docker engine ---------------------------------------------------------------------------------
docker_up() { $SUDO docker info >/dev/null 2>&1; }
if docker_up; then
  say "Docker engine already running"
else
  if has_systemd; then
    $SUDO systemctl start docker
  else
    # A dockerd that died leaves its pid file behind and refuses to start again.
    if ! pgrep -x dockerd >/dev/null; then $SUDO rm -f /var/run/docker.pid; fi
    $SUDO sh -c "nohup dockerd >>'$LOG_DIR/dockerd.log' 2>&1 &"
  fi
  wait_until "Docker engine" 90 docker_up
  did+=("started the Docker engine")
fi

# --- A second Docker engine, for tests ------------------------------------------------------------
# Two fog nodes on one machine share one image store unless each has its own engine: the tests that copy an
# image from one node to another without a registry run their second agent against this engine. It gets a
# bridge of its own (never `--bridge none`: dockerd then deletes the first engine's docker0) and sets no
# iptables rules, so it never touches the host's networking.
DOCKER_B_SOCK=/var/run/openiotfog-docker-b.sock
DOCKER_B_BRIDGE=iotfog-b0
docker_b_up() { $SUDO docker -H "unix://$DOCKER_B_SOCK" info >/dev/null 2>&1; }
if [ "${IOTFOG_SETUP_SECOND_ENGINE:-1}" = "1" ]; then
  if docker_b_up; then
    say "second Docker engine (tests) already running on $DOCKER_B_SOCK"
  else
    if ! ip link show "$DOCKER_B_BRIDGE" >/dev/null 2>&1; then
      $SUDO ip link add name "$DOCKER_B_BRIDGE" type bridge
      $SUDO ip addr add 10.213.0.1/24 dev "$DOCKER_B_BRIDGE"
      $SUDO ip link set "$DOCKER_B_BRIDGE" up
    fi
    if ! pgrep -f "dockerd --host unix://$DOCKER_B_SOCK" >/dev/null; then $SUDO rm -f /var/run/openiotfog-docker-b.pid; fi
    $SUDO sh -c "nohup dockerd --host unix://$DOCKER_B_SOCK --data-root /var/lib/openiotfog-docker-b \\
      --exec-root /var/run/openiotfog-docker-b --pidfile /var/run/openiotfog-docker-b.pid \\
      --bridge $DOCKER_B_BRIDGE --iptables=false --ip-masq=false >>'$LOG_DIR/dockerd-b.log' 2>&1 &"
    wait_until "second Docker engine (tests)" 90 docker_b_up
    did+=("started a second Docker engine for tests on $DOCKER_B_SOCK")
  fi
fi

# --- RabbitMQ + management -------------------------------------------------------------------------
rabbit_mgmt_up() { curl -fsS -u guest:guest http://127.0.0.1:15672/api/overview >/dev/null; }
rabbit_amqp_up() { (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; }
if rabbit_amqp_up; then
  if rabbit_mgmt_up; then
    say "RabbitMQ with management already running"
  else
    $SUDO rabbitmq-plugins enable rabbitmq_management >/dev/null
    wait_until "RabbitMQ management API" 60 rabbit_mgmt_up
    did+=("enabled rabbitmq_management")
  fi
else
  $SUDO rabbitmq-plugins enable --offline rabbitmq_management >/dev/null
  if has_systemd; then
    $SUDO systemctl start rabbitmq-server
  else
    $SUDO sh -c "nohup rabbitmq-server >>'$LOG_DIR/rabbitmq.log' 2>&1 &"
  fi
  wait_until "RabbitMQ AMQP port 5672" 120 rabbit_amqp_up
  wait_until "RabbitMQ management API" 120 rabbit_mgmt_up
  did+=("started RabbitMQ with rabbitmq_management")
fi

# --- Mosquitto -------------------------------------------------------------------------------------
mqtt_up() { mosquitto_pub -h 127.0.0.1 -p 1883 -t openiotfog/setup/ping -m ping -q 0 >/dev/null 2>&1; }
if mqtt_up; then
  say "MQTT broker already answering on 127.0.0.1:1883"
else
  $SUDO mosquitto -d -c "$ROOT/scripts/mosquitto.conf"
  wait_until "Mosquitto on 127.0.0.1:1883" 30 mqtt_up
  did+=("started Mosquitto on 127.0.0.1:1883")
fi

# --- The emulated arm64 agent (a Raspberry Pi's architecture; issue 15) ----------------------------------
# qemu-user-static, Node 20 for linux-arm64 and the agent's dependencies for linux-arm64: scripts/arm64-agent.sh.
# IOTFOG_SETUP_ARM64=0 skips it (a fog node does not need it); the test suite does.
if [ "${IOTFOG_SETUP_ARM64:-1}" = "1" ]; then
  out=$(bash "$ROOT/scripts/arm64-agent.sh")
  if [ -n "$out" ]; then did+=("$out"); else say "arm64 agent (qemu, Node for linux-arm64, dependencies) ready"; fi
fi

# --- Local test images -----------------------------------------------------------------------------
# No registry is reachable: images are made from a busybox root filesystem with docker import.
if $SUDO docker image inspect "$TEST_IMAGE" >/dev/null 2>&1; then
  say "test image $TEST_IMAGE present"
else
  rootfs=$(mktemp -d)
  mkdir -p "$rootfs/bin" "$rootfs/tmp" "$rootfs/www" "$rootfs/etc"
  cp /bin/busybox "$rootfs/bin/busybox"
  for applet in $("$rootfs/bin/busybox" --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$rootfs/bin/$applet"
  done
  echo "root:x:0:0:root:/:/bin/sh" >"$rootfs/etc/passwd"
  echo "OpenIoTFog test box" >"$rootfs/www/index.html"
  tar -C "$rootfs" -c . | $SUDO docker import \
    -c 'ENV PATH=/bin' -c 'WORKDIR /' -c 'CMD ["sh"]' \
    -m "OpenIoTFog test image: busybox-static (sh, sleep, httpd, wget, nc)" - "$TEST_IMAGE" >/dev/null
  rm -rf "$rootfs"
  did+=("built $TEST_IMAGE")
fi
if [ "${IOTFOG_SETUP_SECOND_ENGINE:-1}" = "1" ] && ! $SUDO docker -H "unix://$DOCKER_B_SOCK" image inspect "$TEST_IMAGE" >/dev/null 2>&1; then
  $SUDO docker save "$TEST_IMAGE" | $SUDO docker -H "unix://$DOCKER_B_SOCK" load >/dev/null
  did+=("loaded $TEST_IMAGE into the second engine")
fi
for extra in "$ROOT"/scripts/images/*.sh; do
  [ -e "$extra" ] || continue
  # Each script builds one more local image from $TEST_IMAGE, itself idempotently, and prints what it did.
  out=$(TEST_IMAGE="$TEST_IMAGE" bash "$extra")
  [ -z "$out" ] || did+=("$out")
done

if [ "${#did[@]}" -eq 0 ]; then
  say "nothing to do: everything was installed and running"
else
  for d in "${did[@]}"; do say "did: $d"; done
fi
