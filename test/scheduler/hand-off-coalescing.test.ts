import type { ExecutionRequest, ExecutionResult } from '../../server/backends/backend';
import { InstancePoolScheduler } from '../../server/scheduler/instance-pool-scheduler';
import { GatedInstance, int32Input, afterDispatch } from './gated-instance';

/** The gated double with executeMany (as OnnxRuntimeInstance has): records how runs are grouped per hand-off. */
class HandOffRecorder extends GatedInstance {
  readonly handOffs: number[] = [];

  async executeMany(runs: readonly ExecutionRequest[]): Promise<PromiseSettledResult<ExecutionResult>[]> {
    this.handOffs.push(runs.length);
    return Promise.allSettled(runs.map((run) => this.execute(run.inputs)));
  }
}

const unbatched = { enabled: false, maxBatchSize: 0, preferredBatchSizes: [], maxQueueDelayNs: 0, preserveOrdering: false };
const job = (n: number) => ({ inputs: [int32Input([n, n + 1])], outputNames: ['OUTPUT0'], batchSize: 1 });

describe('InstancePoolScheduler hand-offs', () => {
  it('sends the requests of one turn of the event loop to an instance in one hand-off, each answered with its own result', async () => {
    const instance = new HandOffRecorder();
    instance.autoOpen = true;
    const scheduler = new InstancePoolScheduler([instance], unbatched);
    const results = await Promise.all([1, 2, 3, 4, 5].map((n) => scheduler.enqueue(job(n))));
    expect(instance.handOffs).toEqual([5]);
    expect(results.map((r) => Array.from(r.outputs[0].data as Int32Array))).toEqual([[2, 4], [4, 6], [6, 8], [8, 10], [10, 12]]);
  });

  it('still runs a request that arrives alone, and the next turn’s requests in a hand-off of their own', async () => {
    const instance = new HandOffRecorder();
    const scheduler = new InstancePoolScheduler([instance], unbatched);
    const first = scheduler.enqueue(job(1));
    await afterDispatch();
    expect(instance.executions).toHaveLength(1);
    const later = [2, 3].map((n) => scheduler.enqueue(job(n)));
    await afterDispatch();
    expect(instance.handOffs).toEqual([2]); // the second slot takes both while the first request runs
    instance.autoOpen = true;
    instance.openOne();
    instance.openOne();
    instance.openOne();
    const answers = await Promise.all([first, ...later]);
    expect(answers.map((r) => (r.outputs[0].data as Int32Array)[0])).toEqual([2, 4, 6]);
    expect(scheduler.pendingCount).toBe(0);
  });
});
