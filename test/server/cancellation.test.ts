/** Cancellation, the per-request signal the frontends set when a client goes away (an AbortSignal's reading part). */
import { Cancellation } from '../../server/core/cancellation';
import { StepInflightLimiter } from '../../server/scheduler/step-inflight-limiter';

test('listeners run once, in the order added; a removed one does not run; cancel is idempotent', () => {
  const cancellation = new Cancellation();
  const calls: string[] = [];
  const removed = () => calls.push('removed');
  cancellation.addEventListener('abort', () => calls.push('first'));
  cancellation.addEventListener('abort', removed);
  cancellation.addEventListener('abort', () => calls.push('second'), { once: true });
  cancellation.removeEventListener('abort', removed);
  expect(cancellation.aborted).toBe(false);
  cancellation.cancel();
  cancellation.cancel();
  expect(cancellation.aborted).toBe(true);
  expect(calls).toEqual(['first', 'second']);
  // As an aborted AbortSignal: a listener added afterwards never runs.
  cancellation.addEventListener('abort', () => calls.push('late'));
  cancellation.cancel();
  expect(calls).toEqual(['first', 'second']);
});

test('serves where an AbortSignal does: a backpressure waiter leaves the queue when it is cancelled', async () => {
  const limiter = new StepInflightLimiter(1);
  await limiter.acquire();
  const cancellation = new Cancellation();
  const waiter = limiter.acquire(cancellation);
  expect(limiter.waitingCount).toBe(1);
  cancellation.cancel();
  await expect(waiter).resolves.toBe(false);
  expect([limiter.inflightCount, limiter.waitingCount]).toEqual([1, 0]);
});
