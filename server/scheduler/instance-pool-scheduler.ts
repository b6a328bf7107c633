import type { BackendInstance } from '../backends/backend';
import { InferenceError, toInferenceError } from '../core/errors';
import type { ExecutionTimings } from '../core/statistics';
import type { Tensor } from '../core/tensor';
import type { JobResult, Scheduler, SchedulerJob } from './scheduler';
import { canShareBatch, concatBatch, splitBatch } from './tensor-batching';

/** How requests are merged; `enabled` false runs every request alone (models without dynamic_batching). */
export interface BatchingPolicy {
  readonly enabled: boolean;
  readonly maxBatchSize: number;
  readonly preferredBatchSizes: readonly number[];
  /** How long the oldest request may wait for others to join its batch. */
  readonly maxQueueDelayNs: number;
}

interface QueuedJob {
  readonly job: SchedulerJob;
  readonly enqueuedAt: bigint;
  resolve(result: JobResult): void;
  reject(error: InferenceError): void;
}

/**
 * A queue per model version feeding a pool of instances: a free instance takes the oldest request, merged with the
 * compatible ones behind it up to max_batch_size when dynamic batching is on (Triton's dynamic batcher, FIFO level).
 */
export class InstancePoolScheduler implements Scheduler {
  private readonly queue: QueuedJob[] = [];
  private readonly free: BackendInstance[];
  private running = 0;
  private delayTimer: NodeJS.Timeout | undefined;
  private drainWaiters: Array<() => void> = [];

  constructor(
    instances: readonly BackendInstance[],
    private readonly policy: BatchingPolicy,
    private readonly onExecution: (timings: ExecutionTimings) => void = () => {},
  ) {
    this.free = [...instances];
  }

  get pendingCount(): number {
    return this.queue.length + this.running;
  }

  enqueue(job: SchedulerJob): Promise<JobResult> {
    return new Promise<JobResult>((resolve, reject) => {
      this.queue.push({ job, enqueuedAt: process.hrtime.bigint(), resolve, reject });
      this.dispatch();
    });
  }

  drain(): Promise<void> {
    if (this.pendingCount === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private dispatch(): void {
    while (this.free.length > 0 && this.queue.length > 0) {
      const batch = this.takeBatch();
      if (!batch) return;
      const instance = this.free.pop()!;
      void this.execute(instance, batch);
    }
  }

  private takeBatch(): QueuedJob[] | undefined {
    if (!this.policy.enabled) return this.queue.splice(0, 1);
    const first = this.queue[0];
    let size = first.job.batchSize;
    let count = 1;
    while (count < this.queue.length) {
      const next = this.queue[count].job;
      if (size + next.batchSize > this.policy.maxBatchSize || !canShareBatch(first.job.inputs, next.inputs)) break;
      size += next.batchSize;
      count += 1;
    }
    const full = size >= this.policy.maxBatchSize || this.policy.preferredBatchSizes.includes(size);
    const blocked = count < this.queue.length; // the next request cannot join: waiting gains nothing
    if (!full && !blocked && this.policy.maxQueueDelayNs > 0) {
      const waitedNs = Number(process.hrtime.bigint() - first.enqueuedAt);
      const remainingNs = this.policy.maxQueueDelayNs - waitedNs;
      if (remainingNs > 0) {
        this.armDelay(remainingNs);
        return undefined;
      }
    }
    return this.queue.splice(0, count);
  }

  private armDelay(remainingNs: number): void {
    if (this.delayTimer) return;
    this.delayTimer = setTimeout(() => {
      this.delayTimer = undefined;
      this.dispatch();
    }, Math.max(1, Math.ceil(remainingNs / 1e6)));
  }

  private async execute(instance: BackendInstance, batch: QueuedJob[]): Promise<void> {
    this.running += batch.length;
    const startedAt = process.hrtime.bigint();
    try {
      const inputs = batch.length === 1 ? batch[0].job.inputs : mergeInputs(batch.map((q) => q.job.inputs));
      const outputNames = [...new Set(batch.flatMap((q) => q.job.outputNames))];
      const result = await instance.execute(inputs, outputNames);
      const batchSize = batch.reduce((sum, q) => sum + q.job.batchSize, 0);
      const timings: ExecutionTimings = {
        batchSize,
        computeInputNs: result.computeInputNs,
        computeInferNs: result.computeInferNs,
        computeOutputNs: result.computeOutputNs,
      };
      this.onExecution(timings);
      const perJob = splitOutputs(result.outputs, batch.map((q) => q.job.batchSize));
      batch.forEach((queued, i) =>
        queued.resolve({ outputs: perJob[i], queueNs: Number(startedAt - queued.enqueuedAt), timings }),
      );
    } catch (error) {
      const failure = toInferenceError(error);
      for (const queued of batch) queued.reject(failure);
    } finally {
      this.running -= batch.length;
      this.free.push(instance);
      this.dispatch();
      if (this.pendingCount === 0) {
        const waiters = this.drainWaiters;
        this.drainWaiters = [];
        for (const wake of waiters) wake();
      }
    }
  }
}

function mergeInputs(perJob: Tensor[][]): Tensor[] {
  return perJob[0].map((input) => concatBatch(perJob.map((inputs) => inputs.find((t) => t.name === input.name)!)));
}

function splitOutputs(outputs: Tensor[], batchSizes: number[]): Tensor[][] {
  const perJob: Tensor[][] = batchSizes.map(() => []);
  for (const output of outputs) {
    splitBatch(output, batchSizes).forEach((part, i) => perJob[i].push(part));
  }
  return perJob;
}
