#!/usr/bin/env bash
# Builds the arm64 variant of the test image and a tag that exists for both architectures (issue 15):
#   openiotfog/testbox:arm64   Debian's arm64 busybox-static root filesystem as a linux/arm64 image (loaded
#                              from a `docker save`-form tarball whose config says arm64; `docker image
#                              inspect` shows Architecture arm64). This machine's engines are x86_64 without
#                              binfmt_misc: the image is built and listed, it cannot run here.
#   openiotfog/testbox:multi   the same tag for two architectures, one per engine, as a registry's multi-arch
#                              image lands on nodes of each: linux/amd64 ($TEST_IMAGE) on the first engine,
#                              linux/arm64 on the second (tests' arm64 agent drives that one).
# Needs Debian's arm64 architecture (scripts/arm64-agent.sh adds it). Idempotent; prints one line when it built
# something.
set -euo pipefail
TEST_IMAGE="${TEST_IMAGE:-openiotfog/testbox:latest}"
ARM64_IMAGE="openiotfog/testbox:arm64"
MULTI_IMAGE="openiotfog/testbox:multi"
DOCKER_B="unix:///var/run/openiotfog-docker-b.sock"
SUDO=""
if ! docker info >/dev/null 2>&1 && command -v sudo >/dev/null; then SUDO="sudo"; fi
built=()

arch_of() { $SUDO docker "$@" --format '{{.Architecture}}' 2>/dev/null || true; }

# Without Debian's arm64 architecture (IOTFOG_SETUP_ARM64=0: a fog node) there is nothing to build from.
dpkg --print-foreign-architectures | grep -qx arm64 || exit 0

if [ "$(arch_of image inspect "$ARM64_IMAGE")" != "arm64" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && apt-get download -qq busybox-static:arm64 >/dev/null 2>&1) || {
    $SUDO apt-get update -qq
    (cd "$work" && apt-get download -qq busybox-static:arm64 >/dev/null)
  }
  dpkg-deb -x "$work"/busybox-static_*_arm64.deb "$work/deb"
  rootfs="$work/rootfs"
  mkdir -p "$rootfs/bin" "$rootfs/tmp" "$rootfs/www" "$rootfs/etc"
  cp "$work/deb/bin/busybox" "$rootfs/bin/busybox"
  # The applet list of the host's busybox-static (same Debian release, same applets): the arm64 one cannot run here.
  for applet in $(/bin/busybox --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$rootfs/bin/$applet"
  done
  echo "root:x:0:0:root:/:/bin/sh" >"$rootfs/etc/passwd"
  echo "OpenIoTFog test box (arm64)" >"$rootfs/www/index.html"
  # An image tarball in `docker save` form, so its config says architecture arm64: this engine's `docker import`
  # ignores --platform (experimental in Docker 20.10) and records the engine's own architecture.
  img="$work/image"
  mkdir -p "$img"
  tar -C "$rootfs" --numeric-owner --owner=0 --group=0 -cf "$img/layer.tar" .
  layer_sha=$(sha256sum "$img/layer.tar" | cut -d' ' -f1)
  created=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  printf '%s' "{\"architecture\":\"arm64\",\"os\":\"linux\",\"created\":\"$created\",\
\"comment\":\"OpenIoTFog test image for arm64: Debian's arm64 busybox-static\",\
\"config\":{\"Env\":[\"PATH=/bin\"],\"Cmd\":[\"sh\"],\"WorkingDir\":\"/\"},\
\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:$layer_sha\"]}}" >"$img/config.json"
  config_sha=$(sha256sum "$img/config.json" | cut -d' ' -f1)
  mv "$img/config.json" "$img/$config_sha.json"
  printf '%s' "[{\"Config\":\"$config_sha.json\",\"RepoTags\":[\"$ARM64_IMAGE\"],\"Layers\":[\"layer.tar\"]}]" \
    >"$img/manifest.json"
  tar -C "$img" -c . | $SUDO docker load >/dev/null
  [ "$(arch_of image inspect "$ARM64_IMAGE")" = "arm64" ] || {
    echo "[setup] ERROR: $ARM64_IMAGE was imported but its Architecture is not arm64" >&2
    exit 1
  }
  built+=("$ARM64_IMAGE")
fi
if [ "$(arch_of image inspect "$MULTI_IMAGE")" != "amd64" ]; then
  $SUDO docker tag "$TEST_IMAGE" "$MULTI_IMAGE"
  built+=("$MULTI_IMAGE (amd64)")
fi

if $SUDO docker -H "$DOCKER_B" info >/dev/null 2>&1; then
  if [ "$(arch_of -H "$DOCKER_B" image inspect "$ARM64_IMAGE")" != "arm64" ]; then
    $SUDO docker save "$ARM64_IMAGE" | $SUDO docker -H "$DOCKER_B" load >/dev/null
    built+=("$ARM64_IMAGE in the second engine")
  fi
  if [ "$(arch_of -H "$DOCKER_B" image inspect "$MULTI_IMAGE")" != "arm64" ]; then
    $SUDO docker -H "$DOCKER_B" tag "$ARM64_IMAGE" "$MULTI_IMAGE"
    built+=("$MULTI_IMAGE (arm64) in the second engine")
  fi
fi

if [ "${#built[@]}" -gt 0 ]; then
  echo "built ${built[*]} (test images for the arm64 agent)"
fi
