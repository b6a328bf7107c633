/**
 * Reference HTTP servers for bench/http.ts, each run as its own child process on 127.0.0.1:
 *  - bare: node:http that reads the body, JSON.parse's it and answers a small JSON (the "hello" baseline every server is compared with);
 *  - bare-codec: node:http reading the body as the server does (body-reader.ts) and answering `simple` through the
 *    server's infer decode / encode (routes/infer.ts) over the stub facade below: the floor of any HTTP frontend;
 *  - fastify-minimal: fastify as it comes (its own JSON body parser), one POST route answering a small fixed buffer;
 *  - fastify: the same work as one fastify route (body read as a Buffer, as the server reads it): fastify's own cost;
 *  - fastify-compress: the same plus @fastify/compress registered globally, as the server registers it;
 *  - frontend-stub: the server's real HTTP frontend (buildHttpApp: hooks, compression, codec decode/encode) over a
 *    stub facade that answers `simple` inline — no facade validation, scheduler, worker thread or ONNX Runtime.
 *  - grpc-stub / grpc-js-stub: the server's real gRPC frontend (GrpcFrontend) over the same stub facade, with
 *    ModelInfer on the lean node:http2 path or (grpc-js-stub) through grpc-js as before; `port` then only answers
 *    the ready check, the gRPC port is a third argument.
 *  - bare-binary / bare-grpc: the transports alone: node:http, or node:http2 speaking gRPC (response headers, one
 *    DATA message, trailers), reading each request whole and answering `simple`'s response pre-encoded (HTTP binary
 *    tensor extension / ModelInferResponse): what Node itself costs per call over HTTP/1.1 and over HTTP/2.
 * Every mode answers GET /v2/health/ready with 200. Usage: node dist/bench/lib/baseline-servers.js <mode> <port> [grpc port]
 */
import * as http from 'node:http';
import * as http2 from 'node:http2';
import fastifyCompress from '@fastify/compress';
import Fastify, { FastifyInstance } from 'fastify';
import { GrpcFrontend } from '../../server/protocol/grpc/server';
import { buildHttpApp } from '../../server/protocol/http/app';
import { encodeInferResponse as encodeHttpResponse, INFERENCE_HEADER_CONTENT_LENGTH } from '../../server/protocol/http/codec';
import { encodeInferResponse as encodeGrpcResponse } from '../../server/protocol/grpc/codec';
import { serializeInferResponse } from '../../server/protocol/grpc/infer-wire';
import { grpcFrame } from './grpc-h2';
import { readBody } from '../../server/protocol/http/body-reader';
import { decodeInferBody, encodeInferAnswer } from '../../server/protocol/http/routes/infer';
import type { InferenceServiceApi } from '../../server/core/service-api';
import type { InferRequest, InferResponse, ModelMetadata } from '../../server/core/types';
import { HOST } from './processes';

export const BASELINE_MODES = [
  'bare', 'bare-codec', 'fastify-minimal', 'fastify', 'fastify-compress', 'frontend-stub', 'grpc-stub', 'grpc-js-stub',
  'bare-binary', 'bare-grpc',
] as const;
export type BaselineMode = (typeof BASELINE_MODES)[number];

const READY_PATH = '/v2/health/ready';

/** The bare answer: small, fixed, and dependent on the parsed body so the parse cannot be skipped. */
function helloAnswer(parsed: unknown): string {
  const inputs = (parsed as { inputs?: unknown[] }).inputs;
  return JSON.stringify({ model_name: 'simple', model_version: '1', inputs: Array.isArray(inputs) ? inputs.length : 0 });
}

function bare(port: number): void {
  const server = http.createServer((request, response) => {
    if (request.method === 'GET' && request.url === READY_PATH) {
      response.writeHead(200, { 'content-length': '0' });
      response.end();
      return;
    }
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      let answer: string;
      try {
        answer = helloAnswer(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        response.writeHead(400, { 'content-length': '0' });
        response.end();
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) });
      response.end(answer);
    });
  });
  server.listen(port, HOST);
}

function bareCodec(port: number): void {
  const service = stubService();
  const inferPath = /^\/v2\/models\/([^/?]+)\/infer$/;
  const fail = (response: http.ServerResponse, error: unknown) => {
    response.writeHead(400, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ error: (error as Error).message }));
  };
  const server = http.createServer((request, response) => {
    const model = inferPath.exec(request.url ?? '')?.[1];
    if (request.method !== 'POST' || model === undefined) {
      response.writeHead(request.url === READY_PATH ? 200 : 404, { 'content-length': '0' });
      response.end();
      return;
    }
    readBody(request, request, 64 * 1024 * 1024, (error, body) => {
      if (error) return fail(response, error);
      decodeInferBody(service, { model }, body!, request.headers)
        .then(async (decoded) => {
          const encoded = encodeInferAnswer(decoded, await service.infer(decoded.request));
          const headers: Record<string, string | number> = { 'content-type': encoded.contentType };
          if (encoded.inferenceHeaderLength !== undefined) headers['inference-header-content-length'] = encoded.inferenceHeaderLength;
          headers['content-length'] = Buffer.byteLength(encoded.body);
          response.writeHead(200, headers);
          response.end(encoded.body);
        })
        .catch((failure: unknown) => fail(response, failure));
    });
  });
  server.listen(port, HOST);
}

/** Fastify as it comes: its JSON parser, no options, a small fixed answer (fastify's own cost per request). */
async function fastifyMinimal(port: number): Promise<void> {
  const app: FastifyInstance = Fastify({ logger: false });
  const answer = Buffer.from(helloAnswer({ inputs: [0, 1] }));
  app.get(READY_PATH, async (_request, reply) => reply.code(200).send());
  app.post('/v2/models/:model/infer', async (_request, reply) => reply.type('application/json').send(answer));
  await app.listen({ port, host: HOST });
}

async function fastifyHello(port: number, compress: boolean): Promise<void> {
  const app: FastifyInstance = Fastify({ logger: false });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
  if (compress) await app.register(fastifyCompress, { global: true, encodings: ['gzip', 'deflate'], threshold: 0 });
  app.get(READY_PATH, async (_request, reply) => reply.code(200).send());
  app.post('/v2/models/:model/infer', async (request, reply) => {
    const answer = helloAnswer(JSON.parse((request.body as Buffer).toString('utf8')));
    reply.header('content-type', 'application/json');
    return reply.send(answer);
  });
  await app.listen({ port, host: HOST });
}

const SIMPLE_METADATA: ModelMetadata = {
  name: 'simple',
  versions: ['1'],
  platform: 'onnxruntime_onnx',
  inputs: [
    { name: 'INPUT0', datatype: 'INT32', shape: [-1, 16] },
    { name: 'INPUT1', datatype: 'INT32', shape: [-1, 16] },
  ],
  outputs: [
    { name: 'OUTPUT0', datatype: 'INT32', shape: [-1, 16] },
    { name: 'OUTPUT1', datatype: 'INT32', shape: [-1, 16] },
  ],
};

/** A facade that answers `simple` on the spot: what the frontend costs without the rest of the server. */
function stubService(): InferenceServiceApi {
  const unsupported = (): never => {
    throw new Error('not part of the benchmark stub');
  };
  return {
    isLive: () => true,
    isReady: () => true,
    serverMetadata: () => ({ name: 'bench-stub', version: '0', extensions: [] }),
    isModelReady: (model) => model === 'simple',
    modelMetadata: () => SIMPLE_METADATA,
    checkInferTarget: () => undefined,
    modelConfig: unsupported,
    modelStatistics: unsupported,
    repositoryIndex: async () => [],
    loadModel: async () => unsupported(),
    unloadModel: async () => unsupported(),
    inferStream: async () => unsupported(),
    isDecoupled: () => false,
    logSettings: unsupported,
    updateLogSettings: unsupported,
    isTracing: () => false,
    traceSettings: unsupported,
    updateTraceSettings: unsupported,
    systemSharedMemoryStatus: unsupported,
    checkClientSharedMemoryAllowed: unsupported,
    registerSystemSharedMemory: unsupported,
    unregisterSystemSharedMemory: unsupported,
    cudaSharedMemoryStatus: unsupported,
    registerCudaSharedMemory: unsupported,
    unregisterCudaSharedMemory: unsupported,
    async infer(request: InferRequest): Promise<InferResponse> {
      return simpleAnswer(request);
    },
  };
}

/** `simple`'s answer: OUTPUT0 = INPUT0 + INPUT1, OUTPUT1 = INPUT0 - INPUT1. */
function simpleAnswer(request: InferRequest): InferResponse {
  const a = request.inputs.find((t) => t.name === 'INPUT0')!.data as Int32Array;
  const b = request.inputs.find((t) => t.name === 'INPUT1')!.data as Int32Array;
  const sum = new Int32Array(a.length);
  const difference = new Int32Array(a.length);
  for (let i = 0; i < a.length; i++) {
    sum[i] = a[i] + b[i];
    difference[i] = a[i] - b[i];
  }
  const shape = request.inputs[0].shape;
  return {
    model: request.model,
    version: '1',
    ...(request.id !== undefined ? { id: request.id } : {}),
    outputs: [
      { name: 'OUTPUT0', datatype: 'INT32', shape, data: sum },
      { name: 'OUTPUT1', datatype: 'INT32', shape, data: difference },
    ],
  };
}

/** The answer the bare servers send to every call: `simple` on the benchmark's inputs (0..15 and 1s). */
const BARE_ANSWER = simpleAnswer({
  model: 'simple',
  inputs: [
    { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], data: Int32Array.from({ length: 16 }, (_, i) => i) },
    { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], data: new Int32Array(16).fill(1) },
  ],
});

/** node:http: each request read whole, the pre-encoded binary response sent with res.end (one write). Not listening yet. */
export function bareBinaryServer(): http.Server {
  const encoded = encodeHttpResponse(BARE_ANSWER, { binaryByDefault: true, binaryByName: new Map() });
  const body = Buffer.from(encoded.body);
  const headers = {
    'content-type': encoded.contentType,
    'content-length': body.length,
    ...(encoded.inferenceHeaderLength !== undefined ? { [INFERENCE_HEADER_CONTENT_LENGTH]: encoded.inferenceHeaderLength } : {}),
  };
  return http.createServer((request, response) => {
    request.on('data', () => undefined);
    request.on('end', () => {
      if (request.method === 'GET') {
        response.writeHead(200, { 'content-length': '0' }); // the ready check
        response.end();
        return;
      }
      response.writeHead(200, headers);
      response.end(body);
    });
  });
}

/**
 * node:http2 as a gRPC server does it (grpc-js and the lean path alike): headers with waitForTrailers, the framed
 * message, end, trailers on 'wantTrailers'. Not listening yet.
 */
export function bareGrpcServer(): http2.Http2Server {
  const frame = grpcFrame(serializeInferResponse(encodeGrpcResponse(BARE_ANSWER)));
  const server = http2.createServer();
  server.on('stream', (stream) => {
    stream.on('error', () => undefined);
    stream.on('data', () => undefined);
    stream.on('end', () => {
      if (stream.closed) return;
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': 'OK' }));
      stream.end(frame);
    });
  });
  return server;
}

async function frontendStub(port: number): Promise<void> {
  const app = buildHttpApp(stubService(), { logger: false });
  await app.listen({ port, host: HOST });
}

/** The gRPC frontend over the stub facade; readiness on `port` over HTTP (what startServerChild polls). */
async function grpcStub(port: number, grpcPort: number, lean: boolean): Promise<void> {
  await new GrpcFrontend(stubService(), { leanInfer: lean }).listen(HOST, grpcPort);
  http
    .createServer((_request, response) => {
      response.writeHead(200, { 'content-length': '0' });
      response.end();
    })
    .listen(port, HOST);
}

async function main(): Promise<void> {
  const mode = process.argv[2] as BaselineMode;
  const port = Number(process.argv[3]);
  if (!BASELINE_MODES.includes(mode) || !Number.isInteger(port)) {
    throw new Error(`usage: baseline-servers.js <${BASELINE_MODES.join('|')}> <port>`);
  }
  process.on('SIGTERM', () => process.exit(0));
  if (mode === 'bare') bare(port);
  else if (mode === 'bare-codec') bareCodec(port);
  else if (mode === 'fastify-minimal') await fastifyMinimal(port);
  else if (mode === 'fastify') await fastifyHello(port, false);
  else if (mode === 'fastify-compress') await fastifyHello(port, true);
  else if (mode === 'grpc-stub' || mode === 'grpc-js-stub') await grpcStub(port, Number(process.argv[4]), mode === 'grpc-stub');
  else if (mode === 'bare-binary') bareBinaryServer().listen(port, HOST);
  else if (mode === 'bare-grpc') {
    bareGrpcServer().listen(Number(process.argv[4]), HOST);
    bareBinaryServer().listen(port, HOST); // the ready check
  }
  else await frontendStub(port);
}

if (require.main === module) {
  main().catch((error: Error) => {
    process.stderr.write(`${error.stack ?? error.message}\n`);
    process.exit(1);
  });
}
