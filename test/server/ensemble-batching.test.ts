/**
 * Ensembles whose steps batch differently from the ensemble, as Triton's ensemble scheduler shapes the tensors
 * between them: a tensor made without batching that has a batching model's dims gets a batch dimension of 1, a tensor
 * of batch size 1 going to a model without batching loses it, and the ensemble's outputs are shaped for its own
 * config the same way. Also `ensemble_scheduling.max_inflight_requests` as a config field (its limit is tested in
 * test/scheduler/ensemble-backpressure.test.ts).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import type { InferRequest } from '../../server/core/types';
import { serverPool, writeEnsemble } from './ensemble-fixture';

/** Triton's identity backend (built in): OUT copies IN. */
function identityModel(repo: string, name: string, maxBatchSize: number): void {
  fs.mkdirSync(path.join(repo, name, '1'), { recursive: true });
  fs.writeFileSync(
    path.join(repo, name, 'config.pbtxt'),
    `backend: "identity"
max_batch_size: ${maxBatchSize}
input [ { name: "IN" data_type: TYPE_INT32 dims: [ 1 ] } ]
output [ { name: "OUT" data_type: TYPE_INT32 dims: [ 1 ] } ]`,
  );
}

const step = (model: string, from: string, to: string) =>
  `{ model_name: "${model}" model_version: -1 input_map { key: "IN" value: "${from}" } output_map { key: "OUT" value: "${to}" } }`;

function ensemble(maxBatchSize: number, steps: string[], scheduling = ''): string {
  return `max_batch_size: ${maxBatchSize}
input [ { name: "X" data_type: TYPE_INT32 dims: [ 1 ] } ]
output [ { name: "Y" data_type: TYPE_INT32 dims: [ 1 ] } ]
ensemble_scheduling { ${scheduling} step [ ${steps.join(', ')} ] }`;
}

function repository(): string {
  const repo = fs.mkdtempSync(path.join(os.tmpdir(), 'ensemble-batching-'));
  identityModel(repo, 'batching', 1);
  identityModel(repo, 'batching_4', 4);
  identityModel(repo, 'not_batching', 0);
  // Triton's L0_simple_ensemble layout: a non-batching ensemble over a model that batches.
  writeEnsemble(repo, 'plain_over_batching', ensemble(0, [step('batching', 'X', 'Y')]));
  writeEnsemble(repo, 'batching_over_plain', ensemble(4, [step('not_batching', 'X', 'Y')]));
  writeEnsemble(repo, 'plain_chain', ensemble(0, [step('batching', 'X', 'T1'), step('not_batching', 'T1', 'T2'), step('batching_4', 'T2', 'Y')]));
  writeEnsemble(repo, 'limited', ensemble(4, [step('batching_4', 'X', 'Y')], 'max_inflight_requests: 2'));
  return repo;
}

const request = (model: string, shape: number[], values: number[]): InferRequest => ({
  model,
  inputs: [{ name: 'X', datatype: 'INT32', shape, data: Int32Array.from(values) }],
});

describe('ensembles: steps that batch differently from the ensemble', () => {
  const pool = serverPool();
  afterEach(() => pool.stopAll());

  it('gives a batching step a batch dimension of 1 and takes it off the ensemble output', async () => {
    const { server, failed } = await pool.serve({ modelRepositories: [repository()] });
    expect(failed).toEqual([]);
    const response = await server.service.infer(request('plain_over_batching', [1], [7]));
    expect(response.outputs.map((output) => [output.name, output.shape, Array.from(output.data as Int32Array)])).toEqual([['Y', [1], [7]]]);
    // The step ran as a batch of one.
    expect(server.service.modelStatistics('batching')[0].batch_stats.map((stats) => stats.batch_size)).toEqual([1]);
  });

  it('takes the batch dimension off for a step without batching and gives it back to a batching ensemble', async () => {
    const { server } = await pool.serve({ modelRepositories: [repository()] });
    const response = await server.service.infer(request('batching_over_plain', [1, 1], [3]));
    expect(response.outputs.map((output) => [output.shape, Array.from(output.data as Int32Array)])).toEqual([[[1, 1], [3]]]);
  });

  it('carries each tensor\'s batch size through a chain of batching and non-batching steps', async () => {
    const { server } = await pool.serve({ modelRepositories: [repository()] });
    const response = await server.service.infer(request('plain_chain', [1], [-5]));
    expect(response.outputs.map((output) => [output.shape, Array.from(output.data as Int32Array)])).toEqual([[[1], [-5]]]);
  });

  it('leaves a tensor that fits neither way as it is: the step refuses it in its own words', async () => {
    const { server } = await pool.serve({ modelRepositories: [repository()] });
    // A batch of 2 cannot lose its batch dimension: not_batching gets [2, 1] and refuses it.
    await expect(server.service.infer(request('batching_over_plain', [2, 1], [1, 2]))).rejects.toThrow(
      "in ensemble 'batching_over_plain', [request id: <id_unknown>] unexpected shape for input 'IN' for model 'not_batching'. Expected [1], got [2,1]. ",
    );
  });
});

describe('ensemble_scheduling.max_inflight_requests', () => {
  const pool = serverPool();
  afterEach(() => pool.stopAll());

  it("loads, is logged in Triton's words, answers in the config and limits nothing a request can see", async () => {
    const lines: { msg: string }[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const { server, failed } = await pool.serve({ modelRepositories: [repository()], logger });
    expect(failed).toEqual([]);
    expect(lines.map((line) => line.msg)).toContain("Ensemble model 'limited' configured with max_inflight_requests: 2");
    expect(lines.filter((line) => line.msg.includes('max_inflight_requests'))).toHaveLength(1);
    expect(server.service.modelConfig('limited').ensemble_scheduling?.max_inflight_requests).toBe(2);
    const answers = await Promise.all([1, 2, 3, 4, 5].map((value) => server.service.infer(request('limited', [1, 1], [value]))));
    expect(answers.map((answer) => Array.from(answer.outputs[0].data as Int32Array)[0])).toEqual([1, 2, 3, 4, 5]);
  });
});
