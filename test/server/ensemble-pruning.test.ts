/**
 * What one ensemble request runs and answers, as Triton's ensemble scheduler: only the steps the requested outputs
 * need, and the request's sequence id and flags on the response.
 */
import { encodeInferResponse } from '../../server/protocol/http/codec';
import { chainRequest, serverPool, writeEnsemble } from './ensemble-fixture';
import { copyRepository } from './repo-fixture';

/** Two independent steps: Y = A + B from one, Z = A - B from the other. */
const SPLIT = `max_batch_size: 8
input [ { name: "A" data_type: TYPE_INT32 dims: [ 16 ] }, { name: "B" data_type: TYPE_INT32 dims: [ 16 ] } ]
output [ { name: "Y" data_type: TYPE_INT32 dims: [ 16 ] }, { name: "Z" data_type: TYPE_INT32 dims: [ 16 ] } ]
ensemble_scheduling { step [
  { model_name: "simple" model_version: -1 input_map { key: "INPUT0" value: "A" } input_map { key: "INPUT1" value: "B" }
    output_map { key: "OUTPUT0" value: "Y" } },
  { model_name: "simple" model_version: -1 input_map { key: "INPUT0" value: "A" } input_map { key: "INPUT1" value: "B" }
    output_map { key: "OUTPUT1" value: "Z" } }
] }`;

describe('ensembles: per-request steps and response parameters', () => {
  const pool = serverPool();
  afterEach(() => pool.stopAll());

  it('runs only the steps that lead to a requested output', async () => {
    const repo = copyRepository(['simple']);
    writeEnsemble(repo, 'split', SPLIT);
    const { server, failed } = await pool.serve({ modelRepositories: [repo] });
    expect(failed).toEqual([]);
    const { service } = server;
    const request = (outputs?: string[]) => ({
      model: 'split',
      inputs: [
        { name: 'A', datatype: 'INT32' as const, shape: [1, 16], data: new Int32Array(16).fill(5) },
        { name: 'B', datatype: 'INT32' as const, shape: [1, 16], data: new Int32Array(16).fill(2) },
      ],
      outputs: outputs?.map((name) => ({ name })),
    });
    const successes = () => service.modelStatistics('simple')[0].inference_stats.success.count;

    const onlyZ = await service.infer(request(['Z']));
    expect(onlyZ.outputs.map((output) => [output.name, Array.from(output.data as Int32Array)[0]])).toEqual([['Z', 3]]);
    expect(successes()).toBe(1);
    await service.infer(request());
    expect(successes()).toBe(3);
  });

  it("puts the request's sequence id and START/END flags on the response; none given: 0, false, false", async () => {
    const { server } = await pool.serve({ modelRepositories: [copyRepository(['simple_chain', 'simple'])] });
    const { service } = server;
    const plain = await service.infer(chainRequest(0, ['OUTPUT0']));
    expect(plain.parameters).toEqual({ sequence_id: 0, sequence_start: false, sequence_end: false });
    const first = await service.infer({ ...chainRequest(0), parameters: { sequence_id: 42, sequence_start: true } });
    expect(first.parameters).toEqual({ sequence_id: 42, sequence_start: true, sequence_end: false });
    const named = await service.infer({ ...chainRequest(0), parameters: { sequence_id: 'conversation', sequence_end: true } });
    expect(named.parameters).toEqual({ sequence_id: 'conversation', sequence_start: false, sequence_end: true });
    const huge = await service.infer({ ...chainRequest(0), parameters: { sequence_id: 2n ** 60n + 1n } });
    expect(huge.parameters?.sequence_id).toBe(2n ** 60n + 1n);
    // The HTTP response carries them as Triton writes them, a 64-bit id as its exact digits.
    const encoded = encodeInferResponse({ ...huge, outputs: [] }, { binaryByDefault: false, binaryByName: new Map() });
    expect(String(encoded.body)).toContain(`"parameters":{"sequence_id":${2n ** 60n + 1n},"sequence_start":false,"sequence_end":false}`);
  });
});
