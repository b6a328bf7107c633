// Fails unless an ONNX Runtime provider library was built from the same ONNX Runtime release as onnxruntime-node: a
// provider calls back into the core library through ONNX Runtime's internal ProviderHost C++ interface, which is not
// a stable ABI, so a provider taken from another package (the npm package com.github.asus4.onnxruntime.linux-x64-gpu,
// not NuGet) is checked at build time.
// The release string is stored NUL-terminated in the library's read-only data.
//   node check-ort-provider.js ONNXRUNTIME_NODE_PACKAGE_JSON PROVIDER_SO [WHAT]
'use strict';
const fs = require('node:fs');

const [packageJson, library, what = library] = process.argv.slice(2);
if (!packageJson || !library) {
  console.error('usage: check-ort-provider.js ONNXRUNTIME_NODE_PACKAGE_JSON PROVIDER_SO [WHAT]');
  process.exit(2);
}
const version = JSON.parse(fs.readFileSync(packageJson, 'utf8')).version;
const found = fs.readFileSync(library).indexOf(Buffer.from(`\u0000${version}\u0000`)) >= 0;
if (!found) {
  console.error(`${what} is not ONNX Runtime ${version} (onnxruntime-node's version): the provider calls the core library through an internal C++ interface of its own release`);
  process.exit(1);
}
console.log(`${what}: ONNX Runtime ${version}, as onnxruntime-node`);
