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
import { inputsForStep, loadInputDataFiles } from './input-data';
import { closedLoop, LoadGenerator, openLoop, WindowCounters } from './load';
import type { PerfOptions } from './options';
import { RequestSender } from './request-sender';
import { SequenceIdPool, SequencePlanner, SequenceSlot } from './sequences';
import { PerfSharedMemory, setUpSystemSharedMemory } from './shared-memory';

export interface Latencies {
  readonly avg: number;
  readonly p50: number;
  readonly p90: number;
  readonly p95: number;
  readonly p99: number;
}

export interface WindowStats {
  readonly durationMs: number;
  readonly count: number;
  readonly errors: number;
  readonly throughput: number;
  /** Microseconds from send to the request's final response. */
  readonly latency: Latencies;
  /** --streaming: microseconds to each request's first response (what matters for a decoupled model). */
  readonly firstResponseLatency?: Latencies;
  /** Responses received (more than count when a decoupled model answers a request several times). */
  readonly responses: number;
  /** Request rate mode: requests dispatched behind their schedule. */
  readonly delayed: number;
  /** Stateful models: sequences completed. */
  readonly sequences?: number;
  /** Server-side averages per request in microseconds; undefined when statistics were unavailable. */
  readonly server?: { queue: number; computeInput: number; computeInfer: number; computeOutput: number; requests: number };
}

/** The figures of one load level: a concurrency, or a request rate (--request-rate-range). */
export interface ConcurrencyResult extends WindowStats {
  /** Concurrent requests (or sequences); undefined in request rate mode. */
  readonly concurrency?: number;
  /** Requests per second dispatched; undefined in concurrency mode. */
  readonly requestRate?: number;
  readonly batchSize: number;
  readonly stable: boolean;
  readonly windows: number;
  /** How far the last (up to 3) windows stray from their mean, in %: what --stability-percentage is compared with. */
  readonly spread: { readonly throughput: number; readonly latency: number };
}

export interface ProfileEvents {
  /** A window is being measured: fraction of its interval elapsed (0..1), the trial number and the concurrency. */
  onTick?(fraction: number, trial: number, level: string): void;
  onWindow?(window: WindowStats, trial: number, level: string): void;
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

/** The largest distance of a value from the mean of all, in % of the mean (0 when all are 0). */
function spreadPercent(values: number[]): number {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  if (mean === 0) return values.every((v) => v === 0) ? 0 : Infinity;
  return Math.max(...values.map((v) => (Math.abs(v - mean) / mean) * 100));
}

function withinPercent(values: number[], percent: number): boolean {
  return spreadPercent(values) <= percent;
}

function meanLatencies(all: readonly Latencies[]): Latencies {
  const avg = (f: (l: Latencies) => number) => all.reduce((a, l) => a + f(l), 0) / all.length;
  return { avg: avg((l) => l.avg), p50: avg((l) => l.p50), p90: avg((l) => l.p90), p95: avg((l) => l.p95), p99: avg((l) => l.p99) };
}

function latencies(values: readonly number[]): Latencies {
  const sorted = Float64Array.from(values).sort();
  return {
    avg: sorted.length === 0 ? 0 : sorted.reduce((a, b) => a + b, 0) / sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
  };
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
    latency: meanLatencies(windows.map((w) => w.latency)),
    firstResponseLatency: windows.every((w) => w.firstResponseLatency) ? meanLatencies(windows.map((w) => w.firstResponseLatency!)) : undefined,
    responses: windows.reduce((a, w) => a + w.responses, 0),
    delayed: windows.reduce((a, w) => a + w.delayed, 0),
    sequences: windows.every((w) => w.sequences !== undefined) ? windows.reduce((a, w) => a + w.sequences!, 0) : undefined,
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

/** Never a negative delay: Node 24 warns (TimeoutNegativeWarning) when the window's remainder has just gone below 0. */
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** Request inputs per data stream and step: the --input-data files, or one generated (random/zero) request. */
function requestPayloads(metadata: ModelMetadata, config: Record<string, unknown>, maxBatchSize: number, options: PerfOptions): InferInput[][][] {
  if (options.inputDataFiles.length === 0) return [[buildInputs(metadata, maxBatchSize, options)]];
  const optional = new Set(((config.input as { name: string; optional?: boolean }[] | undefined) ?? []).filter((i) => i.optional).map((i) => i.name));
  return loadInputDataFiles(options.inputDataFiles).map((stream) =>
    stream.map((step) => inputsForStep(metadata, maxBatchSize, options.batchSize, options.shapes, step, optional)),
  );
}

export async function runProfile(options: PerfOptions, events: ProfileEvents = {}): Promise<ConcurrencyResult[]> {
  const client = new InferenceServerClient({
    url: options.url,
    protocol: options.protocol,
    http: options.httpJson ? { binaryThresholdBytes: Infinity, binaryOutputs: false, connections: 256 } : { connections: 256 },
  });
  let shm: PerfSharedMemory | undefined;
  let sender: RequestSender | undefined;
  try {
    const metadata = await client.modelMetadata(options.model, options.version);
    const config = (await client.modelConfig(options.model, options.version)) as Record<string, unknown>;
    const maxBatchSize = Number(config.max_batch_size ?? 0);
    if (maxBatchSize === 0 && options.batchSize > 1) throw new Error(`model '${options.model}' does not support batching (max_batch_size 0)`);
    const decoupled = (config.model_transaction_policy as { decoupled?: boolean } | undefined)?.decoupled === true;
    if (decoupled && !options.streaming) throw new Error(`model '${options.model}' is decoupled: profile it over gRPC with --streaming`);
    const stateful = config.sequence_batching !== undefined && config.sequence_batching !== null;
    let payloads = requestPayloads(metadata, config, maxBatchSize, options);
    let request: InferOptions = { version: options.version };
    if (options.sharedMemory === 'system') {
      if (options.inputDataFiles.length > 0) throw new Error('--shared-memory=system is not supported with --input-data files');
      const outputNames = metadata.outputs.map((output) => output.name);
      shm = await setUpSystemSharedMemory(client, options.model, payloads[0][0], outputNames, options.outputSharedMemorySize);
      payloads = [[shm.inputs]];
      request = { ...request, outputs: shm.outputs };
    }
    sender = new RequestSender(client, options.model, request, payloads, options.streaming);
    const ids = new SequenceIdPool(options.sequence);
    const live = options.requestRates ? [options.sequence.numOfSequences] : options.concurrency;
    if (stateful && Math.max(...live) > ids.capacity) {
      throw new Error(`--sequence-id-range holds ${ids.capacity} ids, fewer than the ${Math.max(...live)} sequences live at once: ids would collide`);
    }
    // One warm-up request fails fast on a bad setup (a stateful model's: a sequence of one).
    await sender.send(stateful ? { id: ids.take(), start: true, end: true, stream: 0, step: 0 } : undefined);

    const planner = stateful ? new SequencePlanner(options.sequence, ids, payloads.map((s) => s.length), options.inputDataFiles.length > 0) : undefined;
    // Slots live across load levels, as perf_analyzer keeps its sequences: a sequence open at the end of one level goes
    // on in the next instead of being left to the server's idle timeout (and its id to a collision).
    const pool: SequenceSlot[] = [];
    const slotsOf = (n: number) => {
      if (!planner) return undefined;
      while (pool.length < n) pool.push(new SequenceSlot(planner, payloads.map((s) => s.length)));
      return pool.slice(0, n);
    };
    const send = sender.send.bind(sender);
    const levels: { label: string; result: Pick<ConcurrencyResult, 'concurrency' | 'requestRate'>; start(c: () => WindowCounters): LoadGenerator }[] = options.requestRates
      ? options.requestRates.map((rate) => ({
          label: `request rate ${rate}`,
          result: { requestRate: rate },
          start: (counters) => openLoop(rate, options.requestDistribution, send, counters, slotsOf(options.sequence.numOfSequences), options.sequence.serial),
        }))
      : options.concurrency.map((concurrency) => ({
          label: `concurrency ${concurrency}`,
          result: { concurrency },
          start: (counters) => closedLoop(concurrency, send, counters, slotsOf(concurrency)),
        }));
    const results: ConcurrencyResult[] = [];
    for (const level of levels) {
      const measured = await measureLevel(client, options, level.label, level.start, events, planner, options.streaming);
      const result = { ...level.result, ...measured };
      events.onResult?.(result);
      results.push(result);
    }
    return results;
  } finally {
    sender?.close();
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

async function measureLevel(
  client: InferenceServerClient,
  options: PerfOptions,
  label: string,
  startLoad: (counters: () => WindowCounters) => LoadGenerator,
  events: ProfileEvents,
  planner: SequencePlanner | undefined,
  streaming: boolean,
): Promise<Omit<ConcurrencyResult, 'concurrency' | 'requestRate'>> {
  let counters = new WindowCounters();
  const load = startLoad(() => counters);
  const windows: WindowStats[] = [];
  let stable = false;
  try {
    await sleep(Math.min(200, options.measurementIntervalMs / 10)); // let every worker get going
    for (let trial = 1; trial <= options.maxTrials && !load.failing; trial++) {
      const before = await serverTotals(client, options);
      const sequencesBefore = planner?.completed ?? 0;
      counters = new WindowCounters();
      const started = performance.now();
      const tick = Math.max(50, Math.min(250, options.measurementIntervalMs / 20));
      while (performance.now() - started < options.measurementIntervalMs) {
        await sleep(Math.min(tick, options.measurementIntervalMs - (performance.now() - started)));
        events.onTick?.(Math.min(1, (performance.now() - started) / options.measurementIntervalMs), trial, label);
      }
      const durationMs = performance.now() - started;
      const seen = counters;
      const after = await serverTotals(client, options);
      const window: WindowStats = {
        durationMs,
        count: seen.latencies.length,
        errors: seen.errors,
        throughput: (seen.latencies.length * options.batchSize * 1000) / durationMs,
        latency: latencies(seen.latencies),
        firstResponseLatency: streaming ? latencies(seen.firstResponseLatencies) : undefined,
        responses: seen.responses,
        delayed: seen.delayed,
        sequences: planner ? planner.completed - sequencesBefore : undefined,
        server: serverDelta(before, after),
      };
      windows.push(window);
      events.onWindow?.(window, trial, label);
      if (windows.length >= 3) {
        const last = windows.slice(-3);
        if (withinPercent(last.map((w) => w.throughput), options.stabilityPercentage) && withinPercent(last.map((w) => w.latency.avg), options.stabilityPercentage)) {
          stable = true;
          break;
        }
      }
    }
  } finally {
    await load.stop();
  }
  if (windows.length === 0 || windows.every((w) => w.count === 0)) {
    throw new Error(`no request succeeded at ${label}${load.lastError ? `: ${load.lastError.message}` : ''}`);
  }
  const last = windows.slice(-3);
  const spread = { throughput: spreadPercent(last.map((w) => w.throughput)), latency: spreadPercent(last.map((w) => w.latency.avg)) };
  return { batchSize: options.batchSize, stable, windows: windows.length, spread, ...meanWindow(last) };
}
