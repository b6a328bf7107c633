/**
 * The sequence batcher through the facade, on real ONNX Runtime instances: per-sequence state, START/END, slots and
 * the backlog, idle release, both strategies, Triton's errors, and unload with sequences in flight.
 */
import { BytesData } from '../../server/core/bytes-data';
import * as fs from 'node:fs';
import type { InferenceServerApp } from '../../server/app';
import type { InferResponse } from '../../server/core/types';
import { startServer } from '../server/repo-fixture';
import { runningSums, sequenceRepository, sequenceRequest, Step } from './sequence-fixture';

const outputOf = (response: InferResponse, name = 'OUTPUT') => [...(response.outputs.find((o) => o.name === name)!.data as Int32Array)];

describe('sequence batcher', () => {
  let server: InferenceServerApp;
  let repo: string;
  beforeAll(async () => {
    repo = sequenceRepository([
      { name: 'seq_direct', maxBatchSize: 4 },
      { name: 'seq_one_slot', maxBatchSize: 1 },
      { name: 'seq_unbatched', maxBatchSize: 0 },
      { name: 'seq_idle', maxBatchSize: 2, idleMicroseconds: 200_000 },
      { name: 'seq_oldest', maxBatchSize: 4, strategy: 'oldest { max_candidate_sequences: 4 preferred_batch_size: [ 4 ] max_queue_delay_microseconds: 300000 }' },
      { name: 'seq_corrid', maxBatchSize: 2, corrid: 'TYPE_UINT64' },
      { name: 'seq_corrid_string', maxBatchSize: 2, corrid: 'TYPE_STRING' },
      { name: 'seq_two_instances', maxBatchSize: 1, instances: 2 },
      { name: 'seq_abort', maxBatchSize: 1 },
    ]);
    server = startServer({ modelRepositories: [repo], modelControlMode: 'explicit', loadModels: ['*'] });
    const started = await server.start();
    expect(started.failedModels).toEqual([]);
  });
  afterAll(async () => {
    await server.stop();
    fs.rmSync(repo, { recursive: true, force: true });
  });

  const send = (model: string, id: number | bigint | string | undefined, value: number, step: Step = {}) =>
    server.service.infer(sequenceRequest(model, id, value, step, model !== 'seq_unbatched'));

  /** Run one sequence to its END, request after request, as a Triton client does; returns the outputs. */
  async function runSequence(model: string, id: number | string, values: number[]): Promise<number[]> {
    const outputs: number[] = [];
    for (const [i, value] of values.entries()) {
      const response = await send(model, id, value, { start: i === 0, end: i === values.length - 1 });
      outputs.push(outputOf(response)[0]);
    }
    return outputs;
  }

  it('keeps a running sum per sequence when sequences interleave', async () => {
    const a = [3, 5, 7, 11];
    const b = [100, -1, 20, 2];
    const got: Record<string, number[]> = { a: [], b: [] };
    for (let i = 0; i < a.length; i++) {
      const step = { start: i === 0, end: i === a.length - 1 };
      got.a.push(outputOf(await send('seq_direct', 17, a[i], step))[0]);
      got.b.push(outputOf(await send('seq_direct', 18, b[i], step))[0]);
    }
    expect(got).toEqual({ a: runningSums(a), b: runningSums(b) });
  });

  it('restarts from the initial state on START, and works without a batch dimension', async () => {
    expect(await runSequence('seq_unbatched', 5, [1, 2, 3])).toEqual([1, 3, 6]);
    expect(outputOf(await send('seq_direct', 21, 10, { start: true }))).toEqual([10]);
    expect(outputOf(await send('seq_direct', 21, 10))).toEqual([20]);
    expect(outputOf(await send('seq_direct', 21, 4, { start: true }))).toEqual([4]);
    expect(outputOf(await send('seq_direct', 21, 1, { end: true }))).toEqual([5]);
  });

  it('runs many concurrent sequences, more than there are slots: the extra ones wait in the backlog', async () => {
    const sequences = Array.from({ length: 9 }, (_, s) => Array.from({ length: 4 }, (_, i) => s * 10 + i + 1));
    for (const model of ['seq_direct', 'seq_one_slot', 'seq_two_instances', 'seq_oldest']) {
      const results = await Promise.all(sequences.map((values, s) => runSequence(model, 1000 + s, values)));
      expect(results).toEqual(sequences.map(runningSums));
    }
  });

  it('END frees the slot: a sequence waiting for the only slot starts once the holder ends', async () => {
    expect(outputOf(await send('seq_one_slot', 1, 1, { start: true }))).toEqual([1]);
    let waiterSettled = false;
    const waiter = send('seq_one_slot', 2, 50, { start: true }).finally(() => (waiterSettled = true));
    expect(outputOf(await send('seq_one_slot', 1, 2))).toEqual([3]);
    expect(waiterSettled).toBe(false);
    expect(outputOf(await send('seq_one_slot', 1, 3, { end: true }))).toEqual([6]);
    expect(outputOf(await waiter)).toEqual([50]);
    expect(outputOf(await send('seq_one_slot', 2, 1, { end: true }))).toEqual([51]);
    // The ended id is free: continuing it needs a new START.
    await expect(send('seq_one_slot', 1, 1)).rejects.toMatchObject({
      code: 'INVALID_ARG',
      message: "inference request for sequence 1 to model 'seq_one_slot' must specify the START flag on the first request of the sequence",
    });
  });

  it('releases a sequence idle past max_sequence_idle_microseconds; its next request must START again', async () => {
    expect(outputOf(await send('seq_idle', 9, 2, { start: true }))).toEqual([2]);
    await new Promise((resolve) => setTimeout(resolve, 800));
    await expect(send('seq_idle', 9, 2)).rejects.toMatchObject({
      code: 'INVALID_ARG',
      message: "inference request for sequence 9 to model 'seq_idle' must specify the START flag on the first request of the sequence",
    });
    expect(outputOf(await send('seq_idle', 9, 7, { start: true, end: true }))).toEqual([7]);
  });

  it("refuses requests without a correlation id, non-START first requests and batches, in Triton's words", async () => {
    const missing = "inference request to model 'seq_direct' must specify a non-zero or non-empty correlation ID";
    await expect(send('seq_direct', undefined, 1, { start: true })).rejects.toMatchObject({ code: 'INVALID_ARG', message: missing });
    await expect(send('seq_direct', 0, 1, { start: true })).rejects.toMatchObject({ message: missing });
    await expect(send('seq_direct', '', 1, { start: true })).rejects.toMatchObject({ message: missing });
    await expect(send('seq_direct', 'never-started', 1)).rejects.toMatchObject({
      message: "inference request for sequence never-started to model 'seq_direct' must specify the START flag on the first request of the sequence",
    });
    const batch = sequenceRequest('seq_direct', 3, 1, { start: true });
    const twoRows = { ...batch, inputs: [{ ...batch.inputs[0], shape: [2, 1], data: Int32Array.of(1, 2) }] };
    await expect(server.service.infer(twoRows)).rejects.toMatchObject({
      message: "inference request to model 'seq_direct' must specify batch-size 1 due to requirements of sequence batcher",
    });
    await expect(server.service.infer({ ...batch, parameters: { sequence_id: -4, sequence_start: true } })).rejects.toMatchObject({ code: 'INVALID_ARG' });
    await expect(server.service.infer({ ...batch, parameters: { sequence_id: 4, sequence_start: 'yes' } })).rejects.toMatchObject({ code: 'INVALID_ARG' });
  });

  it('feeds CORRID with the uint64 id intact, and string ids to a TYPE_STRING CORRID', async () => {
    const big = 18446744073709551557n; // past 2^53: must not be rounded
    const response = await send('seq_corrid', big, 4, { start: true });
    expect([...(response.outputs.find((o) => o.name === 'CORRID_OUT')!.data as BigUint64Array)]).toEqual([big]);
    expect(outputOf(await send('seq_corrid', big, 4, { end: true }))).toEqual([8]);

    const named = await send('seq_corrid_string', 'user-42', 1, { start: true });
    const echoed = (named.outputs.find((o) => o.name === 'CORRID_OUT')!.data as BytesData).toStrings();
    expect(echoed).toEqual(['user-42']);
    expect(outputOf(await send('seq_corrid_string', 'user-42', 2, { end: true }))).toEqual([3]);

    await expect(send('seq_corrid', 'user-42', 1, { start: true })).rejects.toMatchObject({
      code: 'INVALID_ARG',
      message: expect.stringContaining("sequence batching control 'CORRID' data-type is 'UINT64', but request CORRID has type 'BYTES'"),
    });
    await expect(send('seq_corrid_string', 7, 1, { start: true })).rejects.toMatchObject({
      message: expect.stringContaining("data-type is 'BYTES', but request CORRID has type 'UINT64'"),
    });
  });

  it('oldest: batches the heads of several sequences, one request per sequence, up to the preferred size', async () => {
    const before = server.service.modelStatistics('seq_oldest')[0];
    const starts = await Promise.all([1, 2, 3, 4].map((s) => send('seq_oldest', 500 + s, s, { start: true })));
    expect(starts.map((r) => outputOf(r)[0])).toEqual([1, 2, 3, 4]);
    const after = server.service.modelStatistics('seq_oldest')[0];
    expect(after.inference_count - before.inference_count).toBe(4);
    expect(after.execution_count - before.execution_count).toBe(1);
    // A second request of the same sequence never joins the batch its first one is in.
    const again = await Promise.all([
      send('seq_oldest', 501, 10),
      send('seq_oldest', 501, 100),
      send('seq_oldest', 502, 10, { end: true }),
      send('seq_oldest', 503, 10, { end: true }),
      send('seq_oldest', 504, 10, { end: true }),
    ]);
    expect(again.map((r) => outputOf(r)[0])).toEqual([11, 111, 12, 13, 14]);
    expect(outputOf(await send('seq_oldest', 501, 0, { end: true }))).toEqual([111]);
  });

  it('unload lets queued sequence requests finish (the backlog included), then refuses the model', async () => {
    expect(outputOf(await send('seq_one_slot', 300, 5, { start: true }))).toEqual([5]);
    const backlogged = send('seq_one_slot', 301, 6, { start: true });
    await server.service.unloadModel('seq_one_slot');
    expect(outputOf(await backlogged)).toEqual([6]);
    await expect(send('seq_one_slot', 300, 1)).rejects.toMatchObject({ code: expect.stringMatching(/NOT_FOUND|UNAVAILABLE/) });
  });

  it('unload without draining (shutdown past its deadline) fails a backlogged sequence request at once', async () => {
    expect(outputOf(await send('seq_abort', 400, 5, { start: true }))).toEqual([5]);
    // Sequence 400 holds the only slot: 401 waits in the backlog for a slot that will never come.
    const backlogged = send('seq_abort', 401, 6, { start: true }).catch((error: Error) => error);
    await server.manager.unload('seq_abort', { drain: false });
    expect(await backlogged).toMatchObject({ code: 'UNAVAILABLE', message: expect.stringMatching(/seq_abort/) });
  });
});
