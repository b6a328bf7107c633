import { onnx } from 'onnx-proto';
import { autoCompleteOnnx, describeOnnx } from '../../server/config/autocomplete';
import { configToKserve, kserveToConfig, onnxElemTypeToConfig } from '../../server/config/datatypes';
import { ConfigError } from '../../server/config/model-config';
import { normalizeModelConfig } from '../../server/config/normalize';
import { parseModelConfigText } from '../../server/config/pbtxt';

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT32 = onnx.TensorProto.DataType.INT32;
const STRING = onnx.TensorProto.DataType.STRING;

/** A dimension: a number is fixed, a string is symbolic, null has neither (unknown). */
type Dim = number | string | null;

function valueInfo(name: string, elemType: number, dims: Dim[] | undefined): onnx.IValueInfoProto {
  const shape = dims && {
    dim: dims.map((dim) => (typeof dim === 'number' ? { dimValue: dim } : typeof dim === 'string' ? { dimParam: dim } : {})),
  };
  return { name, type: { tensorType: { elemType, ...(shape ? { shape } : {}) } } };
}

/** An ONNX file with the given graph signature; only the signature matters to auto-complete. */
function onnxModel(inputs: onnx.IValueInfoProto[], outputs: onnx.IValueInfoProto[], initializers: string[] = []): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'test',
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'g',
      node: [{ opType: 'Identity', input: [inputs[0]?.name ?? 'x'], output: [outputs[0]?.name ?? 'y'] }],
      initializer: initializers.map((name) => ({ name, dataType: FLOAT, dims: [2], rawData: new Uint8Array(8) })),
      input: inputs,
      output: outputs,
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

const DYNAMIC_BATCH = onnxModel(
  [valueInfo('INPUT0', INT32, ['batch', 16]), valueInfo('INPUT1', INT32, [null, 16])],
  [valueInfo('OUTPUT0', INT32, [-1, 16]), valueInfo('OUTPUT1', FLOAT, ['N', 16])],
);
const FIXED_BATCH = onnxModel([valueInfo('x', FLOAT, [1, 3, 224, 224])], [valueInfo('y', FLOAT, [1, 1000])]);

describe('describeOnnx', () => {
  it('lists inputs (initializers excluded) and outputs with protocol datatypes and -1 for free dims', () => {
    const bytes = onnxModel(
      [valueInfo('text', STRING, ['n']), valueInfo('weights', FLOAT, [2])],
      [valueInfo('scores', FLOAT, ['n', 3]), valueInfo('scalar', INT32, [])],
      ['weights'],
    );
    expect(describeOnnx(bytes)).toEqual({
      inputs: [{ name: 'text', datatype: 'BYTES', shape: [-1] }],
      outputs: [
        { name: 'scores', datatype: 'FP32', shape: [-1, 3] },
        { name: 'scalar', datatype: 'INT32', shape: [] },
      ],
    });
  });

  it('refuses bytes that are not an ONNX model with a ConfigError', () => {
    expect(() => describeOnnx(new Uint8Array([0xff, 0xff, 0xff, 0xff]))).toThrow(ConfigError);
    expect(() => describeOnnx(new Uint8Array())).toThrow('unable to parse ONNX model: the model has no graph');
  });

  it('refuses inputs that are not tensors', () => {
    const bytes = onnx.ModelProto.encode({
      graph: { input: [{ name: 'seq', type: { sequenceType: { elemType: { tensorType: { elemType: FLOAT } } } } }], output: [] },
    }).finish();
    expect(() => describeOnnx(bytes)).toThrow("model input 'seq' is not a tensor");
  });
});

describe('autoCompleteOnnx', () => {
  it('gives a model that batches on every tensor max_batch_size 4, dynamic batching, and dims without the batch', () => {
    const completed = autoCompleteOnnx({ name: 'simple' }, DYNAMIC_BATCH);
    expect(completed).toEqual({
      name: 'simple',
      platform: 'onnxruntime_onnx',
      backend: 'onnxruntime',
      max_batch_size: 4,
      dynamic_batching: {},
      input: [
        { name: 'INPUT0', data_type: 'TYPE_INT32', dims: [16] },
        { name: 'INPUT1', data_type: 'TYPE_INT32', dims: [16] },
      ],
      output: [
        { name: 'OUTPUT0', data_type: 'TYPE_INT32', dims: [16] },
        { name: 'OUTPUT1', data_type: 'TYPE_FP32', dims: [16] },
      ],
    });
    // And the result passes Triton's validation, with the batcher's defaults filled.
    const normalized = normalizeModelConfig(completed, { modelDirectoryName: 'simple' });
    expect(normalized.dynamic_batching?.preferred_batch_size).toEqual([4]);
  });

  it('honours the default-max-batch-size option', () => {
    expect(autoCompleteOnnx({}, DYNAMIC_BATCH, { defaultMaxBatchSize: 1 })).toMatchObject({ max_batch_size: 1 });
    expect(autoCompleteOnnx({}, DYNAMIC_BATCH, { defaultMaxBatchSize: 1 }).dynamic_batching).toBeUndefined();
    expect(autoCompleteOnnx({}, DYNAMIC_BATCH, { defaultMaxBatchSize: 0 }).input?.[0].dims).toEqual([-1, 16]);
  });

  it('leaves a model with a fixed first dimension unbatched, with full dims', () => {
    const completed = autoCompleteOnnx({ name: 'resnet' }, FIXED_BATCH);
    expect(completed.max_batch_size).toBeUndefined();
    expect(completed.input).toEqual([{ name: 'x', data_type: 'TYPE_FP32', dims: [1, 3, 224, 224] }]);
    expect(completed.output).toEqual([{ name: 'y', data_type: 'TYPE_FP32', dims: [1, 1000] }]);
  });

  it('drops the model batch dimension when the config gives max_batch_size', () => {
    const completed = autoCompleteOnnx({ name: 'simple', max_batch_size: 8, dynamic_batching: { max_queue_delay_microseconds: 100 } }, DYNAMIC_BATCH);
    expect(completed.max_batch_size).toBe(8);
    expect(completed.dynamic_batching).toEqual({ max_queue_delay_microseconds: 100 });
    expect(completed.input?.map((input) => input.dims)).toEqual([[16], [16]]);
  });

  it('refuses max_batch_size for a model that cannot batch, in Triton words', () => {
    expect(() => autoCompleteOnnx({ name: 'resnet', max_batch_size: 8 }, FIXED_BATCH)).toThrow(
      "autofill failed for model 'resnet': model does not support batching while non-zero max_batch_size is specified",
    );
  });

  it('keeps the tensors the config gives and fills only the missing ones', () => {
    const config = parseModelConfigText(
      'name: "simple" max_batch_size: 2 input { name: "INPUT1" data_type: TYPE_INT32 dims: [4, 4] reshape { shape: [16] } }',
      'config.pbtxt',
    );
    const completed = autoCompleteOnnx(config, DYNAMIC_BATCH);
    expect(completed.input).toEqual([
      { name: 'INPUT1', data_type: 'TYPE_INT32', dims: [4, 4], reshape: { shape: [16] } },
      { name: 'INPUT0', data_type: 'TYPE_INT32', dims: [16] },
    ]);
    expect(completed.output?.map((output) => output.name)).toEqual(['OUTPUT0', 'OUTPUT1']);
    expect(config.input).toHaveLength(1);
  });

  it('changes nothing else when the config lists every tensor', () => {
    const config = parseModelConfigText(
      `name: "resnet" input { name: "x" data_type: TYPE_FP32 dims: [1, 3, 224, 224] } output { name: "y" data_type: TYPE_FP32 dims: [1, 1000] }`,
      'config.pbtxt',
    );
    expect(autoCompleteOnnx(config, FIXED_BATCH)).toEqual({ ...config, platform: 'onnxruntime_onnx', backend: 'onnxruntime' });
  });

  it('refuses config tensors the model lacks, naming the allowed ones in sorted order', () => {
    expect(() => autoCompleteOnnx({ input: [{ name: 'INPUT9' }] }, DYNAMIC_BATCH)).toThrow(
      "unexpected inference input 'INPUT9', allowed inputs are: INPUT0, INPUT1",
    );
    expect(() => autoCompleteOnnx({ output: [{ name: 'prob' }] }, DYNAMIC_BATCH)).toThrow(
      "unexpected inference output 'prob', allowed outputs are: OUTPUT0, OUTPUT1",
    );
  });

  it('writes a per-item scalar as dims [1] with an empty reshape', () => {
    const bytes = onnxModel([valueInfo('x', FLOAT, ['n'])], [valueInfo('y', FLOAT, ['n'])]);
    expect(autoCompleteOnnx({}, bytes).input).toEqual([{ name: 'x', data_type: 'TYPE_FP32', dims: [1], reshape: { shape: [] } }]);
  });

  it('does not list batch inputs the server synthesises', () => {
    const bytes = onnxModel([valueInfo('x', FLOAT, ['n', 2]), valueInfo('count', INT32, ['n', 1])], [valueInfo('y', FLOAT, ['n', 2])]);
    const completed = autoCompleteOnnx(
      { batch_input: [{ kind: 'BATCH_ELEMENT_COUNT', target_name: ['count'], data_type: 'TYPE_INT32', source_input: ['x'] }] },
      bytes,
    );
    expect(completed.input?.map((input) => input.name)).toEqual(['x']);
  });
});

describe('datatypes', () => {
  it('maps config, protocol and ONNX names', () => {
    expect(configToKserve('TYPE_INT32')).toBe('INT32');
    expect(configToKserve('TYPE_STRING')).toBe('BYTES');
    expect(configToKserve('TYPE_BF16')).toBe('BF16');
    expect(() => configToKserve('TYPE_INVALID')).toThrow();
    expect(kserveToConfig('BYTES')).toBe('TYPE_STRING');
    expect(kserveToConfig('FP16')).toBe('TYPE_FP16');
    expect(kserveToConfig('toString')).toBeUndefined();
    expect([1, 10, 11, 16, 8, 9].map(onnxElemTypeToConfig)).toEqual(['TYPE_FP32', 'TYPE_FP16', 'TYPE_FP64', 'TYPE_BF16', 'TYPE_STRING', 'TYPE_BOOL']);
    expect(onnxElemTypeToConfig(14)).toBeUndefined();
  });
});
