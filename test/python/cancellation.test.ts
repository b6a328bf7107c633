/**
 * Request cancellation, as Triton's frontends do it: a client that drops an HTTP generate_stream, closes the connection
 * of an HTTP infer, or cancels a gRPC stream or ModelInfer call cancels its request. A streaming ensemble then starts no further steps,
 * and a Python model sees request.is_cancelled() / response_sender.is_cancelled() turn true. A Python model that
 * cancels the response iterator of its BLS call cancels the called model's request the same way.
 *
 * Every wait is for an event: the first SSE event or gRPC message, the model's own "waiting" line, the server's request
 * event for the model (it comes once the request, and every step it started, has ended). Nothing sleeps.
 */
import * as http from 'node:http';
import * as grpc from '@grpc/grpc-js';
import type { RequestEvent } from '../../server/core/observer';
import { rawClient } from '../grpc/helpers';
import { outputs, post, scratchRepository, Started, startServer } from './helpers';
import { int32Contents, int32sFrom, sseEvents } from './streaming-helpers';

let server: Started;
/** Every line the stubs wrote, and the waiters for a line to come. */
const stubLines: string[] = [];
const lineWaiters: Array<{ line: string; resolve: () => void }> = [];

beforeAll(async () => {
  const repository = scratchRepository(['cancel_probe', 'cancel_wait', 'int_double', 'cancel_probe_double', 'bls_cancel']);
  server = await startServer({
    modelRepositories: [repository],
    loadModels: ['cancel_probe_double', 'cancel_wait', 'bls_cancel'],
    // Infer requests with a Content-Length take the opt-in node:http path, chunked ones fastify's route: both cancel.
    httpFastInferPath: true,
    pythonStubOutput: (_stream, text) => {
      stubLines.push(...text.split('\n'));
      for (const waiter of [...lineWaiters]) {
        if (!stubLines.includes(waiter.line)) continue;
        lineWaiters.splice(lineWaiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    },
  });
  expect(server.failedModels).toEqual([]);
}, 120_000);

afterAll(async () => {
  await server?.app.stop();
});

/** Resolves once a stub has written `line` (whole). */
function stubLine(line: string): Promise<void> {
  if (stubLines.includes(line)) return Promise.resolve();
  return new Promise((resolve) => lineWaiters.push({ line, resolve }));
}

/** Every request event of `model` from now on; `ended(n)` resolves once n have come. */
function requestEvents(model: string): { readonly events: RequestEvent[]; ended(count: number): Promise<RequestEvent[]> } {
  const events: RequestEvent[] = [];
  const waiters: Array<{ count: number; resolve: (events: RequestEvent[]) => void }> = [];
  server.app.observers.add({
    onRequest: (event) => {
      if (event.model !== model) return;
      events.push(event);
      for (const waiter of waiters.filter((w) => events.length >= w.count)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(events);
      }
    },
  });
  return {
    events,
    ended: (count) => (events.length >= count ? Promise.resolve(events) : new Promise((resolve) => waiters.push({ count, resolve }))),
  };
}

/**
 * POST `body` and resolve with the first `data:` event of the response once it has arrived whole; `drop()` then
 * closes the connection, as a client that stops reading does.
 */
function openStream(url: string, body: unknown): { firstEvent: Promise<Record<string, unknown>>; drop(): void } {
  const request = http.request({ host: '127.0.0.1', port: server.httpPort, method: 'POST', path: url, headers: { 'content-type': 'application/json' } });
  const firstEvent = new Promise<Record<string, unknown>>((resolve, reject) => {
    request.on('response', (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        text += chunk;
        const end = text.indexOf('\n\n');
        if (end >= 0) resolve(JSON.parse(text.slice('data: '.length, end)) as Record<string, unknown>);
      });
      response.on('error', () => undefined); // the drop below
    });
    request.on('error', reject);
  });
  request.end(JSON.stringify(body));
  return {
    firstEvent,
    drop: () => {
      request.on('error', () => undefined);
      request.destroy();
    },
  };
}

/** How many of its requests the model saw cancelled (IN [0] asks it), over generate or infer. */
async function cancelledCount(model: 'cancel_probe' | 'cancel_wait'): Promise<number> {
  if (model === 'cancel_probe') {
    const response = await post(server.httpPort, '/v2/models/cancel_probe/generate_stream', { IN: [0] });
    expect(response.statusCode).toBe(200);
    return sseEvents(response)[0].OUT as number; // one element: a plain value, as Triton's generate writes it
  }
  const response = await post(server.httpPort, '/v2/models/cancel_wait/infer', { inputs: [{ name: 'IN', datatype: 'INT32', shape: [1], data: [0] }] });
  expect(response.statusCode).toBe(200);
  return outputs(response).OUT.data[0] as number;
}

test('a dropped HTTP generate_stream to a streaming ensemble starts no further step, and the model sees it cancelled', async () => {
  const before = await cancelledCount('cancel_probe');
  const ensemble = requestEvents('cancel_probe_double');
  const secondStep = requestEvents('int_double');
  const stream = openStream('/v2/models/cancel_probe_double/generate_stream', { IN: [5] });
  // The first response of cancel_probe went through int_double.
  expect(await stream.firstEvent).toEqual({ model_name: 'cancel_probe_double', model_version: '1', DOUBLED: 10 });
  stream.drop();
  // cancel_probe sends its second response only once it sees the request cancelled; the ensemble request ends after
  // that response (and anything started from it) has ended.
  const [ended] = await ensemble.ended(1);
  expect(ended.ok).toBe(true);
  expect(secondStep.events).toHaveLength(1);
  expect(await cancelledCount('cancel_probe')).toBe(before + 1);
  // The server still answers, the ensemble too.
  const again = await post(server.httpPort, '/v2/models/cancel_probe_double/generate', { IN: [0] });
  expect(again.statusCode).toBe(200);
  expect(again.json()).toEqual({ model_name: 'cancel_probe_double', model_version: '1', DOUBLED: 2 * (before + 1) });
}, 120_000);

test('a dropped HTTP generate_stream to a decoupled Python model: response_sender.is_cancelled() turns true', async () => {
  const before = await cancelledCount('cancel_probe');
  const probe = requestEvents('cancel_probe');
  const stream = openStream('/v2/models/cancel_probe/generate_stream', { IN: [3] });
  expect(await stream.firstEvent).toEqual({ model_name: 'cancel_probe', model_version: '1', OUT: 3 });
  stream.drop();
  await probe.ended(1);
  expect(await cancelledCount('cancel_probe')).toBe(before + 1);
}, 120_000);

test('a cancelled gRPC stream: the decoupled Python model sees its request cancelled', async () => {
  const before = await cancelledCount('cancel_probe');
  const probe = requestEvents('cancel_probe');
  const client = rawClient(server.grpcPort!);
  try {
    const call = (client.ModelStreamInfer as () => grpc.ClientDuplexStream<unknown, any>).call(client);
    const first = new Promise<any>((resolve) => call.once('data', resolve));
    call.on('error', () => undefined); // CANCELLED, ours
    call.write({ model_name: 'cancel_probe', inputs: [{ name: 'IN', datatype: 'INT32', shape: [1] }], raw_input_contents: [int32Contents([4])] });
    expect(int32sFrom((await first).infer_response.raw_output_contents[0])).toEqual([4]);
    call.cancel();
    await probe.ended(1);
  } finally {
    client.close();
  }
  expect(await cancelledCount('cancel_probe')).toBe(before + 1);
}, 120_000);

test.each([
  ['the fastify route', { 'transfer-encoding': 'chunked' }, 0],
  ['the fast infer path', {}, 1],
])('an HTTP infer (%s) whose connection closes while the model runs: request.is_cancelled() turns true', async (_path, headers, fast) => {
  const before = await cancelledCount('cancel_wait');
  const fastBefore = server.app.http.inferFastPath!.count;
  const waited = requestEvents('cancel_wait');
  const value = 7 + fast;
  const request = http.request({ host: '127.0.0.1', port: server.httpPort, method: 'POST', path: '/v2/models/cancel_wait/infer', headers });
  request.on('error', () => undefined); // the destroy below
  request.end(JSON.stringify({ inputs: [{ name: 'IN', datatype: 'INT32', shape: [1], data: [value] }] }));
  await stubLine(`waiting ${value}`);
  expect(server.app.http.inferFastPath!.count).toBe(fastBefore + fast);
  request.destroy();
  await waited.ended(1);
  expect(await cancelledCount('cancel_wait')).toBe(before + 1);
}, 120_000);

test('a cancelled gRPC ModelInfer call while the model runs: request.is_cancelled() turns true', async () => {
  const before = await cancelledCount('cancel_wait');
  const waited = requestEvents('cancel_wait');
  const client = rawClient(server.grpcPort!);
  try {
    const answered = new Promise<grpc.ServiceError | null>((resolve) => {
      const call = (client.ModelInfer as (request: unknown, callback: (error: grpc.ServiceError | null) => void) => grpc.ClientUnaryCall).call(
        client,
        { model_name: 'cancel_wait', inputs: [{ name: 'IN', datatype: 'INT32', shape: [1] }], raw_input_contents: [int32Contents([9])] },
        resolve,
      );
      void stubLine('waiting 9').then(() => call.cancel());
    });
    expect((await answered)?.code).toBe(grpc.status.CANCELLED);
    await waited.ended(1);
  } finally {
    client.close();
  }
  expect(await cancelledCount('cancel_wait')).toBe(before + 1);
}, 120_000);

test.each(['sync', 'async'])('BLS: ResponseIterator.cancel() (%s exec) cancels the called decoupled model\'s request', async (mode) => {
  const before = await cancelledCount('cancel_probe');
  const response = await post(server.httpPort, '/v2/models/bls_cancel/infer', {
    inputs: [
      { name: 'IN', datatype: 'INT32', shape: [1], data: [6] },
      { name: 'MODE', datatype: 'BYTES', shape: [1], data: [mode] },
    ],
  });
  expect(response.statusCode).toBe(200);
  // cancel_probe answered 6, saw its request cancelled, answered 7 with the final flag; the second cancel() (after
  // the final response) changed nothing.
  expect(outputs(response).OUT.data).toEqual([6, 7]);
  expect(outputs(response).ERRORS.data).toEqual([0]);
  expect(await cancelledCount('cancel_probe')).toBe(before + 1);
}, 120_000);
