/**
 * One ONNX Runtime session on its own thread: session.run blocks the thread it runs on, so it never runs on the
 * event loop. Jobs come through the shared-memory ring (shared-channel.ts) when the instance has one, else as
 * messages with their buffers transferred (no copy); outputs go back the same way.
 */
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { ownCopy, type FromWorker, type RunMessage, type SpareWorkerData, type ToWorker, type WireRunResult, type WireTensor, type WorkerInit } from './messages';
import { createSession, runOne } from './session-run';
import { Channel, DONE, HEAD, NameTable, SLOT_COUNT, STOP } from './shared-channel';

const port = parentPort;
if (!port) throw new Error('worker.ts must run in a worker thread');

/** The model to serve: given at start, or, for a spare started ahead of need (spare-worker.ts), by the first message. */
async function modelInit(): Promise<WorkerInit> {
  const data = workerData as WorkerInit | SpareWorkerData;
  if (!('spare' in data)) return data;
  // Create, run and release a tiny session meanwhile: the first real load then finds onnxruntime ready.
  const message = new Promise<ToWorker>((resolve) => port!.once('message', resolve));
  try {
    const warm = await createSession({ ...WARM_UP_SETTINGS, modelPath: '' }, data.warmUpModel);
    await warm.run({ X: new ort.Tensor('float32', new Float32Array(1), [1]) });
    await warm.release();
  } catch {
    // Only a head start: the real session reports any problem with onnxruntime itself.
  }
  const first = await message;
  if (first.type !== 'init') process.exit(0); // 'stop' before any model
  return first.init;
}

const WARM_UP_SETTINGS: Omit<WorkerInit, 'modelPath'> = {
  intraOpThreads: 1,
  interOpThreads: 1,
  executionProviders: ['cpu'],
  graphOptimizationLevel: 'all',
};

function post(message: FromWorker, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(message, transfer);
}

/** Post results moving the output buffers; if one cannot be moved (memory ORT owns), send copies instead. */
function postResults(message: Extract<FromWorker, { type: 'result' }>): void {
  const outputsOf = (m: typeof message) => m.results.flatMap((r) => (r.ok ? r.outputs : []));
  const buffers = new Set<ArrayBuffer>();
  for (const output of outputsOf(message)) {
    buffers.add(output.data.buffer as ArrayBuffer);
  }
  try {
    post(message, [...buffers]);
  } catch {
    const copy = (o: WireTensor): WireTensor => ({ ...o, data: ownCopy(o.data) });
    const copied = { ...message, results: message.results.map((r) => (r.ok ? { ...r, outputs: r.outputs.map(copy) } : r)) };
    post(copied, outputsOf(copied).map((o) => o.data.buffer as ArrayBuffer));
  }
}

async function main(): Promise<void> {
  const init = await modelInit();
  let session: ort.InferenceSession;
  try {
    session = await createSession(init);
  } catch (error) {
    post({ type: 'init-error', message: error instanceof Error ? error.message : String(error) });
    return;
  }
  post({ type: 'ready', inputNames: [...session.inputNames], outputNames: [...session.outputNames] });

  if (init.channel) {
    await serveChannel(session, new Channel(init.channel, new NameTable(session.inputNames, session.outputNames)));
    return;
  }
  // Runs are strictly sequential: one message is handled at a time.
  port!.on('message', async (message: ToWorker) => {
    if (message.type === 'stop') return stop(session);
    if (message.type !== 'run') return;
    const results: WireRunResult[] = [];
    for (const run of message.runs) results.push(await runOne(session, run));
    postResults({ type: 'result', id: message.id, results });
  });
}

/** Take jobs from the ring in order, forever (the instance ends this thread with terminate()). */
async function serveChannel(session: ort.InferenceSession, channel: Channel): Promise<void> {
  const control = channel.control;
  for (let taken = 0; ; taken++) {
    // Sleep until the event loop publishes a job: blocking is right here, this thread only runs the model.
    // Counters wrap at 2^32 in the Int32Array; the difference stays right.
    while (((Atomics.load(control, HEAD) - taken) | 0) === 0) {
      if (Atomics.load(control, STOP) !== 0) return stop(session);
      Atomics.wait(control, HEAD, taken | 0);
    }
    if (Atomics.load(control, STOP) !== 0) return stop(session);
    const slot = taken % SLOT_COUNT;
    const job = channel.readRequest(slot);
    // A job that did not fit was posted before its marker was published, so its message is already queued here.
    const runs = job.runs === 'port' ? (receiveMessageOnPort(port!)!.message as RunMessage).runs : job.runs;
    const results: WireRunResult[] = [];
    for (const run of runs) results.push(await runOne(session, run));
    if (!channel.writeResults(slot, job.jobId, results)) {
      postResults({ type: 'result', id: job.jobId, results });
      channel.writePostedMarker(slot, job.jobId);
    }
    Atomics.store(control, DONE, (taken + 1) | 0);
    Atomics.notify(control, DONE);
  }
}

/**
 * End the thread between runs: release the session's native memory, then exit. Ending it with terminate() while
 * session.run is inside native code can abort the whole process, so the instance asks first.
 */
async function stop(session: ort.InferenceSession): Promise<void> {
  try {
    await session.release();
  } finally {
    process.exit(0);
  }
}

void main();
