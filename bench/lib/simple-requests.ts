/**
 * Request bodies for the example model `simple` (INT32 INPUT0/INPUT1 [1,16] → OUTPUT0 = sum, OUTPUT1 = difference),
 * in the KServe v2 JSON form of README's curl example and in Triton's binary tensor extension, plus response checks.
 */

export const SIMPLE_INPUT0 = Int32Array.from({ length: 16 }, (_, i) => i);
export const SIMPLE_INPUT1 = new Int32Array(16).fill(1);

export interface BenchRequest {
  readonly method: 'POST' | 'GET';
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

export const SIMPLE_INFER_PATH = '/v2/models/simple/infer';

/** README's curl example body. */
export function simpleJsonRequest(path = SIMPLE_INFER_PATH): BenchRequest {
  const body = JSON.stringify({
    id: '1',
    inputs: [
      { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], data: [...SIMPLE_INPUT0] },
      { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], data: [...SIMPLE_INPUT1] },
    ],
  });
  return { method: 'POST', path, headers: { 'content-type': 'application/json' }, body: Buffer.from(body, 'utf8') };
}

/** Triton's binary extension: JSON header (binary_data_size per input, binary outputs), then both inputs' raw bytes. */
export function simpleBinaryRequest(path = SIMPLE_INFER_PATH): BenchRequest {
  const header = Buffer.from(
    JSON.stringify({
      id: '1',
      inputs: [
        { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], parameters: { binary_data_size: SIMPLE_INPUT0.byteLength } },
        { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], parameters: { binary_data_size: SIMPLE_INPUT1.byteLength } },
      ],
      parameters: { binary_data_output: true },
    }),
    'utf8',
  );
  const body = Buffer.concat([header, int32Le(SIMPLE_INPUT0), int32Le(SIMPLE_INPUT1)]);
  return {
    method: 'POST',
    path,
    headers: {
      'content-type': 'application/octet-stream',
      'inference-header-content-length': String(header.byteLength),
    },
    body,
  };
}

function int32Le(values: Int32Array): Buffer {
  const out = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => out.writeInt32LE(v, i * 4));
  return out;
}

function expectedOutputs(): { OUTPUT0: number[]; OUTPUT1: number[] } {
  return {
    OUTPUT0: [...SIMPLE_INPUT0].map((v, i) => v + SIMPLE_INPUT1[i]),
    OUTPUT1: [...SIMPLE_INPUT0].map((v, i) => v - SIMPLE_INPUT1[i]),
  };
}

interface JsonOutput {
  name: string;
  data?: number[];
  parameters?: { binary_data_size?: number };
}

/** Throws unless the response is `simple`'s correct answer (JSON or binary); a benchmark of wrong answers is void. */
export function checkSimpleResponse(status: number, headers: Record<string, string | string[] | undefined>, body: Buffer): void {
  if (status !== 200) throw new Error(`expected 200, got ${status}: ${body.toString('utf8').slice(0, 300)}`);
  const headerLength = headers['inference-header-content-length'];
  const jsonLength = headerLength === undefined ? body.length : Number(headerLength);
  const json = JSON.parse(body.toString('utf8', 0, jsonLength)) as { outputs?: JsonOutput[] };
  const want = expectedOutputs();
  let offset = jsonLength;
  for (const output of json.outputs ?? []) {
    let got: number[];
    if (output.data) {
      got = output.data;
    } else {
      const size = output.parameters?.binary_data_size ?? 0;
      const bytes = body.subarray(offset, offset + size);
      offset += size;
      got = Array.from({ length: size / 4 }, (_, i) => bytes.readInt32LE(i * 4));
    }
    const expected = want[output.name as keyof typeof want];
    if (!expected || got.join(',') !== expected.join(',')) {
      throw new Error(`wrong ${output.name}: ${got.join(',')} (expected ${expected?.join(',')})`);
    }
  }
  if ((json.outputs ?? []).length !== 2) throw new Error(`expected 2 outputs, got ${body.toString('utf8', 0, jsonLength)}`);
}
