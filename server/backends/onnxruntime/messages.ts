/** Messages between the ONNX Runtime backend and its worker thread (structured-cloned, buffers transferred). */

export interface WireTensor {
  name: string;
  /** onnxruntime-node type name: float32, int32, string, bool, ... */
  ortType: string;
  dims: number[];
  /** Typed array for numeric types; for strings, the elements in Triton's serialised form (BytesData.serialized). */
  data: ArrayBufferView;
}

/**
 * Tensor data copied into a buffer of its own, which postMessage can move. A Node Buffer's slice() is no copy but a
 * view of the same memory, often Node's pool of small Buffers: in a transfer list, Node 20 copies such a buffer silently,
 * Node 24 (the image's) throws DataCloneError. TypedArray.prototype.slice copies for every typed array, Buffers too.
 */
export function ownCopy(data: ArrayBufferView): ArrayBufferView {
  return Uint8Array.prototype.slice.call(data as Uint8Array);
}

export interface WorkerInit {
  modelPath: string;
  intraOpThreads: number;
  interOpThreads: number;
  /** In order of preference: 'cpu', or { name: 'cuda', deviceId } etc. */
  executionProviders: Array<string | { name: string; deviceId?: number; [option: string]: unknown }>;
  graphOptimizationLevel: 'disabled' | 'basic' | 'extended' | 'all';
  /** Triton's `execution_mode` parameter (0 sequential, 1 parallel). @default 'sequential' */
  executionMode?: 'sequential' | 'parallel';
  /** Triton's `enable_mem_arena` / `enable_mem_pattern` parameters; absent: ORT's default. */
  enableCpuMemArena?: boolean;
  enableMemPattern?: boolean;
  /** Session config entries by their full key, e.g. session.use_device_allocator_for_initializers. */
  sessionConfig?: Record<string, string>;
  /** The shared-memory hand-off (shared-channel.ts); without it every run goes by postMessage. */
  channel?: SharedArrayBuffer;
}

/** What a spare worker (spare-worker.ts) starts with: no model yet, a tiny one to warm onnxruntime up with. */
export interface SpareWorkerData {
  spare: true;
  warmUpModel: Uint8Array;
}

/** One model execution: a (possibly merged) batch. */
export interface WireRun {
  inputs: WireTensor[];
  outputNames: string[];
}

export type WireRunResult =
  | { ok: true; outputs: WireTensor[]; inputNs: number; inferNs: number; outputNs: number }
  | { ok: false; message: string };

/**
 * Several runs travel in one message and come back in one: the thread hand-off, not the model, is the main cost for
 * small models, so a queue of independent requests pays it once.
 */
export type RunMessage = { type: 'run'; id: number; runs: WireRun[] };
/** 'init': the model a spare worker (spare-worker.ts) is to serve; a worker started for one model gets it as workerData. */
export type ToWorker = RunMessage | { type: 'stop' } | { type: 'init'; init: WorkerInit };

export type FromWorker =
  | { type: 'ready'; inputNames: string[]; outputNames: string[] }
  | { type: 'init-error'; message: string }
  | { type: 'result'; id: number; results: WireRunResult[] };
