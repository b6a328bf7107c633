/** Shared by the ensemble suites: requests to simple_chain and ensemble configs written into scratch repositories. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { InferenceServerApp } from '../../server/app';
import type { InferRequest } from '../../server/core/types';
import { startServer } from './repo-fixture';

export const RANGE = Array.from({ length: 16 }, (_, i) => i);

export function ints(data: unknown): number[] {
  return Array.from(data as Int32Array);
}

export function chainRequest(offset = 0, outputs?: string[], batch = 1): InferRequest {
  const rows = (row: number[]) => Int32Array.from(Array.from({ length: batch }, () => row).flat());
  return {
    model: 'simple_chain',
    inputs: [
      { name: 'INPUT0', datatype: 'INT32', shape: [batch, 16], data: rows(RANGE.map((i) => i + offset)) },
      { name: 'INPUT1', datatype: 'INT32', shape: [batch, 16], data: rows(RANGE.map((i) => 3 * i - offset)) },
    ],
    outputs: outputs?.map((name) => ({ name })),
  };
}

/** An ensemble config in a repository folder, with an empty version directory as Triton requires. */
export function writeEnsemble(repo: string, name: string, text: string): void {
  fs.mkdirSync(path.join(repo, name, '1'), { recursive: true });
  fs.writeFileSync(path.join(repo, name, 'config.pbtxt'), `name: "${name}"\nplatform: "ensemble"\n${text}`);
}

export const INT_IO = `max_batch_size: 8
input [ { name: "A" data_type: TYPE_INT32 dims: [ 16 ] }, { name: "B" data_type: TYPE_INT32 dims: [ 16 ] } ]
output [ { name: "Y" data_type: TYPE_INT32 dims: [ 16 ] } ]`;

export const oneStep = (model: string, version = -1) => `ensemble_scheduling { step [ { model_name: "${model}" model_version: ${version}
  input_map { key: "INPUT0" value: "A" } input_map { key: "INPUT1" value: "B" } output_map { key: "OUTPUT0" value: "Y" } } ] }`;

/** Servers started by one suite, stopped after each test. */
export function serverPool(): { serve: (...args: Parameters<typeof startServer>) => Promise<{ server: InferenceServerApp; failed: string[] }>; stopAll: () => Promise<void> } {
  const servers: InferenceServerApp[] = [];
  return {
    serve: async (...args) => {
      const server = startServer(...args);
      servers.push(server);
      const failed = await server.start();
      return { server, failed: failed.failedModels };
    },
    stopAll: async () => {
      await Promise.all(servers.splice(0).map((s) => s.stop()));
    },
  };
}
