/**
 * Decoupled requests (each with its own response sink) in dynamic batches: a backend with executeDecoupledBatch gets a
 * batch of them unmerged in one call, each request is answered when its own stream ends, and the instance stays busy
 * until every stream of the batch has. Without dynamic_batching each still runs alone.
 */
import type { BackendInstance, DecoupledRun, ExecutionResult } from '../../server/backends/backend';
import { Cancellation } from '../../server/core/cancellation';
import { Errors, InferenceError } from '../../server/core/errors';
import type { StreamedResponse } from '../../server/core/streaming';
import type { Tensor } from '../../server/core/tensor';
import { BatchingPolicy, InstancePoolScheduler } from '../../server/scheduler/instance-pool-scheduler';
import type { SchedulerJob } from '../../server/scheduler/scheduler';
import { afterDispatch, int32Input } from './gated-instance';

const HOUR_NS = 3600e9;
/** A batch runs once it reaches the preferred size; a lone request would wait the hour (drain() flushes it). */
const batching: BatchingPolicy = { enabled: true, maxBatchSize: 8, preferredBatchSizes: [2], maxQueueDelayNs: HOUR_NS, preserveOrdering: false };

interface OpenRun {
  readonly run: DecoupledRun;
  end(error?: InferenceError): void;
}

const TIMINGS = { outputs: [], computeInputNs: 1, computeInferNs: 2, computeOutputNs: 3 };

/** Test double: records each decoupled execution; the test ends each request's stream. */
class StreamInstance implements BackendInstance {
  readonly name = 'streams';
  /** The runs of each execution, in call order (one run: executeDecoupled). */
  readonly executions: OpenRun[][] = [];

  execute(): Promise<ExecutionResult> {
    return Promise.reject(new Error('only decoupled requests here'));
  }

  executeDecoupled(inputs: Tensor[], outputNames: readonly string[], sink: DecoupledRun['sink']): Promise<ExecutionResult> {
    return this.executeDecoupledBatch([{ inputs, outputNames, sink }])[0];
  }

  executeDecoupledBatch(runs: readonly DecoupledRun[]): Array<Promise<ExecutionResult>> {
    const open: OpenRun[] = [];
    const results = runs.map(
      (run) => new Promise<ExecutionResult>((resolve, reject) => open.push({ run, end: (error) => (error ? reject(error) : resolve(TIMINGS)) })),
    );
    this.executions.push(open);
    return results;
  }

  async close(): Promise<void> {}
}

function streamJob(value: number, responses: Array<[number, StreamedResponse | undefined, boolean]>, signal?: Cancellation): SchedulerJob {
  return {
    inputs: [int32Input([value])],
    outputNames: ['OUTPUT0'],
    batchSize: 1,
    requestId: `r${value}`,
    sink: (response, final) => responses.push([value, response, final]),
    ...(signal ? { signal } : {}),
  };
}

const valueOf = (run: DecoupledRun) => (run.inputs[0].data as Int32Array)[0];

it('two decoupled requests run in one execution, unmerged, each answered when its own stream ends', async () => {
  const instance = new StreamInstance();
  const scheduler = new InstancePoolScheduler([instance], batching);
  const responses: Array<[number, StreamedResponse | undefined, boolean]> = [];
  const first = scheduler.enqueue(streamJob(1, responses));
  const second = scheduler.enqueue(streamJob(2, responses));
  await afterDispatch();
  expect(instance.executions).toHaveLength(1);
  const [a, b] = instance.executions[0];
  expect([valueOf(a.run), valueOf(b.run)]).toEqual([1, 2]);
  // Each request keeps its own identity (Python's request_id()) and its own sink.
  expect([a.run.request?.requestId, b.run.request?.requestId]).toEqual(['r1', 'r2']);
  a.run.sink({ error: Errors.pythonResponseError('INTERNAL', 'failed') }, true);
  b.run.sink({ outputs: [] }, true);
  expect(responses.map(([value, response, final]) => [value, response && 'error' in response, final])).toEqual([
    [1, true, true],
    [2, false, true],
  ]);

  // The second request's stream ends first: it is answered while the first's is still open, and the instance stays
  // busy, so a third request waits in the queue.
  b.end();
  const answered = await second;
  expect(answered.outputs).toEqual([]);
  expect(answered.timings.batchSize).toBe(2);
  const third = scheduler.enqueue(streamJob(3, responses));
  const fourth = scheduler.enqueue(streamJob(4, responses));
  await afterDispatch();
  expect(instance.executions).toHaveLength(1);
  expect(scheduler.queuedCount).toBe(2);

  a.end();
  await first;
  await afterDispatch();
  expect(instance.executions.map((runs) => runs.map((open) => valueOf(open.run)))).toEqual([
    [1, 2],
    [3, 4],
  ]);
  for (const open of instance.executions[1]) open.end();
  await Promise.all([third, fourth]);
  expect(scheduler.pendingCount).toBe(0);
});

it('one failing request of a batch fails only itself', async () => {
  const instance = new StreamInstance();
  const scheduler = new InstancePoolScheduler([instance], batching);
  const jobs = [5, 6].map((value) => scheduler.enqueue(streamJob(value, [])).catch((error: InferenceError) => error.message));
  await afterDispatch();
  const [a, b] = instance.executions[0];
  a.end(Errors.pythonExecuteFailed('boom'));
  b.end();
  const [failed, ok] = await Promise.all(jobs);
  expect(failed).toMatch(/boom/);
  expect(ok).toMatchObject({ outputs: [] });
});

it('cancelled requests are taken out before the batch forms; they neither run nor count toward its size', async () => {
  const instance = new StreamInstance();
  const scheduler = new InstancePoolScheduler([instance], batching);
  const gone = new Cancellation();
  const cancelled = scheduler.enqueue(streamJob(7, [], gone)).catch((error: InferenceError) => error.code);
  const kept = [8, 9].map((value) => scheduler.enqueue(streamJob(value, [], new Cancellation())));
  gone.cancel();
  await afterDispatch();
  expect(await cancelled).toBe('CANCELLED');
  expect(instance.executions.map((runs) => runs.map((open) => valueOf(open.run)))).toEqual([[8, 9]]);
  // Each request still carries its own signal to the backend (Python's request.is_cancelled()).
  expect(instance.executions[0].every((open) => open.run.request?.signal?.aborted === false)).toBe(true);
  for (const open of instance.executions[0]) open.end();
  await Promise.all(kept);
});

it('without dynamic_batching each decoupled request runs alone, one at a time', async () => {
  const instance = new StreamInstance();
  const scheduler = new InstancePoolScheduler([instance], { ...batching, enabled: false });
  const jobs = [1, 2].map((value) => scheduler.enqueue(streamJob(value, [])));
  await afterDispatch();
  expect(instance.executions.map((runs) => runs.length)).toEqual([1]);
  instance.executions[0][0].end();
  await afterDispatch();
  expect(instance.executions.map((runs) => runs.length)).toEqual([1, 1]);
  instance.executions[1][0].end();
  await Promise.all(jobs);
});

it('preserve_ordering: a batch of streams is answered in order, after the batch before it', async () => {
  const instance = new StreamInstance();
  const scheduler = new InstancePoolScheduler([instance], { ...batching, preserveOrdering: true });
  const order: number[] = [];
  const jobs = [1, 2].map((value) => scheduler.enqueue(streamJob(value, [])).then(() => order.push(value)));
  await afterDispatch();
  const [a, b] = instance.executions[0];
  b.end();
  a.end();
  await Promise.all(jobs);
  expect(order).toEqual([1, 2]);
});
