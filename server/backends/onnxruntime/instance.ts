import { Worker } from 'node:worker_threads';
import { DATATYPES, DataType, dataTypeFromOrt } from '../../core/datatypes';
import { Errors, InferenceError } from '../../core/errors';
import type { Tensor } from '../../core/tensor';
import { resolveWorkerScript } from '../worker-script';
import type { BackendInstance, ExecutionResult } from '../backend';
import type { FromWorker, ToWorker, WireTensor, WorkerInit } from './messages';

interface PendingRun {
  resolve(result: ExecutionResult): void;
  reject(error: Error): void;
  postedAt: bigint;
}

/** A model instance: one worker thread holding one ONNX Runtime session. */
export class OnnxRuntimeInstance implements BackendInstance {
  private readonly pending = new Map<number, PendingRun>();
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
    if (message.type !== 'result' && message.type !== 'run-error') return;
    const run = this.pending.get(message.id);
    if (!run) return;
    this.pending.delete(message.id);
    if (message.type === 'run-error') {
      run.reject(Errors.backendFailed(this.modelName, message.message));
      return;
    }
    const roundTripNs = Number(process.hrtime.bigint() - run.postedAt);
    const workerNs = message.inputNs + message.inferNs + message.outputNs;
    // Time spent handing tensors across threads counts as input/output copying, as Triton counts its copies.
    const handOffNs = Math.max(0, roundTripNs - workerNs);
    run.resolve({
      outputs: message.outputs.map(fromWire),
      computeInputNs: message.inputNs + handOffNs / 2,
      computeInferNs: message.inferNs,
      computeOutputNs: message.outputNs + handOffNs / 2,
    });
  }

  private fail(error: InferenceError): void {
    if (!this.failure) this.failure = error;
    for (const run of this.pending.values()) run.reject(error);
    this.pending.clear();
  }

  execute(inputs: Tensor[], outputNames: readonly string[]): Promise<ExecutionResult> {
    if (this.closed || this.failure) return Promise.reject(this.failure ?? Errors.instanceLost(this.modelName));
    const id = this.nextId++;
    const wireInputs = inputs.map(toWire);
    const message: ToWorker = { type: 'run', id, inputs: wireInputs, outputNames: [...outputNames] };
    return new Promise<ExecutionResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, postedAt: process.hrtime.bigint() });
      try {
        this.worker.postMessage(message, transferList(wireInputs));
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

function toWire(tensor: Tensor): WireTensor {
  const ortType = DATATYPES[tensor.datatype].ortType;
  if (!ortType) throw Errors.datatypeNotRunnable(tensor.datatype, 'onnxruntime');
  if (Array.isArray(tensor.data)) {
    // Compact copies: a view would drag its whole request body across the thread boundary.
    return { name: tensor.name, ortType, dims: tensor.shape, data: tensor.data.map((bytes) => bytes.slice()) };
  }
  return { name: tensor.name, ortType, dims: tensor.shape, data: tensor.data };
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
