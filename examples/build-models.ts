/**
 * Builds the example Triton model repository: ONNX models written with onnx-proto plus Triton
 * text-format config.pbtxt files.
 *
 *   npx ts-node examples/build-models.ts [outDir]     (default: examples/model_repository)
 *
 * The output is byte-for-byte deterministic (fixed-seed integer PRNG, no transcendental math,
 * explicit little-endian raw_data, fixed protobuf field order), so it can be committed and
 * checked in tests by rebuilding into a temporary directory and comparing.
 *
 * Models:
 *   simple               Triton's example: INT32 [16] x2 -> sum, difference; versions 1 and 2
 *   mlp                  FP32 784 -> 1024 -> 1024 -> 10 Gemm/Relu MLP with seeded weights
 *   add_sub_autocomplete FP32 [4] x2 -> sum, difference; NO config.pbtxt (exercises auto-complete)
 *   string_upper         BYTES [-1] -> upper-cased BYTES [-1] via StringNormalizer
 *   sequence_accumulate  stateful (sequence batcher): OUTPUT = (START ? 0 : state) + INPUT, implicit state
 *   simple_chain         ensemble: simple twice, so OUTPUT0 = 2 * INPUT0 and OUTPUT1 = 2 * INPUT1 (config only)
 */
import * as fs from 'fs';
import * as path from 'path';
import { onnx } from 'onnx-proto';
import { normalSampler } from './prng';
import { DataType, Dim, valueInfo, node, intAttr, floatAttr, stringAttr, floatInitializer, model, randomNormal } from './onnx-builders';

/** The package root: the nearest folder above this file with a package.json (works from dist/ too). */
function packageRoot(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) return path.resolve(__dirname, '..');
  }
}

export const DEFAULT_OUT_DIR = path.join(packageRoot(), 'examples', 'model_repository');

// ---------------------------------------------------------------------------------------------
// Models

/** Two inputs, their sum and difference; shape [batch, width]. */
function addSubModel(name: string, elemType: number, width: number, docString: string, producerVersion = '1'): Uint8Array {
  const dims: Dim[] = ['batch', width];
  return model(
    {
      name,
      node: [
        node('Add', ['INPUT0', 'INPUT1'], ['OUTPUT0'], 'add'),
        node('Sub', ['INPUT0', 'INPUT1'], ['OUTPUT1'], 'sub'),
      ],
      input: [valueInfo('INPUT0', elemType, dims), valueInfo('INPUT1', elemType, dims)],
      output: [valueInfo('OUTPUT0', elemType, dims), valueInfo('OUTPUT1', elemType, dims)],
    },
    docString,
    producerVersion,
  );
}

export const MLP_LAYERS: ReadonlyArray<readonly [number, number]> = [
  [784, 1024],
  [1024, 1024],
  [1024, 10],
];
export const MLP_SEED = 20180703;

function mlpModel(): Uint8Array {
  const sample = normalSampler(MLP_SEED);
  const nodes: onnx.INodeProto[] = [];
  const initializers: onnx.ITensorProto[] = [];
  let x = 'INPUT0';
  MLP_LAYERS.forEach(([fanIn, fanOut], i) => {
    const std = 1 / Math.sqrt(fanIn);
    // PyTorch layout: weight [out, in], Gemm with transB = 1.
    const w = `fc${i}.weight`;
    const b = `fc${i}.bias`;
    initializers.push(floatInitializer(w, [fanOut, fanIn], randomNormal(fanOut * fanIn, std, sample)));
    initializers.push(floatInitializer(b, [fanOut], randomNormal(fanOut, std * 0.1, sample)));
    const last = i === MLP_LAYERS.length - 1;
    const y = last ? 'OUTPUT0' : `fc${i}`;
    nodes.push(
      node('Gemm', [x, w, b], [y], `fc${i}`, [floatAttr('alpha', 1), floatAttr('beta', 1), intAttr('transB', 1)]),
    );
    if (!last) {
      nodes.push(node('Relu', [y], [`relu${i}`], `relu${i}`));
      x = `relu${i}`;
    }
  });
  return model(
    {
      name: 'mlp',
      node: nodes,
      initializer: initializers,
      input: [valueInfo('INPUT0', DataType.FLOAT, ['batch', MLP_LAYERS[0][0]])],
      output: [valueInfo('OUTPUT0', DataType.FLOAT, ['batch', MLP_LAYERS[MLP_LAYERS.length - 1][1]])],
    },
    `784-1024-1024-10 Gemm/Relu MLP, weights ~ N(0, 1/sqrt(fan_in)) (Irwin-Hall) from mulberry32 seed ${MLP_SEED}`,
  );
}

function stringUpperModel(): Uint8Array {
  return model(
    {
      name: 'string_upper',
      node: [
        node('StringNormalizer', ['INPUT0'], ['OUTPUT0'], 'upper', [
          stringAttr('case_change_action', 'UPPER'),
          intAttr('is_case_sensitive', 1),
          // ORT's default locale is en_US.UTF-8, which slim images (Debian, distroless) lack: the session
          // then fails to load. "C" exists everywhere; it upper-cases ASCII only (ü, ß pass through).
          stringAttr('locale', 'C'),
        ]),
      ],
      // StringNormalizer takes a 1-D [C] (or 2-D [1, C]) tensor; a dynamic 1-D shape keeps it simple.
      // ORT rejects C = 0 ("Single dimension value must be greater than 0").
      input: [valueInfo('INPUT0', DataType.STRING, ['n'])],
      output: [valueInfo('OUTPUT0', DataType.STRING, ['n'])],
    },
    'Upper-cases each string of a 1-D string tensor (StringNormalizer, case_change_action UPPER)',
  );
}

/**
 * A stateful accumulator for the sequence batcher: START and READY are control inputs, ACC_STATE_IN/ACC_STATE_OUT an
 * implicit state. OUTPUT = (START ? 0 : ACC_STATE_IN) + INPUT; rows with READY false keep their state. With
 * `corrid`, CORRID (a CONTROL_SEQUENCE_CORRID input) is echoed as CORRID_OUT. `batched` false: shapes [1] for a config
 * with max_batch_size 0.
 */
export function sequenceAccumulateModel(name: string, corrid?: 'UINT64' | 'STRING', batched = true): Uint8Array {
  // Without batching (max_batch_size 0) Triton feeds control and state tensors as shape [1].
  const dims: Dim[] = batched ? ['batch', 1] : [1];
  const nodes = [
    node('Cast', ['START'], ['start_flag'], 'start_flag', [intAttr('to', DataType.BOOL)]),
    node('Cast', ['READY'], ['ready_flag'], 'ready_flag', [intAttr('to', DataType.BOOL)]),
    node('Where', ['start_flag', 'zero', 'ACC_STATE_IN'], ['base'], 'restart'),
    node('Add', ['base', 'INPUT'], ['OUTPUT'], 'accumulate'),
    node('Where', ['ready_flag', 'OUTPUT', 'ACC_STATE_IN'], ['ACC_STATE_OUT'], 'keep_when_not_ready'),
  ];
  const input = ['INPUT', 'START', 'READY', 'ACC_STATE_IN'].map((n) => valueInfo(n, DataType.INT32, dims));
  const output = ['OUTPUT', 'ACC_STATE_OUT'].map((n) => valueInfo(n, DataType.INT32, dims));
  if (corrid) {
    nodes.push(node('Identity', ['CORRID'], ['CORRID_OUT'], 'echo_corrid'));
    input.push(valueInfo('CORRID', DataType[corrid], dims));
    output.push(valueInfo('CORRID_OUT', DataType[corrid], dims));
  }
  return model(
    {
      name,
      node: nodes,
      initializer: [{ name: 'zero', dims: [], dataType: DataType.INT32, rawData: new Uint8Array(4) }],
      input,
      output,
    },
    'Sequence accumulator: OUTPUT = (START ? 0 : ACC_STATE_IN) + INPUT; ACC_STATE_OUT carries the running sum',
  );
}

/** Variants of the sequence_accumulate config (tests build several). */
export interface SequenceAccumulateOptions {
  name: string;
  maxBatchSize?: number;
  strategy?: string;
  idleMicroseconds?: number;
  instances?: number;
  corrid?: 'TYPE_UINT64' | 'TYPE_STRING';
}

/** config.pbtxt for sequenceAccumulateModel. `strategy` picks Triton's direct or oldest sequence batcher. */
export function sequenceAccumulateConfig(opts: SequenceAccumulateOptions): string {
  const control = (name: string, kind: string) =>
    `    {\n      name: "${name}"\n      control [ { kind: ${kind} int32_false_true: [ 0, 1 ] } ]\n    }`;
  const controls = [control('START', 'CONTROL_SEQUENCE_START'), control('READY', 'CONTROL_SEQUENCE_READY')];
  if (opts.corrid) {
    controls.push(`    {\n      name: "CORRID"\n      control [ { kind: CONTROL_SEQUENCE_CORRID data_type: ${opts.corrid} } ]\n    }`);
  }
  const outputs: TensorConfig[] = [{ name: 'OUTPUT', dataType: 'TYPE_INT32', dims: [1] }];
  if (opts.corrid) outputs.push({ name: 'CORRID_OUT', dataType: opts.corrid, dims: [1] });
  return configPbtxt({
    name: opts.name,
    maxBatchSize: opts.maxBatchSize ?? 8,
    inputs: [{ name: 'INPUT', dataType: 'TYPE_INT32', dims: [1] }],
    outputs,
    extra:
      `sequence_batching {\n` +
      (opts.strategy ? `  ${opts.strategy}\n` : '') +
      `  max_sequence_idle_microseconds: ${opts.idleMicroseconds ?? 5000000}\n` +
      `  control_input [\n${controls.join(',\n')}\n  ]\n` +
      `  state [\n    {\n      input_name: "ACC_STATE_IN"\n      output_name: "ACC_STATE_OUT"\n` +
      `      data_type: TYPE_INT32\n      dims: [ 1 ]\n` +
      `      initial_state: { data_type: TYPE_INT32 dims: [ 1 ] zero_data: true name: "zero" }\n    }\n  ]\n}\n` +
      `instance_group [\n  {\n    count: ${opts.instances ?? 1}\n    kind: KIND_CPU\n  }\n]\n`,
  });
}

// ---------------------------------------------------------------------------------------------
// config.pbtxt (Triton text format)

interface TensorConfig {
  name: string;
  dataType: string;
  dims: number[];
}

function tensorsPbtxt(field: string, tensors: TensorConfig[]): string {
  const items = tensors.map(
    (t) => `  {\n    name: "${t.name}"\n    data_type: ${t.dataType}\n    dims: [ ${t.dims.join(', ')} ]\n  }`,
  );
  return `${field} [\n${items.join(',\n')}\n]\n`;
}

function configPbtxt(opts: {
  name: string;
  maxBatchSize: number;
  inputs: TensorConfig[];
  outputs: TensorConfig[];
  extra?: string;
}): string {
  return (
    `name: "${opts.name}"\n` +
    `platform: "onnxruntime_onnx"\n` +
    `max_batch_size: ${opts.maxBatchSize}\n` +
    tensorsPbtxt('input', opts.inputs) +
    tensorsPbtxt('output', opts.outputs) +
    (opts.extra ?? '')
  );
}

function simpleChainPbtxt(tensors: typeof tensorsPbtxt, int32x16: (name: string) => TensorConfig): string {
  const step = (inputs: [string, string], outputs: [string, string]) =>
    `    {\n      model_name: "simple"\n      model_version: -1\n` +
    `      input_map { key: "INPUT0" value: "${inputs[0]}" }\n      input_map { key: "INPUT1" value: "${inputs[1]}" }\n` +
    `      output_map { key: "OUTPUT0" value: "${outputs[0]}" }\n      output_map { key: "OUTPUT1" value: "${outputs[1]}" }\n    }`;
  return (
    `name: "simple_chain"\n` +
    `platform: "ensemble"\n` +
    `max_batch_size: 8\n` +
    tensors('input', [int32x16('INPUT0'), int32x16('INPUT1')]) +
    tensors('output', [int32x16('OUTPUT0'), int32x16('OUTPUT1')]) +
    `ensemble_scheduling {\n  step [\n` +
    `${step(['INPUT0', 'INPUT1'], ['SUM', 'DIFFERENCE'])},\n` +
    `${step(['SUM', 'DIFFERENCE'], ['OUTPUT0', 'OUTPUT1'])}\n` +
    `  ]\n}\n`
  );
}

// ---------------------------------------------------------------------------------------------

/** Relative path (POSIX separators) → contents. Ordered, so writes happen in a fixed order. */
export function buildModelFiles(): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  const text = (s: string): Uint8Array => Buffer.from(s, 'utf8');

  // simple: Triton's example model. Version 2 computes the same thing; only its metadata differs.
  const int32x16 = (name: string): TensorConfig => ({ name, dataType: 'TYPE_INT32', dims: [16] });
  files.set(
    'simple/config.pbtxt',
    text(
      configPbtxt({
        name: 'simple',
        maxBatchSize: 8,
        inputs: [int32x16('INPUT0'), int32x16('INPUT1')],
        outputs: [int32x16('OUTPUT0'), int32x16('OUTPUT1')],
      }),
    ),
  );
  files.set(
    'simple/1/model.onnx',
    addSubModel('simple', DataType.INT32, 16, 'simple v1: OUTPUT0 = INPUT0 + INPUT1, OUTPUT1 = INPUT0 - INPUT1', '1'),
  );
  files.set(
    'simple/2/model.onnx',
    addSubModel('simple', DataType.INT32, 16, 'simple v2: OUTPUT0 = INPUT0 + INPUT1, OUTPUT1 = INPUT0 - INPUT1', '2'),
  );

  // mlp
  files.set(
    'mlp/config.pbtxt',
    text(
      configPbtxt({
        name: 'mlp',
        maxBatchSize: 64,
        inputs: [{ name: 'INPUT0', dataType: 'TYPE_FP32', dims: [784] }],
        outputs: [{ name: 'OUTPUT0', dataType: 'TYPE_FP32', dims: [10] }],
        extra: 'instance_group [\n  {\n    count: 1\n    kind: KIND_CPU\n  }\n]\n',
      }),
    ),
  );
  files.set('mlp/1/model.onnx', mlpModel());

  // add_sub_autocomplete: deliberately no config.pbtxt.
  files.set(
    'add_sub_autocomplete/1/model.onnx',
    addSubModel(
      'add_sub_autocomplete',
      DataType.FLOAT,
      4,
      'FP32 add/sub with no config.pbtxt: auto-complete gives max_batch_size 4, dims [4]',
    ),
  );

  // string_upper
  files.set(
    'string_upper/config.pbtxt',
    text(
      configPbtxt({
        name: 'string_upper',
        maxBatchSize: 0,
        inputs: [{ name: 'INPUT0', dataType: 'TYPE_STRING', dims: [-1] }],
        outputs: [{ name: 'OUTPUT0', dataType: 'TYPE_STRING', dims: [-1] }],
      }),
    ),
  );
  files.set('string_upper/1/model.onnx', stringUpperModel());

  // sequence_accumulate: Triton-style stateful model (sequence batcher, implicit state).
  files.set('sequence_accumulate/config.pbtxt', text(sequenceAccumulateConfig({ name: 'sequence_accumulate' })));
  files.set('sequence_accumulate/1/model.onnx', sequenceAccumulateModel('sequence_accumulate'));
  // simple_chain: an ensemble of two `simple` steps. (a+b) + (a-b) = 2a and (a+b) - (a-b) = 2b.
  files.set('simple_chain/config.pbtxt', text(simpleChainPbtxt(tensorsPbtxt, int32x16)));
  // An ensemble has no model file, but Triton requires its version directory.
  files.set('simple_chain/1/.gitkeep', new Uint8Array(0));

  return files;
}

/** Writes the repository under outDir (created if needed); returns the paths written, relative. */
export function buildModelRepository(outDir: string = DEFAULT_OUT_DIR): string[] {
  const files = buildModelFiles();
  for (const [rel, data] of files) {
    const target = path.join(outDir, ...rel.split('/'));
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, data);
  }
  return [...files.keys()];
}

if (require.main === module) {
  const outDir = path.resolve(process.argv[2] ?? DEFAULT_OUT_DIR);
  const written = buildModelRepository(outDir);
  for (const rel of written) {
    const size = fs.statSync(path.join(outDir, ...rel.split('/'))).size;
    console.log(`${String(size).padStart(10)}  ${path.join(outDir, rel)}`);
  }
}
