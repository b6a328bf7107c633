/**
 * Raw onnxruntime-node compute on one FP32 model with one input (the example `mlp`), per batch size: session.run in a
 * loop on this thread, with the server's session options (intra-op threads as asked, no spinning), a fresh ort.Tensor
 * per call over a preallocated batch. Batch sizes are measured in `rounds` interleaved passes (a noisy shared machine
 * drifts; each size reports its median pass), so "best batch" is not just the luckiest sample.
 * Prints one JSON line: an OrtBatchResult.
 * Usage: node dist/bench/lib/ort-batch.js '<OrtBatchConfig JSON>'
 */
import * as ort from 'onnxruntime-node';

export interface OrtBatchConfig {
  readonly modelPath: string;
  readonly inputName: string;
  /** Elements of one sample (784 for mlp). */
  readonly sampleSize: number;
  readonly batchSizes: readonly number[];
  readonly secondsPerBatch: number;
  readonly rounds: number;
  readonly intraOpThreads: number;
}

export interface OrtBatchRow {
  readonly batch: number;
  /** Median over rounds of session.run calls per second. */
  readonly callsPerSecond: number;
  /** batch × callsPerSecond: inferences per second. */
  readonly samplesPerSecond: number;
  /** Median µs per session.run call. */
  readonly usPerCall: number;
}

export interface OrtBatchResult {
  readonly intraOpThreads: number;
  readonly rows: OrtBatchRow[];
  readonly best: OrtBatchRow;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export async function measureOrtBatches(config: OrtBatchConfig): Promise<OrtBatchResult> {
  const session = await ort.InferenceSession.create(config.modelPath, {
    intraOpNumThreads: config.intraOpThreads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    executionProviders: ['cpu'],
    // As server/backends/onnxruntime/worker.ts sets them.
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  });
  const maxBatch = Math.max(...config.batchSizes);
  const data = Float32Array.from({ length: maxBatch * config.sampleSize }, (_, i) => ((i * 7919) % 10007) / 10007);
  const run = (batch: number) =>
    session.run({ [config.inputName]: new ort.Tensor('float32', data.subarray(0, batch * config.sampleSize), [batch, config.sampleSize]) });
  const rate = async (batch: number, ms: number) => {
    let calls = 0;
    const started = performance.now();
    const end = started + ms;
    while (performance.now() < end) {
      await run(batch);
      calls += 1;
    }
    return calls / ((performance.now() - started) / 1000);
  };
  for (const batch of config.batchSizes) await rate(batch, 100); // warm-up: allocator arenas, caches
  const perBatch = new Map<number, number[]>();
  for (let round = 0; round < config.rounds; round++) {
    for (const batch of config.batchSizes) {
      (perBatch.get(batch) ?? perBatch.set(batch, []).get(batch)!).push(await rate(batch, config.secondsPerBatch * 1000));
    }
  }
  await session.release();
  const rows = config.batchSizes.map((batch): OrtBatchRow => {
    const calls = median(perBatch.get(batch)!);
    return { batch, callsPerSecond: calls, samplesPerSecond: calls * batch, usPerCall: 1e6 / calls };
  });
  const best = rows.reduce((a, b) => (b.samplesPerSecond > a.samplesPerSecond ? b : a));
  return { intraOpThreads: config.intraOpThreads, rows, best };
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '') as OrtBatchConfig;
  process.stdout.write(`${JSON.stringify(await measureOrtBatches(config))}\n`);
}

if (require.main === module) {
  main().catch((error: Error) => {
    process.stderr.write(`${error.stack ?? error.message}\n`);
    process.exit(1);
  });
}
