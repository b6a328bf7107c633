/** ONNX Runtime session options shared by the raw baselines (no worker code here: importing it runs nothing). */
import type * as ort from 'onnxruntime-node';

/** The server's session options (one thread each, no spinning): raw baselines run ORT as the server does. */
export const SESSION_OPTIONS: ort.InferenceSession.SessionOptions = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
  executionProviders: ['cpu'],
  // As server/backends/onnxruntime/worker.ts sets them.
  extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
};
