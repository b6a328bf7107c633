/**
 * A small ResNet-like image model for the GPU proof (bench/gpu-check.sh): enough convolution work per image (about
 * 1.06 GFLOP) that a GPU matters, few enough weights (about 1.2 M, 4.8 MB) that it travels in the bundle.
 *
 *   node dist/bench/gpu/build-conv-model.js [out.onnx]     (default: conv.onnx in the current folder)
 *
 *   INPUT0 FP32 [batch, 3, 224, 224] -> OUTPUT0 FP32 [batch, 100]
 *   stem  Conv 3->32 3x3 s2 + Relu                        112x112
 *   stage Conv 32->64 s2, Conv 64->64 + Relu each          56x56
 *   stage Conv 64->128 s2, Conv 128->128                   28x28
 *   stage Conv 128->256 s2, Conv 256->256                  14x14
 *   GlobalAveragePool, Flatten, Gemm 256->100
 *
 * Deterministic: weights He-scaled N(0, 2/fan_in) by Irwin-Hall sums of a fixed-seed 32-bit PRNG (integer arithmetic
 * only), little-endian raw_data, so the same bytes come out on every machine.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { onnx } from 'onnx-proto';
import { mulberry32, normalSampler } from '../../examples/prng';

export const CONV_SEED = 20240601;
export const CONV_INPUT_SHAPE = [3, 224, 224] as const;
export const CONV_CLASSES = 100;
/** [in channels, out channels, stride] of each 3x3 convolution. */
export const CONV_LAYERS: ReadonlyArray<readonly [number, number, number]> = [
  [3, 32, 2],
  [32, 64, 2],
  [64, 64, 1],
  [64, 128, 2],
  [128, 128, 1],
  [128, 256, 2],
  [256, 256, 1],
];

const FLOAT = 1;
const ATTR_INT = 2;
const ATTR_INTS = 7;

function floatTensor(name: string, dims: number[], count: number, std: number, sample: () => number): onnx.ITensorProto {
  const raw = new Uint8Array(count * 4);
  const view = new DataView(raw.buffer);
  for (let i = 0; i < count; i++) view.setFloat32(i * 4, sample() * std, true);
  return { name, dims, dataType: FLOAT, rawData: raw };
}

function ints(name: string, values: number[]): onnx.IAttributeProto {
  return { name, type: ATTR_INTS, ints: values };
}

/** Approximate multiply-adds x2 per image, for the reports. */
export function convFlopsPerImage(): number {
  let size: number = CONV_INPUT_SHAPE[1];
  let flops = 0;
  for (const [cin, cout, stride] of CONV_LAYERS) {
    size = Math.ceil(size / stride);
    flops += 2 * size * size * cout * cin * 9;
  }
  return flops + 2 * CONV_LAYERS[CONV_LAYERS.length - 1][1] * CONV_CLASSES;
}

export function buildConvModel(): Uint8Array {
  const sample = normalSampler(CONV_SEED);
  const nodes: onnx.INodeProto[] = [];
  const initializers: onnx.ITensorProto[] = [];
  let x = 'INPUT0';
  CONV_LAYERS.forEach(([cin, cout, stride], i) => {
    const fanIn = cin * 9;
    initializers.push(floatTensor(`conv${i}.weight`, [cout, cin, 3, 3], cout * fanIn, Math.sqrt(2 / fanIn), sample));
    initializers.push(floatTensor(`conv${i}.bias`, [cout], cout, 0.01, sample));
    nodes.push({
      name: `conv${i}`,
      opType: 'Conv',
      input: [x, `conv${i}.weight`, `conv${i}.bias`],
      output: [`conv${i}`],
      attribute: [ints('kernel_shape', [3, 3]), ints('strides', [stride, stride]), ints('pads', [1, 1, 1, 1])],
    });
    nodes.push({ name: `relu${i}`, opType: 'Relu', input: [`conv${i}`], output: [`relu${i}`] });
    x = `relu${i}`;
  });
  const width = CONV_LAYERS[CONV_LAYERS.length - 1][1];
  initializers.push(floatTensor('fc.weight', [CONV_CLASSES, width], CONV_CLASSES * width, Math.sqrt(1 / width), sample));
  initializers.push(floatTensor('fc.bias', [CONV_CLASSES], CONV_CLASSES, 0.01, sample));
  nodes.push({ name: 'pool', opType: 'GlobalAveragePool', input: [x], output: ['pool'] });
  nodes.push({ name: 'flatten', opType: 'Flatten', input: ['pool'], output: ['flat'], attribute: [{ name: 'axis', type: ATTR_INT, i: 1 }] });
  nodes.push({
    name: 'fc',
    opType: 'Gemm',
    input: ['flat', 'fc.weight', 'fc.bias'],
    output: ['OUTPUT0'],
    attribute: [{ name: 'transB', type: ATTR_INT, i: 1 }],
  });
  const tensor = (name: string, dims: Array<number | string>): onnx.IValueInfoProto => ({
    name,
    type: {
      tensorType: {
        elemType: FLOAT,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  });
  const m: onnx.IModelProto = {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    producerName: 'cdk8s-inference-server/bench/gpu/build-conv-model',
    producerVersion: '1',
    docString: `ResNet-like conv stack for the GPU proof, weights from mulberry32 seed ${CONV_SEED}`,
    graph: {
      name: 'conv',
      node: nodes,
      initializer: initializers,
      input: [tensor('INPUT0', ['batch', ...CONV_INPUT_SHAPE])],
      output: [tensor('OUTPUT0', ['batch', CONV_CLASSES])],
    },
  };
  const err = onnx.ModelProto.verify(m);
  if (err) throw new Error(`invalid conv ModelProto: ${err}`);
  return onnx.ModelProto.encode(m).finish();
}

/** A deterministic input batch in [0, 1): the same on every machine. */
export function convInput(batch: number, seed = 7): Float32Array {
  const next = mulberry32(seed);
  const data = new Float32Array(batch * CONV_INPUT_SHAPE[0] * CONV_INPUT_SHAPE[1] * CONV_INPUT_SHAPE[2]);
  for (let i = 0; i < data.length; i++) data[i] = next() / 4294967296;
  return data;
}

if (require.main === module) {
  const out = path.resolve(process.argv[2] ?? 'conv.onnx');
  const bytes = buildConvModel();
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, bytes);
  console.log(`${String(bytes.length).padStart(10)}  ${out}  (${(convFlopsPerImage() / 1e9).toFixed(2)} GFLOP per image)`);
}
