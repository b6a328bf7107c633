/**
 * Triton's ensemble backpressure (`ensemble_scheduling.max_inflight_requests`): at most N requests to one step's
 * model in flight at once, across all the requests of the ensemble, each held from the send until the model's final
 * response. Checked on the limiter alone and through the ensemble scheduler, with a composing-model runner whose
 * requests finish only when the test lets them (the real composing path is covered by test/server's ensembles).
 */
import { getEventListeners } from 'node:events';
import type { EnsembleStep } from '../../server/config/ensemble-graph';
import type { InferenceError } from '../../server/core/errors';
import type { Tensor } from '../../server/core/tensor';
import type { ComposingModelRunner, StepRequest, StepResult } from '../../server/scheduler/composing-runner';
import { EnsemblePlan } from '../../server/scheduler/ensemble-plan';
import { EnsembleScheduler } from '../../server/scheduler/ensemble-scheduler';
import { StreamingEnsembleRun } from '../../server/scheduler/ensemble-stream';
import type { SchedulerJob } from '../../server/scheduler/scheduler';
import { StepInflightLimiter } from '../../server/scheduler/step-inflight-limiter';

/** Resolves once `condition` holds, checked after each turn of the event loop (no fixed delay). */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setImmediate(resolve));
}

describe('StepInflightLimiter', () => {
  it('lets `limit` holders in, queues the rest first come first served, and hands each freed slot on', async () => {
    const limiter = new StepInflightLimiter(2);
    const order: number[] = [];
    const acquired = [1, 2, 3, 4].map((n) => limiter.acquire().then(() => order.push(n)));
    await Promise.all(acquired.slice(0, 2));
    expect([limiter.inflightCount, limiter.waitingCount]).toEqual([2, 2]);
    limiter.release();
    await acquired[2];
    expect(order).toEqual([1, 2, 3]);
    expect([limiter.inflightCount, limiter.waitingCount]).toEqual([2, 1]);
    limiter.release();
    await acquired[3];
    limiter.release();
    limiter.release();
    expect([limiter.inflightCount, limiter.waitingCount]).toEqual([0, 0]);
    // A release more than was acquired is ignored (Triton logs it as an internal error).
    limiter.release();
    await limiter.acquire();
    expect(limiter.inflightCount).toBe(1);
  });

  it('0 is no limit', async () => {
    const limiter = new StepInflightLimiter(0);
    await Promise.all(Array.from({ length: 100 }, () => limiter.acquire()));
    expect([limiter.inflightCount, limiter.waitingCount]).toEqual([0, 0]);
  });

  it('a wait past its deadline goes ahead over the limit and is reported, as Triton does after 300 s', async () => {
    const reports: number[] = [];
    const limiter = new StepInflightLimiter(1, (inflight) => reports.push(inflight), 1);
    await limiter.acquire();
    await limiter.acquire();
    expect(reports).toEqual([1]);
    expect(limiter.inflightCount).toBe(2);
    // Over the limit, a release frees a slot instead of handing it on.
    limiter.release();
    limiter.release();
    expect(limiter.inflightCount).toBe(0);
  });

  it('a waiter whose signal aborts leaves the queue at once and holds no slot', async () => {
    const limiter = new StepInflightLimiter(1);
    await limiter.acquire();
    const gone = new AbortController();
    const abandoned = limiter.acquire(gone.signal);
    const next = limiter.acquire();
    expect(limiter.waitingCount).toBe(2);
    gone.abort();
    await expect(abandoned).resolves.toBe(false);
    expect([limiter.inflightCount, limiter.waitingCount]).toEqual([1, 1]);
    // The freed slot goes to the waiter behind the one that left.
    limiter.release();
    await expect(next).resolves.toBe(true);
    expect([limiter.inflightCount, limiter.waitingCount]).toEqual([1, 0]);
    // An aborted signal takes no slot, even a free one.
    limiter.release();
    await expect(limiter.acquire(gone.signal)).resolves.toBe(false);
    await expect(limiter.run(() => Promise.resolve('ran'), gone.signal)).resolves.toBeUndefined();
    expect(limiter.inflightCount).toBe(0);
  });

  it('a granted waiter stops listening to its signal, so one request\'s steps do not pile up listeners', async () => {
    const limiter = new StepInflightLimiter(1);
    const client = new AbortController();
    for (let i = 0; i < 3; i += 1) {
      await limiter.acquire(client.signal);
      const waiter = limiter.acquire(client.signal);
      expect(getEventListeners(client.signal, 'abort')).toHaveLength(1);
      limiter.release();
      await expect(waiter).resolves.toBe(true);
      expect(getEventListeners(client.signal, 'abort')).toHaveLength(0);
      limiter.release();
    }
    expect(limiter.inflightCount).toBe(0);
  });

  it('run() frees the slot when the work fails', async () => {
    const limiter = new StepInflightLimiter(1);
    await expect(limiter.run(() => Promise.reject(new Error('step failed')))).rejects.toThrow('step failed');
    expect(limiter.inflightCount).toBe(0);
  });
});

/**
 * Test double of the composing models, for this scheduler test only: each step request (OUT = IN + 1) waits until
 * the test releases it; a decoupled model answers `count` responses, `count` being its input value.
 */
class GatedRunner implements ComposingModelRunner {
  readonly open = new Map<string, Array<() => void>>();
  readonly inflight = new Map<string, number>();
  readonly peak = new Map<string, number>();

  constructor(private readonly decoupled: ReadonlySet<string> = new Set()) {}

  isDecoupled(model: string): boolean {
    return this.decoupled.has(model);
  }

  async runStep(request: StepRequest): Promise<StepResult> {
    await this.gate(request.model);
    const value = (request.inputs[0].data as Int32Array)[0];
    return { outputs: [int32('OUT', value + 1)], batchSize: 0, queueNs: 0, timings: { batchSize: 1, computeInputNs: 0, computeInferNs: 0, computeOutputNs: 0 } };
  }

  async runStepStream(request: StepRequest, onResponse: (outputs: Tensor[], batchSize: number) => void): Promise<void> {
    await this.gate(request.model);
    const count = (request.inputs[0].data as Int32Array)[0];
    for (let i = 0; i < count; i += 1) onResponse([int32('OUT', 100 + i)], 0);
  }

  waiting(model: string): number {
    return this.open.get(model)?.length ?? 0;
  }

  /** Let every waiting request to `model` finish in the same tick, as one batch's execution answers them all. */
  finishAll(model: string): void {
    const open = this.open.get(model) ?? [];
    this.open.set(model, []);
    for (const finish of open) finish();
  }

  /** Let the oldest waiting request to `model` finish. */
  finishOne(model: string): void {
    this.open.get(model)!.shift()!();
  }

  private async gate(model: string): Promise<void> {
    const now = (this.inflight.get(model) ?? 0) + 1;
    this.inflight.set(model, now);
    this.peak.set(model, Math.max(now, this.peak.get(model) ?? 0));
    await new Promise<void>((resolve) => this.open.set(model, [...(this.open.get(model) ?? []), resolve]));
    this.inflight.set(model, this.inflight.get(model)! - 1);
  }
}

function int32(name: string, value: number): Tensor {
  return { name, datatype: 'INT32', shape: [1], data: Int32Array.from([value]) };
}

const step = (modelName: string, from: string, to: string): EnsembleStep => ({
  modelName,
  inputMap: new Map([['IN', from]]),
  outputMap: new Map([['OUT', to]]),
});

const job = (value: number, sink?: SchedulerJob['sink'], signal?: AbortSignal): SchedulerJob => ({
  inputs: [int32('X', value)],
  outputNames: ['Y'],
  batchSize: 1,
  sink,
  signal,
});

describe('EnsembleScheduler with max_inflight_requests', () => {
  const twoSteps = [step('first', 'X', 'T'), step('second', 'T', 'Y')];

  it('holds at most N requests in flight per step across the ensemble requests; every request completes', async () => {
    const runner = new GatedRunner();
    const scheduler = new EnsembleScheduler('limited', twoSteps, runner, { maxInflightRequests: 2 });
    const results = [1, 2, 3, 4, 5].map((value) => scheduler.enqueue(job(value)));
    await until(() => runner.waiting('first') === 2);
    // Three requests wait for a slot of the first step; none has reached the model.
    expect(runner.inflight.get('first')).toBe(2);
    let finished = 0;
    while (finished < 10) {
      await until(() => runner.waiting('first') + runner.waiting('second') > 0);
      runner.finishOne(runner.waiting('second') > 0 ? 'second' : 'first');
      finished += 1;
    }
    const answers = await Promise.all(results);
    expect(answers.map((answer) => (answer.outputs[0].data as Int32Array)[0])).toEqual([3, 4, 5, 6, 7]);
    expect([runner.peak.get('first'), runner.peak.get('second')]).toEqual([2, 2]);
  });

  it('without the limit every request reaches the step at once', async () => {
    const runner = new GatedRunner();
    const scheduler = new EnsembleScheduler('unlimited', twoSteps, runner);
    const results = [1, 2, 3, 4, 5].map((value) => scheduler.enqueue(job(value)));
    await until(() => runner.waiting('first') === 5);
    for (let i = 0; i < 5; i += 1) runner.finishOne('first');
    await until(() => runner.waiting('second') === 5);
    for (let i = 0; i < 5; i += 1) runner.finishOne('second');
    await Promise.all(results);
  });

  it('streaming: a decoupled step holds its slot until its final response; each response flows on under the next step\'s limit', async () => {
    const runner = new GatedRunner(new Set(['producer']));
    const scheduler = new EnsembleScheduler('streamed', [step('producer', 'X', 'T'), step('consumer', 'T', 'Y')], runner, { maxInflightRequests: 1 });
    const responses: number[][] = [[], []];
    const finals: Array<number | 'alone'>[] = [[], []];
    const runs = [0, 1].map((n) =>
      scheduler.enqueue(
        job(3, (response, final) => {
          const value = response && 'outputs' in response ? (response.outputs[0].data as Int32Array)[0] : undefined;
          if (value !== undefined) responses[n].push(value);
          if (final) finals[n].push(value ?? 'alone');
        }),
      ),
    );
    // One producer request at a time across both ensemble requests.
    await until(() => runner.waiting('producer') === 1);
    runner.finishOne('producer');
    // Its three responses each become a consumer request, one at a time; the second producer request runs meanwhile.
    await until(() => runner.waiting('consumer') === 1 && runner.waiting('producer') === 1);
    let consumed = 0;
    while (consumed < 6) {
      await until(() => runner.waiting('consumer') === 1);
      runner.finishOne('consumer');
      consumed += 1;
      if (runner.waiting('producer') === 1) runner.finishOne('producer');
    }
    await Promise.all(runs);
    expect(responses).toEqual([
      [101, 102, 103],
      [101, 102, 103],
    ]);
    // The producer ended before the last consumer request: as in Triton, the last response carries the final flag.
    expect(finals).toEqual([[103], [103]]);
    expect([runner.peak.get('producer'), runner.peak.get('consumer')]).toEqual([1, 1]);
  });

  it('streaming: flows whose last steps end in the same tick each send their response, the final flag on the last', async () => {
    const runner = new GatedRunner(new Set(['producer']));
    const scheduler = new EnsembleScheduler('streamed', [step('producer', 'X', 'T'), step('consumer', 'T', 'Y')], runner);
    const responses: Array<{ value: number | undefined; final: boolean }> = [];
    const run = scheduler.enqueue(
      job(2, (response, final) => {
        responses.push({ value: response && 'outputs' in response ? (response.outputs[0].data as Int32Array)[0] : undefined, final });
      }),
    );
    await until(() => runner.waiting('producer') === 1);
    runner.finishOne('producer');
    // The producer's two responses each wait in the consumer; one batch answers both.
    await until(() => runner.waiting('consumer') === 2);
    runner.finishAll('consumer');
    await run;
    expect(responses).toEqual([
      { value: 101, final: false },
      { value: 102, final: true },
    ]);
  });

  it('a streaming request whose client is gone starts no further steps; those waiting for a slot are dropped', async () => {
    const runner = new GatedRunner(new Set(['producer']));
    const scheduler = new EnsembleScheduler('streamed', [step('producer', 'X', 'T'), step('consumer', 'T', 'Y')], runner, { maxInflightRequests: 1 });
    const client = new AbortController();
    const sent: number[] = [];
    const run = scheduler.enqueue(
      job(
        4,
        (response) => {
          if (response && 'outputs' in response) sent.push((response.outputs[0].data as Int32Array)[0]);
        },
        client.signal,
      ),
    );
    await until(() => runner.waiting('producer') === 1);
    runner.finishOne('producer');
    // One of the four flows holds the consumer's slot; three wait for it.
    await until(() => runner.waiting('consumer') === 1);
    client.abort();
    runner.finishOne('consumer');
    await run;
    // The consumer request that was running finished; no other reached the consumer.
    expect(runner.peak.get('consumer')).toBe(1);
    expect(runner.waiting('consumer')).toBe(0);
    expect(sent).toEqual([]);
  });

  it('a request whose client is gone starts no further step and fails CANCELLED once the running one has ended', async () => {
    const runner = new GatedRunner();
    const scheduler = new EnsembleScheduler('chain', twoSteps, runner);
    const client = new AbortController();
    const run = scheduler.enqueue(job(1, undefined, client.signal));
    const outcome = run.then(
      () => 'answered',
      (error: InferenceError) => [error.code, error.failureReason, error.message],
    );
    await until(() => runner.waiting('first') === 1);
    client.abort();
    runner.finishOne('first');
    expect(await outcome).toEqual(['CANCELLED', 'CANCELED', "in ensemble 'chain', [request id: <id_unknown>] request cancelled: its client has gone"]);
    expect(runner.peak.get('second')).toBeUndefined();
    expect(scheduler.pendingCount).toBe(0);
  });

  it('a step of a non-streaming request waiting for its slot leaves the queue when the client goes; the request fails CANCELLED', async () => {
    const runner = new GatedRunner();
    const scheduler = new EnsembleScheduler('limited', twoSteps, runner, { maxInflightRequests: 1 });
    const first = scheduler.enqueue(job(1));
    await until(() => runner.waiting('first') === 1);
    const client = new AbortController();
    const gone = scheduler.enqueue(job(2, undefined, client.signal)).catch((error: InferenceError) => error.code);
    client.abort();
    expect(await gone).toBe('CANCELLED');
    // The first request goes on, and only it reached the model.
    runner.finishOne('first');
    await until(() => runner.waiting('second') === 1);
    runner.finishOne('second');
    expect(((await first).outputs[0].data as Int32Array)[0]).toBe(3);
    expect([runner.peak.get('first'), runner.peak.get('second')]).toEqual([1, 1]);
  });

  it('a request whose waiting step is dropped when the client goes answers only once its running sibling has ended', async () => {
    const runner = new GatedRunner();
    const parallel = [step('left', 'X', 'A'), step('right', 'X', 'B')];
    const scheduler = new EnsembleScheduler('parallel', parallel, runner, { maxInflightRequests: 1 });
    const first = scheduler.enqueue({ ...job(1), outputNames: ['A'] });
    await until(() => runner.waiting('left') === 1);
    const client = new AbortController();
    let settled = false;
    const gone = scheduler.enqueue({ ...job(2, undefined, client.signal), outputNames: ['A', 'B'] }).then(
      () => 'answered',
      (error: InferenceError) => error.code,
    );
    void gone.finally(() => (settled = true));
    await until(() => runner.waiting('right') === 1);
    // 'left' waits for its slot; the client goes: it leaves the queue (promise chains only, no timer), while 'right' runs.
    client.abort();
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBe(false);
    runner.finishOne('right');
    expect(await gone).toBe('CANCELLED');
    runner.finishOne('left');
    expect(((await first).outputs[0].data as Int32Array)[0]).toBe(2);
    expect(runner.peak.get('left')).toBe(1);
  });

  it('a failed step fails the request once its running siblings have ended, and starts no further step', async () => {
    const runner = new GatedRunner();
    const failing: ComposingModelRunner = {
      isDecoupled: () => false,
      runStep: (request) => (request.model === 'broken' ? Promise.reject(new Error('broken step')) : runner.runStep(request)),
      runStepStream: (request, onResponse) => runner.runStepStream(request, onResponse),
    };
    const steps = [step('broken', 'X', 'A'), step('slow', 'X', 'B'), step('after', 'B', 'C')];
    const scheduler = new EnsembleScheduler('mixed', steps, failing);
    let settled = false;
    const run = scheduler.enqueue({ ...job(1), outputNames: ['A', 'C'] }).then(
      () => 'answered',
      (error: InferenceError) => error.message,
    );
    void run.finally(() => (settled = true));
    await until(() => runner.waiting('slow') === 1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBe(false);
    runner.finishOne('slow');
    expect(await run).toBe("in ensemble 'mixed', broken step");
    expect(runner.peak.get('after')).toBeUndefined();
    expect(scheduler.pendingCount).toBe(0);
  });

  it('the steps of a request whose client is gone leave the queue for their slot at once, without waiting their turn', async () => {
    const runner = new GatedRunner(new Set(['producer']));
    const steps = [step('producer', 'X', 'T'), step('consumer', 'T', 'Y')];
    const plan = new EnsemblePlan('streamed', steps, runner, { maxInflightRequests: 1 });
    const consumerSlots = plan.limiterOf(steps[1])!;
    const client = new AbortController();
    const run = new StreamingEnsembleRun(plan, steps, job(4, () => undefined, client.signal)).run();
    await until(() => runner.waiting('producer') === 1);
    runner.finishOne('producer');
    await until(() => runner.waiting('consumer') === 1 && consumerSlots.waitingCount === 3);
    client.abort();
    expect(consumerSlots.waitingCount).toBe(0);
    runner.finishOne('consumer');
    await run;
    expect([consumerSlots.inflightCount, consumerSlots.waitingCount]).toEqual([0, 0]);
    expect(runner.peak.get('consumer')).toBe(1);
  });
});
