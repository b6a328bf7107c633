/**
 * Servers whose cache is small or absent: LRU eviction by bytes and entries larger than the cache on a real server;
 * a model with response_cache on a server without a cache loads, runs uncached and is logged.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { createInferenceServer, InferenceServerApp } from '../../server/app';
import type { InferRequest } from '../../server/core/types';
import { cacheRepository, SIMPLE_ENTRY_BYTES } from './cache-fixture';

const servers: InferenceServerApp[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
});

async function start(byteSize?: number, logger?: pino.Logger): Promise<InferenceServerApp> {
  const app = createInferenceServer({
    modelRepositories: [cacheRepository()],
    modelControlMode: 'explicit',
    loadModels: ['simple'],
    allowHttp: false,
    allowGrpc: false,
    allowMetrics: false,
    ...(byteSize !== undefined ? { responseCache: { implementation: 'local' as const, byteSize } } : {}),
    ...(logger ? { logger } : {}),
  });
  servers.push(app);
  expect((await app.start()).failedModels).toEqual([]);
  return app;
}

const request = (offset: number): InferRequest => ({
  model: 'simple',
  inputs: [
    { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], data: Int32Array.from({ length: 16 }, (_, i) => i + offset) },
    { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], data: new Int32Array(16).fill(1) },
  ],
});

function counts(app: InferenceServerApp) {
  const s = app.service.modelStatistics('simple')[0];
  return { hits: s.inference_stats.cache_hit.count, misses: s.inference_stats.cache_miss.count, executions: s.execution_count };
}

it('evicts the least recently used response when the cache is full', async () => {
  const app = await start(2 * SIMPLE_ENTRY_BYTES); // room for two `simple` responses
  const run = async (offset: number) => Array.from((await app.service.infer(request(offset))).outputs[0].data as Int32Array);
  await run(0);
  await run(100);
  expect(await run(0)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1)); // hit: 0 is now the most recent
  await run(200); // evicts 100, the least recently used
  expect(counts(app)).toEqual({ hits: 1, misses: 3, executions: 3 });
  await run(0); // still there
  await run(100); // evicted: runs again
  expect(counts(app)).toEqual({ hits: 2, misses: 4, executions: 4 });
  expect(app.responseCache!.stats()).toMatchObject({ entries: 2, evictions: 2, bytesUsed: 2 * SIMPLE_ENTRY_BYTES });
});

it('does not store a response larger than the whole cache: every request runs, and the failure is logged', async () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  const app = await start(SIMPLE_ENTRY_BYTES - 1, pino({ level: 'warn' }, sink));
  for (let i = 0; i < 2; i++) await app.service.infer(request(0));
  expect(counts(app)).toEqual({ hits: 0, misses: 2, executions: 2 });
  expect(app.responseCache!.stats()).toMatchObject({ entries: 0, bytesUsed: 0 });
  expect(lines.join('')).toContain(`its ${SIMPLE_ENTRY_BYTES} bytes exceed the cache size of ${SIMPLE_ENTRY_BYTES - 1} bytes`);
});

it('loads a model with response_cache on a server without a cache, runs it uncached and logs a warning', async () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  const app = await start(undefined, pino({ level: 'warn' }, sink));
  expect(app.responseCache).toBeUndefined();
  for (let i = 0; i < 2; i++) await app.service.infer(request(0));
  expect(counts(app)).toEqual({ hits: 0, misses: 0, executions: 2 });
  expect(lines.join('')).toContain("model 'simple' has response_cache enabled, but the server was started without a cache");
});
