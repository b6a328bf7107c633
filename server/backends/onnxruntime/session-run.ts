/**
 * One ONNX Runtime session: created with the instance's settings, run on wire tensors. Shared by the worker thread
 * (worker.ts, the default) and the opt-in event-loop instance (inline-instance.ts).
 */
import * as ort from 'onnxruntime-node';
import { BytesData } from '../../core/bytes-data';
import type { WireRun, WireRunResult, WireTensor, WorkerInit } from './messages';

/** The session of `init.modelPath`, or of the model bytes given. */
export function createSession(init: WorkerInit, modelBytes?: Uint8Array): Promise<ort.InferenceSession> {
  const options: ort.InferenceSession.SessionOptions = {
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
  };
  return modelBytes ? ort.InferenceSession.create(modelBytes, options) : ort.InferenceSession.create(init.modelPath, options);
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

/** One execution with its timings; ORT's errors come back as results, never thrown. */
export async function runOne(session: ort.InferenceSession, run: WireRun): Promise<WireRunResult> {
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
