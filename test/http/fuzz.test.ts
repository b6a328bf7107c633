/**
 * Property tests: malformed requests never crash the server and always get a JSON `{"error": string}` with a 4xx
 * status (the codec alone: never anything but an InferenceError). Runs against the real server over loopback.
 */
import * as zlib from 'node:zlib';
import fc from 'fast-check';
import { createInferenceServer, InferenceServerApp } from '../../server/app';
import { DATATYPES } from '../../server/core/datatypes';
import { InferenceError } from '../../server/core/errors';
import { decodeInferRequest, parseInferenceHeaderLength } from '../../server/protocol/http/codec';
import { httpRequest, MODEL_REPOSITORY, simpleInputs, TestRequest, TestResponse } from './helpers';

const NUM_RUNS = 150;

let server: InferenceServerApp;
let port: number;

beforeAll(async () => {
  // Control mode 'none': random load/unload URLs must not take the models away mid-run.
  server = createInferenceServer({ modelRepositories: [MODEL_REPOSITORY], httpPort: 0, host: '127.0.0.1', httpMaxInputSize: 1 << 20 });
  port = (await server.start()).httpPort!;
});

afterAll(async () => {
  await server?.stop();
});

function send(request: TestRequest): Promise<TestResponse> {
  return httpRequest(port, request);
}

/** The error contract: JSON content type and exactly `{"error": string}`. */
function expectErrorBody(response: TestResponse): void {
  expect(response.headers['content-type']).toMatch(/^application\/json/);
  const body = response.json() as Record<string, unknown>;
  expect(Object.keys(body)).toEqual(['error']);
  expect(typeof body.error).toBe('string');
}

/** The one 500 Triton answers for a malformed request (its JSON reader's error, INTERNAL): matched as Triton sends it. */
const TRITON_SHAPE_500 = '{"error":"Unable to parse \'shape\': attempt to access JSON non-unsigned-integer as unsigned-integer"}';

function expectClientError(response: TestResponse): void {
  if (response.statusCode === 500 && response.body === TRITON_SHAPE_500) return;
  if (response.statusCode < 400 || response.statusCode >= 500) {
    throw new Error(`expected a 4xx, got ${response.statusCode}: ${response.body.slice(0, 300)}`);
  }
  expectErrorBody(response);
}

/** Printable ASCII: what an HTTP header value may hold. */
const headerText = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)), maxLength: 40 });

const datatype = fc.oneof(fc.constantFrom(...Object.keys(DATATYPES)), fc.string({ maxLength: 8 }));
const dimension = fc.oneof(fc.integer({ min: -2, max: 20 }), fc.double(), fc.string({ maxLength: 3 }), fc.constant(null));
const tensorData = fc.oneof(
  fc.array(fc.integer(), { maxLength: 40 }),
  fc.array(fc.double(), { maxLength: 40 }),
  fc.array(fc.string({ maxLength: 5 }), { maxLength: 10 }),
  fc.array(fc.array(fc.integer({ min: -5, max: 5 }), { maxLength: 16 }), { maxLength: 3 }),
  fc.jsonValue({ maxDepth: 3 }),
);
const parameters = fc.dictionary(
  fc.oneof(fc.constantFrom('binary_data_size', 'binary_data', 'binary_data_output', 'priority', 'timeout', 'triton_x', 'shared_memory_region'), fc.string({ maxLength: 6 })),
  fc.jsonValue({ maxDepth: 1 }),
  { maxKeys: 3 },
);
const input = fc.record(
  {
    name: fc.oneof(fc.constantFrom('INPUT0', 'INPUT1'), fc.jsonValue({ maxDepth: 1 })),
    datatype,
    shape: fc.oneof(fc.array(dimension, { maxLength: 4 }), fc.jsonValue({ maxDepth: 1 })),
    data: tensorData,
    parameters,
  },
  { requiredKeys: [] },
);
const inferRequest = fc.record(
  {
    id: fc.oneof(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 1 })),
    inputs: fc.oneof(fc.array(input, { maxLength: 3 }), fc.jsonValue({ maxDepth: 2 })),
    outputs: fc.oneof(fc.array(fc.record({ name: fc.jsonValue({ maxDepth: 1 }), parameters }, { requiredKeys: [] }), { maxLength: 3 }), fc.jsonValue({ maxDepth: 1 })),
    parameters,
  },
  { requiredKeys: [] },
);

describe('codec: any input gives a request or an InferenceError, nothing else', () => {
  const decodes = (body: Uint8Array, jsonLength: number | undefined): void => {
    try {
      decodeInferRequest(body, { model: 'm' }, jsonLength);
    } catch (error) {
      if (!(error instanceof InferenceError)) throw error;
    }
  };

  it('random bytes with random header lengths', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.option(fc.nat({ max: 250 })), (bytes, length) => {
        decodes(bytes, length === null ? undefined : Math.min(length, bytes.length));
      }),
      { numRuns: 2000 },
    );
  });

  it('random structured requests, JSON or with a random binary tail', () => {
    fc.assert(
      fc.property(inferRequest, fc.uint8Array({ maxLength: 100 }), fc.boolean(), (request, tail, withTail) => {
        const json = Buffer.from(JSON.stringify(request));
        if (withTail) decodes(Buffer.concat([json, tail]), json.length);
        else decodes(json, undefined);
      }),
      { numRuns: 2000 },
    );
  });

  it('random header values', () => {
    fc.assert(
      fc.property(fc.oneof(headerText, fc.array(headerText)), fc.nat({ max: 1000 }), (header, bodyLength) => {
        try {
          const value = parseInferenceHeaderLength(header, bodyLength);
          expect(value === undefined || (Number.isInteger(value) && value >= 0 && value <= bodyLength)).toBe(true);
        } catch (error) {
          if (!(error instanceof InferenceError)) throw error;
        }
      }),
    );
  });
});

describe('server: malformed requests get a 4xx JSON error', () => {
  it('random JSON documents to infer', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), async (value) => {
        expectClientError(await send({ method: 'POST', url: '/v2/models/simple/infer', payload: JSON.stringify(value) ?? '' }));
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('random structured infer requests (random datatypes, shapes, data, parameters)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('simple', 'add_sub_autocomplete', 'nope'), inferRequest, async (model, request) => {
        const response = await send({ method: 'POST', url: `/v2/models/${model}/infer`, payload: JSON.stringify(request) });
        // A random request that happens to be valid may succeed; nothing may fail on the server's side.
        if (response.statusCode !== 200) expectClientError(response);
      }),
      { numRuns: NUM_RUNS * 2 },
    );
  });

  it('random bytes with random Inference-Header-Content-Length values', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 300 }),
        fc.option(fc.oneof(fc.nat({ max: 400 }).map(String), headerText)),
        async (bytes, header) => {
          const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
          if (header !== null) headers['inference-header-content-length'] = header;
          expectClientError(await send({ method: 'POST', url: '/v2/models/simple/infer', payload: Buffer.from(bytes), headers }));
        },
      ),
      { numRuns: NUM_RUNS },
    );
  });

  it('valid JSON headers with random binary sizes and tails', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(fc.nat({ max: 80 }), fc.integer({ min: -5, max: -1 })), { minLength: 2, maxLength: 2 }),
        fc.uint8Array({ maxLength: 200 }),
        async (sizes, tail) => {
          const json = {
            inputs: simpleInputs().map(({ name, datatype: type, shape }, i) => ({ name, datatype: type, shape, parameters: { binary_data_size: sizes[i] } })),
          };
          const header = Buffer.from(JSON.stringify(json));
          const payload = Buffer.concat([header, tail]);
          const valid = sizes[0] === 64 && sizes[1] === 64 && tail.length === 128;
          const response = await send({
            method: 'POST',
            url: '/v2/models/simple/infer',
            payload,
            headers: { 'inference-header-content-length': String(header.length) },
          });
          if (valid) expect(response.statusCode).toBe(200);
          else expectClientError(response);
        },
      ),
      { numRuns: NUM_RUNS },
    );
  });

  it('random content types and encodings', async () => {
    await fc.assert(
      fc.asyncProperty(
        headerText,
        fc.constantFrom('gzip', 'deflate', 'br', 'x-gzip', 'identity', 'gzip, deflate', 'compress', ''),
        fc.uint8Array({ maxLength: 200 }),
        fc.boolean(),
        async (contentType, encoding, bytes, compressBytes) => {
          const payload = compressBytes && encoding === 'gzip' ? zlib.gzipSync(bytes) : Buffer.from(bytes);
          const response = await send({
            method: 'POST',
            url: '/v2/models/simple/infer',
            payload,
            headers: { 'content-type': contentType, 'content-encoding': encoding },
          });
          expectClientError(response);
        },
      ),
      { numRuns: NUM_RUNS },
    );
  });

  it('random URLs and methods: no server error, every error as JSON', async () => {
    const segment = fc.oneof(
      fc.constantFrom('v2', 'models', 'simple', 'mlp', 'versions', '1', '2', '3', 'x', 'infer', 'ready', 'config', 'stats'),
      fc.constantFrom('repository', 'index', 'load', 'unload', 'health', 'live', '%zz', '%E0%A4%A', '..', ''),
      fc.string({ maxLength: 6 }).map(encodeURIComponent),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'PATCH', 'OPTIONS'),
        fc.array(segment, { maxLength: 7 }),
        fc.option(fc.jsonValue({ maxDepth: 2 })),
        async (method, segments, body) => {
          const url = `/${segments.join('/')}`;
          const payload = body === null || method === 'GET' || method === 'HEAD' ? undefined : JSON.stringify(body);
          const response = await send({ method, url, payload });
          if (response.statusCode >= 500) {
            // Model control is off: Triton answers load/unload with UNAVAILABLE (503); nothing else may fail.
            expect([url, response.statusCode]).toEqual([expect.stringMatching(/^\/v2\/repository\/models\/[^/]+\/(load|unload)$/), 503]);
          }
          if (response.statusCode >= 400 && method !== 'HEAD') expectErrorBody(response);
        },
      ),
      { numRuns: NUM_RUNS * 2 },
    );
  });

  it('still serves after all of the above', async () => {
    const health = await send({ method: 'GET', url: '/v2/health/ready' });
    expect(health.statusCode).toBe(200);
    const response = await send({ method: 'POST', url: '/v2/models/simple/infer', payload: JSON.stringify({ inputs: simpleInputs() }) });
    expect(response.statusCode).toBe(200);
  });
});
