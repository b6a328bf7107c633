import fc from 'fast-check';
import { ConfigError } from '../../server/config/model-config';
import { parseModelConfigText } from '../../server/config/pbtxt';

function parse(text: string) {
  return parseModelConfigText(text, 'config.pbtxt');
}

function parseError(text: string): string {
  try {
    parse(text);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('parseModelConfigText: Triton example configs', () => {
  it('parses the simple model', () => {
    const config = parse(`
      name: "simple"
      platform: "onnxruntime_onnx"
      max_batch_size: 8
      input [
        {
          name: "INPUT0"
          data_type: TYPE_INT32
          dims: [ 16 ]
        },
        {
          name: "INPUT1"
          data_type: TYPE_INT32
          dims: [ 16 ]
        }
      ]
      output [
        { name: "OUTPUT0" data_type: TYPE_INT32 dims: [ 16 ] },
        { name: "OUTPUT1" data_type: TYPE_INT32 dims: [ 16 ] }
      ]
    `);
    expect(config).toEqual({
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
    });
  });

  it('parses a densenet_onnx-style config with reshape, format and label_filename', () => {
    const config = parse(`
      name: "densenet_onnx"
      platform: "onnxruntime_onnx"
      max_batch_size : 0
      input [
        {
          name: "data_0"
          data_type: TYPE_FP32
          format: FORMAT_NCHW
          dims: [ 3, 224, 224 ]
          reshape { shape: [ 1, 3, 224, 224 ] }
        }
      ]
      output [
        {
          name: "fc6_1"
          data_type: TYPE_FP32
          dims: [ 1000 ]
          reshape { shape: [ 1, 1000, 1, 1 ] }
          label_filename: "densenet_labels.txt"
        }
      ]
    `);
    expect(config.max_batch_size).toBe(0);
    expect(config.input?.[0]).toEqual({
      name: 'data_0',
      data_type: 'TYPE_FP32',
      format: 'FORMAT_NCHW',
      dims: [3, 224, 224],
      reshape: { shape: [1, 3, 224, 224] },
    });
    expect(config.output?.[0].label_filename).toBe('densenet_labels.txt');
  });

  it('parses dynamic batching with a default and per-priority queue policy', () => {
    const config = parse(`
      max_batch_size: 8
      dynamic_batching {
        preferred_batch_size: [ 4, 8 ]
        max_queue_delay_microseconds: 100
        priority_levels: 2
        default_priority_level: 2
        default_queue_policy {
          timeout_action: REJECT
          default_timeout_microseconds: 1000000
          allow_timeout_override: true
          max_queue_size: 16
        }
        priority_queue_policy {
          key: 1
          value: { timeout_action: DELAY default_timeout_microseconds: 500 }
        }
        priority_queue_policy [ { key: 2 value { max_queue_size: 4 } } ]
      }
    `);
    expect(config.dynamic_batching).toEqual({
      preferred_batch_size: [4, 8],
      max_queue_delay_microseconds: 100,
      priority_levels: 2,
      default_priority_level: 2,
      default_queue_policy: {
        timeout_action: 'REJECT',
        default_timeout_microseconds: 1000000,
        allow_timeout_override: true,
        max_queue_size: 16,
      },
      priority_queue_policy: {
        '1': { timeout_action: 'DELAY', default_timeout_microseconds: 500 },
        '2': { max_queue_size: 4 },
      },
    });
  });

  it('parses instance groups with gpus, and an empty dynamic_batching block stays present', () => {
    const config = parse(`
      instance_group [
        { count: 1 kind: KIND_GPU gpus: [ 0 ] },
        { count: 2 kind: KIND_GPU gpus: [ 1, 2 ] },
        { kind: KIND_CPU }
      ]
      dynamic_batching { }
    `);
    expect(config.instance_group).toEqual([
      { count: 1, kind: 'KIND_GPU', gpus: [0] },
      { count: 2, kind: 'KIND_GPU', gpus: [1, 2] },
      { kind: 'KIND_CPU' },
    ]);
    expect(config.dynamic_batching).toEqual({});
  });

  it('parses the parameters map in every spelling Triton users write', () => {
    const config = parse(`
      parameters { key: "EXECUTION_ENV_PATH" value: { string_value: "$$TRITON_MODEL_DIRECTORY/env.tar.gz" } }
      parameters: { key: "intra_op_thread_count" value: { string_value: "2" } }
      parameters [ { key: "a" value { string_value: 'x' } }, < key: "b" value < string_value: "y" > > ]
    `);
    expect(config.parameters).toEqual({
      EXECUTION_ENV_PATH: { string_value: '$$TRITON_MODEL_DIRECTORY/env.tar.gz' },
      intra_op_thread_count: { string_value: '2' },
      a: { string_value: 'x' },
      b: { string_value: 'y' },
    });
  });

  it('parses optimization execution accelerators with string-to-string parameters', () => {
    const config = parse(`
      optimization { execution_accelerators {
        gpu_execution_accelerator : [ {
          name : "tensorrt"
          parameters { key: "precision_mode" value: "FP16" }
          parameters { key: "max_workspace_size_bytes" value: "1073741824" }
        } ]
        cpu_execution_accelerator: [ { name: "openvino" } ]
      }}
    `);
    expect(config.optimization).toEqual({
      execution_accelerators: {
        gpu_execution_accelerator: [
          { name: 'tensorrt', parameters: { precision_mode: 'FP16', max_workspace_size_bytes: '1073741824' } },
        ],
        cpu_execution_accelerator: [{ name: 'openvino' }],
      },
    });
  });

  it('parses version policies, warmup, sequence batching, ensembles and the small policies', () => {
    const config = parse(`
      version_policy: { specific: { versions: [1, 3] } }
      model_warmup [{ name: "w" batch_size: 1 inputs { key: "IN" value: { data_type: TYPE_FP32 dims: [4] zero_data: true } } }]
      model_transaction_policy { decoupled: True }
      response_cache { enable: t }
      sequence_batching {
        max_sequence_idle_microseconds: 5000000
        oldest { max_candidate_sequences: 4 }
        control_input [ { name: "START" control [ { kind: CONTROL_SEQUENCE_START fp32_false_true: [ 0, 1 ] } ] } ]
      }
    `);
    expect(config.version_policy).toEqual({ specific: { versions: [1, 3] } });
    expect(config.model_warmup?.[0].inputs?.IN).toEqual({ data_type: 'TYPE_FP32', dims: [4], zero_data: true });
    expect(config.model_transaction_policy).toEqual({ decoupled: true });
    expect(config.response_cache).toEqual({ enable: true });
    expect(config.sequence_batching?.control_input?.[0].control?.[0]).toEqual({
      kind: 'CONTROL_SEQUENCE_START',
      fp32_false_true: [0, 1],
    });
    const ensemble = parse(`
      platform: "ensemble"
      ensemble_scheduling { step [ { model_name: "pre" model_version: -1 input_map { key: "a" value: "b" } } ] }
    `);
    expect(ensemble.ensemble_scheduling?.step?.[0]).toEqual({ model_name: 'pre', model_version: -1, input_map: { a: 'b' } });
  });
});

describe('parseModelConfigText: lexical details', () => {
  it('accepts comments, separators, numbers in every base, enum numbers and string escapes', () => {
    const config = parse(`
      # a comment line
      name: 'it''s' ; # adjacent strings concatenate
      max_batch_size: 0x10,
      input { name: "\\x41\\101\\u00e9\\n\\t\\"q\\"" data_type: 8 dims: [-1, 010, 3] }
      optimization { graph { level: -1 } priority: PRIORITY_MAX }
      sequence_batching { direct { minimum_slot_utilization: .5 } }
    `);
    expect(config.name).toBe('its');
    expect(config.max_batch_size).toBe(16);
    expect(config.input?.[0]).toEqual({ name: 'AAé\n\t"q"', data_type: 'TYPE_INT32', dims: [-1, 8, 3] });
    expect(config.optimization).toEqual({ graph: { level: -1 }, priority: 'PRIORITY_MAX' });
    expect(config.sequence_batching?.direct?.minimum_slot_utilization).toBe(0.5);
  });

  it('accepts floats with exponents and suffixes and the non-finite words', () => {
    const config = parse('model_metrics { metric_control { histogram_options { buckets: [1e3, 2.5f, -inf, 7] } } }');
    expect(config.model_metrics?.metric_control?.[0].histogram_options?.buckets).toEqual([1000, 2.5, -Infinity, 7]);
  });

  it('parses an empty file and an empty list', () => {
    expect(parse('')).toEqual({});
    expect(parse('  # only a comment\n')).toEqual({});
    expect(parse('input [ ]')).toEqual({ input: [] });
  });

  it('keeps map keys such as __proto__ as plain data', () => {
    const config = parse('parameters { key: "__proto__" value { string_value: "x" } }');
    expect(Object.keys(config.parameters ?? {})).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(config.parameters)).toBe(Object.prototype);
  });
});

describe('parseModelConfigText: errors name file, line and field', () => {
  it('reports an unknown field with its line and the message type', () => {
    const message = parseError('name: "m"\n\n\n\n\n\nmax_batch: 8\n');
    expect(message).toMatch(/^config\.pbtxt:7: unknown field 'max_batch' in inference\.ModelConfig/);
    expect(message).toContain("did you mean 'max_batch_size'?");
    expect(parseError('input { nme: "x" }')).toMatch(/^config\.pbtxt:1: unknown field 'nme' in inference\.ModelInput/);
    expect(parseError('constructor: 1')).toMatch(/unknown field 'constructor'/);
  });

  it("ends an integer's error with protobuf TextFormat's own words, as Triton logs them", () => {
    const scheduling = (value: string) => parseError(`ensemble_scheduling {\n  max_inflight_requests: ${value}\n}`);
    expect(scheduling('-5')).toBe(
      "config.pbtxt:2: field 'max_inflight_requests' value -5 is out of range for uint32 (protobuf: Expected integer, got: -)",
    );
    expect(scheduling('"invalid_value"')).toMatch(/ \(protobuf: Expected integer, got: "invalid_value"\)$/);
    expect(scheduling('12345678901')).toMatch(/ \(protobuf: Integer out of range \(12345678901\)\)$/);
    expect(parseError('max_batch_size: -3000000000')).toMatch(/ \(protobuf: Integer out of range \(3000000000\)\)$/);
  });

  it('reports a wrong type', () => {
    expect(parseError('name: "m"\n\nmax_batch_size: "eight"')).toBe(
      `config.pbtxt:3: field 'max_batch_size' expects int32, got string "eight" (protobuf: Expected integer, got: "eight")`,
    );
    expect(parseError('max_batch_size: 1.5')).toBe(
      "config.pbtxt:1: field 'max_batch_size' expects int32, got number 1.5 (protobuf: Expected integer, got: 1.5)",
    );
    expect(parseError('name: simple')).toBe("config.pbtxt:1: field 'name' expects string, got identifier simple");
    expect(parseError('max_batch_size: 3000000000')).toMatch(/out of range for int32/);
    expect(parseError('dynamic_batching { max_queue_delay_microseconds: -1 }')).toMatch(/out of range for uint64/);
    expect(parseError('response_cache { enable: yes }')).toMatch(/expects bool \(true or false\), got identifier yes/);
    expect(parseError('input { name: "a" }\nversion_policy: 3')).toMatch(
      /^config\.pbtxt:2: field 'version_policy' expects a inference\.ModelVersionPolicy message in \{ \}, got number 3/,
    );
  });

  it('reports a bad enum value, listing the allowed names', () => {
    const message = parseError('input [\n  { name: "x" data_type: TYPE_FLOAT32 }\n]');
    expect(message).toMatch(/^config\.pbtxt:2: field 'data_type' expects a value of enum inference\.DataType \(TYPE_INVALID, TYPE_BOOL/);
    expect(message).toMatch(/got identifier TYPE_FLOAT32$/);
    expect(parseError('instance_group { kind: 7 }')).toMatch(/field 'kind' expects a value of enum inference\.ModelInstanceGroup\.Kind/);
  });

  it('reports unterminated strings, blocks and bad escapes', () => {
    expect(parseError('name: "m"\nplatform: "onnx\n')).toBe('config.pbtxt:2: unterminated string');
    expect(parseError("name: 'abc")).toBe('config.pbtxt:1: unterminated string');
    expect(parseError('input {\n name: "a"\n')).toBe(
      "config.pbtxt:3: expected '}' to close 'input' opened at line 1, got end of input",
    );
    expect(parseError('name: "\\q"')).toBe("config.pbtxt:1: invalid escape sequence '\\q' in string");
    expect(parseError('name: "m" }')).toBe("config.pbtxt:1: expected a field name in inference.ModelConfig, got '}'");
    expect(parseError('max_batch_size: 12abc')).toBe("config.pbtxt:1: invalid number '12abc'");
    expect(parseError('name: "m" @')).toBe('config.pbtxt:1: unexpected character "@"');
  });

  it('reports repeated singular fields, oneof conflicts and lists on singular fields', () => {
    expect(parseError('name: "a"\nname: "b"')).toBe(
      "config.pbtxt:2: field 'name' is specified more than once in inference.ModelConfig",
    );
    expect(parseError('dynamic_batching { }\nsequence_batching { }')).toBe(
      "config.pbtxt:2: field 'sequence_batching' cannot be set together with 'dynamic_batching': both belong to oneof 'scheduling_choice'",
    );
    expect(parseError('name: ["a"]')).toBe("config.pbtxt:1: field 'name' is not repeated, so it cannot take a list");
    expect(parseError('dims: [1]')).toMatch(/unknown field 'dims' in inference\.ModelConfig/);
    expect(parseError('input { dims [1] }')).toMatch(/expected ':' after field 'dims'/);
    expect(parseError('parameters { key: "a" key: "b" }')).toMatch(/map entry of 'parameters' sets 'key' more than once/);
    expect(parseError('parameters { name: "a" }')).toMatch(/map entry of 'parameters' expects 'key' or 'value'/);
  });

  it('refuses absurd nesting with a ConfigError instead of overflowing the stack', () => {
    const deepest = 'optimization { cuda { graph_spec { graph_lower_bound { input { key: "a" value { dim: [1] } } } } } }';
    expect(parse(deepest).optimization?.cuda?.graph_spec?.[0].graph_lower_bound?.input?.a).toEqual({ dim: [1] });
    const hostile = 'input { '.repeat(5000);
    expect(() => parse(hostile)).toThrow(ConfigError);
  });
});

describe('parseModelConfigText: properties', () => {
  const fieldNames = ['name', 'platform', 'max_batch_size', 'input', 'output', 'dims', 'data_type', 'parameters', 'key', 'value',
    'dynamic_batching', 'priority_queue_policy', 'instance_group', 'kind', 'gpus', 'string_value', 'version_policy', 'latest'];
  const tokens = fc.oneof(
    fc.constantFrom(...fieldNames),
    fc.constantFrom('{', '}', '<', '>', '[', ']', ':', ',', ';', '-', '#', '\n', '"', "'", '\\', '.', 'TYPE_FP32', 'KIND_GPU', 'true'),
    fc.integer({ min: -5, max: 1e12 }).map(String),
    fc.double().map(String),
    fc.string({ maxLength: 6 }).map((text) => JSON.stringify(text)),
    fc.string({ maxLength: 4 }),
  );

  it('never throws anything but ConfigError, whatever the input', () => {
    fc.assert(
      fc.property(fc.oneof(fc.array(tokens, { maxLength: 40 }).map((parts) => parts.join(' ')), fc.string({ maxLength: 200 })), (text) => {
        try {
          parse(text);
        } catch (error) {
          if (!(error instanceof ConfigError)) throw error;
          if (!/^config\.pbtxt:\d+: /.test(error.message)) throw new Error(`message without position: ${error.message}`);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('reads back the tensors it is given, for any names and dims', () => {
    const tensor = fc.record({
      name: fc.string({ minLength: 1, maxLength: 12 }),
      dims: fc.array(fc.integer({ min: -1, max: 4096 }), { maxLength: 5 }),
    });
    fc.assert(
      fc.property(fc.array(tensor, { maxLength: 4 }), fc.integer({ min: 0, max: 1024 }), (inputs, maxBatchSize) => {
        const text = [
          `max_batch_size: ${maxBatchSize}`,
          ...inputs.map((input) => `input { name: ${JSON.stringify(input.name)} data_type: TYPE_FP32 dims: [${input.dims.join(', ')}] }`),
        ].join('\n');
        const config = parse(text);
        expect(config.max_batch_size).toBe(maxBatchSize);
        expect(config.input ?? []).toEqual(inputs.map((input) => ({ ...input, data_type: 'TYPE_FP32' })));
      }),
      { numRuns: 300 },
    );
  });
});
