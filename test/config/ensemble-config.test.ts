/**
 * Ensemble configs: Triton's data-flow rules (checked from the ensemble's own config) and the rules checked against
 * the composing models' configs, each with Triton's message; fuzzed text never throws anything but ConfigError.
 */
import fc from 'fast-check';
import { validateEnsembleComposition } from '../../server/config/ensemble-composition';
import { ConfigError, ModelConfig, NormalizedModelConfig } from '../../server/config/model-config';
import { normalizeModelConfig } from '../../server/config/normalize';
import { parseModelConfigText } from '../../server/config/pbtxt';

const IO = `
  max_batch_size: 8
  input [ { name: "IN0" data_type: TYPE_INT32 dims: [ 16 ] }, { name: "IN1" data_type: TYPE_INT32 dims: [ 16 ] } ]
  output [ { name: "OUT0" data_type: TYPE_INT32 dims: [ 16 ] }, { name: "OUT1" data_type: TYPE_INT32 dims: [ 16 ] } ]
`;

/** A step of `simple` (INPUT0, INPUT1 → OUTPUT0, OUTPUT1) reading a, b and writing c, d. */
const step = (a: string, b: string, c: string, d: string, model = 'simple') => `{
  model_name: "${model}" model_version: -1
  input_map { key: "INPUT0" value: "${a}" } input_map { key: "INPUT1" value: "${b}" }
  output_map { key: "OUTPUT0" value: "${c}" } output_map { key: "OUTPUT1" value: "${d}" } }`;

function ensemble(steps: string, extra = '', io = IO): ModelConfig {
  return parseModelConfigText(`name: "chain" platform: "ensemble" ${io} ${extra} ensemble_scheduling { step [ ${steps} ] }`, 'config.pbtxt');
}

function normalize(config: ModelConfig): NormalizedModelConfig {
  return normalizeModelConfig(config, { modelDirectoryName: config.name ?? 'chain', versionDirectoryEntries: [] });
}

function errorOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

const SIMPLE = normalizeModelConfig(
  parseModelConfigText(
    `name: "simple" platform: "onnxruntime_onnx" max_batch_size: 8
     input [ { name: "INPUT0" data_type: TYPE_INT32 dims: [ 16 ] }, { name: "INPUT1" data_type: TYPE_INT32 dims: [ 16 ] } ]
     output [ { name: "OUTPUT0" data_type: TYPE_INT32 dims: [ 16 ] }, { name: "OUTPUT1" data_type: TYPE_INT32 dims: [ 16 ] } ]`,
    'simple.pbtxt',
  ),
  { modelDirectoryName: 'simple' },
);

function composedWith(models: Record<string, NormalizedModelConfig>) {
  return (name: string) => {
    const found = models[name];
    if (!found) throw new Error(`no config for ${name}`);
    return found;
  };
}

describe('ensemble data flow (its own config)', () => {
  it('accepts a chain of two steps and keeps no instance groups', () => {
    const config = normalize(ensemble(`${step('IN0', 'IN1', 'S', 'D')}, ${step('S', 'D', 'OUT0', 'OUT1')}`));
    expect(config.platform).toBe('ensemble');
    expect(config.backend).toBe('');
    expect(config.instance_group).toEqual([]);
  });

  it.each([
    ['no step', '', '', "must specify 'step' for ensemble 'chain'"],
    [
      'a step without model_name',
      `{ input_map { key: "INPUT0" value: "IN0" } output_map { key: "OUTPUT0" value: "OUT0" } }`,
      '',
      "must specify 'model_name' in step 0 of ensemble 'chain'",
    ],
    [
      'a step without input_map',
      `{ model_name: "simple" output_map { key: "OUTPUT0" value: "OUT0" } }`,
      '',
      "must specify 'input_map' in step 0 of ensemble 'chain'",
    ],
    [
      'a step without output_map',
      `{ model_name: "simple" input_map { key: "INPUT0" value: "IN0" } }`,
      '',
      "must specify 'output_map' in step 0 of ensemble 'chain'",
    ],
    [
      'a tensor written by two steps',
      `${step('IN0', 'IN1', 'OUT0', 'OUT1')}, ${step('IN0', 'IN1', 'OUT0', 'X')}`,
      '',
      "ensemble tensor 'OUT0' can appear in an output map only once for ensemble 'chain' step 1",
    ],
    [
      'an ensemble input nobody reads',
      step('IN0', 'IN0', 'OUT0', 'OUT1'),
      '',
      "ensemble input 'IN1' for ensemble chain' is not used",
    ],
    [
      'an ensemble output nobody writes',
      step('IN0', 'IN1', 'OUT0', 'X'),
      '',
      "ensemble output 'OUT1' for ensemble chain' is not used",
    ],
    [
      'a cycle between steps',
      `${step('IN0', 'IN1', 'A', 'B')}, ${step('A', 'D', 'C', 'OUT1')}, ${step('C', 'B', 'D', 'OUT0')}`,
      '',
      "output 'OUT0' for ensemble 'chain' is not written: at least one of its depending tensors, 'D', is not connected",
    ],
    [
      'a step output nobody reads',
      `${step('IN0', 'IN1', 'S', 'D')}, ${step('S', 'S', 'OUT0', 'OUT1')}`,
      '',
      "ensemble tensor 'D' is unused in ensemble 'chain'",
    ],
    [
      'instance groups',
      step('IN0', 'IN1', 'OUT0', 'OUT1'),
      'instance_group [ { kind: KIND_CPU } ]',
      "instance group should not be specified for ensemble 'chain'",
    ],
    [
      'warmup',
      step('IN0', 'IN1', 'OUT0', 'OUT1'),
      'model_warmup [ { name: "w" batch_size: 1 } ]',
      "model_warmup can not be specified for ensemble 'chain'",
    ],
  ])('refuses %s', (_what, steps, extra, message) => {
    expect(errorOf(() => normalize(ensemble(steps, extra)))).toBe(message);
  });

  it('refuses a backend on an ensemble (Triton: platform ensemble, empty backend)', () => {
    expect(errorOf(() => normalize(ensemble(step('IN0', 'IN1', 'OUT0', 'OUT1'), 'backend: "onnxruntime"')))).toBe(
      "Ensemble model 'chain' must have platform type 'ensemble' and empty backend type",
    );
  });
});

describe('ensemble against its composing models', () => {
  const chain = (steps: string, io = IO) => normalize(ensemble(steps, '', io));

  it('accepts matching configs, and a non-batching model whose shape carries the batch dimension', () => {
    expect(() => validateEnsembleComposition(chain(step('IN0', 'IN1', 'OUT0', 'OUT1')), composedWith({ simple: SIMPLE }))).not.toThrow();
    const flat = { ...SIMPLE, max_batch_size: 0, input: SIMPLE.input.map((i) => ({ ...i, dims: [-1, 16] })) };
    expect(() => validateEnsembleComposition(chain(step('IN0', 'IN1', 'OUT0', 'OUT1')), composedWith({ simple: flat }))).not.toThrow();
  });

  it.each<[string, (s: NormalizedModelConfig) => NormalizedModelConfig, string, string]>([
    [
      'a composing model with a smaller max_batch_size',
      (s) => ({ ...s, max_batch_size: 4 }),
      step('IN0', 'IN1', 'OUT0', 'OUT1'),
      'ensemble chain allows maximum batch size 8, but it contains model simple which only allows maximum batch size to be 4',
    ],
    [
      'an input name the model does not have',
      (s) => s,
      step('IN0', 'IN1', 'OUT0', 'OUT1').replace('key: "INPUT1"', 'key: "INPUT9"'),
      'in ensemble chain, ensemble tensor IN1 is mapping to non-existing input INPUT9 in model simple',
    ],
    [
      'an output name the model does not have',
      (s) => s,
      step('IN0', 'IN1', 'OUT0', 'OUT1').replace('key: "OUTPUT1"', 'key: "OUTPUT9"'),
      'in ensemble chain, ensemble tensor OUT1 is mapped from non-existing output OUTPUT9 in model simple',
    ],
    [
      'a required input left unmapped',
      (s) => ({ ...s, input: [...s.input, { ...s.input[0], name: 'INPUT2' }] }),
      step('IN0', 'IN1', 'OUT0', 'OUT1'),
      'in ensemble chain, input INPUT2 in model simple is not mapped to any ensemble tensors',
    ],
    [
      'a datatype mismatch',
      (s) => ({ ...s, output: s.output.map((o) => ({ ...o, data_type: 'TYPE_FP32' as const })) }),
      step('IN0', 'IN1', 'OUT0', 'OUT1'),
      'in ensemble chain, ensemble tensor OUT0: inconsistent data type: TYPE_INT32 is inferred from model chain while TYPE_FP32 is inferred from model simple',
    ],
    [
      'a shape mismatch',
      (s) => ({ ...s, input: s.input.map((i) => ({ ...i, dims: [8] })) }),
      step('IN0', 'IN1', 'OUT0', 'OUT1'),
      'in ensemble chain, ensemble tensor IN0: inconsistent shape: [-1,16] is inferred from model chain while [-1,8] is inferred from model simple',
    ],
  ])('refuses %s', (_what, change, steps, message) => {
    expect(errorOf(() => validateEnsembleComposition(chain(steps), composedWith({ simple: change(SIMPLE) })))).toBe(message);
  });

  it('an optional input may stay unmapped', () => {
    const withOptional = { ...SIMPLE, input: [...SIMPLE.input, { ...SIMPLE.input[0], name: 'INPUT2', optional: true }] };
    expect(() => validateEnsembleComposition(chain(step('IN0', 'IN1', 'OUT0', 'OUT1')), composedWith({ simple: withOptional }))).not.toThrow();
  });
});

describe('fuzzed ensemble configs', () => {
  const tensor = fc.constantFrom('IN0', 'IN1', 'OUT0', 'OUT1', 'A', 'B', 'C', '');
  const name = fc.constantFrom('INPUT0', 'INPUT1', 'OUTPUT0', 'OUTPUT1', 'X', '');
  const pair = fc.tuple(name, tensor).map(([key, value]) => `{ key: "${key}" value: "${value}" }`);
  const stepText = fc
    .record({
      model: fc.constantFrom('simple', 'chain', '', 'x y'),
      version: fc.integer({ min: -2, max: 3 }),
      inputs: fc.array(pair, { maxLength: 3 }),
      outputs: fc.array(pair, { maxLength: 3 }),
    })
    .map(
      (s) =>
        `{ model_name: "${s.model}" model_version: ${s.version} ` +
        s.inputs.map((p) => `input_map ${p}`).join(' ') +
        ' ' +
        s.outputs.map((p) => `output_map ${p}`).join(' ') +
        ' }',
    );

  it('validation and composition checks throw ConfigError or pass, nothing else', () => {
    fc.assert(
      fc.property(fc.array(stepText, { maxLength: 5 }), fc.integer({ min: 0, max: 16 }), (steps, maxBatch) => {
        let config: NormalizedModelConfig;
        try {
          config = normalize(ensemble(steps.join(', '), '', IO.replace('max_batch_size: 8', `max_batch_size: ${maxBatch}`)));
        } catch (error) {
          expect(error).toBeInstanceOf(ConfigError);
          return;
        }
        try {
          validateEnsembleComposition(config, (model) => (model === 'simple' ? SIMPLE : config));
        } catch (error) {
          expect(error).toBeInstanceOf(ConfigError);
        }
      }),
      { numRuns: 400 },
    );
  });
});
