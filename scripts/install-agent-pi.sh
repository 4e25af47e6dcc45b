#!/usr/bin/env bash
# Installs the OpenIoTFog edge agent on a Raspberry Pi (Raspberry Pi OS 64-bit, arm64) or any Debian-based
# fog node (amd64), as a systemd service that starts at boot. Run it as root from a checkout of this repository:
#
#   sudo bash scripts/install-agent-pi.sh --mqtt-url mqtt://fog-broker.factory.lan:1883 [--node-id pi-line1-a]
#
# What it does (idempotent; a second run updates the agent and keeps your configuration):
#   1. refuses what it cannot serve: 32-bit Raspberry Pi OS (armhf/armv7), any architecture but arm64 and amd64;
#   2. installs what is missing from Debian's packages: docker.io, and nodejs when its version is 20 or newer
#      (otherwise it stops and says where Node 20 comes from);
#   3. builds the agent if this checkout is not built, and lays it out under /opt/openiotfog: edge-agent/ and the
#      shared package, with the production dependencies installed for linux-<arch> (zeromq's prebuilt addon, no
#      compiler needed; dockerode's optional cpu-features is not built);
#   4. creates the system user iotfog, writes /etc/iotfog/agent.yaml from edge-agent/deploy/agent.example.yaml
#      (only when absent: nodeId, mqtt.url from the options), installs edge-agent/deploy/iotfog-agent.service and
#      enables it (it starts at every boot, restarts on any failure), then starts it when systemd runs.
#
# Options:
#   --mqtt-url URL     the fleet's broker (written into a new agent.yaml)
#   --node-id ID       the node's id (default: the host name)
#   --join TOKEN       enroll with the fleet's join token (see "Enrollment" below)
#   --arch ARCH        arm64 | amd64 (default: Debian's architecture of this system)
#   --no-start         install and enable, do not start now
# Environment: DESTDIR=/some/root installs into that tree instead of / and touches nothing of this system (no
# apt-get, no user, no systemctl start; the unit is enabled with `systemctl --root`): how the test suite checks it
# (test/integration/install-agent-pi.test.ts). NODE=/path/to/node names the Node 20 the unit runs.
#
# Enrollment: the join token of the fleet's enrollment (`iotfog agent --join <token>`) is not in this version yet.
# The hook is enroll() below: once the agent has `--join`, it runs it once with the installed configuration before
# the service starts. Until then --join is refused, and the node joins the fleet the way docs/agent.md describes.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DESTDIR="${DESTDIR:-}"
PREFIX=/opt/openiotfog
mqtt_url=""
node_id=""
join_token=""
arch=""
start=1

say() { printf '[install-agent] %s\n' "$*"; }
die() { printf '[install-agent] ERROR: %s\n' "$1" >&2; exit "${2:-1}"; }

while [ $# -gt 0 ]; do
  case "$1" in
    --mqtt-url) mqtt_url="${2:?--mqtt-url needs a URL}"; shift 2 ;;
    --node-id) node_id="${2:?--node-id needs an id}"; shift 2 ;;
    --join) join_token="${2:?--join needs a token}"; shift 2 ;;
    --arch) arch="${2:?--arch needs arm64 or amd64}"; shift 2 ;;
    --no-start) start=0; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" 2 ;;
  esac
done

# --- 1. What this installer serves ---------------------------------------------------------------------
arch="${arch:-$(dpkg --print-architecture 2>/dev/null || uname -m)}"
case "$arch" in
  arm64 | aarch64) arch=arm64 ;;
  amd64 | x86_64) arch=amd64 ;;
  armhf | armel | armv7l | armv6l | arm)
    die "32-bit ARM ($arch, e.g. 32-bit Raspberry Pi OS) is not supported: zeromq ships no prebuilt addon for it and the agent is not tested there. Install Raspberry Pi OS 64-bit (Pi 3, 4, 5, Zero 2 W, CM3/4), or build by hand as docs/agent.md describes." 2 ;;
  *) die "architecture $arch is not supported (arm64 or amd64)" 2 ;;
esac
npm_cpu=$([ "$arch" = arm64 ] && echo arm64 || echo x64)
[ -n "$join_token" ] && die "--join: enrollment with a join token needs \`iotfog agent --join\`, which this version does not have yet; install without --join (docs/agent.md, \"Install on a Raspberry Pi\")" 2
if [ -z "$DESTDIR" ] && [ "$(id -u)" -ne 0 ]; then die "run as root (sudo), or set DESTDIR to install into a tree"; fi
node_id="${node_id:-$(hostname)}"

# --- 2. Docker and Node 20 -------------------------------------------------------------------------------
if [ -z "$DESTDIR" ]; then
  missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  command -v node >/dev/null || [ -n "${NODE:-}" ] || missing+=(nodejs)
  command -v npm >/dev/null || missing+=(npm)
  if [ "${#missing[@]}" -gt 0 ]; then
    say "installing from Debian's packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
fi
if [ -n "$DESTDIR" ]; then
  # Into a tree: the Node that builds here is this system's; the unit runs the target's (default /usr/bin/node).
  unit_node="${NODE:-/usr/bin/node}"
  NODE="$(command -v node)"
else
  NODE="${NODE:-$(command -v node || true)}"
  [ -x "$NODE" ] || die "no Node.js found (set NODE=/path/to/node)"
  node_major=$("$NODE" -p 'process.versions.node.split(".")[0]')
  [ "$node_major" -ge 20 ] || die "Node.js 20 or newer is needed, $NODE is $("$NODE" --version). Debian 12's nodejs is 18: install Node 20 from NodeSource (deb.nodesource.com, setup_20.x) or a Node 20 tarball, then run this again."
  unit_node="$NODE"
fi

# --- 3. The agent under /opt/openiotfog --------------------------------------------------------------------
if [ ! -f "$ROOT/edge-agent/dist/main.js" ] || [ ! -f "$ROOT/shared/dist/index.js" ]; then
  say "building the agent in $ROOT (npm ci, tsc)"
  (cd "$ROOT" && npm ci --no-audit --no-fund --loglevel=error && npx tsc -b shared edge-agent)
fi
dest="$DESTDIR$PREFIX"
install -d "$dest/edge-agent" "$dest/node_modules/@openiotfog/shared" "$dest/docs"
rm -rf "$dest/edge-agent/dist" "$dest/node_modules/@openiotfog/shared/dist"
cp -R "$ROOT/edge-agent/dist" "$ROOT/edge-agent/package.json" "$dest/edge-agent/"
cp -R "$ROOT/shared/dist" "$ROOT/shared/package.json" "$dest/node_modules/@openiotfog/shared/"
cp "$ROOT/docs/agent.md" "$dest/docs/"
# One package.json with the dependencies of both packages (the workspace's own left out), installed for the
# target: --cpu/--os pick platform packages, --ignore-scripts keeps npm from compiling anything for this host.
"$NODE" -e '
  const read = (p) => require(require("path").join(process.argv[1], p, "package.json"));
  const deps = { ...read("shared").dependencies, ...read("edge-agent").dependencies };
  for (const k of Object.keys(deps)) if (k.startsWith("@openiotfog/")) delete deps[k];
  const pkg = { name: "openiotfog-agent", version: read("edge-agent").version, private: true,
    dependencies: Object.fromEntries(Object.entries(deps).sort()) };
  require("fs").writeFileSync(process.argv[2], JSON.stringify(pkg, null, 2) + "\n");
' "$ROOT" "$dest/package.json"
say "installing the agent's dependencies for linux-$arch in $PREFIX"
(cd "$dest" && npm install --omit=dev --cpu="$npm_cpu" --os=linux --libc=glibc --ignore-scripts \
  --no-audit --no-fund --loglevel=error >/dev/null)
# npm install prunes what it did not install: the shared package goes back in.
if [ ! -f "$dest/node_modules/@openiotfog/shared/dist/index.js" ]; then
  install -d "$dest/node_modules/@openiotfog/shared"
  cp -R "$ROOT/shared/dist" "$ROOT/shared/package.json" "$dest/node_modules/@openiotfog/shared/"
fi
addon_dir="$dest/node_modules/zeromq/build/linux/$npm_cpu/node"
ls "$addon_dir"/glibc-*/addon.node >/dev/null 2>&1 || die "zeromq has no prebuilt addon for linux-$npm_cpu in $addon_dir"

# --- 4. User, configuration, systemd unit ----------------------------------------------------------------
if [ -z "$DESTDIR" ] && ! id iotfog >/dev/null 2>&1; then
  useradd --system --home /var/lib/iotfog --shell /usr/sbin/nologin iotfog
  say "created the system user iotfog"
fi
config="$DESTDIR/etc/iotfog/agent.yaml"
install -d -m 0755 "$DESTDIR/etc/iotfog"
if [ -f "$config" ]; then
  say "keeping the existing $config"
else
  sed -e "s|^nodeId: .*|nodeId: $node_id|" \
    -e "s|^  url: mqtt://.*|  url: ${mqtt_url:-mqtt://127.0.0.1:1883}|" \
    "$ROOT/edge-agent/deploy/agent.example.yaml" >"$config"
  chmod 0644 "$config"
  say "wrote $config (nodeId $node_id; edit labels, protocols and the host-safety policy for this node)"
fi
unit_dir="$DESTDIR/etc/systemd/system"
install -d "$unit_dir"
# The unit as shipped, with the Node that was found (the unit names /usr/bin/node).
sed "s|^ExecStart=/usr/bin/node |ExecStart=$unit_node |" "$ROOT/edge-agent/deploy/iotfog-agent.service" \
  >"$unit_dir/iotfog-agent.service"
if [ -n "$DESTDIR" ]; then
  systemctl --root="$DESTDIR" enable iotfog-agent.service >/dev/null 2>&1
else
  systemctl enable iotfog-agent.service >/dev/null 2>&1 || systemctl --root=/ enable iotfog-agent.service
fi
say "installed and enabled iotfog-agent.service (starts at boot)"

# Enrollment hook: once `iotfog agent --join <token>` exists, run it here (as iotfog, with $config) before the start.
enroll() { :; }
enroll

if [ -z "$DESTDIR" ] && [ "$start" = 1 ]; then
  if [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    systemctl restart iotfog-agent.service
    say "started: journalctl -u iotfog-agent -f"
  else
    say "systemd is not running here: the agent starts at the next boot"
  fi
fi
