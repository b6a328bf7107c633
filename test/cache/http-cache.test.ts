/**
 * The response cache over HTTP on a real server: hits skip execution, misses run and insert, encodings of the same
 * tensor share an entry; statistics and metrics count as Triton does; unload drops entries; cached answers equal
 * uncached ones.
 */
import fc from 'fast-check';
import { createInferenceServer, InferenceServerApp } from '../../server/app';
import { binaryRequest, httpRequest, int32s, ONES_16, parseBinaryResponse, RANGE_16, TestResponse } from '../http/helpers';
import { find, parseExposition, value } from '../metrics/exposition';
import { cacheRepository } from './cache-fixture';

let server: InferenceServerApp;
let httpPort: number;
let metricsPort: number;
let simpleVersion: string;

beforeAll(async () => {
  server = createInferenceServer({
    modelRepositories: [cacheRepository()],
    modelControlMode: 'explicit',
    loadModels: ['*'],
    httpPort: 0,
    metricsPort: 0,
    allowGrpc: false,
    allowGpuMetrics: false,
    host: '127.0.0.1',
    responseCache: { implementation: 'local', byteSize: 1 << 20 },
  });
  const started = await server.start();
  expect(started.failedModels).toEqual([]);
  httpPort = started.httpPort!;
  metricsPort = started.metricsPort!;
  simpleVersion = String(server.manager.readyVersions('simple').at(-1)!.version);
});

afterAll(async () => {
  await server?.stop();
});

interface Duration {
  count: number;
  ns: number;
}
interface Stats {
  inference_count: number;
  execution_count: number;
  inference_stats: Record<'success' | 'fail' | 'queue' | 'compute_input' | 'compute_infer' | 'compute_output' | 'cache_hit' | 'cache_miss', Duration>;
}

async function stats(model = 'simple'): Promise<Stats> {
  const version = String(server.manager.readyVersions(model).at(-1)!.version);
  const response = await httpRequest(httpPort, { method: 'GET', url: `/v2/models/${model}/versions/${version}/stats` });
  expect(response.statusCode).toBe(200);
  return (response.json() as { model_stats: Stats[] }).model_stats[0];
}

function inferJson(model: string, body: unknown): Promise<TestResponse> {
  return httpRequest(httpPort, {
    method: 'POST',
    url: `/v2/models/${model}/infer`,
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify(body),
  });
}

const simpleBody = (a: number[] = RANGE_16, b: number[] = ONES_16, extra: Record<string, unknown> = {}) => ({
  inputs: [
    { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], data: a },
    { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], data: b },
  ],
  ...extra,
});

type Output = { name: string; datatype: string; shape: number[]; data: unknown[] };
const outputs = (response: TestResponse) => (response.json() as { outputs: Output[] }).outputs;

const distinct = (() => {
  let next = 1000;
  return () => RANGE_16.map((v) => v + next++ * 16);
})();

it('answers an identical request from the cache: a hit skips execution and counts as Triton counts it', async () => {
  const a = distinct();
  const before = await stats();
  const first = await inferJson('simple', simpleBody(a));
  const second = await inferJson('simple', simpleBody(a));
  expect(first.statusCode).toBe(200);
  expect(second.statusCode).toBe(200);
  expect(outputs(second)).toEqual(outputs(first));
  expect(outputs(second)[0].data).toEqual(a.map((v) => v + 1));
  expect(second.json()).toMatchObject({ model_name: 'simple', model_version: simpleVersion });
  const after = await stats();
  const d = (key: keyof Stats['inference_stats']) => after.inference_stats[key].count - before.inference_stats[key].count;
  expect(d('success')).toBe(2);
  expect(d('cache_miss')).toBe(1);
  expect(d('cache_hit')).toBe(1);
  expect(d('queue')).toBe(2);
  // Only the miss executed: compute statistics, inference and execution counts move once.
  expect(d('compute_infer')).toBe(1);
  expect(d('compute_input')).toBe(1);
  expect(after.execution_count - before.execution_count).toBe(1);
  expect(after.inference_count - before.inference_count).toBe(1);
  expect(after.inference_stats.cache_hit.ns).toBeGreaterThan(before.inference_stats.cache_hit.ns);
  expect(after.inference_stats.cache_miss.ns).toBeGreaterThan(before.inference_stats.cache_miss.ns);
});

it('misses when anything the answer depends on differs: data, requested outputs, batch', async () => {
  const a = distinct();
  const before = await stats();
  await inferJson('simple', simpleBody(a));
  const changed = [...a];
  changed[15] += 1;
  expect(outputs(await inferJson('simple', simpleBody(changed)))[0].data).toEqual(changed.map((v) => v + 1));
  const onlyOutput1 = await inferJson('simple', simpleBody(a, ONES_16, { outputs: [{ name: 'OUTPUT1' }] }));
  expect(outputs(onlyOutput1).map((o) => o.name)).toEqual(['OUTPUT1']);
  const batch2 = await inferJson('simple', {
    inputs: [
      { name: 'INPUT0', datatype: 'INT32', shape: [2, 16], data: [...a, ...a] },
      { name: 'INPUT1', datatype: 'INT32', shape: [2, 16], data: [...ONES_16, ...ONES_16] },
    ],
  });
  expect(outputs(batch2)[0].shape).toEqual([2, 16]);
  // The full request again is the only hit; asking for both outputs after one answered OUTPUT1 alone is another.
  expect(outputs(await inferJson('simple', simpleBody(a))).map((o) => o.name)).toEqual(['OUTPUT0', 'OUTPUT1']);
  const after = await stats();
  expect(after.inference_stats.cache_miss.count - before.inference_stats.cache_miss.count).toBe(4);
  expect(after.inference_stats.cache_hit.count - before.inference_stats.cache_hit.count).toBe(1);
});

it('serves JSON and binary encodings of the same tensors from one entry, each answered in its own encoding', async () => {
  const a = distinct();
  const before = await stats();
  const json = await inferJson('simple', simpleBody(a));
  const { body, headers } = binaryRequest(
    {
      inputs: [
        { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], parameters: { binary_data_size: 64 } },
        { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], parameters: { binary_data_size: 64 } },
      ],
      parameters: { binary_data_output: true },
    },
    Buffer.from(Int32Array.from(a).buffer),
    Buffer.from(Int32Array.from(ONES_16).buffer),
  );
  const binary = await httpRequest(httpPort, { method: 'POST', url: '/v2/models/simple/infer', headers, payload: body });
  expect(binary.statusCode).toBe(200);
  const parsed = parseBinaryResponse(binary.rawPayload, Number(binary.headers['inference-header-content-length']));
  expect(int32s(parsed.raw.get('OUTPUT0')!)).toEqual(outputs(json)[0].data);
  expect(int32s(parsed.raw.get('OUTPUT1')!)).toEqual(outputs(json)[1].data);
  const after = await stats();
  expect(after.inference_stats.cache_hit.count - before.inference_stats.cache_hit.count).toBe(1);
  expect(after.execution_count - before.execution_count).toBe(1);
});

it('caches BYTES models: JSON strings and length-framed binary elements hit the same entry', async () => {
  const words = ['cache', `me ${Date.now()}`, ''];
  const before = await stats('string_upper');
  const json = await inferJson('string_upper', { inputs: [{ name: 'INPUT0', datatype: 'BYTES', shape: [3], data: words }] });
  expect(outputs(json)[0].data).toEqual(words.map((w) => w.toUpperCase()));
  const framed = Buffer.concat(
    words.flatMap((w) => {
      const length = Buffer.alloc(4);
      length.writeUInt32LE(Buffer.byteLength(w));
      return [length, Buffer.from(w)];
    }),
  );
  const { body, headers } = binaryRequest(
    { inputs: [{ name: 'INPUT0', datatype: 'BYTES', shape: [3], parameters: { binary_data_size: framed.length } }] },
    framed,
  );
  const binary = await httpRequest(httpPort, { method: 'POST', url: '/v2/models/string_upper/infer', headers, payload: body });
  expect(binary.statusCode).toBe(200);
  expect(outputs(binary)[0].data).toEqual(words.map((w) => w.toUpperCase()));
  // Elements split differently are another request.
  const resplit = await inferJson('string_upper', { inputs: [{ name: 'INPUT0', datatype: 'BYTES', shape: [2], data: [words[0] + words[1], ''] }] });
  expect(outputs(resplit)[0].data).toEqual([(words[0] + words[1]).toUpperCase(), '']);
  const after = await stats('string_upper');
  expect(after.inference_stats.cache_hit.count - before.inference_stats.cache_hit.count).toBe(1);
  expect(after.inference_stats.cache_miss.count - before.inference_stats.cache_miss.count).toBe(2);
});

it('leaves models without response_cache alone: no hits, no misses, no cache series', async () => {
  const a = distinct();
  const before = await stats('simple_plain');
  await inferJson('simple_plain', simpleBody(a));
  await inferJson('simple_plain', simpleBody(a));
  const after = await stats('simple_plain');
  expect(after.execution_count - before.execution_count).toBe(2);
  expect(after.inference_stats.cache_hit.count + after.inference_stats.cache_miss.count).toBe(0);
  const m = parseExposition((await httpRequest(metricsPort, { method: 'GET', url: '/metrics' })).body);
  expect(find(m, 'nv_cache_num_hits_per_model', { model: 'simple_plain' })).toEqual([]);
  expect(find(m, 'nv_cache_num_hits_per_model', { model: 'mlp' })).toEqual([]);
});

it("reports Triton's cache metrics: per model hits, misses and their durations; cache-wide gauges", async () => {
  const labels = { model: 'simple', version: simpleVersion };
  const scrape = async () => parseExposition((await httpRequest(metricsPort, { method: 'GET', url: '/metrics' })).body);
  const before = await scrape();
  const a = distinct();
  for (let i = 0; i < 3; i++) expect((await inferJson('simple', simpleBody(a))).statusCode).toBe(200);
  const m = await scrape();
  const delta = (name: string, l: Record<string, string> = labels) => value(m, name, l) - value(before, name, l);
  expect(m.types.get('nv_cache_num_hits_per_model')).toBe('counter');
  expect(delta('nv_cache_num_hits_per_model')).toBe(2);
  expect(delta('nv_cache_num_misses_per_model')).toBe(1);
  expect(delta('nv_cache_hit_duration_per_model')).toBeGreaterThan(0);
  expect(delta('nv_cache_miss_duration_per_model')).toBeGreaterThan(0);
  // A hit is a success with request and queue time, but no inference or execution.
  expect(delta('nv_inference_request_success')).toBe(3);
  expect(delta('nv_inference_count')).toBe(1);
  expect(delta('nv_inference_exec_count')).toBe(1);
  expect(delta('nv_cache_num_hits', {})).toBe(2);
  expect(delta('nv_cache_num_misses', {})).toBe(1);
  expect(delta('nv_cache_num_lookups', {})).toBe(3);
  expect(value(m, 'nv_cache_num_entries')).toBe(server.responseCache!.stats().entries);
  const util = value(m, 'nv_cache_util');
  expect(util).toBeGreaterThan(0);
  expect(util).toBeLessThanOrEqual(1);
  for (const name of ['nv_cache_num_entries', 'nv_cache_num_evictions', 'nv_cache_lookup_duration', 'nv_cache_insertion_duration']) {
    expect(m.types.get(name)).toBe('gauge');
  }
});

it('answers two identical requests sent at once correctly (both may miss, as in Triton; one entry results)', async () => {
  const a = distinct();
  const before = await stats();
  const entriesBefore = server.responseCache!.stats().entries;
  const [x, y] = await Promise.all([inferJson('simple', simpleBody(a)), inferJson('simple', simpleBody(a))]);
  for (const response of [x, y]) {
    expect(response.statusCode).toBe(200);
    expect(outputs(response)[0].data).toEqual(a.map((v) => v + 1));
    expect(outputs(response)[1].data).toEqual(a.map((v) => v - 1));
  }
  const after = await stats();
  const d = (key: 'cache_hit' | 'cache_miss') => after.inference_stats[key].count - before.inference_stats[key].count;
  expect(d('cache_hit') + d('cache_miss')).toBe(2);
  expect(d('cache_miss')).toBeGreaterThanOrEqual(1);
  expect(server.responseCache!.stats().entries).toBe(entriesBefore + 1);
});

it('fuzz: a cached answer always equals the uncached model\'s answer', async () => {
  const vector = fc.array(fc.integer({ min: -3, max: 3 }), { minLength: 16, maxLength: 16 });
  // Few distinct values, so the same request comes back often and hits.
  await fc.assert(
    fc.asyncProperty(fc.array(fc.tuple(fc.constantFrom(0, 1, 2), vector), { minLength: 1, maxLength: 6 }), async (requests) => {
      for (const [pick, b] of requests) {
        const a = RANGE_16.map((v) => v * pick);
        const outputsRequested = pick === 2 ? { outputs: [{ name: 'OUTPUT1' }] } : {};
        const cached = await inferJson('simple', simpleBody(a, b, outputsRequested));
        const plain = await inferJson('simple_plain', simpleBody(a, b, outputsRequested));
        expect(cached.statusCode).toBe(200);
        expect(outputs(cached)).toEqual(outputs(plain));
      }
    }),
    { numRuns: 25 },
  );
  expect((await stats()).inference_stats.cache_hit.count).toBeGreaterThan(0);
});

it('never caches failures: a bad request fails the same way twice and inserts nothing', async () => {
  const entries = server.responseCache!.stats().entries;
  const bad = { inputs: [{ name: 'INPUT0', datatype: 'INT32', shape: [1, 16], data: RANGE_16 }] };
  const first = await inferJson('simple', bad);
  const second = await inferJson('simple', bad);
  expect(first.statusCode).toBe(400);
  expect(second.json()).toEqual(first.json());
  expect(server.responseCache!.stats().entries).toBe(entries);
});

it('drops a model\'s entries when it unloads: after a reload the same request runs again', async () => {
  const a = distinct();
  await inferJson('simple', simpleBody(a));
  const cached = server.responseCache!.stats().entries;
  expect(cached).toBeGreaterThan(0);
  expect((await httpRequest(httpPort, { method: 'POST', url: '/v2/repository/models/simple/unload', payload: '{}', headers: { 'content-type': 'application/json' } })).statusCode).toBe(200);
  // string_upper's entries stay; simple's are gone.
  const left = server.responseCache!.stats().entries;
  expect(left).toBeLessThan(cached);
  const m = parseExposition((await httpRequest(metricsPort, { method: 'GET', url: '/metrics' })).body);
  expect(find(m, 'nv_cache_num_hits_per_model', { model: 'simple' })).toEqual([]);
  expect(find(m, 'nv_cache_num_hits_per_model', { model: 'string_upper' })).toHaveLength(1);
  expect((await httpRequest(httpPort, { method: 'POST', url: '/v2/repository/models/simple/load', payload: '{}', headers: { 'content-type': 'application/json' } })).statusCode).toBe(200);
  const fresh = await stats();
  expect(fresh.inference_stats.cache_miss.count).toBe(0);
  await inferJson('simple', simpleBody(a));
  const after = await stats();
  expect(after.inference_stats.cache_miss.count).toBe(1);
  expect(after.inference_stats.cache_hit.count).toBe(0);
  const m2 = parseExposition((await httpRequest(metricsPort, { method: 'GET', url: '/metrics' })).body);
  expect(value(m2, 'nv_cache_num_misses_per_model', { model: 'simple', version: simpleVersion })).toBe(1);
});
