/**
 * OnnxRuntimeInstance gives the same results and errors whichever hand-off a job takes: the shared-memory ring
 * (small numeric tensors), its postMessage fallbacks (large inputs, large outputs, BYTES, unknown names, a full ring),
 * or postMessage only (`sharedMemory: false`), on a worker started for it or on a spare started ahead of need.
 */
import { BytesData } from '../../server/core/bytes-data';
import * as path from 'node:path';
import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';
import type { ExecutionResult } from '../../server/backends/backend';
import { OnnxRuntimeInstance, workerErrorText } from '../../server/backends/onnxruntime/instance';
import { ownCopy, type WorkerInit } from '../../server/backends/onnxruntime/messages';
import { SpareWorker } from '../../server/backends/onnxruntime/spare-worker';
import { InferenceError } from '../../server/core/errors';
import type { Tensor } from '../../server/core/tensor';

const REPO = path.join(__dirname, '..', '..', 'examples', 'model_repository');
const init = (model: string, version: number): WorkerInit => ({
  modelPath: path.join(REPO, model, String(version), 'model.onnx'),
  intraOpThreads: 1,
  interOpThreads: 1,
  executionProviders: ['cpu'],
  graphOptimizationLevel: 'all',
});
const OUTPUTS = ['OUTPUT0', 'OUTPUT1'];

/** `simple` inputs for `rows` rows of 16: INPUT0 = row*16 + i, INPUT1 = 1 (OUTPUT0 = sum, OUTPUT1 = difference). */
function simpleInputs(rows: number, seed = 0): Tensor[] {
  const input0 = Int32Array.from({ length: rows * 16 }, (_, i) => i + seed);
  const input1 = new Int32Array(rows * 16).fill(1);
  return [
    { name: 'INPUT0', datatype: 'INT32', shape: [rows, 16], data: input0 },
    { name: 'INPUT1', datatype: 'INT32', shape: [rows, 16], data: input1 },
  ];
}

function expectSimple(result: ExecutionResult, rows: number, seed = 0): void {
  expect(result.outputs.map((o) => [o.name, o.datatype, o.shape])).toEqual([
    ['OUTPUT0', 'INT32', [rows, 16]],
    ['OUTPUT1', 'INT32', [rows, 16]],
  ]);
  const expected0 = Int32Array.from({ length: rows * 16 }, (_, i) => i + seed + 1);
  const expected1 = Int32Array.from({ length: rows * 16 }, (_, i) => i + seed - 1);
  expect(result.outputs[0].data).toEqual(expected0);
  expect(result.outputs[1].data).toEqual(expected1);
  for (const t of ['computeInputNs', 'computeInferNs', 'computeOutputNs'] as const) expect(result[t]).toBeGreaterThanOrEqual(0);
}

async function failure(promise: Promise<unknown>): Promise<InferenceError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(InferenceError);
    return error as InferenceError;
  }
  throw new Error('expected a rejection');
}

describe.each([
  ['shared memory', true, false],
  ['postMessage only', false, false],
  ['shared memory, on a spare worker started ahead', true, true],
  ['postMessage only, on a spare worker started ahead', false, true],
])('OnnxRuntimeInstance (%s)', (_label, sharedMemory, fromSpare) => {
  const spares = new SpareWorker(fromSpare);
  /** Each instance on the spare (when this variant uses them), which is then replaced for the next one. */
  async function start(name: string, model: string, version: number): Promise<OnnxRuntimeInstance> {
    spares.replenish();
    const spare = spares.take();
    expect(spare !== undefined).toBe(fromSpare);
    return OnnxRuntimeInstance.start(name, model, init(model, version), { sharedMemory, spare });
  }
  let simple: OnnxRuntimeInstance;
  beforeAll(async () => {
    simple = await start('simple_0', 'simple', 2);
  });
  afterAll(async () => {
    await simple.close();
    await spares.close();
  });

  it('runs small and large (fallback) tensors, alone and many at once, each getting its own results', async () => {
    expectSimple(await simple.execute(simpleInputs(1), OUTPUTS), 1);
    // 4096 rows: 256 KiB per tensor, more than a ring slot holds.
    expectSimple(await simple.execute(simpleInputs(4096), OUTPUTS), 4096);
    // More jobs than ring slots, small and large mixed.
    const rows = Array.from({ length: 40 }, (_, i) => (i % 7 === 0 ? 2048 : 1 + (i % 3)));
    const results = await Promise.all(rows.map((r, i) => simple.execute(simpleInputs(r, i), OUTPUTS)));
    results.forEach((result, i) => expectSimple(result, rows[i], i));
  });

  it('settles each run of a job on its own', async () => {
    const settled = await simple.executeMany([
      { inputs: simpleInputs(2, 5), outputNames: OUTPUTS },
      { inputs: [{ ...simpleInputs(1)[0], shape: [1, 15] }, simpleInputs(1)[1]], outputNames: OUTPUTS },
      { inputs: simpleInputs(1, 9), outputNames: ['OUTPUT1'] },
    ]);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expectSimple((settled[0] as PromiseFulfilledResult<ExecutionResult>).value, 2, 5);
    expect(String((settled[1] as PromiseRejectedResult).reason.message)).toMatch(/^model 'simple' failed to execute: /);
    const only = (settled[2] as PromiseFulfilledResult<ExecutionResult>).value.outputs;
    expect(only.map((o) => o.name)).toEqual(['OUTPUT1']);
  });

  it('reports ORT errors for unknown names and refuses types ORT cannot run', async () => {
    const unknown = await failure(simple.execute([{ ...simpleInputs(1)[0], name: 'NOPE' }, simpleInputs(1)[1]], OUTPUTS));
    expect(unknown.message).toMatch(/^model 'simple' failed to execute: /);
    const bf16 = await failure(simple.execute([{ name: 'INPUT0', datatype: 'BF16', shape: [1, 16], data: new Uint16Array(16) }], OUTPUTS));
    expect(bf16.message).toMatch(/BF16/);
    expectSimple(await simple.execute(simpleInputs(1), OUTPUTS), 1);
  });

  it('runs BYTES tensors (postMessage path)', async () => {
    const upper = await start('string_upper_0', 'string_upper', 1);
    try {
      const data = BytesData.fromStrings(['ab', 'Cd']);
      const result = await upper.execute([{ name: 'INPUT0', datatype: 'BYTES', shape: [2], data }], ['OUTPUT0']);
      expect((result.outputs[0].data as BytesData).toStrings()).toEqual(['AB', 'CD']);
    } finally {
      await upper.close();
    }
  });

  it('sends a copy of a small BYTES tensor that views a large request body, leaving the body in place', async () => {
    const upper = await start('string_upper_2', 'string_upper', 1);
    try {
      // As a binary HTTP body: a Buffer of its own (not pooled), the tensor's elements a small part of it.
      const elements = BytesData.fromStrings(['ab', 'Cd']).serialized;
      const body = Buffer.alloc(256 * 1024, 0x2a);
      body.set(elements, 1000);
      const data = BytesData.fromSerialized(body.subarray(1000, 1000 + elements.byteLength))!;
      const result = await upper.execute([{ name: 'INPUT0', datatype: 'BYTES', shape: [2], data }], ['OUTPUT0']);
      expect((result.outputs[0].data as BytesData).toStrings()).toEqual(['AB', 'CD']);
      expect(body.buffer.byteLength).toBe(256 * 1024); // not moved to the worker (a moved buffer is detached: 0)
      expect(data.toStrings()).toEqual(['ab', 'Cd']);
    } finally {
      await upper.close();
    }
  });

  it('rejects pending and later requests with instanceLost when the worker dies', async () => {
    const doomed = await start('simple_1', 'simple', 2);
    const calls = Promise.allSettled(Array.from({ length: 20 }, (_, i) => doomed.execute(simpleInputs(i % 5 === 0 ? 2048 : 1), OUTPUTS)));
    // The worker thread ends on its own (as after a crash in it): ask it to stop behind the instance's back.
    await (doomed as unknown as { stopWorker(): Promise<void> }).stopWorker();
    for (const s of await calls) {
      if (s.status === 'rejected') expect((s.reason as InferenceError).message).toMatch(/instance stopped while executing/);
    }
    expect((await failure(doomed.execute(simpleInputs(1), OUTPUTS))).message).toMatch(/instance stopped while executing/);
    await doomed.close();
  });

  it('close() refuses pending and later requests', async () => {
    const closing = await start('simple_2', 'simple', 2);
    const calls = Promise.allSettled(Array.from({ length: 20 }, () => closing.execute(simpleInputs(1), OUTPUTS)));
    await closing.close();
    for (const s of await calls) {
      if (s.status === 'rejected') expect((s.reason as InferenceError).message).toMatch(/being unloaded/);
    }
    await expect(closing.execute(simpleInputs(1), OUTPUTS)).rejects.toBeInstanceOf(InferenceError);
  });
});

describe('ownCopy (tensor data to move to a worker)', () => {
  it('copies a view of a pooled Buffer into a buffer of its own that postMessage can move', () => {
    const pooled = Buffer.from('abc'); // small Buffers share Node's pool: Node 24 refuses to transfer that memory
    expect(pooled.buffer.byteLength).toBeGreaterThan(pooled.byteLength);
    const copy = ownCopy(pooled);
    expect(copy.buffer).not.toBe(pooled.buffer);
    expect(copy.buffer.byteLength).toBe(3);
    const { port1, port2 } = new MessageChannel();
    try {
      port1.postMessage(copy, [copy.buffer as ArrayBuffer]);
      expect(Buffer.from(receiveMessageOnPort(port2)!.message as Uint8Array).toString()).toBe('abc');
      expect(pooled.toString()).toBe('abc');
    } finally {
      port1.close();
    }
  });

  it('keeps the element type of a typed array', () => {
    const copy = ownCopy(new Int32Array([1, -2, 3]).subarray(1));
    expect(copy).toEqual(new Int32Array([-2, 3]));
  });
});

describe('workerErrorText', () => {
  it('takes the first stack line when the worker error came without a message (a DOMException thrown there)', () => {
    const received = Object.assign(new Error(''), { stack: 'DataCloneError: Cannot transfer object of unsupported type.\n    at post (worker.js:75:10)' });
    expect(workerErrorText(received)).toBe('DataCloneError: Cannot transfer object of unsupported type.');
    expect(workerErrorText(new Error('out of memory'))).toBe('out of memory');
  });
});
