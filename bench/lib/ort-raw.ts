/**
 * Raw onnxruntime-node throughput on one model, batch 1, intraOpNumThreads 1 (the server's session options):
 *  - main: session.run in a loop on this thread, a fresh ort.Tensor pair per call (what a backend does per request);
 *  - worker: the same session in a worker thread, one postMessage round trip per call with the input and output
 *    buffers transferred, one call in flight (what the server's OnnxRuntimeInstance does with one instance, no batching);
 *  - worker-pipelined: the same worker with `inFlight` calls queued at once, so the hand-off overlaps the runs.
 * Prints one JSON line: { main, worker, workerPipelined } in calls per second.
 * Usage: node dist/bench/lib/ort-raw.js <model.onnx> [seconds per mode] [inFlight]
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';

export interface OrtRawResult {
  readonly main: number;
  readonly worker: number;
  readonly workerPipelined: number;
  readonly inFlight: number;
  /** Process CPU µs per call of `main` (user + system): steadier than the rate on a shared machine. */
  readonly mainCpuUsPerCall: number;
}

export { SESSION_OPTIONS } from './ort-session-options';
import { SESSION_OPTIONS } from './ort-session-options';

interface RunMessage {
  id: number;
  input0: Int32Array;
  input1: Int32Array;
}

function inputs(): { input0: Int32Array; input1: Int32Array } {
  const input0 = new Int32Array(16);
  const input1 = new Int32Array(16);
  for (let i = 0; i < 16; i++) {
    input0[i] = i;
    input1[i] = 1;
  }
  return { input0, input1 };
}

async function runOnce(session: ort.InferenceSession, input0: Int32Array, input1: Int32Array): Promise<ort.InferenceSession.OnnxValueMapType> {
  return session.run({ INPUT0: new ort.Tensor('int32', input0, [1, 16]), INPUT1: new ort.Tensor('int32', input1, [1, 16]) });
}

async function workerMain(): Promise<void> {
  const session = await ort.InferenceSession.create(workerData.modelPath as string, SESSION_OPTIONS);
  parentPort!.on('message', async (message: RunMessage) => {
    const results = await runOnce(session, message.input0, message.input1);
    const out0 = results.OUTPUT0.data as Int32Array;
    const out1 = results.OUTPUT1.data as Int32Array;
    parentPort!.postMessage({ id: message.id, out0, out1 }, [out0.buffer as ArrayBuffer, out1.buffer as ArrayBuffer]);
  });
  parentPort!.postMessage({ ready: true });
}

async function measureMain(modelPath: string, seconds: number): Promise<{ rate: number; cpuUsPerCall: number }> {
  const session = await ort.InferenceSession.create(modelPath, SESSION_OPTIONS);
  const loop = async (ms: number) => {
    let calls = 0;
    const end = performance.now() + ms;
    while (performance.now() < end) {
      const { input0, input1 } = inputs();
      await runOnce(session, input0, input1);
      calls += 1;
    }
    return calls;
  };
  await loop(500);
  const started = performance.now();
  const cpu = process.cpuUsage();
  const calls = await loop(seconds * 1000);
  const used = process.cpuUsage(cpu);
  const rate = calls / ((performance.now() - started) / 1000);
  await session.release();
  return { rate, cpuUsPerCall: (used.user + used.system) / calls };
}

async function measureWorker(modelPath: string, seconds: number, inFlight: number): Promise<number> {
  const worker = new Worker(__filename, { workerData: { modelPath } });
  await new Promise<void>((resolve, reject) => {
    worker.once('message', () => resolve());
    worker.once('error', reject);
  });
  let nextId = 0;
  const pending = new Map<number, () => void>();
  worker.on('message', (message: { id: number }) => {
    const done = pending.get(message.id);
    pending.delete(message.id);
    done?.();
  });
  const call = () =>
    new Promise<void>((resolve) => {
      const id = nextId++;
      pending.set(id, resolve);
      const { input0, input1 } = inputs();
      worker.postMessage({ id, input0, input1 } satisfies RunMessage, [input0.buffer as ArrayBuffer, input1.buffer as ArrayBuffer]);
    });
  const loop = async (ms: number) => {
    let calls = 0;
    const end = performance.now() + ms;
    const lane = async () => {
      while (performance.now() < end) {
        await call();
        calls += 1;
      }
    };
    await Promise.all(Array.from({ length: inFlight }, lane));
    return calls;
  };
  await loop(500);
  const started = performance.now();
  const calls = await loop(seconds * 1000);
  const rate = calls / ((performance.now() - started) / 1000);
  await worker.terminate();
  return rate;
}

async function main(): Promise<void> {
  const modelPath = process.argv[2];
  if (!modelPath) throw new Error('usage: ort-raw.js <model.onnx> [seconds] [inFlight]');
  const seconds = Number(process.argv[3] ?? 3);
  const inFlight = Number(process.argv[4] ?? 16);
  const main = await measureMain(modelPath, seconds);
  const result: OrtRawResult = {
    main: main.rate,
    mainCpuUsPerCall: main.cpuUsPerCall,
    worker: await measureWorker(modelPath, seconds, 1),
    workerPipelined: await measureWorker(modelPath, seconds, inFlight),
    inFlight,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

if (!isMainThread) {
  void workerMain();
} else if (require.main === module) {
  main().catch((error: Error) => {
    process.stderr.write(`${error.stack ?? error.message}\n`);
    process.exit(1);
  });
}
