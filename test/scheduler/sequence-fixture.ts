import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SequenceAccumulateOptions, sequenceAccumulateConfig, sequenceAccumulateModel } from '../../examples/build-models';
import type { InferRequest, Parameters } from '../../server/core/types';

export type SequenceModelOptions = SequenceAccumulateOptions;

/** A scratch repository of sequence_accumulate variants (examples/build-models.ts builds the model and its config). */
export function sequenceRepository(models: SequenceModelOptions[]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sequence-repo-'));
  for (const options of models) {
    fs.mkdirSync(path.join(dir, options.name, '1'), { recursive: true });
    fs.writeFileSync(path.join(dir, options.name, 'config.pbtxt'), sequenceAccumulateConfig(options));
    const corrid = options.corrid === 'TYPE_STRING' ? 'STRING' : options.corrid ? 'UINT64' : undefined;
    fs.writeFileSync(path.join(dir, options.name, '1', 'model.onnx'), sequenceAccumulateModel(options.name, corrid, options.maxBatchSize !== 0));
  }
  return dir;
}

export interface Step {
  start?: boolean;
  end?: boolean;
}

/** One request of a sequence: INPUT = [[value]], with the sequence parameters as clients send them. */
export function sequenceRequest(model: string, id: number | bigint | string | undefined, value: number, step: Step = {}, batched = true): InferRequest {
  const parameters: Parameters = {};
  if (id !== undefined) parameters.sequence_id = id;
  if (step.start) parameters.sequence_start = true;
  if (step.end) parameters.sequence_end = true;
  return {
    model,
    parameters,
    inputs: [{ name: 'INPUT', datatype: 'INT32', shape: batched ? [1, 1] : [1], data: Int32Array.of(value) }],
  };
}

/** Running sums a sequence of values must produce. */
export function runningSums(values: readonly number[]): number[] {
  let total = 0;
  return values.map((value) => (total += value));
}
