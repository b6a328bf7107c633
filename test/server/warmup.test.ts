/**
 * model_warmup with the ONNX Runtime backend: samples run on every instance before READY (Triton counts them in the
 * statistics, which is how the test sees they ran), bad entries fail the version with a reason naming the sample
 * while the rest keeps serving, and entry validation (with fuzzing) never does anything but a clear InferenceError.
 */
import { BytesData } from '../../server/core/bytes-data';
import fc from 'fast-check';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { InferenceServerApp } from '../../server/app';
import type { ModelConfig, ModelWarmup } from '../../server/config/model-config';
import { normalizeModelConfig } from '../../server/config/normalize';
import { InferenceError } from '../../server/core/errors';
import { prepareWarmupSamples } from '../../server/repository/warmup-samples';
import { copyRepository, simpleConfigJson, simpleRequest, startServer, sum } from './repo-fixture';

const int32Input = (source: Record<string, unknown>, dims = [16]) => ({ data_type: 'TYPE_INT32', dims, ...source });

function warmupConfig(model_warmup: unknown[], extra: Record<string, unknown> = {}): string {
  return simpleConfigJson({ model_warmup, ...extra });
}

describe('model_warmup (onnxruntime)', () => {
  let server: InferenceServerApp;
  let repo: string;

  beforeAll(async () => {
    repo = copyRepository(['simple', 'mlp']);
    fs.mkdirSync(path.join(repo, 'simple', 'warmup'));
    fs.writeFileSync(path.join(repo, 'simple', 'warmup', 'input0.bin'), new Uint8Array(Int32Array.from({ length: 16 }, (_, i) => i).buffer));
    fs.writeFileSync(path.join(repo, 'simple', 'warmup', 'short.bin'), new Uint8Array(8));
    server = startServer({ modelRepositories: [repo], modelControlMode: 'explicit', loadModels: ['mlp'] });
    await server.start();
  });

  afterAll(async () => {
    await server?.stop();
    fs.rmSync(repo, { recursive: true, force: true });
  });

  it('runs zero, random and file samples on each of two KIND_CPU instances before READY, counted in the statistics', async () => {
    const config = warmupConfig(
      [
        { name: 'zeros', batch_size: 1, count: 3, inputs: { INPUT0: int32Input({ zero_data: true }), INPUT1: int32Input({ zero_data: true }) } },
        { name: 'random', batch_size: 4, inputs: { INPUT0: int32Input({ random_data: true }), INPUT1: int32Input({ random_data: true }) } },
        { name: 'file', batch_size: 2, inputs: { INPUT0: int32Input({ input_data_file: 'input0.bin' }), INPUT1: int32Input({ zero_data: true }) } },
        { name: 'skipped', batch_size: 0, inputs: { INPUT0: int32Input({ zero_data: true }), INPUT1: int32Input({ zero_data: true }) } },
      ],
      { instance_group: [{ kind: 'KIND_CPU', count: 2 }] },
    );
    await server.service.loadModel('simple', { config });
    const [stats] = server.service.modelStatistics('simple');
    // Per instance: 3 executions of 1 row, 1 of 4 rows, 1 of 2 rows; two instances.
    expect(stats.execution_count).toBe(2 * 5);
    expect(stats.inference_count).toBe(2 * (3 + 4 + 2));
    expect(stats.batch_stats.map((b) => [b.batch_size, b.compute_infer.count])).toEqual([
      [1, 6],
      [2, 2],
      [4, 2],
    ]);
    const response = await server.service.infer(simpleRequest('simple', undefined, 5));
    expect(Array.from(response.outputs[0].data as Int32Array)).toEqual(sum(5));
    expect(server.service.modelStatistics('simple')[0].inference_count).toBe(2 * 9 + 1);
  });

  it.each([
    ['datatype mismatch', { INPUT0: { data_type: 'TYPE_FP32', dims: [16], zero_data: true }, INPUT1: int32Input({ zero_data: true }) },
      "warmup sample 'bad': input 'INPUT0' data-type is 'TYPE_FP32', but model 'simple' expects 'TYPE_INT32'"],
    ['dims mismatch', { INPUT0: int32Input({ zero_data: true }, [8]), INPUT1: int32Input({ zero_data: true }) },
      "warmup sample 'bad': unexpected shape for input 'INPUT0' for model 'simple'. Expected [16], got [8]"],
    ['unknown input', { INPUT0: int32Input({ zero_data: true }), INPUT1: int32Input({ zero_data: true }), EXTRA: int32Input({ zero_data: true }) },
      "warmup sample 'bad': unexpected inference input 'EXTRA' for model 'simple', allowed inputs are: INPUT0, INPUT1"],
    ['missing input', { INPUT0: int32Input({ zero_data: true }) }, "warmup sample 'bad': missing required input(s) 'INPUT1'"],
    ['no data source', { INPUT0: int32Input({}), INPUT1: int32Input({ zero_data: true }) },
      "warmup sample 'bad': warmup setting expects input 'INPUT0' to have input_data_type set"],
    ['missing file', { INPUT0: int32Input({ input_data_file: 'nope.bin' }), INPUT1: int32Input({ zero_data: true }) },
      "warmup sample 'bad': cannot read input_data_file 'warmup/nope.bin' of input 'INPUT0': no such file"],
    ['file too small', { INPUT0: int32Input({ input_data_file: 'short.bin' }), INPUT1: int32Input({ zero_data: true }) },
      "warmup sample 'bad': warmup setting expects 64 bytes, but the data provided from short.bin only has 8 bytes"],
    ['file outside warmup/', { INPUT0: int32Input({ input_data_file: '../config.pbtxt' }), INPUT1: int32Input({ zero_data: true }) },
      "warmup sample 'bad': input_data_file '../config.pbtxt' of input 'INPUT0' must name a file inside the model's warmup/ folder"],
  ])('%s: the version is UNAVAILABLE with the reason in the index, the other models serve', async (_, inputs, reason) => {
    await server.service.unloadModel('simple');
    const failure = server.service.loadModel('simple', { config: warmupConfig([{ name: 'bad', batch_size: 1, inputs }]) });
    await expect(failure).rejects.toMatchObject({ code: 'INVALID_ARG', message: expect.stringContaining(reason) });
    const index = await server.service.repositoryIndex();
    expect(index.find((e) => e.name === 'simple')).toEqual({ name: 'simple', version: '2', state: 'UNAVAILABLE', reason });
    expect(server.service.isModelReady('simple')).toBe(false);
    expect(server.service.isModelReady('mlp')).toBe(true);
  });

  it('batch_size above max_batch_size is refused', async () => {
    const inputs = { INPUT0: int32Input({ zero_data: true }), INPUT1: int32Input({ zero_data: true }) };
    await expect(server.service.loadModel('simple', { config: warmupConfig([{ name: 'big', batch_size: 9, inputs }]) })).rejects.toMatchObject({
      message: expect.stringContaining("warmup sample 'big': batch_size 9 exceeds max_batch_size 8 of model 'simple'"),
    });
  });
});

describe('model_warmup entry validation (fuzzed)', () => {
  const modelDir = fs.mkdtempSync(path.join(os.tmpdir(), 'warmup-fuzz-'));
  fs.mkdirSync(path.join(modelDir, 'warmup'));
  fs.writeFileSync(path.join(modelDir, 'warmup', 'a.bin'), new Uint8Array(64));
  fs.writeFileSync(path.join(modelDir, 'warmup', 'strings.bin'), new Uint8Array([1, 0, 0, 0, 120, 2, 0, 0, 0, 121, 122]));
  afterAll(() => fs.rmSync(modelDir, { recursive: true, force: true }));

  const base: ModelConfig = {
    name: 'm',
    platform: 'onnxruntime_onnx',
    max_batch_size: 4,
    input: [
      { name: 'A', data_type: 'TYPE_INT32', dims: [-1, 4] },
      { name: 'S', data_type: 'TYPE_STRING', dims: [2] },
    ],
    output: [{ name: 'Y', data_type: 'TYPE_INT32', dims: [4] }],
  };
  const normalized = (model_warmup: ModelWarmup[]) =>
    normalizeModelConfig({ ...base, model_warmup }, { modelDirectoryName: 'm' });

  it('a valid sample yields tensors of the batch shape: file bytes for A, length-prefixed elements for S', async () => {
    const [sample] = await prepareWarmupSamples(
      normalized([
        { name: 'ok', batch_size: 3, inputs: { A: { data_type: 'TYPE_INT32', dims: [4, 4], input_data_file: 'a.bin' }, S: { data_type: 'TYPE_STRING', dims: [2], input_data_file: 'strings.bin' } } },
      ]),
      modelDir,
    );
    const [execution] = sample.executions();
    expect(execution.map((t) => t.shape)).toEqual([[3, 4, 4], [3, 2]]);
    expect((execution[0].data as Int32Array).length).toBe(48);
    expect((execution[1].data as BytesData).toStrings()).toEqual(['x', 'yz', 'x', 'yz', 'x', 'yz']);
  });

  it('any entry either prepares or fails with an InferenceError naming the sample', async () => {
    const dims = fc.array(fc.oneof(fc.integer({ min: -2, max: 6 }), fc.constant(4)), { maxLength: 3 });
    const input = fc.record(
      {
        data_type: fc.constantFrom('TYPE_INT32', 'TYPE_STRING', 'TYPE_FP32', 'TYPE_INVALID', 'TYPE_NOPE'),
        dims,
        zero_data: fc.boolean(),
        random_data: fc.boolean(),
        input_data_file: fc.constantFrom('a.bin', 'strings.bin', 'missing', '../x', '', '/etc/passwd'),
      },
      { requiredKeys: [] },
    );
    const entry = fc.record(
      {
        name: fc.string({ maxLength: 6 }),
        batch_size: fc.integer({ min: 0, max: 6 }),
        count: fc.integer({ min: 0, max: 3 }),
        inputs: fc.dictionary(fc.constantFrom('A', 'S', 'B', ''), input, { maxKeys: 3 }),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(fc.array(entry, { maxLength: 3 }), async (entries) => {
        try {
          const samples = await prepareWarmupSamples(normalized(entries as ModelWarmup[]), modelDir);
          for (const sample of samples) {
            for (const execution of sample.executions()) expect(execution.map((t) => t.name).sort()).toEqual(['A', 'S']);
          }
        } catch (error) {
          expect(error).toBeInstanceOf(InferenceError);
          expect((error as Error).message).toMatch(/warmup sample '/);
        }
      }),
      { numRuns: 300 },
    );
  });
});
