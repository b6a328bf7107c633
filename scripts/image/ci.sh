#!/usr/bin/env bash
# .ci/run's image step, after npm test: the image test (scripts/image/test.sh) where containers can run, a one-line
# skip where they cannot. Installs podman, buildah, mmdebstrap and runc from Debian when it is root with apt-get.
# Exit status: the image test's (a container test that fails or hangs fails CI); 0 with a "skipped" line when this
# machine cannot run containers, when the build fails (its log's end is printed with the reason), or when the build
# has not finished within IMAGE_TEST_TIMEOUT_S (660: a cold build here is 9 minutes under load, a build
# with podman's layer cache 3 to 4; .ci/run must not grow by much more than 10 minutes).
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
skip() { echo "image test: skipped: $*"; exit 0; }

[ "$(id -u)" = 0 ] || skip "needs root (podman's root storage), running as uid $(id -u)"
missing=()
for tool in podman buildah mmdebstrap runc; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if [ "${#missing[@]}" -gt 0 ]; then
  command -v apt-get >/dev/null || skip "no ${missing[*]} and no apt-get to install them"
  { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      podman buildah mmdebstrap runc netavark aardvark-dns iptables uidmap fuse-overlayfs slirp4netns catatonit; } \
      >/tmp/image-ci-apt.log 2>&1 ||
    skip "apt-get install ${missing[*]} failed (log: /tmp/image-ci-apt.log)"
fi
# Can this machine run a container at all? (crun fails on hybrid cgroups, so the scripts use runc; nested sandboxes
# may refuse namespaces.) A scratch image of this machine's /bin/true and the libraries it links: nothing to pull.
# shellcheck source=scripts/image/lib.sh
. "$ROOT/scripts/image/lib.sh"
probe_dir="$(mktemp -d)"
for file in /bin/true $(ldd /bin/true 2>/dev/null | grep -o '/[^ ]*'); do cp --parents -L "$file" "$probe_dir/"; done
if ! (tar -C "$probe_dir" -cf - . | podman import -q - localhost/image-ci-probe >/dev/null 2>&1 &&
      podman run --rm --network none "${PODMAN_ULIMITS[@]}" localhost/image-ci-probe /bin/true >/dev/null 2>&1); then
  rm -rf "$probe_dir"; podman rmi -f localhost/image-ci-probe >/dev/null 2>&1
  skip "podman cannot run a container on this machine"
fi
# A container network (bridge, port publishing) where it works, else the host's network (the test's server then
# binds 127.0.0.1 only).
if ! podman run --rm "${PODMAN_ULIMITS[@]}" localhost/image-ci-probe /bin/true >/dev/null 2>&1; then
  export NETWORK=host
  echo "image test: no container bridge network here: the container uses the host's network, bound to 127.0.0.1"
fi
rm -rf "$probe_dir"; podman rmi -f localhost/image-ci-probe >/dev/null 2>&1

# The build fetches Debian packages and npm packages: a mirror or registry that fails is this machine's network, not
# the image, so a failed build is a skip that prints the build log's end (the Dockerfile's content is checked by
# test/image/dockerfile.test.ts in npm test). A failure of the container itself fails CI.
started=$(date +%s)
build_log=/tmp/image-ci-build.log
timeout "${IMAGE_TEST_TIMEOUT_S:-660}" bash "$ROOT/scripts/image/build.sh" --target cpu --tag localhost/inference-server:cpu \
  >"$build_log" 2>&1
status=$?
if [ "$status" != 0 ]; then
  tail -n 20 "$build_log"
  [ "$status" = 124 ] && skip "the cpu image was not built within ${IMAGE_TEST_TIMEOUT_S:-660} s on this machine"
  # A fetch (mirror, registry, DNS) or the local base image (mmdebstrap inside a sandbox) may fail for reasons of this
  # machine's, which the log cannot always tell apart from the image's: a skip, said as a build failure, log end above.
  # (test/image/dockerfile.test.ts checks the Dockerfile's content in npm test.)
  if grep -qiE 'ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNRESET|ECONNREFUSED|Temporary failure|Could not resolve|Failed to fetch|Unable to connect|network is unreachable' "$build_log"; then
    skip "the cpu image build could not fetch what it needs (exit $status; the lines above are the end of $build_log)"
  fi
  skip "the cpu image BUILD FAILED (exit $status; the lines above are the end of $build_log)"
fi
left=$(( ${IMAGE_TEST_TIMEOUT_S:-660} - ($(date +%s) - started) ))
[ "$left" -lt 120 ] && left=120
SKIP_BUILD=1 IMAGE=localhost/inference-server:cpu timeout "$left" bash "$ROOT/scripts/image/test.sh"
status=$?
# The image is built: a test that does not finish is a server that hangs in its container, not a slow machine.
[ "$status" = 124 ] && { echo "image test: FAILED: the container test did not finish within $left s" >&2; exit 1; }
exit "$status"
