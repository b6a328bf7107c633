/**
 * The Node flags the inference-server command is launched with: by the image's launcher (Dockerfile, checked by
 * test/image/dockerfile.test.ts), `npm start` (scripts/run-built.js) and the benchmarks. They are V8 heap options,
 * which must be given before the process starts (NODE_OPTIONS refuses them, and v8.setFlagsFromString is too late).
 * Running dist/server/main.js by hand, give them too (docs/performance.md).
 *
 * Why: every request body is external memory to V8 (an ArrayBuffer, and node:http hands the body over in 64 KB
 * chunks, each another), and V8 lets external memory start full collections. With large bodies at a high rate the
 * server then runs one full collection after another (40+ a second over its ~25 MiB heap: 3 × the CPU per 602 KB
 * image, bench:resnet --io), where node:http alone, with a ~5 MiB heap, barely notices.
 * - V8 11 (Node 20) counts the external memory allocated since its last full collection against the old generation's
 *   room, which its own limit leaves at ~23 MiB over the server's heap, while young collections free the bodies only
 *   once ~32 MiB of them are young: `--initial-old-space-size=64` keeps the limit at 64 MiB or more.
 * - V8 13 (Node 24, the image's) starts marking every 64 MiB of external memory (kExternalAllocationSoftLimit), in
 *   the model's worker too: `--external-memory-accounted-in-global-limit` counts it in the heap's global limit
 *   instead, which `--initial-old-space-size=128` keeps at 256 MiB or more. Node 20 and 22 refuse that flag.
 * - V8 12 (Node 22) gets V8 11's flag: in three scratch runs it fell into no storm with or without it.
 * The cost: old-generation garbage may wait for a full collection under load (up to the limit's floor); the server
 * collects it after unloads (core/heap-release.ts).
 */

/** The flags for the V8 of `v8Version` (process.versions.v8 of the node that will run the server). */
export function serverNodeFlags(v8Version: string = process.versions.v8): readonly string[] {
  const major = Number(v8Version.split('.')[0]);
  return major >= 13 ? ['--external-memory-accounted-in-global-limit', '--initial-old-space-size=128'] : ['--initial-old-space-size=64'];
}
