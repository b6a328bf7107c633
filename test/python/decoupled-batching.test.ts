/**
 * A decoupled Python model with dynamic_batching gets a batch of requests in one execute(requests), as Triton's
 * dynamic batcher hands them: each request has its own response sender, its own cancellation and its own final flag,
 * and its responses reach its own client. The batch is gated by size (preferred_batch_size 2, an hour's
 * max_queue_delay), never by time.
 */
import * as grpc from '@grpc/grpc-js';
import { rawClient } from '../grpc/helpers';
import { scratchRepository, Started, startServer } from './helpers';
import { int32Contents, int32sFrom, streamInfer } from './streaming-helpers';

let server: Started;

beforeAll(async () => {
  server = await startServer({ modelRepositories: [scratchRepository(['batch_stream'])], loadModels: ['batch_stream'] });
  expect(server.failedModels).toEqual([]);
}, 120_000);

afterAll(async () => {
  await server?.app.stop();
});

const request = (id: string, values: number[]) => ({
  model_name: 'batch_stream',
  id,
  inputs: [{ name: 'IN', datatype: 'INT32', shape: [1, values.length] }],
  raw_input_contents: [int32Contents(values)],
});

/** OUT, REQUESTS and CANCELLED of a response message. */
function outputsOf(message: any): { out: number[]; requests: number; cancelled: number } {
  const named = (name: string) => {
    const index = message.infer_response.outputs.findIndex((output: { name: string }) => output.name === name);
    return int32sFrom(message.infer_response.raw_output_contents[index]);
  };
  return { out: named('OUT'), requests: named('REQUESTS')[0], cancelled: named('CANCELLED')[0] };
}

test('two streamed requests in one execute: the error response reaches the first client, the output the second', async () => {
  const messages = await streamInfer(server.grpcPort!, [request('bad', [-1, 2]), request('good', [5, 6])]);
  expect(messages).toHaveLength(2);
  const byId = new Map(messages.map((message) => [message.infer_response.id, message]));
  expect(byId.get('bad').error_message).toBe('negative input -1');
  expect(byId.get('good').error_message).toBe('');
  expect(outputsOf(byId.get('good'))).toMatchObject({ out: [5, 6], requests: 2 });
}, 60_000);

test('requests from two clients share an execute; each is answered at its own final flag and cancelled on its own', async () => {
  const client = rawClient(server.grpcPort!);
  try {
    const waiting = (client.ModelStreamInfer as () => grpc.ClientDuplexStream<unknown, any>).call(client);
    waiting.on('error', () => undefined); // CANCELLED, ours
    const first = new Promise<any>((resolve) => waiting.once('data', resolve));
    waiting.write(request('wait', [0]));
    // The other request of the batch ends while the first is still open: its stream closes with its one response.
    const [answered] = await streamInfer(server.grpcPort!, [request('echo', [7])]);
    const before = outputsOf(answered);
    expect(before).toMatchObject({ out: [7], requests: 2 });
    expect(outputsOf(await first)).toMatchObject({ out: [0], requests: 2 });

    // Only the first request's client goes: the model sees that request cancelled and sends its final flag, which
    // frees the instance for the next batch.
    waiting.cancel();
    const next = await streamInfer(server.grpcPort!, [request('a', [3]), request('b', [4])]);
    // Each request's thread answers it: their order is the model's.
    const byId = new Map(next.map((message) => [message.infer_response.id, outputsOf(message)]));
    expect([byId.get('a'), byId.get('b')]).toEqual([
      { out: [3], requests: 2, cancelled: before.cancelled + 1 },
      { out: [4], requests: 2, cancelled: before.cancelled + 1 },
    ]);
  } finally {
    client.close();
  }
}, 60_000);
