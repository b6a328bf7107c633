/**
 * One ONNX Runtime session on its own thread: session.run blocks the thread it runs on, so it never runs on the
 * event loop. Jobs come through the shared-memory ring (shared-channel.ts) when the instance has one, else as
 * messages with their buffers transferred (no copy); outputs go back the same way.
 */
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { BytesData } from '../../core/bytes-data';
import type { FromWorker, RunMessage, ToWorker, WireRun, WireRunResult, WireTensor, WorkerInit } from './messages';
import { Channel, DONE, HEAD, NameTable, SLOT_COUNT, STOP } from './shared-channel';

const port = parentPort;
if (!port) throw new Error('worker.ts must run in a worker thread');
const init = workerData as WorkerInit;

function post(message: FromWorker, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(message, transfer);
}

/** The elements of serialised BYTES as strings (what ORT's string tensors take), without a view per element. */
function stringsFromSerialized(bytes: Uint8Array): string[] {
  return BytesData.fromSerialized(bytes)?.toStrings() ?? [];
}

function toOrtTensor(wire: WireTensor): ort.Tensor {
  if (wire.ortType === 'string') {
    return new ort.Tensor('string', stringsFromSerialized(wire.data as Uint8Array), wire.dims);
  }
  return new ort.Tensor(wire.ortType as ort.Tensor.Type, wire.data as ort.Tensor.DataType, wire.dims);
}

function fromOrtTensor(name: string, tensor: ort.Tensor): WireTensor {
  const dims = tensor.dims.map(Number);
  if (tensor.type === 'string') {
    return { name, ortType: 'string', dims, data: BytesData.fromStrings(tensor.data as string[]).serialized };
  }
  return { name, ortType: tensor.type, dims, data: tensor.data as ArrayBufferView };
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
    const copy = (o: WireTensor): WireTensor => ({ ...o, data: (o.data as ArrayBufferView & { slice(): ArrayBufferView }).slice() });
    const copied = { ...message, results: message.results.map((r) => (r.ok ? { ...r, outputs: r.outputs.map(copy) } : r)) };
    post(copied, outputsOf(copied).map((o) => o.data.buffer as ArrayBuffer));
  }
}

async function runOne(session: ort.InferenceSession, run: WireRun): Promise<WireRunResult> {
  try {
    const started = process.hrtime.bigint();
    const feeds: Record<string, ort.Tensor> = {};
    for (const input of run.inputs) feeds[input.name] = toOrtTensor(input);
    const inputDone = process.hrtime.bigint();
    const results = await session.run(feeds, run.outputNames);
    const inferDone = process.hrtime.bigint();
    const outputs = run.outputNames.map((name) => fromOrtTensor(name, results[name]));
    const outputDone = process.hrtime.bigint();
    return {
      ok: true,
      outputs,
      inputNs: Number(inputDone - started),
      inferNs: Number(inferDone - inputDone),
      outputNs: Number(outputDone - inferDone),
    };
  } catch (error) {
    return { ok: false, message: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * ONNX Runtime's process-wide logger writes straight to stderr, outside the server's log (the Node binding takes no
 * logging callback, unlike Triton's backend): its errors, such as an execution provider library that cannot load,
 * reach the server as exceptions that the server logs with the model and the reason, so only its fatal lines are kept.
 * Each session's own logger stays at warning level (graph and placement warnings appear only there).
 */
ort.env.logLevel = 'fatal';
const SESSION_LOG_SEVERITY_WARNING = 2;

async function main(): Promise<void> {
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(init.modelPath, {
      logSeverityLevel: SESSION_LOG_SEVERITY_WARNING,
      intraOpNumThreads: init.intraOpThreads,
      interOpNumThreads: init.interOpThreads,
      executionMode: init.executionMode ?? 'sequential',
      graphOptimizationLevel: init.graphOptimizationLevel,
      executionProviders: init.executionProviders,
      ...(init.enableCpuMemArena !== undefined ? { enableCpuMemArena: init.enableCpuMemArena } : {}),
      ...(init.enableMemPattern !== undefined ? { enableMemPattern: init.enableMemPattern } : {}),
      // Spinning threads would compete with the event loop for these few cores. The binding joins nested keys
      // with '.', and takes an already dotted key as it is.
      extra: { 'session.intra_op.allow_spinning': '0', 'session.inter_op.allow_spinning': '0', ...init.sessionConfig },
    });
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
