/**
 * bench:grpc's ModelStreamInfer generator (bench/lib/grpc-h2-stream.ts): many requests outstanding on one stream,
 * each answer matched to its request by id and decoded; a failed request is reported, not dropped; the stream ends
 * with OK once half-closed. Against the real server (grpc-js path), `simple` loaded.
 */
import * as http2 from 'node:http2';
import { InferInput } from '../../client';
import { buildInferRequest, decodeInferResponse } from '../../client/grpc';
import { GrpcH2InferStream, streamInferCaller, streamRequestFrame } from '../../bench/lib/grpc-h2-stream';
import { deserializeInferRequest, serializeInferRequest } from '../../server/protocol/grpc/infer-wire';
import { serverForSuite } from '../server/suite-server';

const server = serverForSuite({ loadModels: ['simple'] });

const inputs = () => [
  InferInput.fromTypedArray('INPUT0', Int32Array.from({ length: 16 }, (_, i) => i), [1, 16]),
  InferInput.fromTypedArray('INPUT1', new Int32Array(16).fill(1), [1, 16]),
];
const SUM = Array.from({ length: 16 }, (_, i) => i + 1);
const DIFFERENCE = Array.from({ length: 16 }, (_, i) => i - 1);
const body = (model = 'simple') => serializeInferRequest({ ...buildInferRequest(model, inputs()), id: undefined });

function outputsOf(response: Parameters<typeof decodeInferResponse>[0]) {
  return decodeInferResponse(response).outputs.map((output) => [output.name, Array.from(output.data as Int32Array)]);
}

it('appends the id to a pre-encoded request: the server reads it with the other fields', () => {
  const frame = streamRequestFrame(body(), 'a7');
  expect(frame.readUInt32BE(1)).toBe(frame.length - 5);
  const request = deserializeInferRequest(frame.subarray(5));
  expect({ model: request.model_name, id: request.id, inputs: request.inputs.map((input) => input.name) }).toEqual({
    model: 'simple',
    id: 'a7',
    inputs: ['INPUT0', 'INPUT1'],
  });
});

it('answers 16 requests outstanding on one stream, each matched by id, in order, then ends with OK', async () => {
  const session = http2.connect(`http://127.0.0.1:${server.grpcPort}`);
  try {
    const stream = new GrpcH2InferStream(session);
    const request = body();
    const answers = await Promise.all(Array.from({ length: 16 }, () => stream.infer(request)));
    expect(answers.map((answer) => answer.id)).toEqual(Array.from({ length: 16 }, (_, i) => i.toString(36)));
    for (const answer of answers) {
      expect(outputsOf(answer)).toEqual([
        ['OUTPUT0', SUM],
        ['OUTPUT1', DIFFERENCE],
      ]);
    }
    expect({ errors: stream.errors, outOfOrder: stream.outOfOrder, outstanding: stream.outstanding }).toEqual({ errors: 0, outOfOrder: 0, outstanding: 0 });
    expect(await stream.end()).toEqual({ status: 0, details: 'OK' });
  } finally {
    await new Promise<void>((resolve) => session.close(() => resolve()));
  }
});

it('rejects a failed request with its error_message and counts it; the stream goes on serving', async () => {
  const caller = streamInferCaller('127.0.0.1', server.grpcPort, 1, 1);
  const results = await Promise.allSettled([caller.call(body(), 0), caller.call(body('no_such_model'), 1), caller.call(body(), 2)]);
  expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  expect(String((results[1] as PromiseRejectedResult).reason)).toContain("Request for unknown model: 'no_such_model' is not found");
  // Not checked: the order. The refusal is written as soon as the request is read, before the first request's answer
  // (Triton would hold it behind that answer); the generator matches by id either way.
  expect(caller.counts().errors).toBe(1);
  await caller.close();
});

it('spreads slots over streams and streams over connections: 4 streams, 2 per connection', async () => {
  const caller = streamInferCaller('127.0.0.1', server.grpcPort, 4, 2);
  const request = body();
  const answers = await Promise.all(Array.from({ length: 8 }, (_, slot) => caller.call(request, slot)));
  // Each of the 4 streams numbers its own requests: slots s and s + 4 share stream s.
  expect(answers.map((answer) => answer.id)).toEqual(['0', '0', '0', '0', '1', '1', '1', '1']);
  expect(caller.counts()).toEqual({ errors: 0, outOfOrder: 0 });
  await caller.close();
});
