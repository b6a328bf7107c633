#!/bin/sh
# Removes from a production node_modules what the server never loads at run time (the Dockerfile's build stage runs it
# after npm prune --omit=dev). Hand-written: npm has no "runtime files only" install, and the few pruning tools on npm
# are unmaintained. scripts/image/test.sh runs every kind of model, the Kubeflow entry point and a cdk8s synth in the
# trimmed image, so a file removed here that something needs fails that test.
#
#   sh scripts/image/trim-node-modules.sh node_modules
set -eu
dir="${1:?usage: trim-node-modules.sh NODE_MODULES_DIR}"
[ -d "$dir" ] || { echo "no folder $dir" >&2; exit 1; }
before=$(du -sk "$dir" | cut -f1)

# onnxruntime-node carries every platform's binaries (about 245 MB); only linux/x64 is ever loaded in the image.
find "$dir" -path '*/onnxruntime-node/bin/napi-v6/*' -mindepth 1 -maxdepth 6 -type d \
  \( -path '*/napi-v6/darwin' -o -path '*/napi-v6/win32' -o -path '*/napi-v6/linux/arm64' \) -prune -exec rm -rf {} +
# protobufjs's command-line tools (pbjs/pbts, with their own node_modules): build-time only.
find "$dir" -type d -path '*/protobufjs/cli' -prune -exec rm -rf {} +
# Documentation, test and example folders that hold no code: a folder called doc can be a module folder (yaml's
# dist/doc is), so one with a .js/.cjs/.mjs/.node file stays.
find "$dir" -mindepth 2 -type d \( -name docs -o -name doc -o -name test -o -name tests -o -name __tests__ \
  -o -name example -o -name examples -o -name .github \) -prune -print | while IFS= read -r folder; do
  [ -d "$folder" ] || continue
  code="$(find "$folder" -type f \( -name '*.js' -o -name '*.cjs' -o -name '*.mjs' -o -name '*.node' \) -print -quit)"
  [ -n "$code" ] || rm -rf "$folder"
done
# jsii's type assembly (.jsii) is read by jsii's other-language bindings, not by JavaScript.
# Typings, TypeScript sources, source maps, markdown: tsc and editors read them, node never does.
find "$dir" -type f \( -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.ts' -o -name '*.map' \
  -o -name '*.md' -o -name '*.markdown' -o -name '*.tsbuildinfo' -o -name '.jsii' -o -name '.jsii.gz' \) -delete

after=$(du -sk "$dir" | cut -f1)
echo "trim-node-modules: $dir $((before / 1024)) MiB -> $((after / 1024)) MiB"
