/**
 * An ensemble whose first step is a decoupled model (Triton makes such an ensemble decoupled): each response of the
 * decoupled step flows through the next step and is one response of the ensemble; a failing response ends the stream
 * with the ensemble's error; HTTP infer refuses it as it refuses a decoupled model.
 */
import * as path from 'node:path';
import { errorOf, post, Started, startServer } from './helpers';
import { PYTHON_EXAMPLES, scratchRepository } from './helpers';
import { int32sFrom, sseEvents, streamInfer } from './streaming-helpers';
import { int32Raw } from '../grpc/helpers';

let server: Started;

beforeAll(async () => {
  const repository = scratchRepository([{ from: path.join(PYTHON_EXAMPLES, 'repeat'), name: 'repeat' }, 'int_double', 'repeat_double']);
  server = await startServer({ modelRepositories: [repository], loadModels: ['repeat_double'] });
  expect(server.failedModels).toEqual([]);
}, 120_000);

afterAll(async () => {
  await server?.app.stop();
});

const request = (id: string, values: number[]) => ({
  model_name: 'repeat_double',
  id,
  inputs: [{ name: 'IN', datatype: 'INT32', shape: [values.length] }],
  raw_input_contents: [int32Raw(values)],
});

test('gRPC stream: one ensemble response per response of the decoupled step, each through the next step', async () => {
  const messages = await streamInfer(server.grpcPort!, [request('e', [3, 5, 7])]);
  expect(messages.map((m) => m.error_message)).toEqual(['', '', '']);
  expect(messages.map((m) => int32sFrom(m.infer_response.raw_output_contents[0]))).toEqual([[6], [10], [14]]);
  expect(messages.every((m) => m.infer_response.model_name === 'repeat_double' && m.infer_response.id === 'e')).toBe(true);
});

test('a failing response of the decoupled step ends the stream with the ensemble error', async () => {
  const messages = await streamInfer(server.grpcPort!, [request('f', [1, -1, 9])]);
  const errors = messages.filter((m) => m.error_message !== '');
  expect(errors).toHaveLength(1);
  expect(errors[0].error_message).toBe("in ensemble 'repeat_double', negative value at 1");
  expect(messages.indexOf(errors[0])).toBe(messages.length - 1);
});

test('HTTP: generate_stream streams it; infer refuses it as a decoupled model', async () => {
  const streamed = await post(server.httpPort, '/v2/models/repeat_double/generate_stream', { IN: [2, 4] });
  expect(sseEvents(streamed).map((event) => event.DOUBLED)).toEqual([4, 8]);
  const refused = await post(server.httpPort, '/v2/models/repeat_double/infer', { inputs: [{ name: 'IN', datatype: 'INT32', shape: [1], data: [1] }] });
  expect(refused.statusCode).toBe(501);
  expect(errorOf(refused)).toBe("HTTP end point doesn't support models with decoupled transaction policy");
});
