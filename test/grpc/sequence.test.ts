/**
 * Stateful models over gRPC: sequence parameters as InferParameter (uint64_param / int64_param / string_param ids,
 * bool_param flags), as tritonclient sends them; errors as INVALID_ARGUMENT with Triton's message.
 */
import * as fs from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { runningSums, sequenceRepository } from '../scheduler/sequence-fixture';
import { int32Raw, int32sOf, RawClient, rawClient, startServer, StartedServer, unary, unaryError } from './helpers';

let server: StartedServer;
let client: RawClient;
let repo: string;

beforeAll(async () => {
  repo = sequenceRepository([
    { name: 'sequence_accumulate', maxBatchSize: 2 },
    { name: 'seq_corrid', maxBatchSize: 2, corrid: 'TYPE_UINT64' },
  ]);
  server = await startServer({ modelRepositories: [repo] });
  client = rawClient(server.grpcPort);
});

afterAll(async () => {
  client?.close();
  await server?.app.stop();
  fs.rmSync(repo, { recursive: true, force: true });
});

type Id = { uint64_param: string } | { int64_param: string } | { string_param: string };

function request(model: string, id: Id | undefined, value: number, start = false, end = false) {
  const parameters: Record<string, unknown> = { sequence_start: { bool_param: start }, sequence_end: { bool_param: end } };
  if (id) parameters.sequence_id = id;
  return {
    model_name: model,
    parameters,
    inputs: [{ name: 'INPUT', datatype: 'INT32', shape: [1, 1] }],
    raw_input_contents: [int32Raw([value])],
  };
}

async function infer(model: string, id: Id | undefined, value: number, start = false, end = false): Promise<number> {
  const response = await unary<{ outputs: Array<{ name: string }>; raw_output_contents: Uint8Array[] }>(
    client,
    'ModelInfer',
    request(model, id, value, start, end),
  );
  const index = response.outputs.findIndex((output) => output.name === 'OUTPUT');
  return int32sOf(response.raw_output_contents[index])[0];
}

describe('sequence batching over gRPC', () => {
  it('keeps per-sequence sums for uint64, int64 and string ids sent concurrently, more sequences than slots', async () => {
    const ids: Id[] = [
      { uint64_param: '11' },
      { int64_param: '12' },
      { string_param: 'session-13' },
      { uint64_param: '9007199254740993' }, // 2^53 + 1: a double would make it 2^53
      { uint64_param: '9007199254740992' },
    ];
    const values = [4, 8, 15, 16, 23];
    const run = async (id: Id) => {
      const outputs: number[] = [];
      for (const [i, value] of values.entries()) outputs.push(await infer('sequence_accumulate', id, value, i === 0, i === values.length - 1));
      return outputs;
    };
    const results = await Promise.all(ids.map(run));
    expect(results).toEqual(ids.map(() => runningSums(values)));
  });

  it('feeds the exact uint64 id to CORRID', async () => {
    const response = await unary<{ outputs: Array<{ name: string }>; raw_output_contents: Uint8Array[] }>(
      client,
      'ModelInfer',
      request('seq_corrid', { uint64_param: '18446744073709551615' }, 1, true, true),
    );
    const raw = Buffer.from(response.raw_output_contents[response.outputs.findIndex((o) => o.name === 'CORRID_OUT')]);
    expect(raw.readBigUInt64LE(0)).toBe(18446744073709551615n);
  });

  it("fails as Triton does: INVALID_ARGUMENT with its message", async () => {
    const missing = await unaryError(client, 'ModelInfer', request('sequence_accumulate', undefined, 1, true));
    expect(missing.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(missing.details).toBe("inference request to model 'sequence_accumulate' must specify a non-zero or non-empty correlation ID");
    const notStarted = await unaryError(client, 'ModelInfer', request('sequence_accumulate', { string_param: 'nope' }, 1));
    expect(notStarted.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(notStarted.details).toBe(
      "inference request for sequence nope to model 'sequence_accumulate' must specify the START flag on the first request of the sequence",
    );
    const negative = await unaryError(client, 'ModelInfer', request('sequence_accumulate', { int64_param: '-3' }, 1, true));
    expect(negative.code).toBe(grpc.status.INVALID_ARGUMENT);
    const mismatch = await unaryError(client, 'ModelInfer', request('seq_corrid', { string_param: 'x' }, 1, true));
    expect(mismatch.details).toMatch(/sequence batching control 'CORRID' data-type is 'UINT64', but request CORRID has type 'BYTES'/);
  });
});
