#!/usr/bin/env bash
# Prepares the cache folder the suites run from, out of local copies of Triton's four repositories:
#   <cache>/src/{server,client,common,python_backend}  the parts the tests need (qa/, docs/examples, ...)
#   <cache>/pylib                                     tritonclient built from source (+ stand-ins)
#   <cache>/models                                    qa_*_model_repository folders from qa/common/gen_qa_*.py --onnx
# Usage: setup.sh <cache> <server> <client> <common> <python_backend>
# Each repository is a clone (a work tree) or a bare git directory. Steps already done are skipped.
set -euo pipefail
CACHE=$1; shift
declare -A REPO=([server]=$1 [client]=$2 [common]=$3 [python_backend]=$4)
declare -A PARTS=([server]="qa docs/examples" [client]="src/python" [common]="protobuf" [python_backend]="examples")
HARNESS=$(cd "$(dirname "$0")" && pwd)
PYTHON=${PYTHON:-/usr/bin/python3}
mkdir -p "$CACHE/src"

revision() { git -C "$1" rev-parse HEAD 2>/dev/null || git --git-dir="$1" rev-parse HEAD 2>/dev/null || echo "no-git"; }

# 1. Copy the needed parts of each repository (again only when the source path or commit changed).
for name in server client common python_backend; do
  src=${REPO[$name]}
  stamp="$src $(revision "$src")"
  dest="$CACHE/src/$name"
  if [ -f "$dest/.stamp" ] && [ "$(cat "$dest/.stamp")" = "$stamp" ]; then continue; fi
  echo "setup: copying ${PARTS[$name]} from $src"
  rm -rf "$dest"; mkdir -p "$dest"
  first=${PARTS[$name]%% *}
  if [ -d "$src/$first" ]; then
    for part in ${PARTS[$name]}; do mkdir -p "$dest/$(dirname "$part")"; cp -r "$src/$part" "$dest/$part"; done
  elif git --git-dir="$src" rev-parse HEAD >/dev/null 2>&1; then
    # shellcheck disable=SC2086
    git --git-dir="$src" archive HEAD ${PARTS[$name]} | tar -x -C "$dest"
  else
    echo "setup: $src is neither a clone of triton-inference-server/$name nor a bare git directory" >&2; exit 2
  fi
  echo "$stamp" >"$dest/.stamp"
  rm -f "$CACHE/pylib/.stamp" "$CACHE/models/.stamp"
done

# 2. tritonclient from source, as its wheel build does: generate the protobuf modules, rename them
#    into tritonclient/grpc and make their imports package-relative.
if [ ! -f "$CACHE/pylib/.stamp" ]; then
  echo "setup: building tritonclient from source"
  # Built beside the old one and swapped in at the end: runs from other checkouts may be using it.
  lib="$CACHE/pylib.new"
  rm -rf "$lib"; mkdir -p "$lib"
  # tritonclient and the deprecated top-level names its wheel still ships (tritonhttpclient, ...), which older
  # tests import.
  for package in tritonclient tritonclientutils tritonhttpclient tritongrpcclient tritonshmutils; do
    [ -d "$CACHE/src/client/src/python/library/$package" ] && cp -r "$CACHE/src/client/src/python/library/$package" "$lib/"
  done
  gen=$(mktemp -d)
  "$PYTHON" -m grpc_tools.protoc -I "$CACHE/src/common/protobuf" --python_out="$gen" --grpc_python_out="$gen" \
    grpc_service.proto model_config.proto
  grpc_pkg="$lib/tritonclient/grpc"
  cp "$gen/model_config_pb2.py" "$grpc_pkg/model_config_pb2.py"
  cp "$gen/grpc_service_pb2.py" "$grpc_pkg/service_pb2.py"
  cp "$gen/grpc_service_pb2_grpc.py" "$grpc_pkg/service_pb2_grpc.py"
  sed -i -E 's/^import model_config_pb2 as/from tritonclient.grpc import model_config_pb2 as/; s/^import grpc_service_pb2 as/from tritonclient.grpc import service_pb2 as/' \
    "$grpc_pkg/service_pb2.py" "$grpc_pkg/service_pb2_grpc.py"
  rm -rf "$gen"
  # PyPI-only modules some tests import, replaced by small stand-ins of ours.
  cp "$HARNESS/python/ml_dtypes.py" "$HARNESS/python/sseclient.py" "$lib/"
  PYTHONPATH="$lib" "$PYTHON" -c "import tritonclient.http, tritonclient.grpc, tritonclient.http.aio, tritonclient.grpc.aio"
  touch "$lib/.stamp"
  rm -rf "$CACHE/pylib.old"
  [ -d "$CACHE/pylib" ] && mv "$CACHE/pylib" "$CACHE/pylib.old"
  mv "$lib" "$CACHE/pylib"   # pylib.old stays until the next rebuild: a process may still be importing from it
fi

# 3. The ONNX qa models (gen_qa_model_repository's --onnx steps the suites use).
if [ ! -f "$CACHE/models/.stamp" ]; then
  echo "setup: generating ONNX qa models (a minute)"
  rm -rf "$CACHE/models"; mkdir -p "$CACHE/models"
  gen="$CACHE/src/server/qa/common"
  (
    cd "$gen"
    export PYTHONPATH="$CACHE/pylib"
    "$PYTHON" gen_qa_models.py --onnx --models_dir="$CACHE/models/qa_model_repository"
    "$PYTHON" gen_qa_identity_models.py --onnx --models_dir="$CACHE/models/qa_identity_model_repository"
    "$PYTHON" gen_qa_models.py --ensemble --models_dir="$CACHE/models/qa_ensemble_model_repository/qa_model_repository"
  ) >"$CACHE/models.log" 2>&1 || { echo "setup: model generation failed, see $CACHE/models.log" >&2; exit 1; }
  touch "$CACHE/models/.stamp"
fi
echo "setup: ready in $CACHE"
