/** Per model-version statistics in the shape of Triton's statistics extension (durations in nanoseconds). */

export interface StatDuration {
  count: number;
  ns: number;
}

export interface InferenceStats {
  success: StatDuration;
  fail: StatDuration;
  queue: StatDuration;
  compute_input: StatDuration;
  compute_infer: StatDuration;
  compute_output: StatDuration;
  cache_hit: StatDuration;
  cache_miss: StatDuration;
}

export interface BatchStats {
  batch_size: number;
  compute_input: StatDuration;
  compute_infer: StatDuration;
  compute_output: StatDuration;
}

export interface ModelStatistics {
  name: string;
  version: string;
  /** Milliseconds since the epoch of the last inference, 0 if none. */
  last_inference: number;
  inference_count: number;
  execution_count: number;
  inference_stats: InferenceStats;
  response_stats: Record<string, never>;
  batch_stats: BatchStats[];
  memory_usage: never[];
}

const zero = (): StatDuration => ({ count: 0, ns: 0 });

/** Durations of one execution of a batch, as measured by the backend and scheduler. */
export interface ExecutionTimings {
  batchSize: number;
  computeInputNs: number;
  computeInferNs: number;
  computeOutputNs: number;
}

/** Accumulates statistics for one model version; the facade and scheduler record into it. */
export class StatisticsRecorder {
  private readonly stats: InferenceStats = {
    success: zero(),
    fail: zero(),
    queue: zero(),
    compute_input: zero(),
    compute_infer: zero(),
    compute_output: zero(),
    cache_hit: zero(),
    cache_miss: zero(),
  };
  private readonly batches = new Map<number, BatchStats>();
  private lastInferenceMs = 0;
  private inferenceCount = 0;
  private executionCount = 0;

  constructor(
    readonly model: string,
    readonly version: string,
  ) {}

  /** A request finished successfully; `requestNs` end to end, `queueNs` waiting, compute times are its batch's. */
  recordSuccess(requestNs: number, queueNs: number, batchSize: number, timings: ExecutionTimings): void {
    add(this.stats.success, requestNs);
    add(this.stats.queue, queueNs);
    add(this.stats.compute_input, timings.computeInputNs);
    add(this.stats.compute_infer, timings.computeInferNs);
    add(this.stats.compute_output, timings.computeOutputNs);
    this.inferenceCount += batchSize;
    this.lastInferenceMs = Date.now();
  }

  /**
   * A request answered from the response cache, as Triton counts it: a success with its request time, no queue time
   * and no compute time (nothing executed, so inference_count and execution_count stay), and a cache hit.
   */
  recordCacheHit(requestNs: number, lookupNs: number): void {
    add(this.stats.success, requestNs);
    add(this.stats.queue, 0);
    add(this.stats.cache_hit, lookupNs);
    this.lastInferenceMs = Date.now();
  }

  /** A request the cache did not answer: it ran (recordSuccess) and its result was inserted; `ns` is lookup + insert. */
  recordCacheMiss(ns: number): void {
    add(this.stats.cache_miss, ns);
  }

  recordFailure(requestNs: number): void {
    add(this.stats.fail, requestNs);
    this.lastInferenceMs = Date.now();
  }

  /** One backend execution of a (possibly merged) batch. */
  recordExecution(timings: ExecutionTimings): void {
    this.executionCount += 1;
    let entry = this.batches.get(timings.batchSize);
    if (!entry) {
      entry = { batch_size: timings.batchSize, compute_input: zero(), compute_infer: zero(), compute_output: zero() };
      this.batches.set(timings.batchSize, entry);
    }
    add(entry.compute_input, timings.computeInputNs);
    add(entry.compute_infer, timings.computeInferNs);
    add(entry.compute_output, timings.computeOutputNs);
  }

  snapshot(): ModelStatistics {
    const copy = (d: StatDuration): StatDuration => ({ count: d.count, ns: d.ns });
    const s = this.stats;
    return {
      name: this.model,
      version: this.version,
      last_inference: this.lastInferenceMs,
      inference_count: this.inferenceCount,
      execution_count: this.executionCount,
      inference_stats: {
        success: copy(s.success),
        fail: copy(s.fail),
        queue: copy(s.queue),
        compute_input: copy(s.compute_input),
        compute_infer: copy(s.compute_infer),
        compute_output: copy(s.compute_output),
        cache_hit: copy(s.cache_hit),
        cache_miss: copy(s.cache_miss),
      },
      response_stats: {},
      batch_stats: [...this.batches.values()]
        .sort((a, b) => a.batch_size - b.batch_size)
        .map((b) => ({
          batch_size: b.batch_size,
          compute_input: copy(b.compute_input),
          compute_infer: copy(b.compute_infer),
          compute_output: copy(b.compute_output),
        })),
      memory_usage: [],
    };
  }
}

function add(target: StatDuration, ns: number): void {
  target.count += 1;
  target.ns += Math.round(ns);
}
