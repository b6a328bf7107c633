/** Messages between the ONNX Runtime backend and its worker thread (structured-cloned, buffers transferred). */

export interface WireTensor {
  name: string;
  /** onnxruntime-node type name: float32, int32, string, bool, ... */
  ortType: string;
  dims: number[];
  /** Typed array for numeric types, one Uint8Array per element for strings. */
  data: ArrayBufferView | Uint8Array[];
}

export interface WorkerInit {
  modelPath: string;
  intraOpThreads: number;
  interOpThreads: number;
  /** In order of preference: 'cpu', or { name: 'cuda', deviceId } etc. */
  executionProviders: Array<string | { name: string; deviceId?: number; [option: string]: unknown }>;
  graphOptimizationLevel: 'disabled' | 'basic' | 'extended' | 'all';
}

export type ToWorker = { type: 'run'; id: number; inputs: WireTensor[]; outputNames: string[] };

export type FromWorker =
  | { type: 'ready'; inputNames: string[]; outputNames: string[] }
  | { type: 'init-error'; message: string }
  | { type: 'result'; id: number; outputs: WireTensor[]; inputNs: number; inferNs: number; outputNs: number }
  | { type: 'run-error'; id: number; message: string };
