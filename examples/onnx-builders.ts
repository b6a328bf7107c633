/**
 * Small builders for ONNX graphs written with onnx-proto (no maintained library builds ONNX graphs from Node):
 * value infos, nodes, attributes, raw little-endian initializers, and a model with fixed IR/opset versions.
 */
import { onnx } from 'onnx-proto';

const IR_VERSION = 8;
const OPSET = 17;
const PRODUCER_NAME = 'cdk8s-inference-server/examples/build-models';

export const DataType = {
  FLOAT: 1,
  INT32: 6,
  STRING: 8,
  BOOL: 9,
  UINT64: 13,
} as const;

export const AttrType = {
  FLOAT: 1,
  INT: 2,
  STRING: 3,
} as const;

/** A dimension: a fixed size, or the name of a symbolic (dynamic) dimension. */
export type Dim = number | string;

export function valueInfo(name: string, elemType: number, dims: Dim[]): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

export function node(
  opType: string,
  inputs: string[],
  outputs: string[],
  name: string,
  attribute: onnx.IAttributeProto[] = [],
): onnx.INodeProto {
  return { input: inputs, output: outputs, name, opType, attribute };
}

export function intAttr(name: string, i: number): onnx.IAttributeProto {
  return { name, type: AttrType.INT, i };
}

export function floatAttr(name: string, f: number): onnx.IAttributeProto {
  return { name, type: AttrType.FLOAT, f };
}

export function stringAttr(name: string, s: string): onnx.IAttributeProto {
  return { name, type: AttrType.STRING, s: Buffer.from(s, 'utf8') };
}

/** An FP32 initializer stored as little-endian raw_data. */
export function floatInitializer(name: string, dims: number[], values: Float32Array): onnx.ITensorProto {
  const raw = new Uint8Array(values.length * 4);
  const view = new DataView(raw.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i], true);
  return { name, dims, dataType: DataType.FLOAT, rawData: raw };
}

export function model(graph: onnx.IGraphProto, docString: string, producerVersion = '1'): Uint8Array {
  const m: onnx.IModelProto = {
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: OPSET }],
    producerName: PRODUCER_NAME,
    producerVersion,
    docString,
    graph,
  };
  const err = onnx.ModelProto.verify(m);
  if (err) throw new Error(`invalid ModelProto for ${graph.name}: ${err}`);
  return onnx.ModelProto.encode(m).finish();
}


export function randomNormal(count: number, std: number, sample: () => number): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = sample() * std;
  return out;
}
