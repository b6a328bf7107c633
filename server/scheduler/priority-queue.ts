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

/**
 * Per-priority FIFO queues with Triton's queue policies: size limits, timeouts that REJECT or DELAY, and
 * per-request priority and timeout overrides.
 */
export class PriorityRequestQueue<T> {
  private readonly levels = new Map<number, QueueEntry<T>[]>();
  private readonly delayedEntries: QueueEntry<T>[] = [];
  private count = 0;
  /** Entries with a deadline: while none has one (no timeouts configured or asked), expire() has nothing to do. */
  private withDeadline = 0;

  constructor(private readonly policy: PriorityPolicy) {}

  get size(): number {
    return this.count;
  }

  /** Resolve a request's level and deadline and queue it; throws Triton's error when the level is full. */
  push(item: T, priority: number | undefined, timeoutUs: number | undefined, now: bigint): QueueEntry<T> {
    const level = this.levelOf(priority);
    const policy = this.policyOf(level);
    const queue = this.queueOf(level);
    if (policy.maxQueueSize > 0 && queue.length >= policy.maxQueueSize) throw Errors.queueFull();
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
    queue.push(entry);
    this.count += 1;
    if (entry.deadline !== undefined) this.withDeadline += 1;
    return entry;
  }

  /**
   * Entries in service order: most urgent level first, FIFO within a level, delayed ones last. Not to be kept across a
   * change of the queue. With one level and nothing delayed (the common case) that is the level's own array: no
   * generator and no sort per batch taken.
   */
  inOrder(): Iterable<QueueEntry<T>> {
    if (this.levels.size === 1 && this.delayedEntries.length === 0) return this.levels.values().next().value!;
    return this.allInOrder();
  }

  private *allInOrder(): Generator<QueueEntry<T>> {
    for (const level of [...this.levels.keys()].sort((a, b) => a - b)) yield* this.levels.get(level)!;
    yield* this.delayedEntries;
  }

  /** Remove the given entries (taken for a batch). */
  remove(entries: readonly QueueEntry<T>[]): void {
    for (const entry of entries) if (entry.deadline !== undefined) this.withDeadline -= 1;
    this.count -= entries.length;
    // A batch is usually the head of its level's queue, in order: take it off the front.
    const first = entries[0];
    const queue = first && !first.delayed ? this.levels.get(first.level) : undefined;
    if (queue && entries.length <= queue.length && entries.every((entry, i) => queue[i] === entry)) {
      queue.splice(0, entries.length);
      return;
    }
    const taken = new Set(entries);
    for (const [level, queue] of this.levels) this.levels.set(level, queue.filter((e) => !taken.has(e)));
    const remaining = this.delayedEntries.filter((e) => !taken.has(e));
    this.delayedEntries.length = 0;
    this.delayedEntries.push(...remaining);
  }

  /**
   * Apply deadlines: entries past theirs are removed and returned (REJECT) or moved behind the others (DELAY).
   * Returns the rejected entries and the next deadline still pending.
   */
  expire(now: bigint): { rejected: QueueEntry<T>[]; nextDeadline?: bigint } {
    if (this.withDeadline === 0) return NOTHING_EXPIRED;
    const rejected: QueueEntry<T>[] = [];
    let nextDeadline: bigint | undefined;
    for (const [level, queue] of this.levels) {
      const policy = this.policyOf(level);
      const kept: QueueEntry<T>[] = [];
      for (const entry of queue) {
        if (entry.deadline !== undefined && entry.deadline <= now) {
          if (policy.timeoutAction === 'REJECT') rejected.push(entry);
          else {
            entry.delayed = true;
            this.delayedEntries.push(entry);
          }
          continue;
        }
        if (entry.deadline !== undefined && (nextDeadline === undefined || entry.deadline < nextDeadline)) {
          nextDeadline = entry.deadline;
        }
        kept.push(entry);
      }
      this.levels.set(level, kept);
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

  private queueOf(level: number): QueueEntry<T>[] {
    let queue = this.levels.get(level);
    if (!queue) {
      queue = [];
      this.levels.set(level, queue);
    }
    return queue;
  }
}

function invalidPriority(priority: number, levels: number): InferenceError {
  return Errors.invalidRequest(`invalid priority ${priority}: the model has priority levels 1 to ${levels}`);
}
