import { Errors, InferenceError } from '../core/errors';

/** Triton's ModelQueuePolicy, in nanoseconds. */
export interface QueuePolicy {
  readonly timeoutAction: 'REJECT' | 'DELAY';
  /** 0: no timeout. */
  readonly defaultTimeoutNs: number;
  readonly allowTimeoutOverride: boolean;
  /** 0: unbounded. */
  readonly maxQueueSize: number;
}

export const UNBOUNDED_QUEUE: QueuePolicy = {
  timeoutAction: 'REJECT',
  defaultTimeoutNs: 0,
  allowTimeoutOverride: false,
  maxQueueSize: 0,
};

export interface PriorityPolicy {
  /** 0: one level. Otherwise levels 1..priorityLevels, 1 the most urgent. */
  readonly priorityLevels: number;
  /** Level of requests that give no priority (0). */
  readonly defaultPriorityLevel: number;
  readonly defaultQueuePolicy: QueuePolicy;
  /** Policies of individual levels, overriding the default. */
  readonly levelPolicies: ReadonlyMap<number, QueuePolicy>;
}

export interface QueueEntry<T> {
  readonly item: T;
  readonly level: number;
  readonly enqueuedAt: bigint;
  /** Absolute hrtime deadline in ns; undefined: none. */
  readonly deadline?: bigint;
  /** Set once the deadline passed under timeout_action DELAY: served after every undelayed request. */
  delayed: boolean;
}

/** expire()'s answer while no entry has a deadline (never written: callers only read it). */
const NOTHING_EXPIRED: { rejected: never[]; nextDeadline?: bigint } = { rejected: [] };

/** One priority level: its queue, then its requests delayed past their timeout (timeout_action DELAY). */
interface Level<T> {
  readonly key: number;
  queue: QueueEntry<T>[];
  readonly delayed: QueueEntry<T>[];
}

/**
 * Per-priority FIFO queues with Triton's queue policies: size limits, timeouts that REJECT or DELAY, and
 * per-request priority and timeout overrides. As Triton's PriorityQueue, each level keeps its delayed requests behind
 * its own queue: "delay the request until all other requests at the same (or higher) priority levels that have not
 * reached their timeouts are processed" (model_config.proto), so a delayed request still goes before every request of
 * a less urgent level; and a level's max_queue_size counts its delayed requests too.
 */
export class PriorityRequestQueue<T> {
  private readonly levels = new Map<number, Level<T>>();
  /** Levels in service order (most urgent first), kept sorted as levels appear. */
  private readonly order: Level<T>[] = [];
  private count = 0;
  /** Entries with a deadline: while none has one (no timeouts configured or asked), expire() has nothing to do. */
  private withDeadline = 0;
  /** Delayed entries, in all levels. */
  private delayedCount = 0;

  constructor(private readonly policy: PriorityPolicy) {}

  get size(): number {
    return this.count;
  }

  /** Resolve a request's level and deadline and queue it; throws Triton's error when the level is full. */
  push(item: T, priority: number | undefined, timeoutUs: number | undefined, now: bigint): QueueEntry<T> {
    const level = this.levelOf(priority);
    const policy = this.policyOf(level);
    const queue = this.levelAt(level);
    if (policy.maxQueueSize > 0 && queue.queue.length + queue.delayed.length >= policy.maxQueueSize) throw Errors.queueFull();
    let timeoutNs = policy.defaultTimeoutNs;
    if (timeoutUs !== undefined && timeoutUs > 0 && (policy.allowTimeoutOverride || policy.defaultTimeoutNs === 0)) {
      timeoutNs = timeoutUs * 1000;
    }
    const entry: QueueEntry<T> = {
      item,
      level,
      enqueuedAt: now,
      deadline: timeoutNs > 0 ? now + BigInt(Math.round(timeoutNs)) : undefined,
      delayed: false,
    };
    queue.queue.push(entry);
    this.count += 1;
    if (entry.deadline !== undefined) this.withDeadline += 1;
    return entry;
  }

  /**
   * Entries in service order: most urgent level first, in each its queue FIFO, then its delayed requests. Not to be
   * kept across a change of the queue. With one level and nothing delayed (the common case) that is the level's own
   * array: no generator per batch taken.
   */
  inOrder(): Iterable<QueueEntry<T>> {
    if (this.order.length === 1 && this.delayedCount === 0) return this.order[0].queue;
    return this.allInOrder();
  }

  private *allInOrder(): Generator<QueueEntry<T>> {
    for (const level of this.order) {
      yield* level.queue;
      yield* level.delayed;
    }
  }

  /** Remove the given entries (taken for a batch). */
  remove(entries: readonly QueueEntry<T>[]): void {
    for (const entry of entries) {
      if (entry.deadline !== undefined) this.withDeadline -= 1;
      if (entry.delayed) this.delayedCount -= 1;
    }
    this.count -= entries.length;
    // A batch is usually the head of its level's queue, in order: take it off the front.
    const first = entries[0];
    const queue = first && !first.delayed ? this.levels.get(first.level)?.queue : undefined;
    if (queue && entries.length <= queue.length && entries.every((entry, i) => queue[i] === entry)) {
      queue.splice(0, entries.length);
      return;
    }
    const taken = new Set(entries);
    for (const level of this.order) {
      level.queue = level.queue.filter((e) => !taken.has(e));
      const delayed = level.delayed.filter((e) => !taken.has(e));
      level.delayed.length = 0;
      level.delayed.push(...delayed);
    }
  }

  /**
   * Apply deadlines: entries past theirs are removed and returned (REJECT) or moved behind the others of their level
   * (DELAY). Returns the rejected entries and the next deadline still pending.
   */
  expire(now: bigint): { rejected: QueueEntry<T>[]; nextDeadline?: bigint } {
    if (this.withDeadline === 0) return NOTHING_EXPIRED;
    const rejected: QueueEntry<T>[] = [];
    let nextDeadline: bigint | undefined;
    for (const level of this.order) {
      const policy = this.policyOf(level.key);
      const kept: QueueEntry<T>[] = [];
      for (const entry of level.queue) {
        if (entry.deadline !== undefined && entry.deadline <= now) {
          if (policy.timeoutAction === 'REJECT') rejected.push(entry);
          else {
            entry.delayed = true;
            level.delayed.push(entry);
            this.delayedCount += 1;
          }
          continue;
        }
        if (entry.deadline !== undefined && (nextDeadline === undefined || entry.deadline < nextDeadline)) {
          nextDeadline = entry.deadline;
        }
        kept.push(entry);
      }
      level.queue = kept;
    }
    this.count -= rejected.length;
    this.withDeadline -= rejected.length;
    return { rejected, nextDeadline };
  }

  private levelOf(priority: number | undefined): number {
    if (this.policy.priorityLevels === 0) return 0;
    if (priority === undefined || priority === 0) return this.policy.defaultPriorityLevel;
    if (!Number.isInteger(priority) || priority < 0 || priority > this.policy.priorityLevels) {
      throw invalidPriority(priority, this.policy.priorityLevels);
    }
    return priority;
  }

  private policyOf(level: number): QueuePolicy {
    return this.policy.levelPolicies.get(level) ?? this.policy.defaultQueuePolicy;
  }

  private levelAt(key: number): Level<T> {
    let level = this.levels.get(key);
    if (!level) {
      level = { key, queue: [], delayed: [] };
      this.levels.set(key, level);
      let at = this.order.length;
      while (at > 0 && this.order[at - 1].key > key) at--;
      this.order.splice(at, 0, level);
    }
    return level;
  }
}

function invalidPriority(priority: number, levels: number): InferenceError {
  return Errors.invalidRequest(`invalid priority ${priority}: the model has priority levels 1 to ${levels}`);
}
