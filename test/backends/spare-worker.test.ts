/**
 * The ONNX Runtime backend's spare worker (started ahead of need so a load pays only for its session): handed to the
 * next instance, replaced after that load, never started when disabled, stopped by close(). The instance behaviour on
 * a spare (results, errors, both hand-off paths) is covered in onnxruntime-instance.test.ts.
 */
import * as path from 'node:path';
import type { Worker } from 'node:worker_threads';
import type { InstanceContext } from '../../server/backends/backend';
import { OnnxRuntimeBackend } from '../../server/backends/onnxruntime/backend';
import { SpareWorker } from '../../server/backends/onnxruntime/spare-worker';
import { warmUpModel } from '../../server/backends/onnxruntime/warm-up-model';
import { describeOnnx } from '../../server/config/autocomplete';

const SIMPLE_DIR = path.join(__dirname, '..', '..', 'examples', 'model_repository', 'simple');

function simpleContext(instanceName: string): InstanceContext {
  return {
    modelName: 'simple',
    version: 2,
    modelDir: SIMPLE_DIR,
    versionDir: path.join(SIMPLE_DIR, '2'),
    config: { name: 'simple', max_batch_size: 8 },
    instanceName,
    kind: 'KIND_CPU',
    backendConfig: {},
  };
}

const waitingSpare = (backend: OnnxRuntimeBackend): Worker | undefined =>
  (backend as unknown as { spare: { spare: Worker | undefined } }).spare.spare;

const exited = (worker: Worker) => new Promise<number>((resolve) => worker.once('exit', resolve));

describe('warmUpModel', () => {
  it('is a valid one-node FP32 [1] → [1] model (what the spare creates and runs while it waits)', () => {
    expect(describeOnnx(warmUpModel())).toEqual({
      inputs: [{ name: 'X', datatype: 'FP32', shape: [1] }],
      outputs: [{ name: 'Y', datatype: 'FP32', shape: [1] }],
    });
  });
});

describe('SpareWorker', () => {
  it('disabled: never starts a thread', () => {
    const spares = new SpareWorker(false);
    spares.replenish();
    expect(spares.take()).toBeUndefined();
  });

  it('enabled: one spare at a time, handed out once, none after close()', async () => {
    const spares = new SpareWorker(true);
    spares.replenish();
    spares.replenish();
    const first = spares.take();
    expect(first).toBeDefined();
    expect(spares.take()).toBeUndefined();
    const firstExit = exited(first!);
    spares.replenish();
    await spares.close();
    spares.replenish();
    expect(spares.take()).toBeUndefined();
    // A taken spare that gets no model ends when asked to stop, as a serving worker does.
    first!.postMessage({ type: 'stop' });
    expect(await firstExit).toBe(0);
  });

  it('close() right after start asks the spare to stop (it may be inside onnxruntime), never terminates it', async () => {
    const spares = new SpareWorker(true);
    spares.replenish();
    const waiting = (spares as unknown as { spare: Worker | undefined }).spare!;
    const terminate = jest.spyOn(waiting, 'terminate');
    // close() resolves once the thread has exited: the 'stop' message let it finish its warm-up first.
    await spares.close();
    expect(terminate).not.toHaveBeenCalled();
    expect(waiting.threadId).toBe(-1);
  });
});

describe('OnnxRuntimeBackend with prestartWorker', () => {
  it('serves the next instance on the waiting spare and starts another after the load', async () => {
    const backend = new OnnxRuntimeBackend({ prestartWorker: true });
    const spare = waitingSpare(backend);
    expect(spare).toBeDefined();
    const instance = await backend.createInstance(simpleContext('simple_0'));
    try {
      expect((instance as unknown as { worker: Worker }).worker).toBe(spare);
      const next = waitingSpare(backend);
      expect(next).toBeDefined();
      expect(next).not.toBe(spare);
      const result = await instance.execute(
        [
          { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], data: new Int32Array(16).fill(2) },
          { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], data: new Int32Array(16).fill(1) },
        ],
        ['OUTPUT0'],
      );
      expect(result.outputs[0].data).toEqual(new Int32Array(16).fill(3));
    } finally {
      await instance.close();
      await backend.close();
    }
    expect(waitingSpare(backend)).toBeUndefined();
  });

  it('without it, no thread waits', async () => {
    const backend = new OnnxRuntimeBackend();
    expect(waitingSpare(backend)).toBeUndefined();
    await backend.close();
  });
});
