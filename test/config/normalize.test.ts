import { modelConfigToJson } from '../../server/config/config-json';
import { ConfigError, ModelConfig } from '../../server/config/model-config';
import { normalizeModelConfig, resolveBackendFields } from '../../server/config/normalize';
import { parseModelConfigText } from '../../server/config/pbtxt';

const SIMPLE = `
  name: "simple"
  platform: "onnxruntime_onnx"
  max_batch_size: 8
  input [
    { name: "INPUT0" data_type: TYPE_INT32 dims: [ 16 ] },
    { name: "INPUT1" data_type: TYPE_INT32 dims: [ 16 ] }
  ]
  output [
    { name: "OUTPUT0" data_type: TYPE_INT32 dims: [ 16 ] },
    { name: "OUTPUT1" data_type: TYPE_INT32 dims: [ 16 ] }
  ]
`;

function simpleWith(extra: string): ModelConfig {
  return parseModelConfigText(SIMPLE + extra, 'config.pbtxt');
}

function normalizeError(config: ModelConfig, options: Partial<Parameters<typeof normalizeModelConfig>[1]> = {}): string {
  try {
    normalizeModelConfig(config, { modelDirectoryName: config.name ?? 'simple', ...options });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('normalizeModelConfig: defaults', () => {
  it('fills what Triton fills for the simple model', () => {
    const config = normalizeModelConfig(simpleWith(''), { modelDirectoryName: 'simple' });
    expect(config).toMatchObject({
      name: 'simple',
      platform: 'onnxruntime_onnx',
      backend: 'onnxruntime',
      version_policy: { latest: { num_versions: 1 } },
      max_batch_size: 8,
      default_model_filename: 'model.onnx',
      instance_group: [{ name: 'simple', kind: 'KIND_CPU', count: 1, gpus: [] }],
      optimization: { input_pinned_memory: { enable: true }, output_pinned_memory: { enable: true } },
      parameters: {},
    });
    expect(config.input[0]).toEqual({ name: 'INPUT0', data_type: 'TYPE_INT32', format: 'FORMAT_NONE', dims: [16] });
    expect(config.dynamic_batching).toBeUndefined();
  });

  it('takes the name from the directory and leaves the argument untouched', () => {
    const parsed = parseModelConfigText(SIMPLE.replace('name: "simple"', ''), 'config.pbtxt');
    const config = normalizeModelConfig(parsed, { modelDirectoryName: 'simple' });
    expect(config.name).toBe('simple');
    expect(parsed.name).toBeUndefined();
    expect(parsed.instance_group).toBeUndefined();
  });

  it('fills dynamic batching defaults, the max batch size being the preferred size as in Triton', () => {
    const config = normalizeModelConfig(simpleWith('dynamic_batching { priority_queue_policy { key: 1 value { } } priority_levels: 1 default_priority_level: 1 }'), {
      modelDirectoryName: 'simple',
    });
    const noPolicy = { timeout_action: 'REJECT', default_timeout_microseconds: 0, allow_timeout_override: false, max_queue_size: 0 };
    expect(config.dynamic_batching).toEqual({
      preferred_batch_size: [8],
      max_queue_delay_microseconds: 0,
      preserve_ordering: false,
      priority_levels: 1,
      default_priority_level: 1,
      default_queue_policy: noPolicy,
      priority_queue_policy: { '1': noPolicy },
    });
  });

  it('names, counts and places explicit instance groups', () => {
    const config = normalizeModelConfig(
      simpleWith('instance_group [ { kind: KIND_GPU gpus: [1] }, { count: 3 kind: KIND_CPU }, { name: "auto" } ]'),
      { modelDirectoryName: 'simple' },
    );
    expect(config.instance_group).toEqual([
      { name: 'simple_0', kind: 'KIND_GPU', count: 1, gpus: [1] },
      { name: 'simple_1', kind: 'KIND_CPU', count: 3, gpus: [] },
      // Without availableGpus KIND_AUTO is left for the scheduler.
      { name: 'auto', kind: 'KIND_AUTO', count: 1, gpus: [] },
    ]);
  });

  it('resolves KIND_AUTO and fills GPU lists the way Triton does when the GPUs are known', () => {
    const onGpus = normalizeModelConfig(simpleWith('instance_group [ { kind: KIND_AUTO }, { kind: KIND_GPU count: 2 } ]'), {
      modelDirectoryName: 'simple',
      availableGpus: [0, 1],
    });
    expect(onGpus.instance_group.map(({ kind, gpus, count }) => ({ kind, gpus, count }))).toEqual([
      { kind: 'KIND_GPU', gpus: [0, 1], count: 1 },
      { kind: 'KIND_GPU', gpus: [0, 1], count: 2 },
    ]);
    const noGpus = normalizeModelConfig(simpleWith('instance_group { kind: KIND_AUTO }'), { modelDirectoryName: 'simple', availableGpus: [] });
    expect(noGpus.instance_group[0].kind).toBe('KIND_CPU');
    // A KIND_AUTO group listing a missing GPU falls back to CPU, which then may not list GPUs (Triton too).
    expect(normalizeError(simpleWith('instance_group { kind: KIND_AUTO gpus: [5] }'), { availableGpus: [0] })).toBe(
      'instance group simple_0 of model simple has kind KIND_CPU but specifies one or more GPUs',
    );
  });

  it('puts the default group on the GPUs when there are any, and uses the CPU count option', () => {
    const gpu = normalizeModelConfig(simpleWith(''), { modelDirectoryName: 'simple', availableGpus: [0] });
    expect(gpu.instance_group).toEqual([{ name: 'simple', kind: 'KIND_GPU', count: 1, gpus: [0] }]);
    const cpu = normalizeModelConfig(simpleWith(''), { modelDirectoryName: 'simple', availableGpus: [], defaultCpuInstanceCount: 2 });
    expect(cpu.instance_group).toEqual([{ name: 'simple', kind: 'KIND_CPU', count: 2, gpus: [] }]);
  });

  it('sets a default idle time for sequence batching', () => {
    const config = normalizeModelConfig(simpleWith('sequence_batching { }'), { modelDirectoryName: 'simple' });
    expect(config.sequence_batching?.max_sequence_idle_microseconds).toBe(1000000);
  });
});

describe('resolveBackendFields', () => {
  it('pairs platform and backend both ways and fills the model file name', () => {
    expect(resolveBackendFields({ platform: 'onnxruntime_onnx' }, { modelDirectoryName: 'm' })).toEqual({
      name: 'm',
      platform: 'onnxruntime_onnx',
      backend: 'onnxruntime',
      default_model_filename: 'model.onnx',
    });
    expect(resolveBackendFields({ backend: 'onnxruntime' }, { modelDirectoryName: 'm' })).toMatchObject({
      platform: 'onnxruntime_onnx',
      default_model_filename: 'model.onnx',
    });
    expect(resolveBackendFields({ backend: 'python' }, { modelDirectoryName: 'm' })).toEqual({
      name: 'm',
      backend: 'python',
      default_model_filename: 'model.py',
    });
  });

  it('recognises the backend from the version directory when the config names none', () => {
    expect(resolveBackendFields({}, { modelDirectoryName: 'm', versionDirectoryEntries: ['model.onnx'] })).toMatchObject({
      backend: 'onnxruntime',
      platform: 'onnxruntime_onnx',
    });
    expect(resolveBackendFields({}, { modelDirectoryName: 'm', versionDirectoryEntries: ['model.py'] })).toMatchObject({
      backend: 'python',
      default_model_filename: 'model.py',
    });
    expect(resolveBackendFields({ default_model_filename: 'model.py' }, { modelDirectoryName: 'm' }).backend).toBe('python');
    expect(resolveBackendFields({}, { modelDirectoryName: 'm', versionDirectoryEntries: ['weights.bin'] }).backend).toBeUndefined();
  });

  it("refuses a name that differs from the directory, in Triton's words", () => {
    expect(() => resolveBackendFields({ name: 'other' }, { modelDirectoryName: 'simple' })).toThrow(
      "unexpected directory name 'simple' for model 'other', directory name must equal model name",
    );
  });
});

describe('normalizeModelConfig: validation in Triton wording', () => {
  it('refuses configs that break the model-level rules', () => {
    expect(normalizeError({ name: 'm' })).toBe("unexpected platform type '' for m");
    expect(normalizeError({ name: 'm', platform: 'tensorrt_plan', backend: 'onnxruntime' })).toBe(
      "unexpected 'platform' and 'backend' pair, got:tensorrt_plan, onnxruntime",
    );
    expect(normalizeError({ ...simpleWith(''), max_batch_size: -1 })).toBe("'max_batch_size' must be non-negative value for simple");
    expect(normalizeError({ name: 'm', platform: 'ensemble' })).toBe('ensemble scheduling must be set for ensemble m whose platform is ensemble');
  });

  it('accepts a python model without a platform', () => {
    const config = normalizeModelConfig({ backend: 'python', input: [{ name: 'x', data_type: 'TYPE_STRING', dims: [1] }] }, {
      modelDirectoryName: 'py',
    });
    expect(config).toMatchObject({ name: 'py', backend: 'python', platform: '', default_model_filename: 'model.py' });
  });

  it('checks inputs and outputs', () => {
    const io = (input: string) => normalizeError(parseModelConfigText(`name: "m" platform: "onnxruntime_onnx" input { ${input} }`, 'c'));
    expect(io('data_type: TYPE_FP32 dims: [1]')).toBe("model input must specify 'name' for m");
    expect(io('name: "x" dims: [1]')).toBe("model input 'x' must specify 'data_type' for m");
    expect(io('name: "x" data_type: TYPE_INVALID dims: [1]')).toBe("model input 'x' must specify 'data_type' for m");
    expect(io('name: "x" data_type: TYPE_FP32')).toBe("model input 'x' must specify 'dims' for m");
    expect(io('name: "x" data_type: TYPE_FP32 dims: [0]')).toBe(
      "model input 'x' dimension must be integer >= 1, or -1 to indicate a variable-size dimension for m",
    );
    expect(io('name: "x" data_type: TYPE_FP32 dims: [-2]')).toMatch(/dimension must be integer >= 1/);
    expect(io('name: "x" data_type: TYPE_FP32 format: FORMAT_NCHW dims: [3, 4]')).toBe('model input NHWC/NCHW require 3 dims for m');
    expect(io('name: "x" data_type: TYPE_FP32 dims: [4] reshape { shape: [3] }')).toBe(
      "model input 'x' has different size for dims and reshape for m",
    );
    expect(io('name: "x" data_type: TYPE_FP32 dims: [1] reshape { }')).toBe(
      "model input 'x' cannot have empty reshape for non-batching model as scalar tensors are not supported for m",
    );
    expect(io('name: "x" data_type: TYPE_FP32 dims: [-1, 6] reshape { shape: [-1, 2, -1] }')).toBe(
      "model input 'x' has different number of variable-size dimensions for dims and reshape for m",
    );
    expect(io('name: "x" data_type: TYPE_FP32 dims: [4] is_shape_tensor: true')).toBe(
      'shape tensors are only supported for TensorRT platform for m',
    );
  });

  it('accepts matching reshapes, including a scalar reshape for batching models and variable runs', () => {
    const ok = (text: string) =>
      normalizeModelConfig(parseModelConfigText(`name: "m" platform: "onnxruntime_onnx" ${text}`, 'c'), { modelDirectoryName: 'm' });
    expect(() => ok('max_batch_size: 4 input { name: "x" data_type: TYPE_FP32 dims: [1] reshape { } }')).not.toThrow();
    expect(() => ok('input { name: "x" data_type: TYPE_FP32 dims: [2, 4, -1, 6] reshape { shape: [8, -1, 1, 6] } }')).not.toThrow();
    expect(() => ok('input { name: "x" data_type: TYPE_FP32 format: FORMAT_NHWC dims: [224, 224, 3] }')).not.toThrow();
  });

  it('refuses duplicate tensor names', () => {
    const config = simpleWith('');
    config.input?.push({ name: 'INPUT0', data_type: 'TYPE_INT32', dims: [16] });
    expect(normalizeError(config)).toBe("model input 'INPUT0' is specified more than once for simple");
  });

  it('checks dynamic batching sizes and priorities', () => {
    expect(normalizeError(simpleWith('dynamic_batching { preferred_batch_size: [4, 16] }'))).toBe(
      'dynamic batching preferred size must be <= max batch size for simple',
    );
    expect(normalizeError(simpleWith('dynamic_batching { preferred_batch_size: [0] }'))).toBe(
      'dynamic batching preferred size must be positive for simple',
    );
    expect(normalizeError(simpleWith('dynamic_batching { priority_levels: 2 }'))).toBe(
      'default priority level must be in range [1, 2] for simple',
    );
    expect(normalizeError(simpleWith('dynamic_batching { priority_levels: 2 default_priority_level: 3 }'))).toBe(
      'default priority level must be in range [1, 2] for simple',
    );
    expect(
      normalizeError(simpleWith('dynamic_batching { priority_levels: 2 default_priority_level: 1 priority_queue_policy { key: 3 value {} } }')),
    ).toBe('priority queue policy must have priority level in range [1, 2] for simple');
    expect(
      normalizeError(simpleWith('dynamic_batching { preserve_ordering: true default_queue_policy { timeout_action: DELAY default_timeout_microseconds: 5 } }')),
    ).toBe("Queue policy can not have DELAY as timeout action when 'preserve_ordering' is true for simple");
  });

  it('checks instance groups', () => {
    expect(normalizeError(simpleWith('instance_group { kind: KIND_CPU gpus: [0] }'))).toBe(
      'instance group simple_0 of model simple has kind KIND_CPU but specifies one or more GPUs',
    );
    expect(normalizeError(simpleWith('instance_group { name: "g" kind: KIND_GPU }'), { availableGpus: [] })).toBe(
      'instance group g of model simple has kind KIND_GPU but no GPUs are available',
    );
    expect(normalizeError(simpleWith('instance_group { name: "g" kind: KIND_GPU gpus: [3] }'), { availableGpus: [0, 1] })).toBe(
      'instance group g of model simple specifies invalid or unsupported gpu id 3. GPUs with at least the minimum required ' +
        'CUDA compute compatibility of 6.000000 are: 0, 1',
    );
  });

  it('checks batch inputs and outputs', () => {
    expect(normalizeError(simpleWith('batch_input { kind: BATCH_ELEMENT_COUNT target_name: "N" data_type: TYPE_INT32 source_input: "NOPE" }'))).toBe(
      "unknown source input name 'NOPE' for simple",
    );
    expect(normalizeError(simpleWith('batch_input { target_name: "N" data_type: TYPE_INT64 source_input: "INPUT0" }'))).toBe(
      'batch input data type must be TYPE_INT32 or TYPE_FP32 for simple',
    );
  });
});

describe('modelConfigToJson', () => {
  it("prints every primitive field at its default, as Triton's config endpoint does", () => {
    const json = modelConfigToJson(normalizeModelConfig(simpleWith('dynamic_batching { }'), { modelDirectoryName: 'simple' }));
    expect(json).toMatchObject({
      name: 'simple',
      platform: 'onnxruntime_onnx',
      backend: 'onnxruntime',
      runtime: '',
      max_batch_size: 8,
      batch_input: [],
      cc_model_filenames: {},
      metric_tags: {},
      parameters: {},
      model_warmup: [],
    });
    expect((json.input as object[])[0]).toEqual({
      name: 'INPUT0',
      data_type: 'TYPE_INT32',
      format: 'FORMAT_NONE',
      dims: [16],
      is_shape_tensor: false,
      allow_ragged_batch: false,
      optional: false,
      is_non_linear_format_io: false,
    });
    expect((json.output as object[])[0]).toMatchObject({ label_filename: '', dims: [16] });
    expect(json.dynamic_batching).toMatchObject({ preferred_batch_size: [8], priority_queue_policy: {} });
    // Unset messages and unset oneof members are not printed.
    expect(json).not.toHaveProperty('sequence_batching');
    expect(json).not.toHaveProperty('model_transaction_policy');
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
  });
});
