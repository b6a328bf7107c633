/**
 * The example model `mlp` (FP32 INPUT0 [784] → OUTPUT0 [10], max_batch_size 64) for benchmarks: deterministic request
 * bodies in the KServe v2 JSON form, the expected answers computed with onnxruntime-node, scratch model repositories
 * holding `mlp` under config variants (dynamic batching, instance count), and the server's statistics for it.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { httpRequest } from './processes';
import type { BenchRequest } from './simple-requests';

export const MLP_INPUT_SIZE = 784;
export const MLP_OUTPUT_SIZE = 10;
export const MLP_INFER_PATH = '/v2/models/mlp/infer';

/** mulberry32: a small fixed-seed PRNG, so every run sends the same bytes. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * One input row: 784 values in [0, 1) with 4 decimals (pixel-like intensities), ~6 JSON bytes each. Rounded to what a
 * float32 holds exactly enough that the JSON text and the Float32Array agree to the 4th decimal.
 */
export function mlpInput(seed = 1): Float32Array {
  const random = mulberry32(seed);
  return Float32Array.from({ length: MLP_INPUT_SIZE }, () => Math.round(random() * 1e4) / 1e4);
}

/** The JSON numbers of an input row, as written in the body (shortest text of the 4-decimal value). */
function jsonValues(input: Float32Array): number[] {
  return Array.from(input, (v) => Math.round(v * 1e4) / 1e4);
}

/** A batch-1 KServe v2 JSON request for `mlp` (~5 KB body). */
export function mlpJsonRequest(seed = 1, urlPath = MLP_INFER_PATH): BenchRequest {
  const body = JSON.stringify({
    id: String(seed),
    inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, MLP_INPUT_SIZE], data: jsonValues(mlpInput(seed)) }],
  });
  return { method: 'POST', path: urlPath, headers: { 'content-type': 'application/json' }, body: Buffer.from(body, 'utf8') };
}

/** The model file of the highest numbered version directory (the default version policy serves latest 1). */
export function latestVersionModel(modelDir: string): string {
  const versions = fs.readdirSync(modelDir).filter((d) => /^\d+$/.test(d)).map(Number).sort((a, b) => b - a);
  if (versions.length === 0) throw new Error(`no version directories in ${modelDir}`);
  return path.join(modelDir, String(versions[0]), 'model.onnx');
}

/** OUTPUT0 of `mlp` for each seed's input, from onnxruntime-node in this process (one batch, intra-op 1 thread). */
export async function mlpExpected(modelPath: string, seeds: readonly number[]): Promise<Float32Array[]> {
  // Loaded lazily: only the checks need ORT in the benchmark's own process.
  const ort = await import('onnxruntime-node');
  const session = await ort.InferenceSession.create(modelPath, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  try {
    const batch = new Float32Array(seeds.length * MLP_INPUT_SIZE);
    seeds.forEach((seed, i) => batch.set(mlpInput(seed), i * MLP_INPUT_SIZE));
    const result = await session.run({ INPUT0: new ort.Tensor('float32', batch, [seeds.length, MLP_INPUT_SIZE]) });
    const out = result.OUTPUT0.data as Float32Array;
    return seeds.map((_, i) => out.slice(i * MLP_OUTPUT_SIZE, (i + 1) * MLP_OUTPUT_SIZE));
  } finally {
    await session.release();
  }
}

/** Throws unless a JSON infer response holds `expected` as OUTPUT0 [1, 10] (to float32 rounding of a different batch). */
export function checkMlpResponse(status: number, body: Buffer, expected: Float32Array): void {
  if (status !== 200) throw new Error(`expected 200, got ${status}: ${body.toString('utf8').slice(0, 300)}`);
  const json = JSON.parse(body.toString('utf8')) as { outputs?: Array<{ name: string; shape: number[]; data: number[] }> };
  const output = json.outputs?.find((o) => o.name === 'OUTPUT0');
  if (!output || output.data.length !== MLP_OUTPUT_SIZE || output.shape.join(',') !== `1,${MLP_OUTPUT_SIZE}`) {
    throw new Error(`unexpected mlp answer: ${body.toString('utf8').slice(0, 300)}`);
  }
  output.data.forEach((v, i) => {
    if (!(Math.abs(v - expected[i]) <= 1e-4 * Math.max(1, Math.abs(expected[i])))) {
      throw new Error(`wrong OUTPUT0[${i}]: ${v} (expected ${expected[i]})`);
    }
  });
}

/**
 * Send `seeds.length` distinct requests at once (so a batching server merges them) and check every answer against
 * ORT's: a benchmark of wrong or mixed-up answers is void.
 */
export async function checkMlpConcurrent(port: number, seeds: readonly number[], expected: readonly Float32Array[]): Promise<void> {
  await Promise.all(
    seeds.map(async (seed, i) => {
      const request = mlpJsonRequest(seed);
      const result = await httpRequest(port, request.method, request.path, request.headers, request.body, 30_000);
      try {
        checkMlpResponse(result.status, result.body, expected[i]);
      } catch (error) {
        throw new Error(`request with seed ${seed}: ${(error as Error).message}`);
      }
    }),
  );
}

/** A variant of `mlp`'s config.pbtxt for a scratch repository. */
export interface MlpVariant {
  /** dynamic_batching { max_queue_delay_microseconds } when set (0 = batch what is queued, never wait). */
  readonly queueDelayUs?: number;
  readonly preferredBatchSizes?: readonly number[];
  /** instance_group count (default: the example's 1). */
  readonly instances?: number;
}

/** config.pbtxt text for a variant, derived from the example's own file so everything else stays the same. */
export function mlpConfigText(original: string, variant: MlpVariant): string {
  let text = original;
  if (variant.instances !== undefined) {
    if (!/count:\s*\d+/.test(text)) throw new Error('mlp config.pbtxt has no instance_group count to change');
    text = text.replace(/count:\s*\d+/, `count: ${variant.instances}`);
  }
  if (variant.queueDelayUs !== undefined) {
    if (/dynamic_batching/.test(text)) throw new Error('mlp config.pbtxt already has dynamic_batching');
    const preferred = variant.preferredBatchSizes?.length ? `  preferred_batch_size: [ ${variant.preferredBatchSizes.join(', ')} ]\n` : '';
    text = `${text.trimEnd()}\ndynamic_batching {\n${preferred}  max_queue_delay_microseconds: ${variant.queueDelayUs}\n}\n`;
  }
  return text;
}

/**
 * A scratch model repository under the OS temp folder holding `mlp` (model file copied) with the variant's config;
 * `extraModels` are copied unchanged from the source repository. Returns its root; the caller removes it.
 */
export function scratchRepository(sourceRepository: string, variant: MlpVariant, extraModels: readonly string[] = []): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-mlp-repo-'));
  const source = path.join(sourceRepository, 'mlp');
  fs.cpSync(source, path.join(root, 'mlp'), { recursive: true });
  const configFile = path.join(root, 'mlp', 'config.pbtxt');
  fs.writeFileSync(configFile, mlpConfigText(fs.readFileSync(configFile, 'utf8'), variant));
  for (const model of extraModels) fs.cpSync(path.join(sourceRepository, model), path.join(root, model), { recursive: true });
  return root;
}

/** The parts of Triton's statistics extension a batching benchmark reads (durations in ns). */
export interface MlpStats {
  readonly inferenceCount: number;
  readonly executionCount: number;
  readonly successCount: number;
  readonly queueNs: number;
  readonly computeInputNs: number;
  readonly computeInferNs: number;
  readonly computeOutputNs: number;
}

interface StatDuration {
  count: number;
  ns: number;
}

/** GET /v2/models/<model>/stats, summed over versions; undefined when the server does not answer it. */
export async function modelStats(port: number, model = 'mlp'): Promise<MlpStats | undefined> {
  try {
    const result = await httpRequest(port, 'GET', `/v2/models/${model}/stats`);
    if (result.status !== 200) return undefined;
    const json = JSON.parse(result.body.toString('utf8')) as {
      model_stats: Array<{
        inference_count: number;
        execution_count: number;
        inference_stats: Record<'success' | 'queue', StatDuration>;
        batch_stats?: Array<Record<'compute_input' | 'compute_infer' | 'compute_output', StatDuration>>;
      }>;
    };
    type Version = (typeof json.model_stats)[number];
    const sum = (pick: (s: Version) => number) => json.model_stats.reduce((a, s) => a + pick(s), 0);
    // Per execution: batch_stats counts each execution once (inference_stats counts it once per request of its batch).
    const executionNs = (s: Version, key: 'compute_input' | 'compute_infer' | 'compute_output') =>
      (s.batch_stats ?? []).reduce((a, b) => a + b[key].ns, 0);
    return {
      inferenceCount: sum((s) => s.inference_count),
      executionCount: sum((s) => s.execution_count),
      successCount: sum((s) => s.inference_stats.success.count),
      queueNs: sum((s) => s.inference_stats.queue.ns),
      computeInputNs: sum((s) => executionNs(s, 'compute_input')),
      computeInferNs: sum((s) => executionNs(s, 'compute_infer')),
      computeOutputNs: sum((s) => executionNs(s, 'compute_output')),
    };
  } catch {
    return undefined;
  }
}

/** What happened between two statistics snapshots, per request and per execution. */
export interface StatsDelta {
  /** Inferences per execution: the dynamic batcher's average batch. */
  readonly averageBatch: number;
  /** Average queue time per request, µs. */
  readonly queueUsPerRequest: number;
  /** compute_input + compute_infer + compute_output per execution (from batch_stats), µs. */
  readonly computeUsPerExecution: number;
  /** compute_infer (session.run) per execution, µs. */
  readonly inferUsPerExecution: number;
}

export function statsDelta(before: MlpStats | undefined, after: MlpStats | undefined): StatsDelta | undefined {
  if (!before || !after) return undefined;
  const requests = after.successCount - before.successCount;
  const executions = after.executionCount - before.executionCount;
  const inferences = after.inferenceCount - before.inferenceCount;
  if (requests <= 0 || executions <= 0) return undefined;
  const perExecutionUs = (key: 'computeInputNs' | 'computeInferNs' | 'computeOutputNs') => (after[key] - before[key]) / executions / 1000;
  const infer = perExecutionUs('computeInferNs');
  return {
    averageBatch: inferences / executions,
    queueUsPerRequest: (after.queueNs - before.queueNs) / requests / 1000,
    computeUsPerExecution: infer + perExecutionUs('computeInputNs') + perExecutionUs('computeOutputNs'),
    inferUsPerExecution: infer,
  };
}
