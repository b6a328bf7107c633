/**
 * The metrics endpoint of the real server (createInferenceServer on examples/model_repository): inferences over HTTP
 * move Triton's per-model metrics; GPU metrics are there only where nvidia-smi is.
 */
import { spawnSync } from 'node:child_process';
import { createInferenceServer, InferenceServerApp } from '../../server/app';
import { parseCli } from '../../server/cli';
import { httpRequest, MODEL_REPOSITORY, simpleInputs } from '../http/helpers';
import { Exposition, find, parseExposition, value } from './exposition';

const HAS_NVIDIA_SMI = spawnSync('nvidia-smi', ['-L'], { encoding: 'utf8' }).status === 0;
/** The version `simple` serves (the latest one in the example repository). */
let simple: { model: string; version: string };

let server: InferenceServerApp;
let httpPort: number;
let metricsPort: number;

beforeAll(async () => {
  server = createInferenceServer({
    modelRepositories: [MODEL_REPOSITORY],
    modelControlMode: 'explicit',
    loadModels: ['simple'],
    httpPort: 0,
    metricsPort: 0,
    metricsIntervalMs: 50,
    host: '127.0.0.1',
  });
  const started = await server.start();
  expect(started.failedModels).toEqual([]);
  httpPort = started.httpPort!;
  metricsPort = started.metricsPort!;
  simple = { model: 'simple', version: String(server.manager.readyVersions('simple').at(-1)!.version) };
  expect(metricsPort).toBeGreaterThan(0);
});

afterAll(async () => {
  await server?.stop();
});

async function scrape(): Promise<Exposition> {
  const response = await httpRequest(metricsPort, { method: 'GET', url: '/metrics' });
  expect(response.statusCode).toBe(200);
  expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseExposition(response.body);
}

function infer(model: string, inputs: unknown[]) {
  return httpRequest(httpPort, {
    method: 'POST',
    url: `/v2/models/${model}/infer`,
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify({ inputs }),
  });
}

it('starts every series of a loaded model at 0, with its load time', async () => {
  const m = await scrape();
  expect(value(m, 'nv_inference_request_success', simple)).toBe(0);
  expect(find(m, 'nv_inference_request_failure', simple)).toHaveLength(4);
  expect(value(m, 'nv_inference_pending_request_count', simple)).toBe(0);
  expect(value(m, 'nv_model_load_duration_secs', simple)).toBeGreaterThan(0);
});

it('counts successful and failed inferences over HTTP', async () => {
  const before = await scrape();
  for (let i = 0; i < 3; i++) expect((await infer('simple', simpleInputs(1))).statusCode).toBe(200);
  expect((await infer('simple', simpleInputs(2))).statusCode).toBe(200);
  // A bad shape fails in the core: reason OTHER.
  const bad = simpleInputs(1).map((input) => ({ ...input, shape: [1, 8], data: input.data!.slice(0, 8) }));
  expect((await infer('simple', bad)).statusCode).toBe(400);
  // Unknown models are not counted (as in Triton) and create no series.
  expect((await infer('no_such_model', simpleInputs(1))).statusCode).toBe(404);

  const m = await scrape();
  const delta = (name: string, labels: Record<string, string> = simple) => value(m, name, labels) - value(before, name, labels);
  expect(delta('nv_inference_request_success')).toBe(4);
  expect(delta('nv_inference_request_failure', { ...simple, reason: 'OTHER' })).toBe(1);
  expect(delta('nv_inference_request_failure', { ...simple, reason: 'REJECTED' })).toBe(0);
  expect(delta('nv_inference_count')).toBe(5); // batch sizes 1 + 1 + 1 + 2
  expect(delta('nv_inference_exec_count')).toBe(4); // no dynamic batching in `simple`
  expect(delta('nv_inference_request_duration_us')).toBeGreaterThan(0);
  expect(delta('nv_inference_compute_infer_duration_us')).toBeGreaterThan(0);
  expect(delta('nv_inference_queue_duration_us')).toBeGreaterThanOrEqual(0);
  expect(delta('nv_inference_compute_input_duration_us')).toBeGreaterThanOrEqual(0);
  expect(delta('nv_inference_compute_output_duration_us')).toBeGreaterThanOrEqual(0);
  // Request time covers queue and compute.
  expect(delta('nv_inference_request_duration_us')).toBeGreaterThanOrEqual(delta('nv_inference_compute_infer_duration_us'));
  for (const family of ['request', 'queue', 'compute_infer']) {
    const name = `nv_inference_${family}_duration_histogram_ms`;
    expect(delta(`${name}_count`)).toBe(4);
    expect(delta(`${name}_bucket`, { ...simple, le: '+Inf' })).toBe(4);
  }
  expect(value(m, 'nv_inference_pending_request_count', simple)).toBe(0);
  expect(m.samples.some((s) => s.labels.model === 'no_such_model')).toBe(false);
});

it('reports CPU metrics from /proc', async () => {
  if (process.platform !== 'linux') return;
  await server.metrics!.poll(); // a second poll after start()'s: utilization is measured between two
  const m = await scrape();
  expect(value(m, 'nv_cpu_memory_total_bytes')).toBeGreaterThan(0);
  expect(value(m, 'nv_cpu_memory_used_bytes')).toBeGreaterThan(0);
  const utilization = value(m, 'nv_cpu_utilization');
  expect(utilization).toBeGreaterThanOrEqual(0);
  expect(utilization).toBeLessThanOrEqual(1);
});

it(HAS_NVIDIA_SMI ? 'reports GPU metrics per gpu_uuid' : 'has no GPU metrics here, without errors', async () => {
  const m = await scrape();
  const gpu = m.samples.filter((s) => s.name.startsWith('nv_gpu_') || s.name === 'nv_energy_consumption');
  if (HAS_NVIDIA_SMI) {
    expect(gpu.length).toBeGreaterThan(0);
    for (const s of gpu) expect(s.labels.gpu_uuid).toMatch(/^GPU-/);
  } else {
    expect(gpu).toEqual([]);
    expect([...m.types.keys()].filter((name) => name.startsWith('nv_gpu_'))).toEqual([]);
  }
});

it('answers 404 off /metrics', async () => {
  expect((await httpRequest(metricsPort, { method: 'GET', url: '/' })).statusCode).toBe(404);
  expect((await httpRequest(metricsPort, { method: 'POST', url: '/metrics', payload: '' })).statusCode).toBe(405);
});

it('serves no metrics with allowMetrics false', async () => {
  const quiet = createInferenceServer({
    modelRepositories: [MODEL_REPOSITORY],
    modelControlMode: 'explicit',
    httpPort: 0,
    host: '127.0.0.1',
    allowMetrics: false,
  });
  try {
    const started = await quiet.start();
    expect(started.metricsPort).toBeUndefined();
    expect(quiet.metrics).toBeUndefined();
  } finally {
    await quiet.stop();
  }
});

describe('metrics flags', () => {
  const base = ['--model-repository=/models'];

  it("takes Triton's defaults", () => {
    const cli = parseCli(base);
    expect(cli).toMatchObject({ allowMetrics: true, allowGpuMetrics: true, allowCpuMetrics: true, metricsPort: 8002, metricsIntervalMs: 2000 });
    expect(cli.metricsConfig).toMatchObject({ counterLatencies: true, histogramLatencies: true });
  });

  it('parses --metrics-interval-ms, --allow-*-metrics and repeated --metrics-config', () => {
    const cli = parseCli([
      ...base,
      '--metrics-interval-ms=500',
      '--allow-gpu-metrics=false',
      '--allow-cpu-metrics=false',
      '--metrics-config=histogram_buckets=1,5,25',
      '--metrics-config',
      'counter_latencies=false',
    ]);
    expect(cli).toMatchObject({ metricsIntervalMs: 500, allowGpuMetrics: false, allowCpuMetrics: false });
    expect(cli.metricsConfig).toMatchObject({ counterLatencies: false, buckets: { request: [1, 5, 25] } });
  });

  it('rejects a bad interval or setting', () => {
    expect(() => parseCli([...base, '--metrics-interval-ms=0'])).toThrow(/--metrics-interval-ms/);
    expect(() => parseCli([...base, '--metrics-config=histogram_buckets=3,2'])).toThrow(/must increase/);
  });
});
