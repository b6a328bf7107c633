import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Registry } from 'prom-client';
import { CpuCollector, GpuCollector, InferenceMetrics, parseMetricsConfig } from '../../server/metrics';
import type { RequestEvent } from '../../server/core/observer';
import { find, parseExposition, value } from './exposition';

const fixture = (name: string) => readFileSync(path.join(__dirname, 'fixtures', name), 'utf8');
const scrape = async (registry: Registry) => parseExposition(await registry.metrics());
const MIB = 1024 * 1024;

function failure(code: string, message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}

describe('GpuCollector', () => {
  it('exposes every GPU metric with a gpu_uuid label, in Triton units', async () => {
    const registry = new Registry();
    let now = 10_000;
    const outputs = [fixture('nvidia-smi-h100.csv'), fixture('nvidia-smi-h100.csv').replace('512.34', '612.34')];
    const gpu = new GpuCollector({ registry, run: async () => outputs.shift()!, now: () => now, cudaVisibleDevices: undefined });
    await gpu.poll();
    const labels = { gpu_uuid: 'GPU-8a1c4f7e-2b3d-4e5f-9a6b-7c8d9e0f1a2b' };
    let m = await scrape(registry);
    expect(value(m, 'nv_gpu_utilization', labels)).toBeCloseTo(0.87);
    expect(value(m, 'nv_gpu_memory_total_bytes', labels)).toBe(81559 * MIB);
    expect(value(m, 'nv_gpu_memory_used_bytes', labels)).toBe(40213 * MIB);
    expect(value(m, 'nv_gpu_power_usage', labels)).toBeCloseTo(512.34);
    expect(value(m, 'nv_gpu_power_limit', labels)).toBe(700);
    expect(value(m, 'nv_energy_consumption', labels)).toBe(0);
    expect(m.types.get('nv_energy_consumption')).toBe('counter');
    expect(m.types.get('nv_gpu_utilization')).toBe('gauge');

    now += 2000;
    await gpu.poll();
    m = await scrape(registry);
    expect(value(m, 'nv_gpu_power_usage', labels)).toBeCloseTo(612.34);
    expect(value(m, 'nv_energy_consumption', labels)).toBeCloseTo(((512.34 + 612.34) / 2) * 2, 6);
  });

  it('labels each of two T4s', async () => {
    const registry = new Registry();
    const gpu = new GpuCollector({ registry, run: async () => fixture('nvidia-smi-2xt4.csv'), cudaVisibleDevices: undefined });
    await gpu.poll();
    const m = await scrape(registry);
    expect(find(m, 'nv_gpu_power_limit').map((s) => [s.labels.gpu_uuid, s.value])).toEqual([
      ['GPU-3b6f7a2c-1d4e-5f60-8a9b-0c1d2e3f4a5b', 70],
      ['GPU-c4d5e6f7-0819-2a3b-4c5d-6e7f8091a2b3', 70],
    ]);
  });

  it('leaves out the series nvidia-smi reports as [N/A]', async () => {
    const registry = new Registry();
    const gpu = new GpuCollector({ registry, run: async () => fixture('nvidia-smi-vgpu-na.csv'), cudaVisibleDevices: undefined });
    await gpu.poll();
    const m = await scrape(registry);
    expect(find(m, 'nv_gpu_memory_total_bytes')).toHaveLength(2);
    expect(find(m, 'nv_gpu_memory_used_bytes')).toHaveLength(1);
    expect(find(m, 'nv_gpu_utilization')).toHaveLength(1);
    expect(find(m, 'nv_gpu_power_usage')).toHaveLength(0);
    expect(find(m, 'nv_energy_consumption')).toHaveLength(0);
  });

  it('is absent, without error, when nvidia-smi is not installed, and stops trying', async () => {
    const registry = new Registry();
    const run = jest.fn(async () => {
      throw failure('ENOENT', 'spawn nvidia-smi ENOENT');
    });
    const reasons: string[] = [];
    const gpu = new GpuCollector({ registry, run, onUnavailable: (r) => reasons.push(r) });
    await gpu.poll();
    await gpu.poll();
    expect(run).toHaveBeenCalledTimes(1);
    expect(gpu.active).toBe(false);
    expect(reasons).toEqual(['nvidia-smi not found on PATH: no GPU metrics']);
    expect(await registry.metrics()).not.toContain('nv_gpu');
  });

  it('is absent when nvidia-smi exits non-zero (no driver, no device), and retries', async () => {
    const registry = new Registry();
    const run = jest.fn(async () => {
      throw Object.assign(failure('', 'Command failed: nvidia-smi\nNo devices were found'), { code: 6 });
    });
    const gpu = new GpuCollector({ registry, run });
    await gpu.poll();
    await gpu.poll();
    expect(run).toHaveBeenCalledTimes(2);
    expect(await registry.metrics()).not.toContain('nv_');
  });

  it('really runs a command: a missing binary is just "no GPU"', async () => {
    const registry = new Registry();
    const gpu = new GpuCollector({ registry, command: 'nvidia-smi-definitely-not-installed' });
    await expect(gpu.poll()).resolves.toBeUndefined();
    expect(gpu.active).toBe(false);
    expect(await registry.metrics()).toBe('\n');
  });

  it('drops the readings of a GPU that went away, keeping the energy counter', async () => {
    const registry = new Registry();
    const outputs: Array<string | Error> = [fixture('nvidia-smi-h100.csv'), failure('', 'GPU is lost')];
    const gpu = new GpuCollector({
      registry,
      run: async () => {
        const next = outputs.shift()!;
        if (next instanceof Error) throw next;
        return next;
      },
      cudaVisibleDevices: undefined,
    });
    await gpu.poll();
    await gpu.poll();
    const m = await scrape(registry);
    expect(find(m, 'nv_gpu_utilization')).toHaveLength(0);
    expect(find(m, 'nv_energy_consumption')).toHaveLength(1);
  });
});

describe('CpuCollector', () => {
  it('reports utilization between polls and memory from /proc (recorded)', async () => {
    const registry = new Registry();
    const stats = [fixture('proc-stat-1.txt'), fixture('proc-stat-2.txt')];
    const cpu = new CpuCollector(registry, {
      read: async (file) => (file === '/proc/stat' ? stats.shift()! : fixture('meminfo.txt')),
    });
    await cpu.poll();
    let m = await scrape(registry);
    expect(value(m, 'nv_cpu_utilization')).toBe(0);
    expect(value(m, 'nv_cpu_memory_total_bytes')).toBe(24683656 * 1024);
    expect(value(m, 'nv_cpu_memory_used_bytes')).toBe((24683656 - 23779788) * 1024);
    await cpu.poll();
    m = await scrape(registry);
    expect(value(m, 'nv_cpu_utilization')).toBeCloseTo(400 / 804, 10);
    expect(m.help.get('nv_cpu_utilization')).toBe('CPU utilization rate [0.0 - 1.0]');
  });

  it('is absent where /proc cannot be read', async () => {
    const registry = new Registry();
    const cpu = new CpuCollector(registry, { read: async () => Promise.reject(failure('ENOENT', 'no /proc')) });
    await cpu.poll();
    expect(await registry.metrics()).not.toContain('nv_cpu');
  });
});

describe('InferenceMetrics', () => {
  const ok = (over: Partial<RequestEvent> = {}): RequestEvent => ({
    model: 'simple',
    version: '1',
    ok: true,
    batchSize: 1,
    requestNs: 2_000_000,
    queueNs: 500_000,
    computeInputNs: 10_000,
    computeInferNs: 1_000_000,
    computeOutputNs: 5_000,
    ...over,
  });
  const labels = { model: 'simple', version: '1' };

  function setup(config = parseMetricsConfig([]), pending = 0) {
    const registry = new Registry();
    const metrics = new InferenceMetrics({
      registry,
      config,
      versions: { readyVersions: () => [{ name: 'simple', version: 1, scheduler: { queuedCount: pending } }] },
    });
    return { registry, metrics };
  }

  it('starts a loaded version at 0 with all four failure reasons, and records its load time', async () => {
    const { registry, metrics } = setup();
    metrics.onModelLoad({ model: 'simple', version: '1', ok: true, seconds: 1.25 });
    const m = await scrape(registry);
    expect(value(m, 'nv_inference_request_success', labels)).toBe(0);
    expect(find(m, 'nv_inference_request_failure', labels).map((s) => s.labels.reason).sort()).toEqual([
      'BACKEND',
      'CANCELED',
      'OTHER',
      'REJECTED',
    ]);
    expect(value(m, 'nv_model_load_duration_secs', labels)).toBe(1.25);
    expect(value(m, 'nv_inference_request_duration_histogram_ms_count', labels)).toBe(0);
  });

  it("adds requests the way Triton does: counts, microsecond counters and millisecond histograms", async () => {
    const { registry, metrics } = setup(parseMetricsConfig([]), 3);
    metrics.onModelLoad({ model: 'simple', version: '1', ok: true, seconds: 0.1 });
    metrics.onExecution({ model: 'simple', version: '1', batchSize: 5, computeInputNs: 1, computeInferNs: 1, computeOutputNs: 1 });
    metrics.onRequest(ok({ batchSize: 2 }));
    metrics.onRequest(ok({ batchSize: 3 }));
    metrics.onRequest({ model: 'simple', version: '1', ok: false, reason: 'REJECTED', batchSize: 1, requestNs: 9_000_000 });
    metrics.onRequest({ model: 'simple', version: '1', ok: false, batchSize: 1, requestNs: 1 });
    const m = await scrape(registry);
    expect(value(m, 'nv_inference_request_success', labels)).toBe(2);
    expect(value(m, 'nv_inference_request_failure', { ...labels, reason: 'REJECTED' })).toBe(1);
    expect(value(m, 'nv_inference_request_failure', { ...labels, reason: 'OTHER' })).toBe(1);
    expect(value(m, 'nv_inference_count', labels)).toBe(5);
    expect(value(m, 'nv_inference_exec_count', labels)).toBe(1);
    // Failed requests add no duration (so queue_duration / request_success is the mean queue time).
    expect(value(m, 'nv_inference_request_duration_us', labels)).toBe(4000);
    expect(value(m, 'nv_inference_queue_duration_us', labels)).toBe(1000);
    expect(value(m, 'nv_inference_compute_input_duration_us', labels)).toBe(20);
    expect(value(m, 'nv_inference_compute_infer_duration_us', labels)).toBe(2000);
    expect(value(m, 'nv_inference_compute_output_duration_us', labels)).toBe(10);
    expect(value(m, 'nv_inference_pending_request_count', labels)).toBe(3);
    expect(value(m, 'nv_inference_request_duration_histogram_ms_count', labels)).toBe(2);
    expect(value(m, 'nv_inference_request_duration_histogram_ms_sum', labels)).toBe(4);
    expect(value(m, 'nv_inference_request_duration_histogram_ms_bucket', { ...labels, le: '1' })).toBe(0);
    expect(value(m, 'nv_inference_request_duration_histogram_ms_bucket', { ...labels, le: '2.5' })).toBe(2);
    expect(value(m, 'nv_inference_queue_duration_histogram_ms_bucket', { ...labels, le: '0.5' })).toBe(2);
    expect(value(m, 'nv_inference_compute_infer_duration_histogram_ms_sum', labels)).toBe(2);
    for (const name of ['nv_inference_request_success', 'nv_inference_queue_duration_us', 'nv_inference_count']) {
      expect(m.types.get(name)).toBe('counter');
    }
    expect(m.types.get('nv_inference_pending_request_count')).toBe('gauge');
    expect(m.types.get('nv_inference_queue_duration_histogram_ms')).toBe('histogram');
    expect(m.help.get('nv_inference_queue_duration_us')).toBe(
      'Cumulative inference queuing duration in microseconds (includes cached requests)',
    );
  });

  it('ignores requests for unknown models and versions, as Triton does', async () => {
    const { registry, metrics } = setup();
    metrics.onModelLoad({ model: 'simple', version: '1', ok: true, seconds: 0.1 });
    metrics.onRequest({ model: 'nope', version: '', ok: false, reason: 'OTHER', batchSize: 1, requestNs: 1 });
    metrics.onRequest({ model: 'nope', version: '1', ok: false, reason: 'OTHER', batchSize: 1, requestNs: 1 });
    metrics.onRequest({ model: 'simple', version: '9', ok: false, reason: 'OTHER', batchSize: 1, requestNs: 1 });
    const text = await registry.metrics();
    expect(text).not.toContain('nope');
    expect(text).not.toContain('version="9"');
    expect(value(parseExposition(text), 'nv_inference_request_failure', { ...labels, reason: 'OTHER' })).toBe(0);
  });

  it('accepts a version the manager serves even if its load event was missed', async () => {
    const { registry, metrics } = setup();
    metrics.onRequest(ok());
    expect(value(await scrape(registry), 'nv_inference_request_success', labels)).toBe(1);
  });

  it('removes a version\u2019s series when it unloads; failed loads create none', async () => {
    const registry = new Registry();
    const metrics = new InferenceMetrics({ registry });
    metrics.onModelLoad({ model: 'simple', version: '1', ok: true, seconds: 0.1 });
    metrics.onModelLoad({ model: 'broken', version: '1', ok: false, seconds: 0.1 });
    metrics.onRequest(ok());
    metrics.onModelUnload({ model: 'simple', version: '1' });
    metrics.onRequest(ok()); // in flight during the unload: dropped
    const text = await registry.metrics();
    expect(text).not.toContain('model="simple"');
    expect(text).not.toContain('broken');
  });

  it('honours counter_latencies=false and histogram_latencies=false', async () => {
    const { registry, metrics } = setup(parseMetricsConfig(['counter_latencies=false', 'histogram_latencies=false']));
    metrics.onRequest(ok());
    const text = await registry.metrics();
    expect(text).toContain('nv_inference_request_success{model="simple",version="1"} 1');
    expect(text).not.toContain('_duration_us');
    expect(text).not.toContain('histogram');
  });

  it('uses configured buckets', async () => {
    const { registry, metrics } = setup(parseMetricsConfig(['histogram_buckets=1,3', 'queue_histogram_buckets=0.25']));
    metrics.onRequest(ok());
    const m = await scrape(registry);
    expect(find(m, 'nv_inference_request_duration_histogram_ms_bucket', labels).map((s) => s.labels.le)).toEqual(['1', '3', '+Inf']);
    expect(find(m, 'nv_inference_queue_duration_histogram_ms_bucket', labels).map((s) => s.labels.le)).toEqual(['0.25', '+Inf']);
  });
});
