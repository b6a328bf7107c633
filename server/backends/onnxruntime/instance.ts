import { Worker } from 'node:worker_threads';
import { DATATYPES, DataType, dataTypeFromOrt } from '../../core/datatypes';
import { Errors, InferenceError } from '../../core/errors';
import type { Tensor } from '../../core/tensor';
import { resolveWorkerScript } from '../worker-script';
import type { BackendInstance, ExecutionRequest, ExecutionResult } from '../backend';
import type { FromWorker, ToWorker, WireTensor, WorkerInit } from './messages';

interface PendingMessage {
  resolve(results: PromiseSettledResult<ExecutionResult>[]): void;
  reject(error: Error): void;
  postedAt: bigint;
}

/** A model instance: one worker thread holding one ONNX Runtime session. */
export class OnnxRuntimeInstance implements BackendInstance {
  private readonly pending = new Map<number, PendingMessage>();
  private nextId = 1;
  private closed = false;
  private failure: InferenceError | undefined;

  private constructor(
    readonly name: string,
    private readonly modelName: string,
    private readonly worker: Worker,
  ) {}

  /** Start the worker and wait until its session is created; rejects with the session's error. */
  static async start(name: string, modelName: string, init: WorkerInit): Promise<OnnxRuntimeInstance> {
    const worker = new Worker(resolveWorkerScript(__dirname, 'worker'), { workerData: init, name });
    const instance = new OnnxRuntimeInstance(name, modelName, worker);
    await new Promise<void>((resolve, reject) => {
      const onMessage = (message: FromWorker) => {
        if (message.type === 'ready') {
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
    this.worker.on('error', (error) => this.fail(Errors.backendFailed(this.modelName, error.message)));
    this.worker.on('exit', () => this.fail(Errors.instanceLost(this.modelName)));
  }

  private onMessage(message: FromWorker): void {
    if (message.type !== 'result') return;
    const pending = this.pending.get(message.id);
    if (!pending) return;
    this.pending.delete(message.id);
    const roundTripNs = Number(process.hrtime.bigint() - pending.postedAt);
    const workerNs = message.results.reduce((sum, r) => sum + (r.ok ? r.inputNs + r.inferNs + r.outputNs : 0), 0);
    // Time spent handing tensors across threads counts as input/output copying, as Triton counts its copies;
    // a message's hand-off is shared by the runs it carried.
    const handOffNs = Math.max(0, roundTripNs - workerNs) / message.results.length;
    pending.resolve(
      message.results.map((result): PromiseSettledResult<ExecutionResult> => {
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
  }

  async execute(inputs: Tensor[], outputNames: readonly string[]): Promise<ExecutionResult> {
    const [result] = await this.executeMany([{ inputs, outputNames }]);
    if (result.status === 'rejected') throw result.reason;
    return result.value;
  }

  executeMany(runs: readonly ExecutionRequest[]): Promise<PromiseSettledResult<ExecutionResult>[]> {
    if (this.closed || this.failure) return Promise.reject(this.failure ?? Errors.instanceLost(this.modelName));
    const id = this.nextId++;
    let message: ToWorker;
    try {
      message = {
        type: 'run',
        id,
        runs: runs.map((run) => ({ inputs: run.inputs.map(toWire), outputNames: [...run.outputNames] })),
      };
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, postedAt: process.hrtime.bigint() });
      try {
        this.worker.postMessage(message, transferList(message.runs.flatMap((run) => run.inputs)));
      } catch {
        // A buffer that cannot move (Node's pooled small Buffers) is copied instead.
        this.worker.postMessage(message);
      }
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.fail(Errors.unloading(this.modelName));
    await this.worker.terminate();
  }
}

/** Tensor data smaller than this, or viewing a small part of a larger buffer, is copied rather than transferred. */
const TRANSFER_MIN_BYTES = 64 * 1024;

function toWire(tensor: Tensor): WireTensor {
  const ortType = DATATYPES[tensor.datatype].ortType;
  if (!ortType) throw Errors.datatypeNotRunnable(tensor.datatype, 'onnxruntime');
  if (Array.isArray(tensor.data)) {
    // Compact copies: a view would drag its whole request body across the thread boundary.
    return { name: tensor.name, ortType, dims: tensor.shape, data: tensor.data.map((bytes) => bytes.slice()) };
  }
  const data = tensor.data;
  const spansBuffer = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength;
  // Moving a whole request body for a small tensor would detach (or, for pooled buffers, copy) far more than needed:
  // copy small tensors, move large ones (a large binary input is most of its body).
  const move = spansBuffer || (data.byteLength >= TRANSFER_MIN_BYTES && data.byteLength * 2 >= data.buffer.byteLength);
  return { name: tensor.name, ortType, dims: tensor.shape, data: move ? data : data.slice() };
}

function transferList(inputs: WireTensor[]): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  for (const input of inputs) {
    if (Array.isArray(input.data)) {
      for (const element of input.data) buffers.add(element.buffer as ArrayBuffer);
    } else if (!(input.data.buffer instanceof SharedArrayBuffer)) {
      buffers.add(input.data.buffer as ArrayBuffer);
    }
  }
  return [...buffers];
}

function fromWire(wire: WireTensor): Tensor {
  const datatype: DataType = dataTypeFromOrt(wire.ortType) ?? 'BYTES';
  return { name: wire.name, datatype, shape: wire.dims, data: wire.data as Tensor['data'] };
}
