/**
 * What onnxruntime-node itself costs for one string tensor, for bench/hostile.ts's side-by-side row: peak RSS growth of
 * this process while a worker thread (the server's young-generation limit, ORT_WORKER_RESOURCE_LIMITS, and session
 * options, ort-session-options.ts) decodes `count` length-prefixed elements from one buffer into JavaScript strings, runs the
 * model on them as one 'string' tensor, and reads the output strings: what the server's ONNX Runtime worker does for
 * such a request, without the server. The session is created before the baseline, as the server's is.
 * Prints one JSON line: { growthBytes, outputBytes }. Linux only (VmHWM, reset through /proc/self/clear_refs).
 * Usage: node dist/bench/lib/ort-strings-raw.js <model.onnx> <count> <element>
 */
import * as fs from 'node:fs';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { ORT_WORKER_RESOURCE_LIMITS } from '../../server/backends/onnxruntime/instance';
import { SESSION_OPTIONS } from './ort-session-options';
import { framed } from './bytes-framing';

interface Job {
  readonly modelPath: string;
  readonly count: number;
  readonly element: string;
}

function statusBytes(field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync('/proc/self/status', 'utf8'));
  if (!match) throw new Error(`no ${field} in /proc/self/status`);
  return Number(match[1]) * 1024;
}

async function workerMain(job: Job): Promise<void> {
  const session = await ort.InferenceSession.create(job.modelPath, { ...SESSION_OPTIONS, logSeverityLevel: 4 });
  const body = framed(job.count, job.element);
  parentPort!.postMessage({ type: 'ready' });
  parentPort!.once('message', async () => {
    const strings = new Array<string>(job.count);
    for (let i = 0, offset = 0; i < job.count; i++) {
      const length = body.readUInt32LE(offset);
      strings[i] = body.toString('utf8', offset + 4, offset + 4 + length);
      offset += 4 + length;
    }
    const [inputName] = session.inputNames;
    const results = await session.run({ [inputName]: new ort.Tensor('string', strings, [job.count]) });
    let outputBytes = 0;
    for (const value of Object.values(results)) for (const text of value.data as string[]) outputBytes += Buffer.byteLength(text);
    parentPort!.postMessage({ type: 'done', outputBytes });
  });
}

async function main(): Promise<void> {
  const [modelPath, count, element] = process.argv.slice(2);
  if (!modelPath || !count || element === undefined) throw new Error('usage: ort-strings-raw.js <model.onnx> <count> <element>');
  const job: Job = { modelPath, count: Number(count), element };
  const worker = new Worker(__filename, { workerData: job, resourceLimits: ORT_WORKER_RESOURCE_LIMITS });
  worker.on('error', (error) => {
    console.error(error);
    process.exit(1);
  });
  const next = (type: string) => new Promise<{ outputBytes?: number }>((resolve) => {
    const listener = (message: { type?: string; outputBytes?: number }) => {
      if (message.type !== type) return;
      worker.off('message', listener);
      resolve(message);
    };
    worker.on('message', listener);
  });
  await next('ready'); // session created, request bytes in the worker
  // A full GC before the baseline, as the server probe's (--expose-gc, turned on here since a child gets no flags).
  v8.setFlagsFromString('--expose-gc');
  (vm.runInNewContext('gc') as () => void)();
  fs.writeFileSync('/proc/self/clear_refs', '5');
  const before = statusBytes('VmRSS');
  const done = next('done');
  worker.postMessage('run');
  const { outputBytes } = await done;
  const growthBytes = statusBytes('VmHWM') - before;
  await worker.terminate();
  console.log(JSON.stringify({ growthBytes, outputBytes }));
}

if (isMainThread) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
} else {
  void workerMain(workerData as Job);
}
