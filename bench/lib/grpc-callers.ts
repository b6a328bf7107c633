/**
 * bench:grpc's models and callers: one inference call of a model through some client, made by a closed loop's slot.
 * The gRPC callers open connections as Triton's clients do (at most `share` clients per connection, filled in order).
 */
import * as http2 from 'node:http2';
import * as ort from 'onnxruntime-node';
import { InferenceServerClient, InferInput } from '../../client';
import { buildInferRequest, decodeInferResponse } from '../../client/grpc';
import { deserializeInferResponse, serializeInferRequest } from '../../server/protocol/grpc/infer-wire';
import { grpcFrame, grpcH2Call } from './grpc-h2';
import { streamInferCaller } from './grpc-h2-stream';
import { HOST } from './processes';

const MODEL_INFER_PATH = '/inference.GRPCInferenceService/ModelInfer';

export interface Model {
  readonly name: string;
  readonly inputs: () => InferInput[];
  /** ORT feeds for the raw run. */
  readonly feeds: () => Record<string, ort.Tensor>;
}

export const ALL_MODELS: Model[] = [
  {
    name: 'simple',
    inputs: () => [
      InferInput.fromTypedArray('INPUT0', Int32Array.from({ length: 16 }, (_, i) => i), [1, 16]),
      InferInput.fromTypedArray('INPUT1', new Int32Array(16).fill(1), [1, 16]),
    ],
    feeds: () => ({
      INPUT0: new ort.Tensor('int32', Int32Array.from({ length: 16 }, (_, i) => i), [1, 16]),
      INPUT1: new ort.Tensor('int32', new Int32Array(16).fill(1), [1, 16]),
    }),
  },
  {
    name: 'mlp',
    inputs: () => [InferInput.fromTypedArray('INPUT0', Float32Array.from({ length: 784 }, (_, i) => ((i % 13) - 6) / 6), [1, 784])],
    feeds: () => ({ INPUT0: new ort.Tensor('float32', Float32Array.from({ length: 784 }, (_, i) => ((i % 13) - 6) / 6), [1, 784]) }),
  },
];

/**
 * One inference call of a model through some client, made by the closed loop's `slot` (0 .. concurrency-1, one
 * client each); rejects if the answer is not a good one.
 */
export type Caller = (model: Model, slot: number) => Promise<void>;

/**
 * The connection a client uses when at most `share` clients share one, filled in order as Triton's C++ client library
 * does (grpc_client.cc GetStub: a new channel once the cached one has `share` users): slots 0..share-1 on the first.
 */
export function sharedConnectionIndex(slot: number, share: number): number {
  return Math.floor(slot / Math.max(1, share));
}

/** `connections` InferenceServerClients; slot i calls through client sharedConnectionIndex(i, share). */
export function clientCaller(clients: InferenceServerClient[], share = Infinity): Caller & { close(): Promise<void> } {
  const inputs = new Map<string, InferInput[]>();
  const call = async (model: Model, slot: number) => {
    if (!inputs.has(model.name)) inputs.set(model.name, model.inputs());
    await clients[Math.min(clients.length - 1, sharedConnectionIndex(slot, share))].infer(model.name, inputs.get(model.name)!);
  };
  return Object.assign(call, { close: async () => void (await Promise.all(clients.map((client) => client.close()))) });
}

/**
 * The lean generator: ceil(concurrency / share) HTTP/2 sessions, each call a pre-encoded request frame on its slot's
 * session; the status checked, the answer decoded.
 */
export function h2Caller(port: number, share: number, concurrency: number): Caller & { close(): Promise<void> } {
  const sessions = Array.from({ length: Math.ceil(concurrency / share) }, () => {
    const session = http2.connect(`http://${HOST}:${port}`);
    session.on('error', () => undefined);
    return session;
  });
  const frames = new Map<string, Buffer>();
  const call = async (model: Model, slot: number) => {
    let frame = frames.get(model.name);
    if (!frame) frames.set(model.name, (frame = grpcFrame(serializeInferRequest(buildInferRequest(model.name, model.inputs())))));
    const session = sessions[Math.min(sessions.length - 1, sharedConnectionIndex(slot, share))];
    const result = await grpcH2Call(session, MODEL_INFER_PATH, [frame]);
    if (result.status !== 0 || result.messages.length !== 1) throw new Error(`gRPC status ${result.status}: ${result.details}`);
    if (decodeInferResponse(deserializeInferResponse(result.messages[0])).outputs.length === 0) throw new Error('no outputs');
  };
  const closeAll = () => Promise.all(sessions.map((session) => new Promise<void>((resolve) => session.close(() => resolve()))));
  return Object.assign(call, { close: async () => void (await closeAll()) });
}

/**
 * ModelStreamInfer on `streams` long-lived streams (slot s on stream s % streams), at most `share` per connection;
 * each call a pre-encoded request with its id appended, the answer checked (bench/lib/grpc-h2-stream.ts) and decoded.
 */
export function h2StreamCaller(port: number, streams: number, share: number): Caller & { close(): Promise<void> } {
  const driver = streamInferCaller(HOST, port, streams, share);
  const bodies = new Map<string, Buffer>();
  let used = false;
  const call = async (model: Model, slot: number) => {
    used = true;
    let body = bodies.get(model.name);
    if (!body) bodies.set(model.name, (body = serializeInferRequest({ ...buildInferRequest(model.name, model.inputs()), id: undefined })));
    if (decodeInferResponse(await driver.call(body, slot)).outputs.length === 0) throw new Error('no outputs');
  };
  const close = async () => {
    const { errors, outOfOrder } = driver.counts();
    // Errors already failed their call (and so the run). Triton answers a stream's non-decoupled requests in order.
    if (used) process.stderr.write(`  ModelStreamInfer (${streams} streams): ${outOfOrder} answers before an earlier request's, ${errors} errors\n`);
    await driver.close();
  };
  return Object.assign(call, { close });
}

/**
 * grpc-js InferenceServerClients, one channel per ceil(concurrency / share) slots. grpc-js shares a subchannel (one
 * connection) between channels with equal options, so each gets a distinct option, as Triton's client library does.
 */
export function grpcJsCaller(port: number, share: number, concurrency: number): Caller & { close(): Promise<void> } {
  const clients = Array.from(
    { length: Math.ceil(concurrency / share) },
    (_, channel) => new InferenceServerClient({ url: `${HOST}:${port}`, protocol: 'grpc', grpc: { channelOptions: { 'bench.channel_index': channel } } }),
  );
  return clientCaller(clients, share);
}
