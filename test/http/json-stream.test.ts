import fc from 'fast-check';
import { InferenceError } from '../../server/core/errors';
import { decodeInferRequest, decodeInferRequestAsync } from '../../server/protocol/http/codec';
import { parseInferJsonStreaming, STREAM_JSON_MIN_BYTES } from '../../server/protocol/http/json-stream';

const TARGET = { model: 'm' };

/** The outcome of a decode: the request (tensor data as plain arrays) or the error's code and message. */
async function outcome(run: () => unknown): Promise<unknown> {
  try {
    const decoded = (await run()) as Awaited<ReturnType<typeof decodeInferRequestAsync>>;
    return JSON.parse(JSON.stringify(decoded.request, (_key, value) => {
      if (typeof value === 'bigint') return `${value}n`;
      if (ArrayBuffer.isView(value)) return Array.from(value as unknown as ArrayLike<number>, (v) => String(v));
      if (value && typeof value === 'object' && 'serialized' in value) return (value as { toStrings(): string[] }).toStrings();
      return value;
    }));
  } catch (error) {
    if (!(error instanceof InferenceError)) throw error;
    return { code: error.code, message: error.message };
  }
}

const datatype = fc.constantFrom('INT32', 'UINT8', 'INT64', 'FP32', 'FP64', 'BOOL', 'BYTES', 'FP16', 'BF16', 'NOPE');
const element = fc.oneof(fc.integer({ min: -300, max: 300 }), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.string({ maxLength: 4 }), fc.constant(null));
const input = fc.record(
  {
    name: fc.constantFrom('A', 'B'),
    datatype,
    shape: fc.array(fc.nat(3), { maxLength: 3 }),
    data: fc.oneof(fc.array(element, { maxLength: 8 }), fc.array(fc.array(element, { maxLength: 3 }), { maxLength: 3 })),
  },
  { requiredKeys: ['name', 'datatype', 'shape', 'data'] },
);

describe('streamed JSON infer bodies (large requests)', () => {
  it('decode to the same request or the same error as JSON.parse, whatever the key order', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(input, { maxLength: 3 }), fc.boolean(), fc.option(fc.string({ maxLength: 5 })), async (inputs, dataFirst, id) => {
        const ordered = inputs.map(({ name, datatype: type, shape, data }) => (dataFirst ? { data, name, shape, datatype: type } : { name, datatype: type, shape, data }));
        const body = Buffer.from(JSON.stringify({ ...(id === null ? {} : { id }), inputs: ordered, outputs: [{ name: 'O' }] }));
        const viaStream = await outcome(() => streamedDecode(body));
        expect(viaStream).toEqual(await outcome(() => decodeInferRequest(body, TARGET)));
      }),
      { numRuns: 300 },
    );
  });

  it('refuses what is not JSON, as JSON.parse does (the tokenizer alone would accept [1 2])', async () => {
    for (const text of ['{"inputs":[1 2]}', '{"inputs" []}', '{"inputs":[],}', '{"a":1', '[1]', '{"inputs":[{"name":"A","datatype":"INT32","shape":[2],"data":[1,,2]}]}']) {
      await expect(parseInferJsonStreaming(Buffer.from(text)).then(() => 'parsed')).rejects.toBeInstanceOf(InferenceError);
    }
  });

  it('never allocates for a shape the body cannot hold: the count error comes with the real count', async () => {
    const body = Buffer.from(JSON.stringify({ inputs: [{ name: 'A', datatype: 'FP64', shape: [1e12], data: [1, 2] }] }));
    await expect(streamedDecode(body)).rejects.toThrow(/shape implies 1000000000000, data holds 2/);
  });

  it('takes the streamed path for large bodies in decodeInferRequestAsync', async () => {
    const count = 600_000;
    const body = Buffer.from(JSON.stringify({ inputs: [{ name: 'A', datatype: 'INT32', shape: [count], data: new Array(count).fill(7) }] }));
    expect(body.length).toBeGreaterThan(1024 * 1024);
    const decoded = await decodeInferRequestAsync(body, TARGET);
    const data = (decoded.request.inputs[0] as { data: Int32Array }).data;
    expect(data).toBeInstanceOf(Int32Array);
    expect(data.length).toBe(count);
    expect(data[count - 1]).toBe(7);
  });
});

/** decodeInferRequestAsync on the streamed path whatever the body's size: padded with whitespace past the threshold. */
async function streamedDecode(body: Buffer) {
  const padding = Buffer.from(' '.repeat(STREAM_JSON_MIN_BYTES));
  return decodeInferRequestAsync(Buffer.concat([body.subarray(0, body.length - 1), padding, body.subarray(body.length - 1)]), TARGET);
}
