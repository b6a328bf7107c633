#!/usr/bin/env bash
# Builds the project's image and proves it runs: a container serving the bundled example repositories answers
# KServe v2 requests, runs as uid 1000, and stops cleanly on SIGTERM. Needs root, podman and Node.js 20+ on the host;
# it is not part of npm test.
#
#   sudo bash scripts/image/check.sh
#
# Steps: the base image (scripts/image/base.sh, when BASE_IMAGE is missing), podman build of Dockerfile, podman run
# with examples/model_repository and examples/python_models mounted read-only, the Deployment's security context
# (read-only root, no capabilities) and the HTTP port published on 127.0.0.1 only; then /v2/health/ready, an infer
# on simple (ONNX) and on add_sub (Python backend: python3 + numpy in the image), every process's user, SIGTERM
# (exit status and seconds), the Kubeflow entry point, image size (uncompressed and as pushed).
#
# Environment:
#   GPU              none (default here: NuGet and NVIDIA's repository are unreachable from the development
#                    machines) or cuda12 (the Dockerfile's default)
#   BASE_IMAGE       localhost/node:24-bookworm-slim (set node:24-bookworm-slim where Docker Hub is reachable)
#   IMAGE            localhost/inference-server:$GPU
#   NO_CACHE=1       build every layer again (for timing the build)
#   EXTRA_CA_CERTS   a PEM bundle the build's npm trusts (build secret extra-ca-certs); defaults to this shell's
#                    NODE_EXTRA_CA_CERTS, so a TLS-intercepting proxy the host trusts works inside the build
#   NETWORK          bridge (default: -p 127.0.0.1:PORT:8000) or host (the server binds --host=127.0.0.1)
#   KEEP=1           leave the stopped container in place (podman logs, podman inspect)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=scripts/image/lib.sh
. "$ROOT/scripts/image/lib.sh"
need podman node

GPU="${GPU:-none}"
BASE_IMAGE="${BASE_IMAGE:-localhost/node:24-bookworm-slim}"
IMAGE="${IMAGE:-localhost/inference-server:$GPU}"
EXTRA_CA_CERTS="${EXTRA_CA_CERTS:-${NODE_EXTRA_CA_CERTS:-}}"
NETWORK="${NETWORK:-bridge}"
CONTAINER="inference-server-check-$$"

cleanup() {
  [ "${KEEP:-}" = 1 ] || podman rm -f "$CONTAINER" >/dev/null 2>&1 || true
}
trap cleanup EXIT
seconds_since() { awk -v a="$1" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }'; }

# 1. Base image.
if ! podman image exists "$BASE_IMAGE"; then
  if [ "$BASE_IMAGE" = localhost/node:24-bookworm-slim ]; then
    say "no $BASE_IMAGE: building it (scripts/image/base.sh)"
    bash "$ROOT/scripts/image/base.sh"
  else
    podman pull "$BASE_IMAGE"
  fi
fi

# 2. The image. chroot isolation and the host network: RUN steps need neither namespaces nor a bridge, so the build
# works inside containers and sandboxes too.
build_args=(--isolation=chroot --network=host --build-arg "NODE_IMAGE=$BASE_IMAGE" --build-arg "GPU=$GPU")
[ -n "$EXTRA_CA_CERTS" ] && build_args+=(--secret "id=extra-ca-certs,src=$EXTRA_CA_CERTS")
[ "${NO_CACHE:-}" = 1 ] && build_args+=(--no-cache)
say "podman build -t $IMAGE (GPU=$GPU, NODE_IMAGE=$BASE_IMAGE)"
start=$(date +%s%N)
podman build "${PODMAN_ULIMITS[@]}" "${build_args[@]}" -t "$IMAGE" "$ROOT"
build_seconds=$(seconds_since "$start")

# 3. Run it on a free loopback port.
port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
# The Deployment's container securityContext (constructs/inference-server.ts): read-only root file system with
# writable /tmp, /dev/shm and model cache, no capabilities, no privilege escalation.
run_args=(-d --name "$CONTAINER" "${PODMAN_ULIMITS[@]}"
  --read-only --tmpfs /tmp:mode=1777 --tmpfs /var/cache/inference-server:mode=1777 --shm-size=64m
  --cap-drop=ALL --security-opt=no-new-privileges
  -v "$ROOT/examples/model_repository:/models:ro" -v "$ROOT/examples/python_models:/python_models:ro")
server_args=(--model-repository=/models --model-repository=/python_models
  --model-control-mode=explicit --load-model=simple --load-model=add_sub)
if [ "$NETWORK" = host ]; then
  run_args+=(--network host)
  server_args+=(--host=127.0.0.1 --http-port="$port" --allow-grpc=false --allow-metrics=false)
else
  run_args+=(-p "127.0.0.1:$port:8000")
fi
say "podman run $IMAGE on 127.0.0.1:$port"
start=$(date +%s%N)
podman run "${run_args[@]}" "$IMAGE" "${server_args[@]}" >/dev/null
# Ready, or the container exited (a model failed to load): whichever comes first.
node "$ROOT/scripts/image/probe.js" ready "http://127.0.0.1:$port" 120 >/dev/null & probe_pid=$!
podman wait "$CONTAINER" >/dev/null & wait_pid=$!
finished=""
wait -n -p finished "$probe_pid" "$wait_pid" && probe_status=0 || probe_status=$?
kill "$probe_pid" "$wait_pid" 2>/dev/null || true
if [ "$finished" != "$probe_pid" ] || [ "$probe_status" != 0 ]; then
  podman logs "$CONTAINER" >&2
  echo "the container did not become ready" >&2
  exit 1
fi
ready_seconds=$(seconds_since "$start")

# 4. Answers, user, stop.
node "$ROOT/scripts/image/probe.js" infer "http://127.0.0.1:$port" || { podman logs "$CONTAINER" >&2; exit 1; }
# Every process in the container (tini as PID 1, node, the add_sub stub), read from the host's side: podman top.
processes=$(podman top "$CONTAINER" pid ppid user comm)
echo "$processes"
node_uid=$(podman exec "$CONTAINER" id -u node)
if [ "$node_uid" != 1000 ] || echo "$processes" | awk 'NR > 1 && $3 != "node" { bad = 1 } END { exit !bad }'; then
  echo "a process in the container does not run as node (uid 1000)" >&2
  exit 1
fi

start=$(date +%s%N)
podman kill --signal TERM "$CONTAINER" >/dev/null
exit_code=$(podman wait "$CONTAINER")
stop_seconds=$(seconds_since "$start")
podman logs "$CONTAINER" 2>&1 | grep -E '"msg":"(stopping|stopped)' || true
[ "$exit_code" = 0 ] || { podman logs "$CONTAINER" >&2; echo "exit code $exit_code after SIGTERM" >&2; exit 1; }

# The Kubeflow component's entry point (docs/gcs-and-kubeflow.md) from the same image.
podman run --rm --network none "${PODMAN_ULIMITS[@]}" --entrypoint node "$IMAGE" /app/dist/kubeflow/deploy.js --help |
  head -1

size_bytes=$(podman image inspect --format '{{.Size}}' "$IMAGE")
# What a registry stores and a node pulls: the layers gzip-compressed, as podman push writes them.
rm -rf "/tmp/$CONTAINER.dir"
podman push -q --compress "$IMAGE" "dir:/tmp/$CONTAINER.dir"
pushed_bytes=$(du -sb "/tmp/$CONTAINER.dir" | cut -f1)
rm -rf "/tmp/$CONTAINER.dir"
base_bytes=$(podman image inspect --format '{{.Size}}' "$BASE_IMAGE")
say "results"
printf '%-28s %s\n' \
  "image" "$IMAGE (GPU=$GPU)" \
  "image size" "$(awk -v b="$size_bytes" 'BEGIN { printf "%.0f MB", b / 1e6 }')" \
  "compressed (gzip layers)" "$(awk -v b="$pushed_bytes" 'BEGIN { printf "%.0f MB", b / 1e6 }')" \
  "base image size" "$(awk -v b="$base_bytes" 'BEGIN { printf "%.0f MB", b / 1e6 }')" \
  "build" "${build_seconds} s$([ "${NO_CACHE:-}" = 1 ] && echo ' (no cache)' || echo ' (layer cache allowed)')" \
  "start to /v2/health/ready" "${ready_seconds} s" \
  "SIGTERM to exit" "${stop_seconds} s, exit code $exit_code"
