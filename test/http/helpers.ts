/** Shared by the HTTP suites: the example repository, request builders, and a plain node:http client. */
import * as http from 'node:http';
import * as path from 'node:path';
import { createInferenceServer, InferenceServerApp } from '../../server/app';

export const MODEL_REPOSITORY = path.resolve(__dirname, '../../examples/model_repository');

export const RANGE_16 = Array.from({ length: 16 }, (_, i) => i);
export const ONES_16: number[] = new Array<number>(16).fill(1);

export interface JsonInput {
  name: string;
  datatype: string;
  shape: number[];
  data?: unknown[];
  parameters?: Record<string, unknown>;
}

/** The `simple` request of the example README: OUTPUT0 = 1..16, OUTPUT1 = -1..14. */
export function simpleInputs(batch = 1): JsonInput[] {
  const repeat = (row: number[]) => Array.from({ length: batch }, () => row).flat();
  return [
    { name: 'INPUT0', datatype: 'INT32', shape: [batch, 16], data: repeat(RANGE_16) },
    { name: 'INPUT1', datatype: 'INT32', shape: [batch, 16], data: repeat(ONES_16) },
  ];
}

/** JSON header + raw tensors, as Triton clients send binary inputs. */
export function binaryRequest(json: unknown, ...parts: Uint8Array[]): { body: Buffer; headers: Record<string, string> } {
  const header = Buffer.from(JSON.stringify(json));
  return {
    body: Buffer.concat([header, ...parts]),
    headers: { 'inference-header-content-length': String(header.length), 'content-type': 'application/octet-stream' },
  };
}

export function rawBytes(array: ArrayBufferView): Buffer {
  return Buffer.from(array.buffer, array.byteOffset, array.byteLength);
}

export interface ParsedBinaryResponse {
  json: {
    model_name: string;
    model_version: string;
    id?: string;
    outputs: { name: string; datatype: string; shape: number[]; data?: unknown[]; parameters?: { binary_data_size: number } }[];
  };
  /** Raw bytes of each binary output, by name. */
  raw: Map<string, Buffer>;
}

/** Split a response with Inference-Header-Content-Length into its JSON and the binary outputs it announces. */
export function parseBinaryResponse(body: Buffer, headerLength: number): ParsedBinaryResponse {
  const json = JSON.parse(body.subarray(0, headerLength).toString('utf8')) as ParsedBinaryResponse['json'];
  const raw = new Map<string, Buffer>();
  let offset = headerLength;
  for (const output of json.outputs) {
    const size = output.parameters?.binary_data_size;
    if (size === undefined) continue;
    raw.set(output.name, body.subarray(offset, offset + size));
    offset += size;
  }
  if (offset !== body.length) throw new Error(`binary response has ${body.length - offset} unexplained bytes`);
  return { json, raw };
}

export function int32s(bytes: Buffer): number[] {
  const copy = new Uint8Array(bytes); // own, aligned buffer
  return Array.from(new Int32Array(copy.buffer, 0, copy.length / 4));
}

/** What the suites look at in a response (the shape of fastify's inject responses). */
export interface TestResponse {
  statusCode: number;
  headers: http.IncomingHttpHeaders;
  /** The body as UTF-8 text. */
  body: string;
  rawPayload: Buffer;
  json(): unknown;
}

export interface TestRequest {
  method: string;
  url: string;
  headers?: Record<string, string>;
  payload?: Buffer | string;
}

/**
 * A plain HTTP request over loopback: no automatic decompression, every header as given.
 * (fastify's inject cannot run under jest here: light-my-request needs the ESM-only `cookie` package.)
 */
export function httpRequest(port: number, options: TestRequest): Promise<TestResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...options.headers };
    // Node only adds Content-Length on its own for methods that usually carry a body; be explicit for every method.
    if (options.payload !== undefined && headers['transfer-encoding'] === undefined) {
      headers['content-length'] = String(Buffer.byteLength(options.payload));
    }
    const request = http.request(
      { host: '127.0.0.1', port, method: options.method, path: options.url, headers, agent: false },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const rawPayload = Buffer.concat(chunks);
          const body = rawPayload.toString('utf8');
          resolve({ statusCode: response.statusCode ?? 0, headers: response.headers, body, rawPayload, json: () => JSON.parse(body) });
        });
        response.on('error', reject);
      },
    );
    // The server may answer (413, 415) and close before the whole body is written.
    request.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE' && error.code !== 'ECONNRESET') reject(error);
    });
    request.end(options.payload);
  });
}

/**
 * Which HTTP infer path the suites' servers use: the *.fast-infer.test.ts files turn on the opt-in fast path
 * (server/protocol/http/fast-infer.ts) and run a whole suite again against it.
 */
export const httpPathUnderTest = { fastInfer: false };

/** The server options for the path under test; every server a covered suite starts spreads these in. */
export function httpPathOptions(): { httpFastInferPath?: boolean } {
  return httpPathUnderTest.fastInfer ? { httpFastInferPath: true } : {};
}

const startedServers: InferenceServerApp[] = [];

/** Requests the fast path answered, over every server started here (a fast-infer suite checks it took some). */
export function fastInferAnswered(): number {
  return startedServers.reduce((sum, server) => sum + (server.http.inferFastPath?.count ?? 0), 0);
}

/** Start `server`, remembered for fastInferAnswered. */
export async function startServer(server: InferenceServerApp): Promise<Awaited<ReturnType<InferenceServerApp['start']>>> {
  startedServers.push(server);
  return server.start();
}

/** A server on the example repository (explicit mode, the given models loaded), HTTP on an ephemeral loopback port. */
export async function startExampleServer(loadModels: string[]): Promise<{ server: InferenceServerApp; port: number }> {
  const server = createInferenceServer({
    modelRepositories: [MODEL_REPOSITORY],
    modelControlMode: 'explicit',
    loadModels,
    httpPort: 0,
    host: '127.0.0.1',
    ...httpPathOptions(),
  });
  const started = await startServer(server);
  expect(started.failedModels).toEqual([]);
  return { server, port: started.httpPort! };
}
