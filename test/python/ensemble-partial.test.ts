/**
 * An ensemble whose composing model leaves a declared output out (a Python model answering only OUTPUT0): the
 * ensemble answers with the outputs that exist, as Triton does, and a step that needs the missing tensor is refused
 * by its composing model's own input check.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { writeEnsemble } from '../server/ensemble-fixture';
import { errorOf, outputs, post, scratchRepository, startServer, Started } from './helpers';

const IO = `max_batch_size: 8
input [ { name: "A" data_type: TYPE_INT32 dims: [ 4 ] }, { name: "B" data_type: TYPE_INT32 dims: [ 4 ] } ]`;

const firstStep = (second: string) => `{ model_name: "first_output_only" model_version: -1
    input_map { key: "INPUT0" value: "A" } input_map { key: "INPUT1" value: "B" }
    output_map { key: "OUTPUT0" value: "Y" } output_map { key: "OUTPUT1" value: "${second}" } }`;

let server: Started;
/** The server's log lines (debug level: Triton's --log-verbose=1). */
const logLines: string[] = [];

beforeAll(async () => {
  const repo = scratchRepository(['first_output_only']);
  writeEnsemble(
    repo,
    'partial_pair',
    `${IO}
output [ { name: "Y" data_type: TYPE_INT32 dims: [ 4 ] }, { name: "Z" data_type: TYPE_INT32 dims: [ 4 ] } ]
ensemble_scheduling { step [ ${firstStep('Z')} ] }`,
  );
  writeEnsemble(
    repo,
    'needs_missing',
    `${IO}
output [ { name: "W" data_type: TYPE_INT32 dims: [ 4 ] } ]
ensemble_scheduling { step [ ${firstStep('M')},
  { model_name: "first_output_only" model_version: -1 input_map { key: "INPUT0" value: "Y" } input_map { key: "INPUT1" value: "M" }
    output_map { key: "OUTPUT0" value: "W" } } ] }`,
  );
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logLines.push(chunk.toString());
      done();
    },
  });
  server = await startServer({ modelRepositories: [repo], loadModels: ['partial_pair', 'needs_missing'], logger: pino({ level: 'debug' }, sink) });
  expect(server.failedModels).toEqual([]);
});

afterAll(async () => {
  await server?.app.stop();
});

const inputs = [
  { name: 'A', datatype: 'INT32', shape: [1, 4], data: [1, 2, 3, 4] },
  { name: 'B', datatype: 'INT32', shape: [1, 4], data: [10, 20, 30, 40] },
];

test('an output no step produced is left out; the outputs that exist are answered', async () => {
  const response = await post(server.httpPort, '/v2/models/partial_pair/infer', { inputs, outputs: [{ name: 'Y' }, { name: 'Z' }] });
  expect(response.statusCode).toBe(200);
  const byName = outputs(response);
  expect(Object.keys(byName)).toEqual(['Y']);
  expect(byName.Y.data).toEqual([11, 22, 33, 44]);
  // Triton's verbose line, which its qa tests look for in the server log.
  expect(logLines.some((line) => line.includes('Composing models did not output tensor Z'))).toBe(true);
});

test('a step reading a tensor its producer left out runs without it, and its model refuses the request', async () => {
  const response = await post(server.httpPort, '/v2/models/needs_missing/infer', { inputs });
  expect(response.statusCode).toBe(400);
  expect(errorOf(response)).toMatch(
    /^in ensemble 'needs_missing', \[request id: <id_unknown>\] expected 2 inputs but got 1 inputs for model 'first_output_only'\. Got input\(s\) \['INPUT0'\], but missing required input\(s\) \['INPUT1'\]/,
  );
});
