#!/usr/bin/env bash
# Runs Triton's own qa test suites, unchanged, against this repository's inference-server.
# See docs/triton-compatibility.md ("Running Triton's tests") for what it runs and the counts measured.
set -uo pipefail
HARNESS=$(cd "$(dirname "$0")" && pwd)
ALL_SUITES=(L0_http L0_grpc L0_shared_memory L0_logging L0_trace L0_string_io L0_client_nobatch
  L0_simple_ensemble L0_parameters L0_input_validation L0_backend_python python_backend_examples client_examples)

usage() {
  cat <<USAGE
Usage: npm run triton:qa -- --server <dir> --client <dir> --common <dir> --python-backend <dir> [options]

  --server, --client, --common, --python-backend <dir>
                       local clones of github.com/triton-inference-server/{server,client,common,python_backend}
                       (or bare git directories); defaults: \$TRITON_QA_SERVER, ... (same names, upper case)
  --cache <dir>        where Triton's files, tritonclient and the generated models are kept
                       (default \${TRITON_QA_CACHE:-~/.cache/triton-qa})
  --worktree <dir>     the inference-server checkout to test (default: this repository)
  --suite <name>       run only this suite (repeatable); default all: ${ALL_SUITES[*]}
  --file <test.py>     run only this test file of the suite(s)
  --tests "<names>"    unittest names for that file, e.g. "HttpTest.test_raw_binary"
  --timeout <secs>     limit for each suite (default 900)
  --no-build           do not run 'npm run build' in the worktree first
Needs root (or unprivileged user namespaces) for 'unshare -n', python3 with grpcio, grpc-tools, protobuf,
numpy, geventhttpclient, rapidjson, requests, psutil, aiohttp, onnx, packaging, torch (L0_backend_python, the PyTorch example).
USAGE
}

SERVER_REPO=${TRITON_QA_SERVER:-} CLIENT_REPO=${TRITON_QA_CLIENT:-} COMMON_REPO=${TRITON_QA_COMMON:-}
PYBACKEND_REPO=${TRITON_QA_PYTHON_BACKEND:-} CACHE=${TRITON_QA_CACHE:-$HOME/.cache/triton-qa}
WORKTREE=$(cd "$HARNESS/../.." && pwd) SUITES=() ONLY_FILE="" ONLY_TESTS="" SUITE_TIMEOUT=900 BUILD=1
while [ $# -gt 0 ]; do
  case "$1" in
    --server) SERVER_REPO=$2; shift ;;
    --client) CLIENT_REPO=$2; shift ;;
    --common) COMMON_REPO=$2; shift ;;
    --python-backend) PYBACKEND_REPO=$2; shift ;;
    --cache) CACHE=$2; shift ;;
    --worktree) WORKTREE=$(cd "$2" && pwd); shift ;;
    --suite) SUITES+=("$2"); shift ;;
    --file) ONLY_FILE=$2; shift ;;
    --tests) ONLY_TESTS=$2; shift ;;
    --timeout) SUITE_TIMEOUT=$2; shift ;;
    --no-build) BUILD=0 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
if [ -z "$SERVER_REPO" ] || [ -z "$CLIENT_REPO" ] || [ -z "$COMMON_REPO" ] || [ -z "$PYBACKEND_REPO" ]; then
  usage >&2; exit 2
fi
[ ${#SUITES[@]} -gt 0 ] || SUITES=("${ALL_SUITES[@]}")
for suite in "${SUITES[@]}"; do
  [ -f "$HARNESS/suites/$suite.sh" ] || { echo "unknown suite: $suite (known: ${ALL_SUITES[*]})" >&2; exit 2; }
done

mkdir -p "$CACHE"; CACHE=$(cd "$CACHE" && pwd)
bash "$HARNESS/setup.sh" "$CACHE" "$SERVER_REPO" "$CLIENT_REPO" "$COMMON_REPO" "$PYBACKEND_REPO" || exit 1
if [ "$BUILD" = "1" ]; then
  echo "build: npm run build in $WORKTREE"
  (cd "$WORKTREE" && npm run build >/dev/null) || { echo "build failed in $WORKTREE" >&2; exit 1; }
fi
[ -f "$WORKTREE/dist/server/main.js" ] || { echo "no $WORKTREE/dist/server/main.js: build it first" >&2; exit 1; }

UNSHARE=(unshare -n -p -f --mount-proc)
[ "$(id -u)" = "0" ] || UNSHARE=(unshare -rn -p -f --mount-proc)
RUNS="$CACHE/runs/$(basename "$WORKTREE")"
mkdir -p "$RUNS"
SUMMARY="$RUNS/summary.txt"
printf '%-24s %6s %6s %6s %6s %7s\n' suite passed failed errors skipped seconds | tee "$SUMMARY"
for suite in "${SUITES[@]}"; do
  started=$(date +%s)
  QA_CACHE=$CACHE QA_SRC="$CACHE/src" QA_MODELS="$CACHE/models" QA_HARNESS=$HARNESS QA_RUN="$RUNS/$suite" \
    WORKTREE=$WORKTREE QA_ONLY_FILE=$ONLY_FILE QA_ONLY_TESTS=$ONLY_TESTS \
    timeout --kill-after=15 "$SUITE_TIMEOUT" "${UNSHARE[@]}" bash "$HARNESS/run-suite.sh" "$suite" >"$RUNS/$suite.out" 2>&1
  rc=$?
  results="$RUNS/$suite/results.tsv"
  [ -f "$results" ] || : >"$results"
  [ "$rc" = "124" ] && echo -e "crash\t$suite\tsuite timed out after ${SUITE_TIMEOUT}s" >>"$results"
  # One line per test method, its worst outcome across runs (a method may run against several servers).
  awk -F'\t' 'BEGIN { rank["pass"]=1; rank["skip"]=2; rank["fail"]=3; rank["error"]=4; rank["crash"]=5 }
    { if (!($2 in worst) || rank[$1] > rank[worst[$2]]) { worst[$2]=$1; why[$2]=$3 } }
    END { for (t in worst) print worst[t] "\t" t "\t" why[t] }' "$results" | sort -k2 >"$RUNS/$suite/methods.tsv"
  count() { awk -F'\t' -v o="$1" '$1==o' "$RUNS/$suite/methods.tsv" | wc -l; }
  printf '%-24s %6d %6d %6d %6d %7d\n' "$suite" "$(count pass)" "$(count fail)" \
    "$(( $(count error) + $(count crash) ))" "$(count skip)" "$(( $(date +%s) - started ))" | tee -a "$SUMMARY"
done
echo
echo "Not passed (outcome, test, last line of its error):" | tee -a "$SUMMARY"
for suite in "${SUITES[@]}"; do
  awk -F'\t' -v s="$suite" '$1!="pass" && $1!="skip" { printf "  %-5s %s %s  %s\n", $1, s, $2, $3 }' \
    "$RUNS/$suite/methods.tsv" | tee -a "$SUMMARY"
done
echo "Logs: $RUNS/<suite>/ (harness.log, client.log, server logs); summary: $SUMMARY"
