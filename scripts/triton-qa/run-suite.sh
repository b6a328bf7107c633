#!/usr/bin/env bash
# Runs one suite inside a private network namespace (triton-qa.sh starts it under `unshare -n -p -f`):
# Triton's clients hard-code localhost:8000/8001/8002, which are always free in a fresh namespace, and every
# process the suite leaves behind (a server a test.sh or a test started and never stopped) ends with it.
# Usage (from triton-qa.sh): run-suite.sh <suite>   with QA_* variables exported.
set -uo pipefail
SUITE=$1
ip link set lo up
# Our recorder (sitecustomize.py, pytest plugin) and stand-ins, then tritonclient built from source.
export PYTHONPATH="$QA_HARNESS/python:$QA_CACHE/pylib${PYTHONPATH:+:$PYTHONPATH}"
export PYTEST_ADDOPTS="-p qa_recorder"
export QA_LOG="$QA_RUN/harness.log" QA_CLIENT_LOG="$QA_RUN/client.log" QA_RESULTS="$QA_RUN/results.tsv"

# A private copy of Triton's qa/ tree: the suite folder copied (tests write logs and models into it),
# the rest linked (tests reach ../common, ../python_models, ../L0_decoupled, ...).
rm -rf "$QA_RUN"; mkdir -p "$QA_RUN/qa"
for entry in "$QA_SRC/server/qa/"*; do ln -s "$entry" "$QA_RUN/qa/$(basename "$entry")"; done
# Suites that are not a qa/ folder (the examples) get an empty one of their own.
rm -f "$QA_RUN/qa/$SUITE"; mkdir -p "$QA_RUN/qa/$SUITE"
[ -d "$QA_SRC/server/qa/$SUITE" ] && cp -r "$QA_SRC/server/qa/$SUITE/." "$QA_RUN/qa/$SUITE/"
: >"$QA_RESULTS"
cd "$QA_RUN/qa/$SUITE" || exit 2

# shellcheck source=lib.sh
source "$QA_HARNESS/lib.sh"
# `python` and `python3` are the interpreter with the packages the tests need, for the tests, Triton's test.sh files
# and the server's Python-backend stubs alike.
# `tritonserver` is this server, for tests that start it themselves (and, under opt/tritonserver/bin, for test.sh).
mkdir -p "$QA_RUN/bin" "$QA_RUN/opt/tritonserver/bin" "$QA_RUN/opt/tritonserver/backends"
ln -sf "$PYTHON" "$QA_RUN/bin/python"
ln -sf "$PYTHON" "$QA_RUN/bin/python3"
cat >"$QA_RUN/bin/tritonserver" <<SHIM
#!/usr/bin/env bash
# --backend-directory names Triton's own backends folder: nothing to point at here.
args=(); for a in "\$@"; do case "\$a" in --backend-directory=*) ;; *) args+=("\$a") ;; esac; done
exec node "$WORKTREE/dist/server/main.js" "\${args[@]}"
SHIM
chmod +x "$QA_RUN/bin/tritonserver"
ln -sf "$QA_RUN/bin/tritonserver" "$QA_RUN/opt/tritonserver/bin/tritonserver"
export PATH="$QA_RUN/bin:$PATH"
trap 'server_stop' EXIT
# shellcheck disable=SC1090
source "$QA_HARNESS/suites/$SUITE.sh"
suite_main
