#!/usr/bin/env bash
# The image test (`npm run test:image`): builds the cpu target and proves the image serves the example models as the
# Deployment runs it. Needs root, podman and Node.js 20+ on the host; not part of `npm test` (.ci/run runs it after,
# through scripts/image/ci.sh, where containers can run).
#
#   bash scripts/image/test.sh
#
# Steps: scripts/image/build.sh --target cpu (base images built locally where no registry answers); podman run with
# examples/model_repository and examples/python_models mounted read-only, as uid 1000, with the Deployment's security
# context (constructs/inference-server.ts: read-only root file system, writable /tmp, /dev/shm and model cache, no
# capabilities, no privilege escalation) and the HTTP port on 127.0.0.1 only; then /v2/health/live and ready, one
# infer per kind of example model (simple: ONNX, string_upper: ONNX with BYTES, add_sub: Python backend,
# simple_chain: ensemble), every process's user, SIGTERM (exit status and seconds), the Kubeflow entry point
# synthesizing manifests (cdk8s in the trimmed node_modules); last, the image's size (uncompressed and as pushed, gzip layers).
#
# Environment:
#   TARGET           cpu (default) or cuda (needs NVIDIA's repository at build time; runs on the CPU without a GPU)
#   IMAGE            localhost/inference-server:$TARGET
#   SKIP_BUILD=1     test IMAGE as it is
#   NO_CACHE=1       build every layer again (for timing the build)
#   NETWORK          bridge (default: -p 127.0.0.1:PORT:8000) or host (the server binds --host=127.0.0.1)
#   KEEP=1           leave the stopped container in place (podman logs, podman inspect)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=scripts/image/lib.sh
. "$ROOT/scripts/image/lib.sh"
need podman node

TARGET="${TARGET:-cpu}"
IMAGE="${IMAGE:-localhost/inference-server:$TARGET}"
NETWORK="${NETWORK:-bridge}"
CONTAINER="inference-server-test-$$"

cleanup() {
  [ "${KEEP:-}" = 1 ] || podman rm -f "$CONTAINER" >/dev/null 2>&1 || true
  rm -rf "/tmp/$CONTAINER.dir" "/tmp/$CONTAINER.seconds"
}
trap cleanup EXIT
# scripts/image/ci.sh stops a test that runs too long with SIGTERM: exit through cleanup (the container goes too).
trap 'exit 143' TERM INT
seconds_since() { awk -v a="$1" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }'; }

# 1. The image.
build_seconds="not built (SKIP_BUILD=1)"
if [ "${SKIP_BUILD:-}" != 1 ]; then
  BUILD_SECONDS_FILE="/tmp/$CONTAINER.seconds" bash "$ROOT/scripts/image/build.sh" --target "$TARGET" --tag "$IMAGE" \
    $([ "${NO_CACHE:-}" = 1 ] && echo --no-cache)
  build_seconds="$(cat "/tmp/$CONTAINER.seconds") s$([ "${NO_CACHE:-}" = 1 ] && echo ' (no cache)' || echo ' (layer cache allowed)')"
fi

# 2. Run it as the Deployment does, on a free loopback port.
port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
# The writable paths are the constructs' emptyDir volumes (server/contract.ts WRITABLE_PATHS; /dev/shm is the
# memory-backed one); test/image/dockerfile.test.ts checks this list against them.
run_args=(-d --name "$CONTAINER" "${PODMAN_ULIMITS[@]}" --user 1000:1000
  --read-only --tmpfs /tmp:mode=1777 --tmpfs /var/cache/inference-server:mode=1777 --shm-size=64m
  --cap-drop=ALL --security-opt=no-new-privileges
  -v "$ROOT/examples/model_repository:/models:ro" -v "$ROOT/examples/python_models:/python_models:ro")
server_args=(--model-repository=/models --model-repository=/python_models
  --model-control-mode=explicit --load-model=simple --load-model=string_upper --load-model=simple_chain --load-model=add_sub)
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
node "$ROOT/scripts/image/probe.js" ready "http://127.0.0.1:$port" 180 >/dev/null & probe_pid=$!
podman wait "$CONTAINER" >/dev/null & wait_pid=$!
finished=""
wait -n -p finished "$probe_pid" "$wait_pid" && probe_status=0 || probe_status=$?
kill "$probe_pid" "$wait_pid" 2>/dev/null || true
if [ "$finished" != "$probe_pid" ] || [ "$probe_status" != 0 ]; then
  podman logs "$CONTAINER" >&2
  echo "image test: the container did not become ready" >&2
  exit 1
fi
ready_seconds=$(seconds_since "$start")

# 3. Answers, users, stop.
node "$ROOT/scripts/image/probe.js" infer "http://127.0.0.1:$port" || { podman logs "$CONTAINER" >&2; exit 1; }
# Every process in the container (tini as PID 1, node, the add_sub stub), read from the host's side: podman top.
processes=$(podman top "$CONTAINER" pid ppid user comm)
echo "$processes"
if echo "$processes" | awk 'NR > 1 && $3 != "node" && $3 != "1000" { bad = 1 } END { exit !bad }'; then
  echo "image test: a process in the container does not run as uid 1000" >&2
  exit 1
fi
echo "$processes" | grep -q python3 || { echo "image test: no python3 stub process (add_sub)" >&2; exit 1; }

start=$(date +%s%N)
podman kill --signal TERM "$CONTAINER" >/dev/null
exit_code=$(podman wait "$CONTAINER")
stop_seconds=$(seconds_since "$start")
[ "$exit_code" = 0 ] || { podman logs "$CONTAINER" >&2; echo "image test: exit code $exit_code after SIGTERM" >&2; exit 1; }
# The drain's log lines, and no stub left behind (the stub's stderr would say it lost its server).
logs="$(podman logs "$CONTAINER" 2>&1)"
echo "$logs" | grep -E '"msg":"(stopping|stopped)' || true
if echo "$logs" | grep -qiE 'unhandled|uncaught|segmentation'; then
  echo "$logs" >&2; echo "image test: errors in the server's log" >&2; exit 1
fi

# 4. The Kubeflow component's entry point (docs/gcs-and-kubeflow.md) from the same image: cdk8s synthesizes the
#    manifests (--dry-run prints them as YAML documents, applies nothing), which proves the trimmed node_modules still hold what it needs.
kinds="$(podman run --rm --network none "${PODMAN_ULIMITS[@]}" --read-only --user 1000:1000 --entrypoint node "$IMAGE" \
  /app/dist/kubeflow/deploy.js --dry-run=true --name=simple --model-repository=gs://bucket/models --image="$IMAGE" \
  --output-endpoint-path=/tmp/endpoint --output-status-path=/tmp/status 2>&1 |
  node -e 'let t="";process.stdin.on("data",d=>t+=d).on("end",()=>{const k=[...t.matchAll(/^kind: (\w+)$/gm)].map(m=>m[1]);
    if(!k.includes("Deployment")){console.error(t);process.exit(1)}console.log([...new Set(k)].join(" "))})')" ||
  { echo "image test: the Kubeflow entry point did not synthesize a Deployment" >&2; exit 1; }
echo "kubeflow deploy.js --dry-run: $kinds"

# 5. Sizes: uncompressed (podman's Size), and what a registry stores and a node pulls (gzip layers, as podman push
#    writes them).
size_bytes=$(podman image inspect --format '{{.Size}}' "$IMAGE")
podman push -q --compress "$IMAGE" "dir:/tmp/$CONTAINER.dir"
pushed_bytes=$(du -sb "/tmp/$CONTAINER.dir" | cut -f1)
mb() { awk -v b="$1" 'BEGIN { printf "%.0f MB (%.0f MiB)", b / 1e6, b / 1048576 }'; }
say "results"
printf '%-28s %s\n' \
  "image" "$IMAGE (target $TARGET)" \
  "image size" "$(mb "$size_bytes")" \
  "compressed (gzip layers)" "$(mb "$pushed_bytes")" \
  "build" "$build_seconds" \
  "start to /v2/health/ready" "${ready_seconds} s" \
  "SIGTERM to exit" "${stop_seconds} s, exit code $exit_code"
echo "image test: passed"
