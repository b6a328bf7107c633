import { Worker } from 'node:worker_threads';
import { DATATYPES, DataType, dataTypeFromOrt } from '../../core/datatypes';
import { Errors, InferenceError } from '../../core/errors';
import { BytesData, isBytesData, type Tensor } from '../../core/tensor';
import { resolveWorkerScript } from '../worker-script';
import type { BackendInstance, ExecutionRequest, ExecutionResult } from '../backend';
import { ownCopy, type FromWorker, type RunMessage, type ToWorker, type WireRunResult, type WireTensor, type WorkerInit } from './messages';
import { Channel, CHANNEL_BYTES, DONE, HEAD, NameTable, SLOT_COUNT, STOP, waitAsync } from './shared-channel';
import { stopWorker } from './worker-stop';

interface PendingMessage {
  resolve(results: PromiseSettledResult<ExecutionResult>[]): void;
  reject(error: Error): void;
  postedAt: bigint;
}

/** A job waiting for a free ring slot. */
interface QueuedJob {
  readonly id: number;
  readonly runs: readonly ExecutionRequest[];
}

export interface InstanceOptions {
  /** Hand small tensors over through shared memory (default); false sends every run by postMessage. */
  readonly sharedMemory?: boolean;
  /** A started worker waiting for its model (spare-worker.ts); without it a new thread is started. */
  readonly spare?: Worker;
}

/**
 * A model instance: one worker thread holding one ONNX Runtime session. Each executeMany call is one job: through the
 * shared-memory ring (shared-channel.ts) when its tensors fit, else by postMessage; either way it settles by its id.
 */
export class OnnxRuntimeInstance implements BackendInstance {
  private readonly pending = new Map<number, PendingMessage>();
  private nextId = 1;
  private closed = false;
  private failure: InferenceError | undefined;
  private channel: Channel | undefined;
  /** Jobs written to the ring, and jobs whose slot has been read back (both count forever; slots are mod SLOT_COUNT). */
  private published = 0;
  private collected = 0;
  /** Jobs waiting because all SLOT_COUNT slots are in use. */
  private readonly overflow: QueuedJob[] = [];
  /** An Atomics.waitAsync on DONE is armed. */
  private watching = false;
  private exited = false;

  private constructor(
    readonly name: string,
    private readonly modelName: string,
    private readonly worker: Worker,
  ) {}

  /** Start the worker and wait until its session is created; rejects with the session's error. */
  static async start(name: string, modelName: string, init: WorkerInit, options: InstanceOptions = {}): Promise<OnnxRuntimeInstance> {
    const buffer = options.sharedMemory === false ? undefined : new SharedArrayBuffer(CHANNEL_BYTES);
    const workerData: WorkerInit = { ...init, channel: buffer };
    const worker = options.spare ?? new Worker(resolveWorkerScript(__dirname, 'worker'), { workerData, name, resourceLimits: ORT_WORKER_RESOURCE_LIMITS });
    if (options.spare) worker.postMessage({ type: 'init', init: workerData } satisfies ToWorker);
    const instance = new OnnxRuntimeInstance(name, modelName, worker);
    await new Promise<void>((resolve, reject) => {
      const onMessage = (message: FromWorker) => {
        if (message.type === 'ready') {
          if (buffer) instance.channel = new Channel(buffer, new NameTable(message.inputNames, message.outputNames));
          cleanup();
          resolve();
        } else if (message.type === 'init-error') {
          cleanup();
          void worker.terminate();
          reject(new Error(message.message));
        }
      };
      const onError = (error: Error) => {
        cleanup();
        reject(error);
      };
      const onExit = (code: number) => {
        cleanup();
        reject(new Error(`worker exited with code ${code} while loading`));
      };
      const cleanup = () => {
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
      };
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
    });
    instance.listen();
    return instance;
  }

  private listen(): void {
    this.worker.on('message', (message: FromWorker) => this.onMessage(message));
    this.worker.on('error', (error) => this.fail(Errors.backendFailed(this.modelName, workerErrorText(error))));
    this.worker.on('exit', () => {
      this.exited = true;
      this.fail(Errors.instanceLost(this.modelName));
    });
  }

  private onMessage(message: FromWorker): void {
    if (message.type === 'result') this.settle(message.id, message.results);
  }

  private settle(id: number, results: WireRunResult[]): void {
    const pending = this.pending.get(id);
    if (!pending) return;
    this.pending.delete(id);
    const roundTripNs = Number(process.hrtime.bigint() - pending.postedAt);
    const workerNs = results.reduce((sum, r) => sum + (r.ok ? r.inputNs + r.inferNs + r.outputNs : 0), 0);
    // Time spent handing tensors across threads counts as input/output copying, as Triton counts its copies;
    // a job's hand-off is shared by the runs it carried.
    const handOffNs = Math.max(0, roundTripNs - workerNs) / results.length;
    pending.resolve(
      results.map((result): PromiseSettledResult<ExecutionResult> => {
        if (!result.ok) return { status: 'rejected', reason: Errors.backendFailed(this.modelName, result.message) };
        return {
          status: 'fulfilled',
          value: {
            outputs: result.outputs.map(fromWire),
            computeInputNs: result.inputNs + handOffNs / 2,
            computeInferNs: result.inferNs,
            computeOutputNs: result.outputNs + handOffNs / 2,
          },
        };
      }),
    );
  }

  private fail(error: InferenceError): void {
    if (!this.failure) this.failure = error;
    for (const run of this.pending.values()) run.reject(error);
    this.pending.clear();
    this.overflow.length = 0;
    // Wake our own Atomics.waitAsync so it does not wait forever on a worker that is gone.
    if (this.channel) Atomics.notify(this.channel.control, DONE);
  }

  async execute(inputs: Tensor[], outputNames: readonly string[]): Promise<ExecutionResult> {
    const [result] = await this.executeMany([{ inputs, outputNames }]);
    if (result.status === 'rejected') throw result.reason;
    return result.value;
  }

  executeMany(runs: readonly ExecutionRequest[]): Promise<PromiseSettledResult<ExecutionResult>[]> {
    if (this.closed || this.failure) return Promise.reject(this.failure ?? Errors.instanceLost(this.modelName));
    const id = this.nextId++;
    let message: RunMessage | undefined;
    try {
      if (this.channel) runs.forEach((run) => run.inputs.forEach(ortTypeOf)); // fail now, as the message path does
      else message = toMessage(id, runs);
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, postedAt: process.hrtime.bigint() });
      if (message) this.post(message);
      else if (this.published - this.collected < SLOT_COUNT) this.publish({ id, runs });
      else this.overflow.push({ id, runs });
    });
  }

  private post(message: RunMessage): void {
    try {
      this.worker.postMessage(message, transferList(message.runs.flatMap((run) => run.inputs)));
    } catch {
      // A buffer that cannot move (Node's pooled small Buffers) is copied instead.
      this.worker.postMessage(message);
    }
  }

  /** Put a job in the next ring slot (its tensors copied in, or a marker with the runs posted) and wake the worker. */
  private publish(job: QueuedJob): void {
    const channel = this.channel!;
    const slot = this.published % SLOT_COUNT;
    const light = job.runs.map((run) => ({ inputs: run.inputs.map(viewWire), outputNames: run.outputNames }));
    if (!channel.writeRequest(slot, job.id, light)) {
      this.post(toMessage(job.id, job.runs));
      channel.writePortMarker(slot, job.id);
    }
    this.published += 1;
    Atomics.store(channel.control, HEAD, this.published | 0);
    Atomics.notify(channel.control, HEAD);
    this.watch();
  }

  /** Learn of finished jobs without blocking the event loop: Atomics.waitAsync resolves when the worker bumps DONE. */
  private watch(): void {
    if (this.watching || this.published === this.collected) return;
    this.watching = true;
    const wait = waitAsync(this.channel!.control, DONE, this.collected | 0);
    if (wait.async) void wait.value.then(this.onDone);
    else queueMicrotask(this.onDone);
  }

  private readonly onDone = (): void => {
    this.watching = false;
    if (this.closed || this.failure) return;
    const channel = this.channel!;
    // Counters wrap at 2^32 in the Int32Array; the difference stays right.
    for (let ready = (Atomics.load(channel.control, DONE) - this.collected) | 0; ready > 0; ready--) {
      const { jobId, results } = channel.readResults(this.collected % SLOT_COUNT);
      this.collected += 1;
      if (results !== 'posted') this.settle(jobId, results); // else its 'result' message settles it
    }
    while (this.overflow.length > 0 && this.published - this.collected < SLOT_COUNT) this.publish(this.overflow.shift()!);
    this.watch();
  };

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.fail(Errors.unloading(this.modelName));
    await this.stopWorker();
  }

  /** Stop the worker at a safe point (worker-stop.ts); the shared-memory channel's worker waits on STOP, not messages. */
  private async stopWorker(): Promise<void> {
    if (this.exited) return;
    if (this.channel) {
      Atomics.store(this.channel.control, STOP, 1);
      Atomics.notify(this.channel.control, HEAD);
    }
    await stopWorker(this.worker);
  }
}

/**
 * The worker's V8 young generation (spare workers, spare-worker.ts, start with it too). Its only large JavaScript allocations are string tensors (onnxruntime-node takes
 * and returns a JS string per element), which V8's default young generation lets grow by tens of MiB before a
 * scavenge: measured on a 500,000-element string request, peak RSS 129 → 98 MiB (1–2 MiB gave 93, at more GC time). Numeric runs
 * allocate a few small objects each, so the smaller space costs them nothing measurable.
 */
export const ORT_WORKER_RESOURCE_LIMITS = { maxYoungGenerationSizeMb: 4 };

/** Tensor data smaller than this, or viewing a small part of a larger buffer, is copied rather than transferred. */
const TRANSFER_MIN_BYTES = 64 * 1024;

export function ortTypeOf(tensor: Tensor): string {
  const ortType = DATATYPES[tensor.datatype].ortType;
  if (!ortType) throw Errors.datatypeNotRunnable(tensor.datatype, 'onnxruntime');
  return ortType;
}

function toMessage(id: number, runs: readonly ExecutionRequest[]): RunMessage {
  return { type: 'run', id, runs: runs.map((run) => ({ inputs: run.inputs.map(toWire), outputNames: [...run.outputNames] })) };
}

/** The tensor as the shared-memory writer reads it: no copy, it is copied into the slot. */
export function viewWire(tensor: Tensor): WireTensor {
  return { name: tensor.name, ortType: ortTypeOf(tensor), dims: tensor.shape, data: isBytesData(tensor.data) ? tensor.data.serialized : tensor.data };
}

function toWire(tensor: Tensor): WireTensor {
  const ortType = ortTypeOf(tensor);
  const data = isBytesData(tensor.data) ? tensor.data.serialized : tensor.data;
  const spansBuffer = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength;
  // Moving a whole request body for a small tensor would detach (or, for pooled buffers, copy) far more than needed:
  // copy small tensors, move large ones (a large binary input is most of its body).
  const move = spansBuffer || (data.byteLength >= TRANSFER_MIN_BYTES && data.byteLength * 2 >= data.buffer.byteLength);
  return { name: tensor.name, ortType, dims: tensor.shape, data: move ? data : ownCopy(data) };
}

/**
 * What an uncaught error in the worker thread says. Node passes a DOMException thrown there (e.g. DataCloneError) to
 * the 'error' event as an Error with an empty message and the original name and message only in its stack.
 */
export function workerErrorText(error: Error): string {
  return error.message || error.stack?.split('\n')[0] || String(error);
}

function transferList(inputs: WireTensor[]): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  for (const input of inputs) {
    if (!(input.data.buffer instanceof SharedArrayBuffer)) {
      buffers.add(input.data.buffer as ArrayBuffer);
    }
  }
  return [...buffers];
}

export function fromWire(wire: WireTensor): Tensor {
  const datatype: DataType = dataTypeFromOrt(wire.ortType) ?? 'BYTES';
  if (datatype === 'BYTES') {
    const data = BytesData.fromSerialized(wire.data as Uint8Array);
    if (!data) throw Errors.outputSizeMismatch(wire.name);
    return { name: wire.name, datatype, shape: wire.dims, data };
  }
  return { name: wire.name, datatype, shape: wire.dims, data: wire.data as Tensor['data'] };
}
