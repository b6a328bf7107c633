/**
 * Features that meet in one request: a stateful model inside an ensemble (Triton gives every step the ensemble
 * request's correlation id and flags), and a sequence whose first request reads its input from shared memory (the
 * requests of a sequence keep their arrival order whatever their inputs' source).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BytesData } from '../../server/core/bytes-data';
import type { InferenceServerApp } from '../../server/app';
import { InferenceError } from '../../server/core/errors';
import type { InferRequest } from '../../server/core/types';
import { runningSums, sequenceRequest } from '../scheduler/sequence-fixture';
import { createShmFile, removeCreatedShmFiles } from '../shared-memory/fixture';
import { copyRepository, startServer } from './repo-fixture';

const ENSEMBLE = `name: "accumulate_ensemble"
platform: "ensemble"
max_batch_size: 8
input [ { name: "VALUE" data_type: TYPE_INT32 dims: [ 1 ] } ]
output [ { name: "TOTAL" data_type: TYPE_INT32 dims: [ 1 ] } ]
ensemble_scheduling {
  step [
    {
      model_name: "sequence_accumulate"
      model_version: -1
      input_map { key: "INPUT" value: "VALUE" }
      output_map { key: "OUTPUT" value: "TOTAL" }
    }
  ]
}
`;

const total = (response: { outputs: { data: unknown }[] }) => (response.outputs[0].data as Int32Array)[0];

describe('feature interactions', () => {
  let server: InferenceServerApp;

  beforeAll(async () => {
    const repo = copyRepository(['sequence_accumulate', 'simple', 'simple_chain']);
    fs.mkdirSync(path.join(repo, 'accumulate_ensemble', '1'), { recursive: true });
    fs.writeFileSync(path.join(repo, 'accumulate_ensemble', 'config.pbtxt'), ENSEMBLE);
    // An ensemble whose output has class labels of its own.
    const chain = fs.readFileSync(path.join(repo, 'simple_chain', 'config.pbtxt'), 'utf8');
    fs.mkdirSync(path.join(repo, 'labelled_chain', '1'), { recursive: true });
    fs.writeFileSync(
      path.join(repo, 'labelled_chain', 'config.pbtxt'),
      chain.replace('"simple_chain"', '"labelled_chain"').replace(/(name: "OUTPUT0"\n\s*data_type: TYPE_INT32)/, '$1\n    label_filename: "labels.txt"'),
    );
    fs.writeFileSync(path.join(repo, 'labelled_chain', 'labels.txt'), Array.from({ length: 16 }, (_, i) => `class_${i}`).join('\n'));
    // Warmup of a stateful model: the sample gives the control and state inputs the sequence batcher normally feeds.
    const zeros = (name: string) => `inputs { key: "${name}" value: { data_type: TYPE_INT32 dims: [ 1 ] zero_data: true } }`;
    for (const [name, inputs] of [
      ['seq_warm', ['INPUT', 'START', 'READY', 'ACC_STATE_IN']],
      ['seq_warm_no_start', ['INPUT', 'READY', 'ACC_STATE_IN']],
    ] as const) {
      fs.cpSync(path.join(repo, 'sequence_accumulate'), path.join(repo, name), { recursive: true });
      const config = fs.readFileSync(path.join(repo, 'sequence_accumulate', 'config.pbtxt'), 'utf8').replace('"sequence_accumulate"', `"${name}"`);
      fs.writeFileSync(path.join(repo, name, 'config.pbtxt'), `${config}\nmodel_warmup [ { name: "w" batch_size: 2 ${inputs.map(zeros).join(' ')} } ]\n`);
    }
    server = startServer({ modelRepositories: [repo], allowClientSharedMemory: true });
    expect((await server.start()).failedModels).toEqual(['seq_warm_no_start']);
  });

  afterAll(async () => {
    await server.stop();
    removeCreatedShmFiles();
  });

  const ensembleRequest = (id: number, value: number, step: { start?: boolean; end?: boolean }): InferRequest => {
    const request = sequenceRequest('accumulate_ensemble', id, value, step);
    return { ...request, inputs: [{ ...request.inputs[0], name: 'VALUE' }] };
  };

  it('a sequence model inside an ensemble gets the correlation id and flags of the ensemble request', async () => {
    const values = { 7: [3, 4, 5], 8: [10, 20, 30] };
    const sums: Record<number, number[]> = { 7: [], 8: [] };
    for (let i = 0; i < 3; i++) {
      for (const id of [7, 8] as const) {
        const response = await server.service.infer(ensembleRequest(id, values[id][i], { start: i === 0, end: i === 2 }));
        sums[id].push(total(response));
      }
    }
    expect(sums[7]).toEqual(runningSums(values[7]));
    expect(sums[8]).toEqual(runningSums(values[8]));
    // Without a correlation id the step is refused as a direct request would be, naming the composing model.
    const missing = await server.service.infer(ensembleRequest(0, 1, { start: true })).catch((e: InferenceError) => e);
    expect(missing).toBeInstanceOf(InferenceError);
    expect((missing as InferenceError).message).toMatch(/to model 'sequence_accumulate' must specify a non-zero or non-empty correlation ID/);
  });

  it('model_warmup on a sequence model takes its control and state inputs, as Triton allows', async () => {
    expect(server.service.isModelReady('seq_warm')).toBe(true);
    const stats = server.service.modelStatistics('seq_warm')[0];
    expect(stats.execution_count).toBe(1);
    expect(total(await server.service.infer(sequenceRequest('seq_warm', 1, 4, { start: true, end: true })))).toBe(4);
    const index = await server.service.repositoryIndex();
    expect(index.find((entry) => entry.name === 'seq_warm_no_start')?.reason).toMatch(/failed to run warmup sample 'w': .*START/);
  });

  it('classification on an ensemble output uses the ensemble\'s own label_filename', async () => {
    const response = await server.service.infer({
      model: 'labelled_chain',
      inputs: [
        { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], data: Int32Array.from({ length: 16 }, (_, i) => i) },
        { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], data: new Int32Array(16).fill(1) },
      ],
      outputs: [{ name: 'OUTPUT0', parameters: { classification: 2 } }],
    });
    expect((response.outputs[0].data as BytesData).toStrings()).toEqual(['30:15:class_15', '28:14:class_14']);
  });

  it('a START request reading its input from shared memory is not overtaken by the next request of its sequence', async () => {
    const file = createShmFile(4);
    file.write(0, new Uint8Array(Int32Array.of(5).buffer));
    server.service.registerSystemSharedMemory('start_input', file.key, 0, 4);
    try {
      for (let round = 0; round < 5; round++) {
        const id = 100 + round;
        const start: InferRequest = {
          ...sequenceRequest('sequence_accumulate', id, 0, { start: true }),
          inputs: [{ name: 'INPUT', datatype: 'INT32', shape: [1, 1], sharedMemory: { region: 'start_input', offset: 0, byteSize: 4 } }],
        };
        // Sent back to back without waiting, as a streaming client does.
        const first = server.service.infer(start);
        const second = server.service.infer(sequenceRequest('sequence_accumulate', id, 2, { end: true }));
        expect([total(await first), total(await second)]).toEqual([5, 7]);
      }
    } finally {
      server.service.unregisterSystemSharedMemory('start_input');
    }
  });
});
