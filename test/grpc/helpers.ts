/** Shared by the gRPC suites: a server on ephemeral loopback ports and a raw grpc-js client on the server's proto. */
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { createInferenceServer, InferenceServerApp, InferenceServerOptions } from '../../server/app';
import { inferenceServiceDefinition } from '../../server/protocol/grpc/proto';

export const MODEL_REPOSITORY = path.resolve(__dirname, '../../examples/model_repository');
export const RANGE_16 = Array.from({ length: 16 }, (_, i) => i);
export const ONES_16: number[] = new Array<number>(16).fill(1);

export interface StartedServer {
  app: InferenceServerApp;
  grpcPort: number;
  httpPort?: number;
}

export async function startServer(options: Partial<InferenceServerOptions> = {}): Promise<StartedServer> {
  const app = createInferenceServer({
    modelRepositories: [MODEL_REPOSITORY],
    modelControlMode: 'explicit',
    loadModels: ['*'],
    httpPort: 0,
    grpcPort: 0,
    host: '127.0.0.1',
    ...options,
  });
  const started = await app.start();
  if (started.failedModels.length > 0) throw new Error(`models failed to load: ${started.failedModels.join(', ')}`);
  return { app, grpcPort: started.grpcPort!, httpPort: started.httpPort };
}

export type RawClient = grpc.Client & Record<string, (...args: unknown[]) => unknown>;

/** A generic client for inference.GRPCInferenceService (decoded messages as the server sees them: longs as strings). */
export function rawClient(port: number, channelOptions: grpc.ChannelOptions = {}): RawClient {
  const Client = grpc.makeGenericClientConstructor(inferenceServiceDefinition() as grpc.ServiceDefinition, 'GRPCInferenceService');
  return new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), channelOptions) as RawClient;
}

/** Call a unary method; resolves to the response, rejects with the grpc ServiceError. */
export function unary<T = any>(client: RawClient, method: string, request: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    (client[method] as (r: unknown, cb: (e: grpc.ServiceError | null, v: T) => void) => void).call(client, request, (error, value) =>
      error ? reject(error) : resolve(value),
    );
  });
}

/** The error a unary call fails with (fails the test when it succeeds). */
export async function unaryError(client: RawClient, method: string, request: unknown): Promise<grpc.ServiceError> {
  try {
    await unary(client, method, request);
  } catch (error) {
    return error as grpc.ServiceError;
  }
  throw new Error(`${method} succeeded, expected an error`);
}

export function int32Raw(values: number[]): Buffer {
  return Buffer.from(Int32Array.from(values).buffer);
}

export function int32sOf(bytes: Uint8Array): number[] {
  const copy = new Uint8Array(bytes);
  return Array.from(new Int32Array(copy.buffer, 0, copy.length / 4));
}

/** The `simple` request in raw form (Triton clients' way). */
export function simpleRawRequest(id = '', batch = 1) {
  const repeat = (row: number[]) => Array.from({ length: batch }, () => row).flat();
  return {
    model_name: 'simple',
    id,
    inputs: [
      { name: 'INPUT0', datatype: 'INT32', shape: [batch, 16] },
      { name: 'INPUT1', datatype: 'INT32', shape: [batch, 16] },
    ],
    raw_input_contents: [int32Raw(repeat(RANGE_16)), int32Raw(repeat(ONES_16))],
  };
}

/** The `simple` request with typed contents (KServe clients' way). */
export function simpleTypedRequest(id = '') {
  return {
    model_name: 'simple',
    id,
    inputs: [
      { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], contents: { int_contents: RANGE_16 } },
      { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], contents: { int_contents: ONES_16 } },
    ],
  };
}

export function loadProto(file: string, includeDirs: string[]): grpc.GrpcObject {
  return grpc.loadPackageDefinition(protoLoader.loadSync(file, { keepCase: true, longs: String, enums: String, defaults: true, includeDirs }));
}

/** Metadata with these text entries. */
export function metadataOf(entries: Record<string, string>): grpc.Metadata {
  const metadata = new grpc.Metadata();
  for (const [key, value] of Object.entries(entries)) metadata.set(key, value);
  return metadata;
}

/** Open a ModelStreamInfer stream, write one request and resolve to the first message back; the stream is then ended. */
export async function firstStreamReply<T = any>(client: RawClient, request: unknown, metadata = new grpc.Metadata()): Promise<T> {
  const stream = client.ModelStreamInfer(metadata) as grpc.ClientDuplexStream<unknown, T>;
  const reply = new Promise<T>((resolve, reject) => {
    stream.on('data', resolve);
    stream.on('error', reject);
  });
  stream.write(request);
  try {
    return await reply;
  } finally {
    stream.end();
  }
}
