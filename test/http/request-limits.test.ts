/**
 * Bounded resources on the HTTP frontend: request bodies inflate a few at a time (the rest wait, paused), and a request
 * that stalls is ended by the request timeout. Real fastify apps on 127.0.0.1 ephemeral ports.
 */
import * as net from 'node:net';
import * as zlib from 'node:zlib';
import Fastify, { FastifyInstance } from 'fastify';
import { createInferenceServer, InferenceServerApp } from '../../server/app';
import { buildHttpApp } from '../../server/protocol/http/app';
import { InflateSlots, installCompression } from '../../server/protocol/http/compression';
import { httpPathOptions, httpRequest, MODEL_REPOSITORY, startServer } from './helpers';

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 10));
}

/** Headers and all but the last byte of a gzip body: the server inflates what it got and waits for the rest. */
function stalledGzipRequest(port: number, url: string, body: Buffer): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(`POST ${url} HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\nContent-Length: ${body.length}\r\n\r\n`);
      socket.write(body.subarray(0, body.length - 1), () => resolve(socket));
    });
    socket.on('error', reject);
  });
}

describe('concurrent request decompression', () => {
  let app: FastifyInstance;
  const slots = new InflateSlots(1);

  beforeAll(async () => {
    app = Fastify();
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
    installCompression(app, 64 * 1024 * 1024, slots);
    app.post('/echo-length', async (request) => ({ length: (request.body as Buffer).length }));
    await app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(() => app.close());

  it('inflates one body at a time here: the next waits, paused, until the first is done (or gone)', async () => {
    const port = (app.server.address() as net.AddressInfo).port;
    const stalled = await stalledGzipRequest(port, '/echo-length', zlib.gzipSync(Buffer.alloc(1024 * 1024, 'a')));
    await until(() => slots.counts.active === 1);
    const waiting = httpRequest(port, { method: 'POST', url: '/echo-length', payload: zlib.gzipSync(Buffer.alloc(5000, 'b')), headers: { 'content-encoding': 'gzip' } });
    await until(() => slots.counts.waiting === 1);
    stalled.destroy();
    const response = await waiting;
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ length: 5000 });
    await until(() => slots.counts.active === 0);
    expect(slots.counts).toEqual({ active: 0, waiting: 0 });
  });

  it('hands slots on in order and never holds more than the limit', () => {
    const three = new InflateSlots(2);
    const started: number[] = [];
    for (let i = 0; i < 4; i++) three.acquire(() => started.push(i));
    expect(started).toEqual([0, 1]);
    expect(three.counts).toEqual({ active: 2, waiting: 2 });
    three.release();
    expect(started).toEqual([0, 1, 2]);
    three.release();
    three.release();
    three.release();
    expect(started).toEqual([0, 1, 2, 3]);
    expect(three.counts).toEqual({ active: 0, waiting: 0 });
  });
});

describe('request timeout', () => {
  let server: InferenceServerApp;

  beforeAll(async () => {
    server = createInferenceServer({
      modelRepositories: [MODEL_REPOSITORY], modelControlMode: 'explicit', httpPort: 0, host: '127.0.0.1', allowGrpc: false, ...httpPathOptions(),
    });
    await startServer(server);
  });
  afterAll(() => server?.stop());

  it('a request that stops sending is answered 408 and its connection closed, freeing what it held', async () => {
    const app = buildHttpApp(server.service, { requestTimeoutMs: 300 });
    await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const port = (app.server.address() as net.AddressInfo).port;
      const socket = await stalledGzipRequest(port, '/v2/models/simple/infer', zlib.gzipSync(Buffer.alloc(100_000, 'a')));
      let answer = '';
      socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
      await new Promise((resolve) => socket.once('close', resolve));
      expect(answer).toMatch(/^HTTP\/1\.1 408/);
    } finally {
      await app.close();
    }
  });
});
