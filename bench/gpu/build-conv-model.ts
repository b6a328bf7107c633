/**
 * A small ResNet-like image model for the GPU proof (bench/gpu-check.sh): enough convolution work per image (about
 * 1.06 GFLOP) that a GPU matters, few enough weights (about 1.2 M, 4.8 MB) that it travels in the bundle.
 *
 *   node dist/bench/gpu/build-conv-model.js [out.onnx] [small|resnet50]   (default: conv.onnx, small)
 *
 *   INPUT0 FP32 [batch, 3, 224, 224] -> OUTPUT0 FP32 [batch, 100]
 *   stem  Conv 3->32 3x3 s2 + Relu                        112x112
 *   stage Conv 32->64 s2, Conv 64->64 + Relu each          56x56
 *   stage Conv 64->128 s2, Conv 128->128                   28x28
 *   stage Conv 128->256 s2, Conv 256->256                  14x14
 *   GlobalAveragePool, Flatten, Gemm 256->100
 *
 * Variant resnet50: the same plan, wider and deeper, ResNet-50-sized (8.4 GFLOP per image counted as 2 x multiply-adds,
 * ResNet-50's is 8.2; 22.0 M weights, ResNet-50 has 25.6 M): 3->64 s2, 64->128 s2, 128->128 x2, 128->256 s2, 256->256 x2,
 * 256->512 s2, 512->512 x2, 512->1024 s2, 1024->1024. 88 MB: too large to carry, so bench/gpu-check.sh run builds it
 * on the GPU machine with the bundle's Node.
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
export type ConvLayers = ReadonlyArray<readonly [number, number, number]>;
export const CONV_LAYERS: ConvLayers = [
  [3, 32, 2],
  [32, 64, 2],
  [64, 64, 1],
  [64, 128, 2],
  [128, 128, 1],
  [128, 256, 2],
  [256, 256, 1],
];

const RESNET50_SIZED_LAYERS: ConvLayers = [
  [3, 64, 2],
  [64, 128, 2],
  [128, 128, 1],
  [128, 128, 1],
  [128, 256, 2],
  [256, 256, 1],
  [256, 256, 1],
  [256, 512, 2],
  [512, 512, 1],
  [512, 512, 1],
  [512, 1024, 2],
  [1024, 1024, 1],
];
export const CONV_VARIANTS = { small: CONV_LAYERS, resnet50: RESNET50_SIZED_LAYERS } as const;
export type ConvVariant = keyof typeof CONV_VARIANTS;

export function parseConvVariant(name: string | undefined): ConvVariant {
  if (name === undefined) return 'small';
  if (name in CONV_VARIANTS) return name as ConvVariant;
  throw new Error(`unknown conv model variant '${name}' (${Object.keys(CONV_VARIANTS).join(', ')})`);
}

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
export function convFlopsPerImage(variant: ConvVariant = 'small'): number {
  const layers = CONV_VARIANTS[variant];
  let size: number = CONV_INPUT_SHAPE[1];
  let flops = 0;
  for (const [cin, cout, stride] of layers) {
    size = Math.ceil(size / stride);
    flops += 2 * size * size * cout * cin * 9;
  }
  return flops + 2 * layers[layers.length - 1][1] * CONV_CLASSES;
}

/** Number of weights (convolutions, biases, the classifier). */
export function convWeights(variant: ConvVariant = 'small'): number {
  const layers = CONV_VARIANTS[variant];
  const width = layers[layers.length - 1][1];
  return layers.reduce((sum, [cin, cout]) => sum + cout * cin * 9 + cout, 0) + CONV_CLASSES * width + CONV_CLASSES;
}

export function buildConvModel(variant: ConvVariant = 'small'): Uint8Array {
  const layers = CONV_VARIANTS[variant];
  const sample = normalSampler(CONV_SEED);
  const nodes: onnx.INodeProto[] = [];
  const initializers: onnx.ITensorProto[] = [];
  let x = 'INPUT0';
  layers.forEach(([cin, cout, stride], i) => {
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
  const width = layers[layers.length - 1][1];
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
    docString: `ResNet-like conv stack (${variant}) for the GPU proof, weights from mulberry32 seed ${CONV_SEED}`,
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
  const variant = parseConvVariant(process.argv[3]);
  const bytes = buildConvModel(variant);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, bytes);
  console.log(
    `${String(bytes.length).padStart(10)}  ${out}  (${variant}: ${(convFlopsPerImage(variant) / 1e9).toFixed(2)} GFLOP per image, ` +
      `${(convWeights(variant) / 1e6).toFixed(1)} M weights)`,
  );
}
