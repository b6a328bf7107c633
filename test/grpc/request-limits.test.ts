/**
 * gRPC requests cost memory in proportion to their bytes: a compressed message's inflated size counts against
 * --grpc-max-message-bytes, and typed contents are decoded by hand from their wire bytes (fuzzed here).
 */
import * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import { createInferenceServer, InferenceServerApp } from '../../server/app';
import { InferenceError } from '../../server/core/errors';
import { dataFromContentsWire } from '../../server/protocol/grpc/contents-wire';
import { serializeInferRequest } from '../../server/protocol/grpc/infer-wire';
import { MODEL_REPOSITORY } from '../http/helpers';

const LIMIT = 1024 * 1024;
let server: InferenceServerApp;
let grpcPort: number;

beforeAll(async () => {
  server = createInferenceServer({ modelRepositories: [MODEL_REPOSITORY], modelControlMode: 'explicit', loadModels: ['simple'], allowHttp: false, grpcPort: 0, host: '127.0.0.1', grpcMaxMessageBytes: LIMIT });
  grpcPort = (await server.start()).grpcPort!;
});
afterAll(() => server?.stop());

function modelInfer(message: Buffer, compress: boolean): Promise<grpc.ServiceError | undefined> {
  const client = new grpc.Client(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure(), {
    'grpc.max_send_message_length': -1,
    ...(compress ? { 'grpc.default_compression_algorithm': 2 } : {}),
  });
  return new Promise((resolve) => {
    client.makeUnaryRequest('/inference.GRPCInferenceService/ModelInfer', (value: Buffer) => value, (value: Buffer) => value, message, (error) => {
      client.close();
      resolve(error ?? undefined);
    });
  });
}

it('refuses a gzip message that inflates past --grpc-max-message-bytes, while inflating', async () => {
  // 4 MiB of zeros: a few KiB on the wire, four times the limit inflated.
  const message = serializeInferRequest({ model_name: 'nope', inputs: [{ name: 'INPUT0', datatype: 'UINT8', shape: [4 * LIMIT] }], raw_input_contents: [Buffer.alloc(4 * LIMIT)] });
  const error = await modelInfer(message, true);
  expect(error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
  expect(error?.details).toMatch(/decompresses to a size larger than 1048576/);
  // The same message under the limit inflated is read (and refused for its unknown model, as any).
  const small = serializeInferRequest({ model_name: 'nope', inputs: [{ name: 'INPUT0', datatype: 'UINT8', shape: [1000] }], raw_input_contents: [Buffer.alloc(1000)] });
  expect((await modelInfer(small, true))?.code).toBe(grpc.status.NOT_FOUND);
});

it('decodes hostile typed contents into a tensor or an InferenceError, never anything else', () => {
  const datatypes = fc.constantFrom('BOOL', 'INT8', 'INT16', 'INT32', 'INT64', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'FP32', 'FP64', 'BYTES', 'FP16') as fc.Arbitrary<'INT32'>;
  fc.assert(
    fc.property(datatypes, fc.nat(20), fc.uint8Array({ maxLength: 64 }), (datatype, count, bytes) => {
      try {
        expect(dataFromContentsWire('X', datatype, count, bytes).length).toBe(count);
      } catch (error) {
        expect(error).toBeInstanceOf(InferenceError);
      }
    }),
    { numRuns: 2000 },
  );
});
