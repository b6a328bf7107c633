import { onnx } from 'onnx-proto';

let cached: Uint8Array | undefined;

/**
 * A one-node ONNX model (Relu on FP32 [1]) that a spare worker (spare-worker.ts) creates, runs once and releases
 * while it waits: onnxruntime's environment and its session and run code are then ready (and resident) before the
 * first real load, which pays only for its own model.
 */
export function warmUpModel(): Uint8Array {
  if (cached) return cached;
  const tensor = (name: string): onnx.IValueInfoProto => ({
    name,
    type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: [{ dimValue: 1 }] } } },
  });
  cached = onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    producerName: 'cdk8s-inference-server/warm-up',
    graph: { name: 'warm_up', node: [{ opType: 'Relu', input: ['X'], output: ['Y'] }], input: [tensor('X')], output: [tensor('Y')] },
  }).finish();
  return cached;
}
