/**
 * The Node flags the inference-server command is launched with: by the image's launcher (Dockerfile, checked by
 * test/image/dockerfile.test.ts), `npm start` (scripts/run-built.js) and the benchmarks. They are V8 heap options,
 * which must be given before the process starts (NODE_OPTIONS refuses them, and v8.setFlagsFromString is too late).
 * Running dist/server/main.js by hand, give them too (docs/performance.md).
 *
 * --initial-old-space-size=64: V8 counts the external memory allocated since its last full collection against the
 * old generation's room, and every request body is external memory (an ArrayBuffer, and node:http copies it in 64 KB
 * chunks, each another), while young collections free those buffers only once ~32 MiB of them are young. The server's
 * old generation holds ~25 MiB, and V8's own limit for it leaves ~23 MiB of room: large bodies at a high rate then
 * set off one full collection after another (40+ a second, the event loop's CPU per 602 KB image 2–3 ×, bench:resnet
 * --io). With the limit kept at 64 MiB or more the young collections free the bodies first. The cost: up to ~40 MiB
 * of old-generation garbage may wait for a full collection under load (the server collects it after unloads,
 * core/heap-release.ts).
 */
export const SERVER_NODE_FLAGS: readonly string[] = ['--initial-old-space-size=64'];
