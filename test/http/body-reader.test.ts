/**
 * body-reader.ts: the bytes come out exactly as sent however they are chunked, in one buffer of the declared size,
 * with fastify's errors for bodies over the limit and lengths that do not match (errors.ts maps them to Triton's
 * texts; test/http/request-limits.test.ts checks those through the app).
 */
import { Readable } from 'node:stream';
import fc from 'fast-check';
import type { FastifyRequest } from 'fastify';
import { typedArrayFromBytes } from '../../server/core/tensor';
import { binarySectionPadding, readBody } from '../../server/protocol/http/body-reader';

type Outcome = { body: Buffer } | { code: string };

function read(chunks: readonly Buffer[], headers: Record<string, string>, limit: number, decoded = false): Promise<Outcome> {
  const payload = Readable.from(chunks, { objectMode: false }) as Readable & { receivedEncodedLength?: number };
  if (decoded) payload.receivedEncodedLength = Number(headers['content-length']);
  return new Promise((resolve) => {
    readBody({ headers } as unknown as FastifyRequest, payload, limit, (error, body) => {
      resolve(error ? { code: (error as Error & { code: string }).code } : { body: body! });
    });
  });
}

/** `body` cut at the given points. */
function split(body: Buffer, cuts: readonly number[]): Buffer[] {
  const points = [...new Set(cuts.map((cut) => cut % (body.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const point of [...points, body.length]) {
    if (point > from) chunks.push(body.subarray(from, point));
    from = Math.max(from, point);
  }
  return chunks;
}

describe('request body reader', () => {
  it('returns the exact bytes for any chunking, declared or chunked transfer', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 3000 }), fc.array(fc.nat(), { maxLength: 8 }), fc.boolean(), async (raw, cuts, declare) => {
        const body = Buffer.from(raw);
        const headers: Record<string, string> = declare ? { 'content-length': String(body.length) } : { 'transfer-encoding': 'chunked' };
        const outcome = await read(split(body, cuts), headers, 4096);
        expect(outcome).toEqual({ body });
      }),
      { numRuns: 300 },
    );
  });

  it('gives the body its own buffer of the declared size (no view of a chunk)', async () => {
    const chunk = Buffer.from('abcdef');
    const outcome = (await read([chunk.subarray(0, 3), chunk.subarray(3)], { 'content-length': '6' }, 100)) as { body: Buffer };
    expect(outcome.body.toString()).toBe('abcdef');
    chunk.fill(0x78); // the socket's buffer reused: the body must not change
    expect(outcome.body.toString()).toBe('abcdef');
  });

  it('refuses a declared size over the limit before reading, and a body that grows past it', async () => {
    expect(await read([Buffer.alloc(10)], { 'content-length': '101' }, 100)).toEqual({ code: 'FST_ERR_CTP_BODY_TOO_LARGE' });
    expect(await read([Buffer.alloc(60), Buffer.alloc(60)], { 'transfer-encoding': 'chunked' }, 100)).toEqual({ code: 'FST_ERR_CTP_BODY_TOO_LARGE' });
  });

  it('refuses a body longer or shorter than its Content-Length', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 200 }), fc.integer({ min: -50, max: 50 }).filter((d) => d !== 0), async (raw, delta) => {
        const declared = Math.max(0, raw.length + delta);
        fc.pre(declared !== raw.length);
        const outcome = await read([Buffer.from(raw)], { 'content-length': String(declared) }, 1000);
        expect(outcome).toEqual({ code: 'FST_ERR_CTP_INVALID_CONTENT_LENGTH' });
      }),
      { numRuns: 100 },
    );
  });

  it('places a binary-extension body so that its tensors start 8-byte aligned: the codec views them, never copies', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 1, max: 64 }), fc.array(fc.nat(), { maxLength: 4 }), async (jsonLength, floats, cuts) => {
        const body = Buffer.alloc(jsonLength + 4 * floats, 0x7b);
        body.writeFloatLE(1.5, jsonLength);
        const headers = { 'content-length': String(body.length), 'inference-header-content-length': String(jsonLength) };
        const outcome = (await read(split(body, cuts), headers, 1 << 20)) as { body: Buffer };
        expect(outcome.body.equals(body)).toBe(true);
        expect((outcome.body.byteOffset + jsonLength) % 8).toBe(0);
        const tensor = typedArrayFromBytes('FP32', outcome.body.subarray(jsonLength));
        expect(tensor.buffer).toBe(outcome.body.buffer);
        expect(tensor[0]).toBe(1.5);
      }),
      { numRuns: 200 },
    );
  });

  it('pads nothing without a usable Inference-Header-Content-Length (the codec refuses bad ones)', () => {
    for (const header of [undefined, '', '0', '-3', '1.5', 'abc', '100', '1e3', ['4', '8']]) expect(binarySectionPadding(header, 100)).toBe(0);
    expect(binarySectionPadding('13', 100)).toBe(3);
    expect(binarySectionPadding('16', 100)).toBe(0);
  });

  it('collects decompressed bodies, whose size the Content-Length does not give', async () => {
    const outcome = await read([Buffer.from('hello '), Buffer.from('world')], { 'content-length': '7' }, 100, true);
    expect(outcome).toEqual({ body: Buffer.from('hello world') });
  });
});
