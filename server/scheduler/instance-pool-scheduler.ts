import type { BackendInstance, ExecutionRequest, ExecutionResult } from '../backends/backend';
import { Errors, toInferenceError } from '../core/errors';
import { timerDelay } from '../core/promises';
import { captureCompute } from '../core/request-trace';
import type { ExecutionTimings } from '../core/statistics';
import { batchSizeOf, executionRequestOf, executionTimings, failedOutcomes, outcomesOf, settleOutcomes, type Outcome, type Waiting } from './batch-outcomes';
import { PriorityPolicy, PriorityRequestQueue, QueueEntry, UNBOUNDED_QUEUE } from './priority-queue';
import { requestContext, type JobResult, type Scheduler, type SchedulerJob } from './scheduler';
import { canShareBatch } from './tensor-batching';

/** How requests are merged; `enabled` false runs every request alone (models without dynamic_batching). */
export interface BatchingPolicy {
  readonly enabled: boolean;
  readonly maxBatchSize: number;
  readonly preferredBatchSizes: readonly number[];
  /** How long the oldest request may wait for others to join its batch. */
  readonly maxQueueDelayNs: number;
  /** Answer requests in arrival order even when instances finish out of order. */
  readonly preserveOrdering: boolean;
}

/** Upper bound on executions sent to an instance in one hand-off, so one message never holds the queue hostage. */
export const MAX_BATCHES_PER_HAND_OFF = 16;

/** Messages an instance may hold at once when it runs requests unbatched (see the constructor). */
const PIPELINED_SLOTS = 2;

export const SINGLE_LEVEL: PriorityPolicy = {
  priorityLevels: 0,
  defaultPriorityLevel: 0,
  defaultQueuePolicy: UNBOUNDED_QUEUE,
  levelPolicies: new Map(),
};

/**
 * A queue per model version feeding a pool of instances (Triton's dynamic batcher): a free instance takes the most
 * urgent request, merged with the compatible ones behind it up to max_batch_size when batching is on.
 */
export class InstancePoolScheduler implements Scheduler {
  private readonly queue: PriorityRequestQueue<Waiting>;
  /** Free execution slots (an instance appears once per slot). */
  private readonly free: BackendInstance[];
  /** Messages each instance is executing or holding. */
  private readonly busy = new Map<BackendInstance, number>();
  private running = 0;
  /** Armed while the batcher waits for a fuller batch. */
  private delayArmed = false;
  /** A dispatch is due at the end of this turn of the event loop. */
  private dispatchArmed = false;
  /** Draining: batches no longer wait for more requests. */
  private flushing = false;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private deadlineArmedFor: bigint | undefined;
  private drainWaiters: Array<() => void> = [];
  /** preserve_ordering: batches get a sequence number and are answered strictly in that order. */
  private nextBatchSeq = 0;
  private nextToRelease = 0;
  private readonly finished = new Map<number, () => void>();
  /**
   * Decoupled requests form dynamic batches too, run unmerged in one execution (each with its own sink), when batching
   * is on and the backend can run them so (Python: one execute(requests) call, as Triton); else each runs alone.
   */
  private readonly batchesStreams: boolean;

  constructor(
    instances: readonly BackendInstance[],
    private readonly batching: BatchingPolicy,
    priorities: PriorityPolicy = SINGLE_LEVEL,
    private readonly onExecution: (timings: ExecutionTimings) => void = () => {},
  ) {
    // An instance that takes several executions per hand-off gets a second slot: the next message waits in its
    // worker's port while the current one runs, so the worker does not sleep between messages. With batching the
    // second slot only takes full batches, so pipelining never shrinks the batches the delay is there to build.
    this.free = instances.flatMap((instance) =>
      instance.executeMany ? Array<BackendInstance>(PIPELINED_SLOTS).fill(instance) : [instance],
    );
    this.queue = new PriorityRequestQueue(priorities);
    this.batchesStreams = batching.enabled && instances.length > 0 && instances.every((instance) => instance.executeDecoupledBatch);
  }

  get pendingCount(): number {
    return this.queue.size + this.running;
  }

  get queuedCount(): number {
    return this.queue.size;
  }

  enqueue(job: SchedulerJob): Promise<JobResult> {
    job.trace?.capture('QUEUE_START');
    return new Promise<JobResult>((resolve, reject) => {
      this.queue.push({ job, resolve, reject }, job.priority, job.timeoutUs, process.hrtime.bigint());
      this.dispatchSoon();
    });
  }

  /**
   * Dispatch once the event loop has handled every request of this turn (one poll phase reads many sockets): they then
   * reach the instance in one hand-off, one wake-up of its worker instead of one per request. expire() in dispatch
   * arms the deadline timer.
   */
  private dispatchSoon(): void {
    if (this.dispatchArmed) return;
    this.dispatchArmed = true;
    setImmediate(() => {
      this.dispatchArmed = false;
      this.dispatch();
    });
  }

  /** Run everything accepted, without waiting out batching delays, and resolve when it is done (unload, shutdown). */
  drain(): Promise<void> {
    this.flushing = true;
    this.dispatch();
    if (this.pendingCount === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private dispatch(): void {
    this.expire();
    while (this.free.length > 0 && this.queue.size > 0) {
      const slot = this.takeSlot();
      const instance = this.free[slot];
      const pipelined = (this.busy.get(instance) ?? 0) > 0;
      const first = this.takeBatch(!pipelined, pipelined && this.batching.enabled);
      if (!first) break; // waiting for a fuller batch, or only cancelled requests were left
      this.free.splice(slot, 1);
      // Whatever else is queued rides along in the same hand-off (up to a bound), when the backend supports it
      // and no idle instance could run it in parallel.
      const batches = [first];
      // Never behind a batch of decoupled requests: executeStreams runs that batch alone.
      const streams = first.length > 1 && first[0].item.job.sink !== undefined;
      if (!streams && instance.executeMany && !this.free.some((other) => (this.busy.get(other) ?? 0) === 0 && other !== instance)) {
        while (batches.length < MAX_BATCHES_PER_HAND_OFF && this.queue.size > 0) {
          const next = this.takeBatch(false, this.batching.enabled);
          if (!next) break;
          batches.push(next);
        }
      }
      if (streams) void this.executeStreams(instance, first);
      else void this.execute(instance, batches);
    }
    this.wakeDrainWaiters();
  }

  /** Index of the free slot to use: an idle instance's first, else a busy instance's second slot. */
  private takeSlot(): number {
    for (let i = this.free.length - 1; i >= 0; i--) if ((this.busy.get(this.free[i]) ?? 0) === 0) return i;
    return this.free.length - 1;
  }

  /** Reject (or delay) requests whose queue timeout passed, and keep a timer for the next deadline. */
  private expire(): void {
    const { rejected, nextDeadline } = this.queue.expire(process.hrtime.bigint());
    for (const entry of rejected) entry.item.reject(Errors.timeout());
    if (nextDeadline !== undefined) this.armDeadline(nextDeadline);
  }

  /** Keep one timer, at the earliest pending deadline (a later, shorter timeout moves it earlier). */
  private armDeadline(deadline: bigint): void {
    if (this.deadlineTimer && this.deadlineArmedFor !== undefined && this.deadlineArmedFor <= deadline) return;
    clearTimeout(this.deadlineTimer);
    this.deadlineArmedFor = deadline;
    const waitMs = timerDelay(Number(deadline - process.hrtime.bigint()) / 1e6);
    this.deadlineTimer = setTimeout(() => {
      this.deadlineTimer = undefined;
      this.deadlineArmedFor = undefined;
      this.dispatch();
    }, waitMs);
    this.deadlineTimer.unref();
  }

  /**
   * The next batch to run; undefined while the batcher waits (max_queue_delay) for a fuller one, or, with
   * `onlyFull`, when the queue holds no full batch. Requests whose client has gone are taken out first and answered
   * CANCELLED without running, as Triton's dynamic batcher removes cancelled requests before it forms a batch
   * (docs/user_guide/request_cancellation.md): they count toward neither its size nor its max_queue_delay clock.
   */
  private takeBatch(mayWait = true, onlyFull = false): QueueEntry<Waiting>[] | undefined {
    const cancelled: QueueEntry<Waiting>[] = [];
    const picked: QueueEntry<Waiting>[] = [];
    let size = 0;
    let blocked = false;
    for (const entry of this.queue.inOrder()) {
      if (isCancelled(entry)) {
        cancelled.push(entry);
        continue;
      }
      const job = entry.item.job;
      if (picked.length === 0) {
        picked.push(entry);
        size = job.batchSize;
        if (!this.batching.enabled || (job.sink && !this.batchesStreams)) break;
        continue;
      }
      const lead = picked[0].item.job;
      // Streams are never merged, so their shapes need not match (Triton's python backend gets them as separate requests).
      const joins = job.sink ? lead.sink !== undefined : !lead.sink && canShareBatch(lead.inputs, job.inputs);
      if (!joins || size + job.batchSize > this.batching.maxBatchSize) {
        blocked = true; // the next request cannot join: waiting gains nothing
        break;
      }
      picked.push(entry);
      size += job.batchSize;
    }
    if (cancelled.length > 0) {
      this.queue.remove(cancelled);
      for (const entry of cancelled) entry.item.reject(Errors.requestCancelled(entry.item.job.requestId));
    }
    if (picked.length === 0 || !this.ready(picked[0], size, blocked, mayWait, onlyFull)) return undefined;
    this.queue.remove(picked);
    return picked;
  }

  /** Whether a batch of `size` led by `first` runs now, rather than wait for a fuller one (arms the delay then). */
  private ready(first: QueueEntry<Waiting>, size: number, blocked: boolean, mayWait: boolean, onlyFull: boolean): boolean {
    if (!this.batching.enabled || (first.item.job.sink && !this.batchesStreams)) return true;
    const full = size >= this.batching.maxBatchSize || this.batching.preferredBatchSizes.includes(size);
    if (onlyFull && !full) return false;
    if (!full && !blocked && !this.flushing && this.batching.maxQueueDelayNs > 0) {
      if (!mayWait) return false;
      const waitedNs = Number(process.hrtime.bigint() - first.enqueuedAt);
      const remainingNs = this.batching.maxQueueDelayNs - waitedNs;
      if (remainingNs > 0) {
        this.armDelay(remainingNs);
        return false;
      }
    }
    return true;
  }

  private armDelay(remainingNs: number): void {
    if (this.delayArmed) return;
    this.delayArmed = true;
    const fire = () => {
      this.delayArmed = false;
      this.dispatch();
    };
    // Timers have millisecond resolution; a shorter wait is re-checked on the next turn of the event loop instead.
    if (remainingNs < 1e6) setImmediate(fire);
    else setTimeout(fire, timerDelay(remainingNs / 1e6)).unref();
  }

  private async execute(instance: BackendInstance, batches: QueueEntry<Waiting>[][]): Promise<void> {
    const count = batches.reduce((sum, batch) => sum + batch.length, 0);
    this.running += count;
    this.busy.set(instance, (this.busy.get(instance) ?? 0) + 1);
    const seq = this.nextBatchSeq++;
    const startedAt = process.hrtime.bigint();
    let outcomes: Outcome[][];
    try {
      const requests = batches.map((batch) => executionRequestOf(batch));
      const settled =
        requests.length === 1 || !instance.executeMany
          ? await Promise.allSettled([this.executeOne(instance, batches[0], requests[0])])
          : await instance.executeMany(requests);
      outcomes = batches.map((batch, i) => outcomesOf(batch, settled[i], startedAt, this.onExecution));
    } catch (error) {
      const failure = toInferenceError(error);
      outcomes = batches.map((batch) => failedOutcomes(batch, failure));
    }
    this.free.push(instance);
    this.busy.set(instance, (this.busy.get(instance) ?? 1) - 1);
    const settle = () => {
      batches.forEach((batch, b) => settleOutcomes(batch, outcomes[b]));
      this.running -= count;
    };
    if (this.batching.preserveOrdering) this.releaseInOrder(seq, settle);
    else settle();
    this.dispatch();
  }

  /**
   * A batch of decoupled requests in one execution (executeDecoupledBatch), unmerged: each request is answered as its
   * own stream ends (its final flag), the instance is free once all have.
   */
  private async executeStreams(instance: BackendInstance, batch: QueueEntry<Waiting>[]): Promise<void> {
    this.running += batch.length;
    this.busy.set(instance, (this.busy.get(instance) ?? 0) + 1);
    const seq = this.nextBatchSeq++;
    const startedAt = process.hrtime.bigint();
    const jobs = batch.map((entry) => entry.item.job);
    const batchSize = batchSizeOf(jobs);
    let results: Array<Promise<ExecutionResult>>;
    try {
      results = instance.executeDecoupledBatch!(
        jobs.map((job) => ({ inputs: job.inputs, outputNames: job.outputNames, sink: job.sink!, request: requestContext(job) })),
      );
    } catch (error) {
      results = jobs.map(() => Promise.reject(error));
    }
    let executed: ExecutionTimings | undefined;
    const settles: Array<() => void> = [];
    await Promise.all(
      results.map(async (result, i) => {
        const entry = batch[i];
        let settle: () => void;
        try {
          const value = await result;
          const timings = executionTimings(batchSize, value);
          executed ??= timings;
          if (entry.item.job.trace) captureCompute(entry.item.job.trace, startedAt, process.hrtime.bigint(), timings);
          const answer: JobResult = { outputs: [], queueNs: Number(startedAt - entry.enqueuedAt), timings };
          settle = () => entry.item.resolve(answer);
        } catch (error) {
          const failure = toInferenceError(error);
          settle = () => entry.item.reject(failure);
        }
        // Each request is answered when its stream ends, unless answers must keep the batches' order.
        if (!this.batching.preserveOrdering) {
          settle();
          this.running -= 1;
        } else settles[i] = settle;
      }),
    );
    if (executed) this.onExecution(executed);
    this.free.push(instance);
    this.busy.set(instance, (this.busy.get(instance) ?? 1) - 1);
    if (this.batching.preserveOrdering) {
      this.releaseInOrder(seq, () => {
        for (const settle of settles) settle();
        this.running -= batch.length;
      });
    }
    this.dispatch();
  }

  /** One execution; a streaming job (decoupled model) that runs alone goes through executeDecoupled. */
  private executeOne(instance: BackendInstance, batch: QueueEntry<Waiting>[], request: ExecutionRequest): Promise<ExecutionResult> {
    // A request that runs alone is shown to the backend as itself (id, parameters, sequence); a merged batch is not.
    const alone = batch.length === 1 ? batch[0].item.job : undefined;
    const context = alone && requestContext(alone);
    if (!alone?.sink) return instance.execute(request.inputs, request.outputNames, context);
    if (!instance.executeDecoupled) return Promise.reject(Errors.decoupledBackendUnsupported());
    return instance.executeDecoupled(request.inputs, request.outputNames, alone.sink, context);
  }

  private releaseInOrder(seq: number, settle: () => void): void {
    this.finished.set(seq, settle);
    while (this.finished.has(this.nextToRelease)) {
      const release = this.finished.get(this.nextToRelease)!;
      this.finished.delete(this.nextToRelease);
      this.nextToRelease += 1;
      release();
    }
  }

  private wakeDrainWaiters(): void {
    if (this.pendingCount !== 0 || this.drainWaiters.length === 0) return;
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const wake of waiters) wake();
  }
}

function isCancelled(entry: QueueEntry<Waiting>): boolean {
  return entry.item.job.signal?.aborted === true;
}
