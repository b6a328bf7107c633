import { InstancePoolScheduler, SINGLE_LEVEL } from '../../server/scheduler/instance-pool-scheduler';
import { UNBOUNDED_QUEUE } from '../../server/scheduler/priority-queue';
import { InferenceError } from '../../server/core/errors';
import { MAX_TIMER_DELAY_MS, timerDelay } from '../../server/core/promises';
import { GatedInstance, int32Input, afterDispatch } from './gated-instance';

const batching = { enabled: true, maxBatchSize: 8, preferredBatchSizes: [], maxQueueDelayNs: 0, preserveOrdering: false };
/** One gated instance behind a scheduler whose queue lets requests set their own timeout. */
function timeoutScheduler(): { instance: GatedInstance; scheduler: InstancePoolScheduler } {
  const instance = new GatedInstance();
  const scheduler = new InstancePoolScheduler([instance], batching, {
    ...SINGLE_LEVEL,
    defaultQueuePolicy: { ...UNBOUNDED_QUEUE, allowTimeoutOverride: true },
  });
  return { instance, scheduler };
}
const job = (values: number[], extra: { priority?: number; timeoutUs?: number } = {}) => ({
  inputs: [int32Input(values, 1)],
  outputNames: ['OUTPUT0'],
  batchSize: 1,
  ...extra,
});

describe('InstancePoolScheduler', () => {
  it('merges queued requests into one batch and splits the outputs back per request', async () => {
    const instance = new GatedInstance();
    const scheduler = new InstancePoolScheduler([instance], batching);
    const first = scheduler.enqueue(job([1, 2]));
    await afterDispatch();
    const rest = [3, 4, 5].map((n) => scheduler.enqueue(job([n, n + 100])));
    expect(scheduler.pendingCount).toBe(4);
    instance.openOne(); // first runs alone; the three behind it are merged into the next execution
    await afterDispatch();
    instance.openOne();
    const results = await Promise.all([first, ...rest]);
    expect(instance.executions.map((inputs) => inputs[0].shape)).toEqual([
      [1, 2],
      [3, 2],
    ]);
    expect(results.map((r) => Array.from(r.outputs[0].data as Int32Array))).toEqual([
      [2, 4],
      [6, 206],
      [8, 208],
      [10, 210],
    ]);
    expect(results[1].timings.batchSize).toBe(3);
    expect(scheduler.pendingCount).toBe(0);
  });

  it('a queued request whose client has gone is answered CANCELLED without running; the others batch as before', async () => {
    const instance = new GatedInstance();
    const scheduler = new InstancePoolScheduler([instance], batching);
    const first = scheduler.enqueue(job([1, 2]));
    await afterDispatch();
    const client = new AbortController();
    const gone = scheduler.enqueue({ ...job([3, 4]), requestId: 'r7', signal: client.signal });
    const rest = [5, 6].map((n) => scheduler.enqueue(job([n, n])));
    client.abort();
    instance.openOne();
    await expect(gone).rejects.toMatchObject({ code: 'CANCELLED', failureReason: 'CANCELED', message: '[request id: r7] request cancelled: its client has gone' });
    await afterDispatch();
    instance.openOne();
    const results = await Promise.all([first, ...rest]);
    // The cancelled request never reached the instance: the two behind it ran as one batch of 2.
    expect(instance.executions.map((inputs) => inputs[0].shape)).toEqual([
      [1, 2],
      [2, 2],
    ]);
    expect(results.map((r) => Array.from(r.outputs[0].data as Int32Array))).toEqual([[2, 4], [10, 10], [12, 12]]);
    expect(scheduler.pendingCount).toBe(0);
  });

  it('a cancelled request does not count toward a batch: the batcher still waits for live requests to fill it', async () => {
    const instance = new GatedInstance();
    instance.autoOpen = true;
    // An hour's delay: only live requests that fill the batch of 2 can start an execution.
    const scheduler = new InstancePoolScheduler([instance], { ...batching, maxBatchSize: 2, maxQueueDelayNs: 3600e9 });
    const client = new AbortController();
    const gone = scheduler.enqueue({ ...job([1]), signal: client.signal });
    client.abort();
    const b = scheduler.enqueue(job([2]));
    await expect(gone).rejects.toMatchObject({ code: 'CANCELLED' });
    await afterDispatch();
    // Counted, the cancelled request would have "filled" the batch and sent b alone.
    expect(instance.executions).toHaveLength(0);
    const c = scheduler.enqueue(job([3]));
    expect((await Promise.all([b, c])).map((r) => Array.from(r.outputs[0].data as Int32Array))).toEqual([[4], [6]]);
    expect(instance.executions.map((inputs) => inputs[0].shape)).toEqual([[2, 1]]);
    expect(scheduler.pendingCount).toBe(0);
  });

  it('a queue holding only cancelled requests runs nothing and lets a drain finish', async () => {
    const instance = new GatedInstance();
    const scheduler = new InstancePoolScheduler([instance], { ...batching, enabled: false });
    const first = scheduler.enqueue(job([1]));
    await afterDispatch();
    const client = new AbortController();
    const gone = [2, 3].map((n) => scheduler.enqueue({ ...job([n]), signal: client.signal }).catch((error: InferenceError) => error.code));
    client.abort();
    const drained = scheduler.drain();
    instance.openOne();
    await first;
    expect(await Promise.all(gone)).toEqual(['CANCELLED', 'CANCELLED']);
    await drained;
    expect(instance.executions).toHaveLength(1);
  });

  it('never exceeds max_batch_size and runs each request alone without batching', async () => {
    const instance = new GatedInstance();
    instance.autoOpen = true;
    const small = new InstancePoolScheduler([instance], { ...batching, maxBatchSize: 2 });
    await Promise.all([1, 2, 3, 4, 5].map((n) => small.enqueue(job([n]))));
    expect(Math.max(...instance.executions.map((inputs) => inputs[0].shape[0]))).toBeLessThanOrEqual(2);

    const alone = new GatedInstance();
    alone.autoOpen = true;
    const plain = new InstancePoolScheduler([alone], { ...batching, enabled: false });
    await Promise.all([1, 2, 3].map((n) => plain.enqueue(job([n]))));
    expect(alone.executions.map((inputs) => inputs[0].shape[0])).toEqual([1, 1, 1]);
  });

  it('holds a partial batch for max_queue_delay and runs it as soon as it is full', async () => {
    const instance = new GatedInstance();
    instance.autoOpen = true;
    // An hour's delay: only the second request, which fills the batch, can start the execution.
    const scheduler = new InstancePoolScheduler([instance], { ...batching, maxBatchSize: 2, maxQueueDelayNs: 3600e9 });
    const a = scheduler.enqueue(job([1]));
    await afterDispatch();
    expect(instance.executions).toHaveLength(0);
    const b = scheduler.enqueue(job([2]));
    await Promise.all([a, b]);
    expect(instance.executions).toHaveLength(1);
    expect(instance.executions[0][0].shape).toEqual([2, 1]);
  });

  it('runs a partial batch alone once max_queue_delay has passed', async () => {
    const instance = new GatedInstance();
    instance.autoOpen = true;
    const scheduler = new InstancePoolScheduler([instance], { ...batching, maxQueueDelayNs: 1_000_000 });
    const result = await scheduler.enqueue(job([7]));
    expect(Array.from(result.outputs[0].data as Int32Array)).toEqual([14]);
    expect(instance.executions.map((inputs) => inputs[0].shape)).toEqual([[1, 1]]);
  });

  it('serves higher priority first', async () => {
    const instance = new GatedInstance();
    const scheduler = new InstancePoolScheduler([instance], { ...batching, enabled: false }, {
      ...SINGLE_LEVEL,
      priorityLevels: 2,
      defaultPriorityLevel: 2,
    });
    const order: string[] = [];
    const blocker = scheduler.enqueue(job([0])).then(() => order.push('blocker'));
    await afterDispatch();
    const low = scheduler.enqueue(job([1])).then(() => order.push('low'));
    const high = scheduler.enqueue(job([2], { priority: 1 })).then(() => order.push('high'));
    for (let i = 0; i < 3; i++) {
      instance.openOne();
      await afterDispatch();
    }
    await Promise.all([blocker, low, high]);
    expect(order).toEqual(['blocker', 'high', 'low']);
  });

  it('rejects a request whose queue timeout expires, with REJECTED accounting', async () => {
    const { instance, scheduler } = timeoutScheduler();
    const running = scheduler.enqueue(job([1]));
    await afterDispatch();
    const expiring = scheduler.enqueue(job([2], { timeoutUs: 1000 }));
    const failure = await expiring.catch((e: InferenceError) => e);
    expect(failure).toBeInstanceOf(InferenceError);
    expect((failure as InferenceError).message).toBe('Request timeout expired');
    expect((failure as InferenceError).failureReason).toBe('REJECTED');
    instance.openOne();
    await running;
    expect(instance.executions).toHaveLength(1);
  });

  it('rejects a short timeout on time even behind a longer one already waiting', async () => {
    const { instance, scheduler } = timeoutScheduler();
    const running = scheduler.enqueue(job([1]));
    await afterDispatch();
    const patient = scheduler.enqueue(job([2], { timeoutUs: 60_000_000 })).catch((e: InferenceError) => e);
    const hasty = scheduler.enqueue(job([3], { timeoutUs: 1000 })).catch((e: InferenceError) => e);
    // The instance stays busy: only the deadline timer can answer the hasty request (else jest's timeout fails the test).
    const outcome = await hasty;
    expect(outcome).toBeInstanceOf(InferenceError);
    expect((outcome as InferenceError).message).toBe('Request timeout expired');
    instance.autoOpen = true;
    instance.openOne();
    await running;
    expect(await patient).not.toBeInstanceOf(InferenceError);
  });

  it('a timeout past what a Node timer holds (~24.8 days) waits quietly: no overflow warning, no 1 ms timer loop', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on('warning', onWarning);
    const delays: number[] = [];
    const realSetTimeout = global.setTimeout;
    const spy = jest.spyOn(global, 'setTimeout').mockImplementation(((fn: () => void, ms?: number) => {
      delays.push(ms ?? 0);
      return realSetTimeout(fn, ms);
    }) as typeof setTimeout);
    try {
      const { instance, scheduler } = timeoutScheduler();
      const running = scheduler.enqueue(job([1]));
      await afterDispatch();
      const thirtyDaysUs = 30 * 24 * 3600 * 1e6;
      const patient = scheduler.enqueue(job([2], { timeoutUs: thirtyDaysUs }));
      await afterDispatch(); // the dispatch after enqueue arms the deadline timer
      // One deadline timer, clamped (an overflowing one fires after 1 ms and re-arms, again and again).
      expect(delays.filter((ms) => ms > 1000)).toEqual([MAX_TIMER_DELAY_MS]);
      instance.autoOpen = true;
      instance.openOne();
      await Promise.all([running, patient]);
    } finally {
      spy.mockRestore();
      process.off('warning', onWarning);
    }
    await afterDispatch();
    expect(warnings).not.toContain('TimeoutOverflowWarning');
  });

  it('timerDelay: at least 1 ms, at most 2^31 - 1', () => {
    expect([timerDelay(0), timerDelay(-5), timerDelay(0.2), timerDelay(1.5), timerDelay(2 ** 40), timerDelay(Infinity), timerDelay(NaN)]).toEqual([
      1,
      1,
      1,
      2,
      MAX_TIMER_DELAY_MS,
      MAX_TIMER_DELAY_MS,
      MAX_TIMER_DELAY_MS,
    ]);
  });

  it('answers in arrival order with preserve_ordering even when instances finish out of order', async () => {
    const a = new GatedInstance('a');
    const b = new GatedInstance('b');
    const scheduler = new InstancePoolScheduler([a, b], { ...batching, enabled: false, preserveOrdering: true });
    const order: number[] = [];
    const first = scheduler.enqueue(job([1])).then(() => order.push(1));
    const second = scheduler.enqueue(job([2])).then(() => order.push(2));
    await afterDispatch();
    // The second request went to instance 'a' (the pool is a stack) or 'b'; finish the later one first.
    const laterInstance = b.executions.length && (b.executions[0][0].data as Int32Array)[0] === 2 ? b : a;
    const earlierInstance = laterInstance === a ? b : a;
    laterInstance.openOne();
    await afterDispatch();
    expect(order).toEqual([]);
    earlierInstance.openOne();
    await Promise.all([first, second]);
    expect(order).toEqual([1, 2]);
  });

  it('drain resolves once accepted work is done; a failing backend fails only its batch', async () => {
    const instance = new GatedInstance();
    const scheduler = new InstancePoolScheduler([instance], batching);
    const pending = scheduler.enqueue(job([1]));
    let drained = false;
    const draining = scheduler.drain().then(() => (drained = true));
    await afterDispatch();
    expect(drained).toBe(false);
    instance.openOne();
    await pending;
    await draining;
    expect(drained).toBe(true);

    const broken = new InstancePoolScheduler(
      [
        {
          name: 'broken',
          execute: () => Promise.reject(new Error('kaboom')),
          close: async () => undefined,
        },
      ],
      batching,
    );
    await expect(broken.enqueue(job([1]))).rejects.toMatchObject({ code: 'INTERNAL', message: 'kaboom' });
    expect(broken.pendingCount).toBe(0);
  });
});
