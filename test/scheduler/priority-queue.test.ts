import { PriorityRequestQueue, UNBOUNDED_QUEUE } from '../../server/scheduler/priority-queue';
import { InferenceError } from '../../server/core/errors';

const policy = (over: Partial<ConstructorParameters<typeof PriorityRequestQueue>[0]> = {}) => ({
  priorityLevels: 3,
  defaultPriorityLevel: 2,
  defaultQueuePolicy: UNBOUNDED_QUEUE,
  levelPolicies: new Map(),
  ...over,
});

describe('PriorityRequestQueue', () => {
  it('serves the most urgent level first and FIFO within a level', () => {
    const q = new PriorityRequestQueue<string>(policy());
    q.push('default-a', undefined, undefined, 0n);
    q.push('low', 3, undefined, 1n);
    q.push('urgent', 1, undefined, 2n);
    q.push('default-b', 0, undefined, 3n);
    expect([...q.inOrder()].map((e) => e.item)).toEqual(['urgent', 'default-a', 'default-b', 'low']);
    expect(q.size).toBe(4);
  });

  it('refuses a priority outside the levels with INVALID_ARG', () => {
    const q = new PriorityRequestQueue<string>(policy());
    expect(() => q.push('x', 4, undefined, 0n)).toThrow(InferenceError);
    expect(() => q.push('x', 1.5, undefined, 0n)).toThrow(/priority/);
  });

  it('rejects with "Exceeds maximum queue size" when a level is full', () => {
    const q = new PriorityRequestQueue<string>(
      policy({ levelPolicies: new Map([[1, { ...UNBOUNDED_QUEUE, maxQueueSize: 1 }]]) }),
    );
    q.push('a', 1, undefined, 0n);
    let error: unknown;
    try {
      q.push('b', 1, undefined, 0n);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InferenceError);
    expect((error as InferenceError).code).toBe('UNAVAILABLE');
    expect((error as InferenceError).message).toBe('Exceeds maximum queue size');
    expect((error as InferenceError).failureReason).toBe('REJECTED');
    q.push('c', 2, undefined, 0n); // other levels are unaffected
  });

  it('expires REJECT entries and delays DELAY entries behind the rest of their level, as Triton', () => {
    const q = new PriorityRequestQueue<string>(
      policy({
        defaultQueuePolicy: { ...UNBOUNDED_QUEUE, defaultTimeoutNs: 1000 },
        levelPolicies: new Map([[1, { ...UNBOUNDED_QUEUE, defaultTimeoutNs: 1000, timeoutAction: 'DELAY' as const }]]),
      }),
    );
    q.push('urgent-delayed', 1, undefined, 0n);
    q.push('default-rejected', 2, undefined, 0n);
    q.push('late', 2, undefined, 5000n);
    const { rejected, nextDeadline } = q.expire(2000n);
    expect(rejected.map((e) => e.item)).toEqual(['default-rejected']);
    expect(nextDeadline).toBe(6000n);
    // model_config.proto: DELAY waits for the requests "at the same (or higher) priority levels", not for less urgent ones.
    expect([...q.inOrder()].map((e) => e.item)).toEqual(['urgent-delayed', 'late']);
    expect(q.size).toBe(2);
    q.push('urgent-new', 1, undefined, 2000n);
    expect([...q.inOrder()].map((e) => e.item)).toEqual(['urgent-new', 'urgent-delayed', 'late']);
  });

  it("counts a level's delayed requests against its max_queue_size, as Triton", () => {
    const q = new PriorityRequestQueue<string>(
      policy({ priorityLevels: 0, defaultQueuePolicy: { ...UNBOUNDED_QUEUE, defaultTimeoutNs: 1000, timeoutAction: 'DELAY' as const, maxQueueSize: 2 } }),
    );
    q.push('a', undefined, undefined, 0n);
    q.expire(5000n);
    q.push('b', undefined, undefined, 5000n);
    expect([...q.inOrder()].map((e) => e.item)).toEqual(['b', 'a']);
    expect(() => q.push('c', undefined, undefined, 5000n)).toThrow(/Exceeds maximum queue size/);
  });

  it('lets a request shorten its timeout only when the policy allows it (or has none)', () => {
    const strict = new PriorityRequestQueue<string>(
      policy({ priorityLevels: 0, defaultQueuePolicy: { ...UNBOUNDED_QUEUE, defaultTimeoutNs: 10_000_000 } }),
    );
    expect(strict.push('a', undefined, 5, 0n).deadline).toBe(10_000_000n);
    const open = new PriorityRequestQueue<string>(
      policy({
        priorityLevels: 0,
        defaultQueuePolicy: { ...UNBOUNDED_QUEUE, defaultTimeoutNs: 10_000_000, allowTimeoutOverride: true },
      }),
    );
    expect(open.push('a', undefined, 5, 0n).deadline).toBe(5000n);
    const none = new PriorityRequestQueue<string>(policy({ priorityLevels: 0 }));
    expect(none.push('a', undefined, 7, 0n).deadline).toBe(7000n);
    expect(none.push('b', undefined, undefined, 0n).deadline).toBeUndefined();
  });

  it('remove keeps the order and the size right', () => {
    const q = new PriorityRequestQueue<number>(policy());
    const entries = [1, 2, 3].map((n) => q.push(n, undefined, undefined, 0n));
    q.remove([entries[1]]);
    expect([...q.inOrder()].map((e) => e.item)).toEqual([1, 3]);
    expect(q.size).toBe(2);
  });
});
