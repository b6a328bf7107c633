# Helpers shared by the suite files (sourced by run-suite.sh inside a private network namespace).
# Each suite file mirrors what Triton's qa/<suite>/test.sh does around its Python tests:
# lay out the models, start the server with the same arguments, run the test file unchanged.

PYTHON=${PYTHON:-/usr/bin/python3}
DATADIR="$QA_MODELS"                                   # generated qa_*_model_repository folders
EXAMPLES="$QA_SRC/server/docs/examples/model_repository" # Triton's docs/examples models
SERVER_TIMEOUT=${SERVER_TIMEOUT:-120}
SERVER_PID=0

log() { echo "[$(date +%H:%M:%S)] $*" | tee -a "$QA_LOG"; }

# want FILE: whether the user's --file filter selects this test file.
want() { [ -z "${QA_ONLY_FILE:-}" ] || [ "$QA_ONLY_FILE" = "$1" ]; }

# server_start ARGS...: starts inference-server as test.sh starts tritonserver and waits until
# /v2/health/ready answers 200. Returns 1 (server stopped) when it does not get ready in time.
server_start() {
  SERVER_LOG=${SERVER_LOG:-./inference_server.log}
  log "server: inference-server $*"
  node "$WORKTREE/dist/server/main.js" "$@" >"$SERVER_LOG" 2>&1 &
  SERVER_PID=$!; export SERVER_PID
  local waited=0
  while [ "$waited" -lt "$SERVER_TIMEOUT" ]; do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      log "server exited before it was ready (see $PWD/$SERVER_LOG)"; SERVER_PID=0; return 1
    fi
    if [ "$(curl -s -o /dev/null -w '%{http_code}' localhost:8000/v2/health/ready)" = "200" ]; then return 0; fi
    sleep 0.5; waited=$((waited + 1))
  done
  log "server not ready after ${SERVER_TIMEOUT} tries (see $PWD/$SERVER_LOG)"
  server_stop; return 1
}

# server_start_expect_failure ARGS...: for test.sh steps that expect the server to refuse its arguments.
server_exits() {
  SERVER_LOG=${SERVER_LOG:-./inference_server.log}
  log "server (expected to exit): inference-server $*"
  timeout 30 node "$WORKTREE/dist/server/main.js" "$@" >"$SERVER_LOG" 2>&1
}

server_stop() {
  [ "$SERVER_PID" != "0" ] || return 0
  kill -TERM "$SERVER_PID" 2>/dev/null
  local waited=0
  while kill -0 "$SERVER_PID" 2>/dev/null && [ "$waited" -lt 60 ]; do sleep 0.5; waited=$((waited + 1)); done
  kill -KILL "$SERVER_PID" 2>/dev/null
  wait "$SERVER_PID" 2>/dev/null
  SERVER_PID=0
}

# run_py FILE [unittest names...]: runs a Triton test file unchanged (`python3 FILE names`, as test.sh
# does); sitecustomize.py records each method's outcome in $QA_RESULTS.
run_py() {
  local file=$1; shift
  local names=("$@")
  if [ -n "${QA_ONLY_TESTS:-}" ]; then read -r -a names <<<"$QA_ONLY_TESTS"; fi
  log "test: $file ${names[*]}"
  local before; before=$(wc -l <"$QA_RESULTS")
  timeout --kill-after=10 "${QA_TEST_TIMEOUT:-600}" "$PYTHON" "$file" "${names[@]}" >"$QA_RUN/last-client.log" 2>&1
  local rc=$?
  cat "$QA_RUN/last-client.log" >>"$QA_CLIENT_LOG"
  if [ "$rc" = "124" ] || [ "$rc" = "137" ]; then
    echo -e "crash\t$file ${names[*]}\ttimed out after ${QA_TEST_TIMEOUT:-600}s" >>"$QA_RESULTS"
  elif [ "$rc" != "0" ] && [ "$(wc -l <"$QA_RESULTS")" = "$before" ]; then
    echo -e "crash\t$file ${names[*]}\t$(grep -v '^\s*$' "$QA_RUN/last-client.log" | tail -n 1 | cut -c1-300)" >>"$QA_RESULTS"
  fi
  return 0
}

# run_pytest [pytest args] FILE::CLASS: `python3 -m pytest ...` as test.sh does; the qa_recorder plugin
# (PYTEST_ADDOPTS) records each test.
run_pytest() {
  local target=${*: -1}
  want "${target%%::*}" || return 0
  log "pytest: $*"
  local before; before=$(wc -l <"$QA_RESULTS")
  timeout --kill-after=10 "${QA_TEST_TIMEOUT:-600}" "$PYTHON" -m pytest "$@" >"$QA_RUN/last-client.log" 2>&1
  local rc=$?
  cat "$QA_RUN/last-client.log" >>"$QA_CLIENT_LOG"
  if [ "$rc" != "0" ] && [ "$(wc -l <"$QA_RESULTS")" = "$before" ]; then
    echo -e "crash\t$target\t$(grep -v '^\s*$' "$QA_RUN/last-client.log" | tail -n 1 | cut -c1-300)" >>"$QA_RESULTS"
  fi
  return 0
}

# run_test_sh: runs the suite's own test.sh, only its paths to Triton's install (/opt/tritonserver) and
# test data (/data/inferenceserver) pointed at ours: bin/tritonserver starts inference-server, `python`
# is python3. Steps needing what is not here (C++ clients, custom backends, pip, go) fail on their own.
run_test_sh() {
  local shim="$QA_RUN/opt/tritonserver"   # bin/tritonserver starts this server (run-suite.sh)
  sed -e "s#/opt/tritonserver#$shim#g" -e "s#/data/inferenceserver/\${REPO_VERSION}#$QA_MODELS#g" test.sh >test.qa.sh
  log "test.sh: $PWD/test.qa.sh"
  REPO_VERSION=qa NVIDIA_TRITON_SERVER_VERSION=qa TRITON_DIR="$shim" DATADIR="$QA_MODELS" \
    timeout --kill-after=10 "${QA_TEST_TIMEOUT:-1800}" bash test.qa.sh >>"$QA_CLIENT_LOG" 2>&1
  log "test.sh exited with $?"
}

# run_example NAME COMMAND...: an example client; passes when it exits 0 (and prints PASS if it ever
# prints PASS: qa's test.sh files check for it).
run_example() {
  local name=$1; shift
  log "example: $name: $*"
  # QA_RESULTS emptied: the example is counted once, here, not again by the recorder as a crashed script.
  QA_RESULTS='' timeout --kill-after=10 "${QA_TEST_TIMEOUT:-300}" "$@" >"$QA_RUN/example.$name.log" 2>&1
  local rc=$?
  cat "$QA_RUN/example.$name.log" >>"$QA_CLIENT_LOG"
  # The last exception line (a traceback may end with other text), else the last line.
  local reason; reason=$(grep -E '^[A-Za-z_.]*(Error|Exception|FAILED)[^ ]*[: ]' "$QA_RUN/example.$name.log" | tail -n 1 | cut -c1-300)
  [ -n "$reason" ] || reason=$(grep -v '^\s*$' "$QA_RUN/example.$name.log" | tail -n 1 | cut -c1-300)
  if [ "$rc" = "0" ]; then
    echo -e "pass\texample.$name\t" >>"$QA_RESULTS"
  else
    echo -e "fail\texample.$name\texit $rc: $reason" >>"$QA_RESULTS"
  fi
}

# run_test_sh_prologue MARKER: runs the suite's test.sh up to the first line matching MARKER (its own variables and
# model layout, unchanged; paths pointed at ours as run_test_sh does), for suites whose later shell checks stop
# test.sh before its Python steps.
run_test_sh_prologue() {
  local shim="$QA_RUN/opt/tritonserver"
  sed -n "1,/$1/p" test.sh | sed -e '$d' -e "s#/opt/tritonserver#$shim#g" -e "s#/data/inferenceserver/\${REPO_VERSION}#$QA_MODELS#g" >test.prologue.sh
  log "test.sh prologue: $PWD/test.prologue.sh"
  REPO_VERSION=qa NVIDIA_TRITON_SERVER_VERSION=qa TRITON_DIR="$shim" DATADIR="$QA_MODELS" bash test.prologue.sh >>"$QA_CLIENT_LOG" 2>&1
}

# record_check NAME OK? REASON: a test.sh step that is not a Python test (e.g. "server refuses a flag").
record_check() {
  local name=$1 ok=$2 reason=${3:-}
  if [ "$ok" = "0" ]; then echo -e "pass\t$name\t" >>"$QA_RESULTS"; else echo -e "fail\t$name\t$reason" >>"$QA_RESULTS"; fi
}

# copy_model SRC DEST_DIR [NEW_NAME]: copies a model folder, renaming it (and its config's name) if asked.
copy_model() {
  local src=$1 dest=$2 name=${3:-$(basename "$1")}
  mkdir -p "$dest"
  rm -rf "${dest:?}/$name"
  cp -r "$src" "$dest/$name"
  if [ "$name" != "$(basename "$src")" ] && [ -f "$dest/$name/config.pbtxt" ]; then
    sed -i "s/^name:.*/name: \"$name\"/" "$dest/$name/config.pbtxt"
  fi
}

# python_model SRC_DIR DEST_DIR [NAME]: lays out a qa/python_models/<x> folder (model.py + config.pbtxt)
# as Triton's test.sh files do: <dest>/<name>/config.pbtxt and <dest>/<name>/1/model.py.
python_model() {
  local src=$1 dest=$2 name=${3:-$(basename "$1")}
  mkdir -p "$dest/$name/1"
  cp "$src/model.py" "$dest/$name/1/model.py"
  cp "$src/config.pbtxt" "$dest/$name/config.pbtxt"
}
