/**
 * Stateful models over HTTP/REST: `sequence_id` / `sequence_start` / `sequence_end` in the request's `parameters`,
 * Triton's errors as 400 `{"error"}` bodies, uint64 ids kept exact, and a fast-check run over the sequence parameters.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { createInferenceServer, InferenceServerApp } from '../../server/app';
import { runningSums, sequenceRepository } from '../scheduler/sequence-fixture';
import { httpRequest, MODEL_REPOSITORY, simpleInputs, TestResponse } from './helpers';

let server: InferenceServerApp;
let port: number;
let repo: string;

beforeAll(async () => {
  repo = sequenceRepository([
    { name: 'sequence_accumulate' },
    { name: 'seq_corrid', maxBatchSize: 2, corrid: 'TYPE_UINT64' },
    { name: 'seq_oldest', strategy: 'oldest { max_candidate_sequences: 8 }' },
  ]);
  fs.cpSync(path.join(MODEL_REPOSITORY, 'simple'), path.join(repo, 'simple'), { recursive: true });
  server = createInferenceServer({ modelRepositories: [repo], httpPort: 0, host: '127.0.0.1' });
  port = (await server.start()).httpPort!;
});

afterAll(async () => {
  await server?.stop();
  fs.rmSync(repo, { recursive: true, force: true });
});

/** POST an infer request whose `parameters` JSON is given as text (so ids past 2^53 travel as written). */
function infer(model: string, parametersJson: string, value: number): Promise<TestResponse> {
  const payload = `{"parameters":${parametersJson},"inputs":[{"name":"INPUT","datatype":"INT32","shape":[1,1],"data":[${value}]}]}`;
  return httpRequest(port, { method: 'POST', url: `/v2/models/${model}/infer`, headers: { 'content-type': 'application/json' }, payload });
}

function outputOf(response: TestResponse, name = 'OUTPUT'): unknown {
  if (response.statusCode !== 200) throw new Error(`status ${response.statusCode}: ${response.body}`);
  const body = response.json() as { outputs: Array<{ name: string; data: unknown[] }> };
  return body.outputs.find((output) => output.name === name)!.data[0];
}

const params = (id: string, start = false, end = false) => `{"sequence_id":${id},"sequence_start":${start},"sequence_end":${end}}`;

describe('sequence batching over HTTP', () => {
  it.each(['sequence_accumulate', 'seq_oldest'])('%s: interleaved sequences keep their own running sums', async (model) => {
    const values = { 7: [1, 2, 3, 4], '"client-a"': [10, 20, 30, 40] };
    const got: Record<string, unknown[]> = { 7: [], '"client-a"': [] };
    for (let i = 0; i < 4; i++) {
      for (const id of Object.keys(values) as Array<keyof typeof values>) {
        got[id].push(outputOf(await infer(model, params(String(id), i === 0, i === 3), values[id][i])));
      }
    }
    expect(got).toEqual({ 7: runningSums(values[7]), '"client-a"': runningSums(values['"client-a"']) });
  });

  it('keeps a uint64 sequence_id past 2^53 exact (CORRID echoes it)', async () => {
    const id = '18446744073709551557';
    const first = await infer('seq_corrid', params(id, true), 1);
    expect(first.body).toContain(`"data":[${id}]`);
    expect(outputOf(await infer('seq_corrid', params(id, false, true), 2))).toBe(3);
    // The neighbouring id (same double) is another sequence: it was never started.
    const other = await infer('seq_corrid', params('18446744073709551556'), 1);
    expect(other.statusCode).toBe(400);
  });

  it("answers Triton's errors with 400 and {error}", async () => {
    const cases: Array<[string, string]> = [
      ['{"sequence_start":true}', "inference request to model 'sequence_accumulate' must specify a non-zero or non-empty correlation ID"],
      [params('0', true), "inference request to model 'sequence_accumulate' must specify a non-zero or non-empty correlation ID"],
      [params('""', true), "inference request to model 'sequence_accumulate' must specify a non-zero or non-empty correlation ID"],
      [
        params('12345'),
        "inference request for sequence 12345 to model 'sequence_accumulate' must specify the START flag on the first request of the sequence",
      ],
      ['{"sequence_id":5,"sequence_start":"true"}', "Unable to parse 'sequence_start': expected a boolean"],
      ['{"sequence_id":-5,"sequence_start":true}', "Unable to parse 'sequence_id': expected an unsigned 64-bit integer or a string"],
      ['{"sequence_id":1.5,"sequence_start":true}', "Unable to parse 'sequence_id': expected an unsigned 64-bit integer or a string"],
      ['{"sequence_id":18446744073709551616,"sequence_start":true}', "Unable to parse 'sequence_id': expected an unsigned 64-bit integer or a string"],
    ];
    for (const [parameters, error] of cases) {
      const response = await infer('sequence_accumulate', parameters, 1);
      expect({ parameters, status: response.statusCode, body: response.json() }).toEqual({ parameters, status: 400, body: { error } });
    }
  });

  it('a model without sequence_batching ignores valid sequence parameters and refuses malformed ones', async () => {
    const simple = (parameters: string) =>
      httpRequest(port, {
        method: 'POST',
        url: '/v2/models/simple/infer',
        payload: `{"parameters":${parameters},"inputs":${JSON.stringify(simpleInputs())}}`,
      });
    expect((await simple(params('"any"', false, true))).statusCode).toBe(200);
    const bad = await simple('{"sequence_id":1,"sequence_end":"yes"}');
    expect({ status: bad.statusCode, body: bad.json() }).toEqual({ status: 400, body: { error: "Unable to parse 'sequence_end': expected a boolean" } });
  });

  it('fuzz: any sequence parameters get 200 with the right sum or a 400 {error}; the server keeps serving', async () => {
    // A small pool of ids keeps the number of open sequences within the model's 8 slots.
    const id = fc.oneof(
      fc.constantFrom('0', '1', '2', '3', '""', '"a"', '"b"', '18446744073709551615'),
      fc.constantFrom('-1', '1.5', 'true', 'null', '[]', '{}', '18446744073709551616', '1e3', '"\\u0000"'),
    );
    const flag = fc.constantFrom('true', 'false', '1', '"true"', 'null');
    const totals = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(id, fc.option(flag), fc.option(flag), fc.integer({ min: -1000, max: 1000 }), async (sid, start, end, value) => {
        const fields = [`"sequence_id":${sid}`];
        if (start !== null) fields.push(`"sequence_start":${start}`);
        if (end !== null) fields.push(`"sequence_end":${end}`);
        const response = await infer('sequence_accumulate', `{${fields.join(',')}}`, value);
        if (response.statusCode === 200) {
          const total = (start === 'true' ? 0 : totals.get(sid)!) + value;
          expect(outputOf(response)).toBe(total);
          if (end === 'true') totals.delete(sid);
          else totals.set(sid, total);
        } else {
          expect(response.statusCode).toBe(400);
          expect(Object.keys(response.json() as object)).toEqual(['error']);
          // Only a sequence that is not running may be refused for lacking START.
          if (/must specify the START flag/.test(response.body)) {
            expect({ sid, body: response.body, running: totals.has(sid) }).toEqual({ sid, body: response.body, running: false });
          }
        }
      }),
      { numRuns: 200 },
    );
    expect(outputOf(await infer('sequence_accumulate', params('424242', true, true), 9))).toBe(9);
  });
});
