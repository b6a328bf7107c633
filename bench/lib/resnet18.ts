/**
 * A ResNet-18-shaped ONNX model for benchmarks, built with onnx-proto: the real network's layers and sizes (11.7 M
 * weights, 46.8 MB, about 3.6 GFLOP per image) with deterministic random weights. Batch normalisation is left out:
 * ONNX Runtime folds it into the convolutions anyway, so an inference costs what the trained network's does.
 *
 *   INPUT0 FP32 [batch, 3, 224, 224] -> OUTPUT0 FP32 [batch, 1000]
 *   stem    Conv 7x7 3->64 s2 + Relu, MaxPool 3x3 s2            56x56
 *   layer1  2 basic blocks 64                                    56x56
 *   layer2  2 basic blocks 128 (first s2, 1x1 s2 shortcut)       28x28
 *   layer3  2 basic blocks 256                                   14x14
 *   layer4  2 basic blocks 512                                    7x7
 *   GlobalAveragePool, Flatten, Gemm 512->1000
 * Basic block: Conv 3x3 + Relu, Conv 3x3, Add shortcut, Relu.
 */
import { onnx } from 'onnx-proto';
import { mulberry32, normalSampler } from '../../examples/prng';

export const RESNET18_SEED = 20261206;
export const RESNET18_INPUT_SHAPE = [3, 224, 224] as const;
export const RESNET18_CLASSES = 1000;
export const RESNET18_IMAGE_BYTES = RESNET18_INPUT_SHAPE[0] * RESNET18_INPUT_SHAPE[1] * RESNET18_INPUT_SHAPE[2] * 4;

const FLOAT = 1;
const ATTR_INT = 2;
const ATTR_INTS = 7;

class GraphBuilder {
  readonly nodes: onnx.INodeProto[] = [];
  readonly initializers: onnx.ITensorProto[] = [];
  private readonly sample = normalSampler(RESNET18_SEED);

  private weights(name: string, dims: number[], std: number): string {
    const count = dims.reduce((a, b) => a * b, 1);
    const raw = new Uint8Array(count * 4);
    const view = new DataView(raw.buffer);
    for (let i = 0; i < count; i++) view.setFloat32(i * 4, this.sample() * std, true);
    this.initializers.push({ name, dims, dataType: FLOAT, rawData: raw });
    return name;
  }

  conv(name: string, x: string, cin: number, cout: number, kernel: number, stride: number): string {
    const fanIn = cin * kernel * kernel;
    const pad = (kernel - 1) / 2;
    const weight = this.weights(`${name}.weight`, [cout, cin, kernel, kernel], Math.sqrt(2 / fanIn));
    const bias = this.weights(`${name}.bias`, [cout], 0.01);
    this.nodes.push({
      name,
      opType: 'Conv',
      input: [x, weight, bias],
      output: [name],
      attribute: [
        { name: 'kernel_shape', type: ATTR_INTS, ints: [kernel, kernel] },
        { name: 'strides', type: ATTR_INTS, ints: [stride, stride] },
        { name: 'pads', type: ATTR_INTS, ints: [pad, pad, pad, pad] },
      ],
    });
    return name;
  }

  op(opType: string, name: string, inputs: string[], attribute: onnx.IAttributeProto[] = []): string {
    this.nodes.push({ name, opType, input: inputs, output: [name], attribute });
    return name;
  }

  basicBlock(name: string, x: string, cin: number, cout: number, stride: number): string {
    const a = this.op('Relu', `${name}.relu1`, [this.conv(`${name}.conv1`, x, cin, cout, 3, stride)]);
    const b = this.conv(`${name}.conv2`, a, cout, cout, 3, 1);
    const shortcut = stride !== 1 || cin !== cout ? this.conv(`${name}.downsample`, x, cin, cout, 1, stride) : x;
    return this.op('Relu', `${name}.relu2`, [this.op('Add', `${name}.add`, [b, shortcut])]);
  }

  fc(x: string, cin: number, cout: number): string {
    const weight = this.weights('fc.weight', [cout, cin], Math.sqrt(1 / cin));
    const bias = this.weights('fc.bias', [cout], 0.01);
    this.nodes.push({ name: 'fc', opType: 'Gemm', input: [x, weight, bias], output: ['OUTPUT0'], attribute: [{ name: 'transB', type: ATTR_INT, i: 1 }] });
    return 'OUTPUT0';
  }
}

/**
 * The model file's bytes (about 46.8 MB); the same bytes on every machine. `ioOnly`: the same inputs and outputs with
 * next to no compute (GlobalAveragePool over the image, then a 3 -> 1000 Gemm; ~0.2 ms), so a server's own cost per
 * 602 KB request can be measured without ONNX Runtime's threads taking the cores.
 */
export function buildResnet18(options: { readonly ioOnly?: boolean } = {}): Uint8Array {
  const g = new GraphBuilder();
  if (options.ioOnly) {
    const pooled = g.op('Flatten', 'flatten', [g.op('GlobalAveragePool', 'pool', ['INPUT0'])], [{ name: 'axis', type: ATTR_INT, i: 1 }]);
    g.fc(pooled, RESNET18_INPUT_SHAPE[0], RESNET18_CLASSES);
    return encodeModel(g, 'ResNet-18 inputs and outputs, no hidden layers (bench I/O baseline)');
  }
  let x = g.op('Relu', 'stem.relu', [g.conv('stem.conv', 'INPUT0', 3, 64, 7, 2)]);
  x = g.op('MaxPool', 'stem.pool', [x], [
    { name: 'kernel_shape', type: ATTR_INTS, ints: [3, 3] },
    { name: 'strides', type: ATTR_INTS, ints: [2, 2] },
    { name: 'pads', type: ATTR_INTS, ints: [1, 1, 1, 1] },
  ]);
  let channels = 64;
  [64, 128, 256, 512].forEach((width, stage) => {
    x = g.basicBlock(`layer${stage + 1}.0`, x, channels, width, stage === 0 ? 1 : 2);
    x = g.basicBlock(`layer${stage + 1}.1`, x, width, width, 1);
    channels = width;
  });
  x = g.op('GlobalAveragePool', 'pool', [x]);
  x = g.op('Flatten', 'flatten', [x], [{ name: 'axis', type: ATTR_INT, i: 1 }]);
  g.fc(x, channels, RESNET18_CLASSES);
  return encodeModel(g, `ResNet-18-shaped network (no batch norm), weights from mulberry32 seed ${RESNET18_SEED}`);
}

function encodeModel(g: GraphBuilder, docString: string): Uint8Array {
  const tensor = (name: string, dims: Array<number | string>): onnx.IValueInfoProto => ({
    name,
    type: { tensorType: { elemType: FLOAT, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  });
  const model: onnx.IModelProto = {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    producerName: 'cdk8s-inference-server/bench/lib/resnet18',
    producerVersion: '1',
    docString,
    graph: {
      name: 'resnet18',
      node: g.nodes,
      initializer: g.initializers,
      input: [tensor('INPUT0', ['batch', ...RESNET18_INPUT_SHAPE])],
      output: [tensor('OUTPUT0', ['batch', RESNET18_CLASSES])],
    },
  };
  const err = onnx.ModelProto.verify(model);
  if (err) throw new Error(`invalid resnet18 ModelProto: ${err}`);
  return onnx.ModelProto.encode(model).finish();
}

/** One deterministic image in [0, 1). */
export function resnet18Input(seed = 7): Float32Array {
  const next = mulberry32(seed);
  const data = new Float32Array(RESNET18_IMAGE_BYTES / 4);
  for (let i = 0; i < data.length; i++) data[i] = next() / 4294967296;
  return data;
}
