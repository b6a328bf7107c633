#!/usr/bin/env bash
# Builds the image with podman, one target of the Dockerfile (`npm run image:build -- --target cpu|cuda`).
# Needs root and podman (Debian: apt-get install podman buildah runc; mmdebstrap too where no registry is reachable).
#
#   bash scripts/image/build.sh [--target cpu|cuda] [--tag IMAGE] [--no-cache]
#
# Base images: NODE_IMAGE / DEBIAN_IMAGE when set (e.g. node:24-bookworm-slim, debian:bookworm-slim); else the local
# localhost/node:24-bookworm-slim and localhost/debian:bookworm-slim if present; else podman pull of Docker Hub's, and
# where no registry answers, scripts/image/base.sh builds the local ones (mmdebstrap from Debian's mirrors).
# The cuda target needs NVIDIA's Debian repository (developer.download.nvidia.com) at build time.
#
# Environment: EXTRA_CA_CERTS (a PEM bundle the build's npm trusts, build secret extra-ca-certs; defaults to this
# shell's NODE_EXTRA_CA_CERTS). Prints the image name and its size; BUILD_SECONDS_FILE receives the build time.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=scripts/image/lib.sh
. "$ROOT/scripts/image/lib.sh"
need podman

target=cuda tag="" no_cache=()
while [ $# -gt 0 ]; do
  case "$1" in
    --target) target="${2:?--target needs cpu or cuda}"; shift 2 ;;
    --target=*) target="${1#--target=}"; shift ;;
    --tag) tag="${2:?--tag needs a name}"; shift 2 ;;
    --tag=*) tag="${1#--tag=}"; shift ;;
    --no-cache) no_cache=(--no-cache); shift ;;
    *) echo "usage: build.sh [--target cpu|cuda] [--tag IMAGE] [--no-cache]" >&2; exit 2 ;;
  esac
done
case "$target" in cpu|cuda) ;; *) echo "--target $target: use cpu or cuda" >&2; exit 2 ;; esac
tag="${tag:-localhost/inference-server:$target}"

# The two base images: given, local, pulled, or built here.
resolve_base() { # $1 variable name, $2 local name, $3 registry name
  local given="${!1:-}"
  if [ -n "$given" ]; then podman image exists "$given" || podman pull -q "$given" >/dev/null; echo "$given"; return; fi
  if podman image exists "$2"; then echo "$2"; return; fi
  if timeout 120 podman pull -q "$3" >/dev/null 2>&1; then echo "$3"; return; fi
  return 1
}
if ! NODE_IMAGE="$(resolve_base NODE_IMAGE localhost/node:24-bookworm-slim docker.io/library/node:24-bookworm-slim)" ||
   ! DEBIAN_IMAGE="$(resolve_base DEBIAN_IMAGE localhost/debian:bookworm-slim docker.io/library/debian:bookworm-slim)"; then
  say "no registry answered: building the base images locally (scripts/image/base.sh)"
  bash "$ROOT/scripts/image/base.sh"
  NODE_IMAGE=localhost/node:24-bookworm-slim DEBIAN_IMAGE=localhost/debian:bookworm-slim
fi

EXTRA_CA_CERTS="${EXTRA_CA_CERTS:-${NODE_EXTRA_CA_CERTS:-}}"
# chroot isolation and the host network: RUN steps need neither namespaces nor a bridge, so the build works inside
# containers and sandboxes too.
args=(--isolation=chroot --network=host --target "$target" --build-arg "NODE_IMAGE=$NODE_IMAGE"
  --build-arg "DEBIAN_IMAGE=$DEBIAN_IMAGE" -t "$tag" "${no_cache[@]}")
[ -n "$EXTRA_CA_CERTS" ] && args+=(--secret "id=extra-ca-certs,src=$EXTRA_CA_CERTS")
say "podman build --target $target -t $tag (NODE_IMAGE=$NODE_IMAGE, DEBIAN_IMAGE=$DEBIAN_IMAGE)"
start=$(date +%s%N)
podman build "${PODMAN_ULIMITS[@]}" "${args[@]}" "$ROOT"
seconds="$(awk -v a="$start" -v b="$(date +%s%N)" 'BEGIN { printf "%.0f", (b - a) / 1e9 }')"
[ -n "${BUILD_SECONDS_FILE:-}" ] && echo "$seconds" > "$BUILD_SECONDS_FILE"
say "built $tag in ${seconds} s: $(podman image inspect --format '{{.Size}}' "$tag" | awk '{ printf "%.0f MB", $1 / 1e6 }')"
