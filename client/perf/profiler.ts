/**
 * The measurement loop of inference-perf, after perf_analyzer: for each concurrency, N closed-loop workers send
 * requests back to back; the tool measures consecutive windows until the last 3 agree within the stability
 * percentage (throughput and p50... average latency) or max-trials is reached, and reports the mean of those 3.
 * Server-side queue and compute times come from the statistics API (deltas over the windows).
 */
import { DATATYPES, DataType, elementCount, isDataType } from '../../server/core/datatypes';
import { InferenceServerClient } from '../client';
import type { ModelMetadata, ModelStatistics } from '../api';
import { InferInput, InferOptions } from '../tensor';
import { PerfSharedMemory, setUpSystemSharedMemory } from './shared-memory';
import type { PerfOptions } from './options';

export interface WindowStats {
  readonly durationMs: number;
  readonly count: number;
  readonly errors: number;
  readonly throughput: number;
  /** Microseconds. */
  readonly latency: { avg: number; p50: number; p90: number; p95: number; p99: number };
  /** Server-side averages per request in microseconds; undefined when statistics were unavailable. */
  readonly server?: { queue: number; computeInput: number; computeInfer: number; computeOutput: number; requests: number };
}

export interface ConcurrencyResult extends WindowStats {
  readonly concurrency: number;
  readonly batchSize: number;
  readonly stable: boolean;
  readonly windows: number;
}

export interface ProfileEvents {
  /** A window is being measured: fraction of its interval elapsed (0..1), the trial number and the concurrency. */
  onTick?(fraction: number, trial: number, concurrency: number): void;
  onWindow?(window: WindowStats, trial: number, concurrency: number): void;
  onResult?(result: ConcurrencyResult): void;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index];
}

function randomData(datatype: DataType, count: number, zero: boolean): InferInput['data'] {
  if (datatype === 'BYTES') return Array.from({ length: count }, (_, i) => Buffer.from(zero ? '' : `s${i % 97}`));
  const info = DATATYPES[datatype];
  const array = new info.arrayType!(count);
  if (zero) return array;
  for (let i = 0; i < count; i++) {
    switch (datatype) {
      case 'FP32':
      case 'FP64':
        array[i] = Math.random() * 2 - 1;
        break;
      case 'BOOL':
        array[i] = Math.random() < 0.5 ? 1 : 0;
        break;
      case 'INT64':
      case 'UINT64':
        (array as BigInt64Array)[i] = BigInt(Math.floor(Math.random() * 100));
        break;
      case 'FP16':
      case 'BF16':
        array[i] = 0x3c00; // 1.0 in FP16
        break;
      default:
        array[i] = Math.floor(Math.random() * 100);
    }
  }
  return array;
}

/** Inputs for one request from the model metadata: batch dimension = batch size, other -1 from --shape. */
export function buildInputs(metadata: ModelMetadata, maxBatchSize: number, options: Pick<PerfOptions, 'batchSize' | 'shapes' | 'inputData'>): InferInput[] {
  return metadata.inputs.map((input) => {
    let dims = [...input.shape];
    if (maxBatchSize > 0) dims = dims.slice(1);
    const given = options.shapes.get(input.name);
    if (given) dims = given;
    else if (dims.some((d) => d < 0)) dims = dims.map((d) => (d < 0 ? 1 : d));
    const shape = maxBatchSize > 0 ? [options.batchSize, ...dims] : dims;
    if (!isDataType(input.datatype)) throw new Error(`input '${input.name}' has unknown datatype ${input.datatype}`);
    return new InferInput(input.name, input.datatype, shape, randomData(input.datatype, elementCount(shape), options.inputData === 'zero'));
  });
}

function sum(stats: ModelStatistics[]) {
  const total = { count: 0, queue: 0, computeInput: 0, computeInfer: 0, computeOutput: 0 };
  for (const s of stats) {
    total.count += Number(s.inference_stats.success.count);
    total.queue += Number(s.inference_stats.queue.ns);
    total.computeInput += Number(s.inference_stats.compute_input.ns);
    total.computeInfer += Number(s.inference_stats.compute_infer.ns);
    total.computeOutput += Number(s.inference_stats.compute_output.ns);
  }
  return total;
}

type Totals = ReturnType<typeof sum>;

function serverDelta(before: Totals | undefined, after: Totals | undefined): WindowStats['server'] {
  if (!before || !after) return undefined;
  const requests = after.count - before.count;
  if (requests <= 0) return { queue: 0, computeInput: 0, computeInfer: 0, computeOutput: 0, requests: 0 };
  const us = (a: number, b: number) => (a - b) / requests / 1000;
  return {
    queue: us(after.queue, before.queue),
    computeInput: us(after.computeInput, before.computeInput),
    computeInfer: us(after.computeInfer, before.computeInfer),
    computeOutput: us(after.computeOutput, before.computeOutput),
    requests,
  };
}

function withinPercent(values: number[], percent: number): boolean {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  if (mean === 0) return values.every((v) => v === 0);
  return values.every((v) => (Math.abs(v - mean) / mean) * 100 <= percent);
}

function meanWindow(windows: WindowStats[]): WindowStats {
  const n = windows.length;
  const avg = (f: (w: WindowStats) => number) => windows.reduce((a, w) => a + f(w), 0) / n;
  const servers = windows.map((w) => w.server).filter((s): s is NonNullable<WindowStats['server']> => s !== undefined);
  const savg = (f: (s: NonNullable<WindowStats['server']>) => number) => servers.reduce((a, s) => a + f(s), 0) / servers.length;
  return {
    durationMs: avg((w) => w.durationMs),
    count: windows.reduce((a, w) => a + w.count, 0),
    errors: windows.reduce((a, w) => a + w.errors, 0),
    throughput: avg((w) => w.throughput),
    latency: {
      avg: avg((w) => w.latency.avg),
      p50: avg((w) => w.latency.p50),
      p90: avg((w) => w.latency.p90),
      p95: avg((w) => w.latency.p95),
      p99: avg((w) => w.latency.p99),
    },
    server:
      servers.length === 0
        ? undefined
        : {
            queue: savg((s) => s.queue),
            computeInput: savg((s) => s.computeInput),
            computeInfer: savg((s) => s.computeInfer),
            computeOutput: savg((s) => s.computeOutput),
            requests: servers.reduce((a, s) => a + s.requests, 0),
          },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function runProfile(options: PerfOptions, events: ProfileEvents = {}): Promise<ConcurrencyResult[]> {
  const client = new InferenceServerClient({
    url: options.url,
    protocol: options.protocol,
    http: options.httpJson ? { binaryThresholdBytes: Infinity, binaryOutputs: false, connections: 256 } : { connections: 256 },
  });
  let shm: PerfSharedMemory | undefined;
  try {
    const metadata = await client.modelMetadata(options.model, options.version);
    const config = await client.modelConfig(options.model, options.version);
    const maxBatchSize = Number(config.max_batch_size ?? 0);
    if (maxBatchSize === 0 && options.batchSize > 1) throw new Error(`model '${options.model}' does not support batching (max_batch_size 0)`);
    let inputs = buildInputs(metadata, maxBatchSize, options);
    let request: InferOptions = { version: options.version };
    if (options.sharedMemory === 'system') {
      const outputNames = metadata.outputs.map((output) => output.name);
      shm = await setUpSystemSharedMemory(client, options.model, inputs, outputNames, options.outputSharedMemorySize);
      inputs = shm.inputs;
      request = { ...request, outputs: shm.outputs };
    }
    // One warm-up request: fails fast on a bad setup.
    await client.infer(options.model, inputs, request);

    const results: ConcurrencyResult[] = [];
    for (const concurrency of options.concurrency) {
      const result = await measureConcurrency(client, inputs, request, options, concurrency, events);
      events.onResult?.(result);
      results.push(result);
    }
    return results;
  } finally {
    await shm?.release();
    await client.close();
  }
}

async function serverTotals(client: InferenceServerClient, options: PerfOptions): Promise<Totals | undefined> {
  try {
    return sum(await client.modelStatistics(options.model, options.version));
  } catch {
    return undefined;
  }
}

async function measureConcurrency(
  client: InferenceServerClient,
  inputs: InferInput[],
  request: InferOptions,
  options: PerfOptions,
  concurrency: number,
  events: ProfileEvents,
): Promise<ConcurrencyResult> {
  let latencies: number[] = [];
  let errors = 0;
  let running = true;
  let lastError: Error | undefined;
  const worker = async () => {
    while (running) {
      const started = process.hrtime.bigint();
      try {
        await client.infer(options.model, inputs, request);
        latencies.push(Number(process.hrtime.bigint() - started) / 1000);
      } catch (error) {
        errors += 1;
        lastError = error as Error;
        if (errors > 100 && latencies.length === 0) running = false;
      }
    }
  };
  const workers = Array.from({ length: concurrency }, () => worker());
  const windows: WindowStats[] = [];
  let stable = false;
  try {
    await sleep(Math.min(200, options.measurementIntervalMs / 10)); // let every worker get going
    for (let trial = 1; trial <= options.maxTrials && running; trial++) {
      const before = await serverTotals(client, options);
      latencies = [];
      errors = 0;
      const started = performance.now();
      const tick = Math.max(50, Math.min(250, options.measurementIntervalMs / 20));
      while (performance.now() - started < options.measurementIntervalMs) {
        await sleep(Math.min(tick, options.measurementIntervalMs - (performance.now() - started)));
        events.onTick?.(Math.min(1, (performance.now() - started) / options.measurementIntervalMs), trial, concurrency);
      }
      const durationMs = performance.now() - started;
      const windowLatencies = Float64Array.from(latencies).sort();
      const windowErrors = errors;
      const after = await serverTotals(client, options);
      const avg = windowLatencies.length === 0 ? 0 : windowLatencies.reduce((a, b) => a + b, 0) / windowLatencies.length;
      const window: WindowStats = {
        durationMs,
        count: windowLatencies.length,
        errors: windowErrors,
        throughput: (windowLatencies.length * options.batchSize * 1000) / durationMs,
        latency: {
          avg,
          p50: percentile(windowLatencies, 50),
          p90: percentile(windowLatencies, 90),
          p95: percentile(windowLatencies, 95),
          p99: percentile(windowLatencies, 99),
        },
        server: serverDelta(before, after),
      };
      windows.push(window);
      events.onWindow?.(window, trial, concurrency);
      if (windows.length >= 3) {
        const last = windows.slice(-3);
        if (withinPercent(last.map((w) => w.throughput), options.stabilityPercentage) && withinPercent(last.map((w) => w.latency.avg), options.stabilityPercentage)) {
          stable = true;
          break;
        }
      }
    }
  } finally {
    running = false;
    await Promise.all(workers);
  }
  if (windows.length === 0 || windows.every((w) => w.count === 0)) {
    throw new Error(`no request succeeded at concurrency ${concurrency}${lastError ? `: ${lastError.message}` : ''}`);
  }
  return { concurrency, batchSize: options.batchSize, stable, windows: windows.length, ...meanWindow(windows.slice(-3)) };
}
