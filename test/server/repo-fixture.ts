import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import { createInferenceServer, InferenceServerApp, InferenceServerOptions } from '../../server/app';
import type { InferRequest } from '../../server/core/types';

export const EXAMPLES = path.resolve(__dirname, '../../examples/model_repository');

/** A scratch copy of (some of) the example repository that a test may change. */
export function copyRepository(models: string[] = ['simple', 'mlp', 'add_sub_autocomplete', 'string_upper']): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'repo-'));
  for (const model of models) fs.cpSync(path.join(EXAMPLES, model), path.join(dir, model), { recursive: true });
  return dir;
}

export function startServer(options: Partial<InferenceServerOptions> & { modelRepositories: string[] }): InferenceServerApp {
  return createInferenceServer({
    allowHttp: false,
    allowGrpc: false,
    allowMetrics: false,
    logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    ...options,
  });
}

export function simpleRequest(model = 'simple', version?: string, offset = 0): InferRequest {
  return {
    model,
    version,
    inputs: [
      { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], data: Int32Array.from({ length: 16 }, (_, i) => i + offset) },
      { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], data: new Int32Array(16).fill(1) },
    ],
  };
}

export function sum(offset = 0): number[] {
  return Array.from({ length: 16 }, (_, i) => i + offset + 1);
}

/** The `simple` model's configuration as load-API JSON, with extra fields (version_policy, dynamic_batching, ...). */
export function simpleConfigJson(extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    name: 'simple',
    platform: 'onnxruntime_onnx',
    max_batch_size: 8,
    input: [
      { name: 'INPUT0', data_type: 'TYPE_INT32', dims: [16] },
      { name: 'INPUT1', data_type: 'TYPE_INT32', dims: [16] },
    ],
    output: [
      { name: 'OUTPUT0', data_type: 'TYPE_INT32', dims: [16] },
      { name: 'OUTPUT1', data_type: 'TYPE_INT32', dims: [16] },
    ],
    ...extra,
  });
}
