import fc from 'fast-check';
import { BytesData } from '../../server/core/bytes-data';
import { DataType, DATATYPES, FixedTypedArray, TensorData } from '../../server/core/datatypes';
import { InferenceError } from '../../server/core/errors';
import { serializeBytesElements, Tensor } from '../../server/core/tensor';
import type { InferInputTensor, InferResponse } from '../../server/core/types';
import {
  decodeInferRequest,
  decodeRawInferRequest,
  encodeInferResponse,
  OutputEncoding,
  parseInferenceHeaderLength,
} from '../../server/protocol/http/codec';
import { float16BitsFromNumber, numberFromBfloat16Bits, numberFromFloat16Bits } from '../../server/protocol/http/float16';

const TARGET = { model: 'm', version: '1' };
const JSON_OUTPUTS: OutputEncoding = { binaryByDefault: false, binaryByName: new Map() };
const BINARY_OUTPUTS: OutputEncoding = { binaryByDefault: true, binaryByName: new Map() };

function decodeJson(body: unknown) {
  return decodeInferRequest(Buffer.from(JSON.stringify(body)), TARGET);
}

/** Decoded inputs, read as inline tensors (shared memory ones carry no data: the tests that use them say so). */
function decodeInputs(...inputs: unknown[]): InferInputTensor[] {
  return decodeJson({ inputs }).request.inputs as InferInputTensor[];
}

/** A body in Triton's binary layout: JSON header, then the given raw tensors. */
function binaryBody(json: unknown, ...parts: Uint8Array[]): { body: Buffer; jsonLength: number } {
  const header = Buffer.from(JSON.stringify(json));
  return { body: Buffer.concat([header, ...parts]), jsonLength: header.length };
}

function bytesOf(array: FixedTypedArray): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}

function errorOf(fn: () => unknown): InferenceError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(InferenceError);
    return error as InferenceError;
  }
  throw new Error('expected an InferenceError');
}

function utf8(elements: TensorData): string[] {
  return (elements as BytesData).toStrings();
}

/** Parse a binary response: JSON header and the raw bytes of each binary output, in order. */
function splitBinaryResponse(body: Buffer, headerLength: number) {
  const json = JSON.parse(body.subarray(0, headerLength).toString('utf8')) as {
    outputs: { name: string; parameters?: { binary_data_size: number }; data?: unknown[] }[];
  };
  let offset = headerLength;
  const raw = new Map<string, Buffer>();
  for (const output of json.outputs) {
    const size = output.parameters?.binary_data_size;
    if (size === undefined) continue;
    raw.set(output.name, body.subarray(offset, offset + size));
    offset += size;
  }
  expect(offset).toBe(body.length);
  return { json, raw };
}

// One representative tensor per fixed-size datatype: JSON values and the typed array they decode to.
const FIXED_CASES: { datatype: DataType; json: unknown[]; expected: FixedTypedArray }[] = [
  { datatype: 'BOOL', json: [true, false, true], expected: new Uint8Array([1, 0, 1]) },
  { datatype: 'UINT8', json: [0, 7, 255], expected: new Uint8Array([0, 7, 255]) },
  { datatype: 'UINT16', json: [0, 7, 65535], expected: new Uint16Array([0, 7, 65535]) },
  { datatype: 'UINT32', json: [0, 7, 4294967295], expected: new Uint32Array([0, 7, 4294967295]) },
  { datatype: 'UINT64', json: [0, 7, '18446744073709551615'], expected: new BigUint64Array([0n, 7n, 2n ** 64n - 1n]) },
  { datatype: 'INT8', json: [-128, 0, 127], expected: new Int8Array([-128, 0, 127]) },
  { datatype: 'INT16', json: [-32768, 0, 32767], expected: new Int16Array([-32768, 0, 32767]) },
  { datatype: 'INT32', json: [-2147483648, 0, 2147483647], expected: new Int32Array([-2147483648, 0, 2147483647]) },
  { datatype: 'INT64', json: [-5, 9007199254740991, '-9223372036854775808'], expected: new BigInt64Array([-5n, 2n ** 53n - 1n, -(2n ** 63n)]) },
  { datatype: 'FP16', json: [1, -2, 0.5], expected: new Uint16Array([0x3c00, 0xc000, 0x3800]) },
  { datatype: 'FP32', json: [1.5, -2, 0], expected: new Float32Array([1.5, -2, 0]) },
  { datatype: 'FP64', json: [0.1, -1e300, 3], expected: new Float64Array([0.1, -1e300, 3]) },
];

describe('decodeInferRequest: JSON tensors', () => {
  it.each(FIXED_CASES)('decodes $datatype', ({ datatype, json, expected }) => {
    const [input] = decodeInputs({ name: 'X', datatype, shape: [3], data: json });
    expect(input).toEqual({ name: 'X', datatype, shape: [3], data: expected });
    expect(input.data.constructor).toBe(expected.constructor);
  });

  it('decodes BYTES strings as UTF-8 elements', () => {
    const [input] = decodeInputs({ name: 'S', datatype: 'BYTES', shape: [3], data: ['hello', '', 'grüße ✓'] });
    expect(utf8(input.data)).toEqual(['hello', '', 'grüße ✓']);
  });

  it('flattens nested data in row-major order', () => {
    const [input] = decodeInputs({ name: 'X', datatype: 'INT32', shape: [2, 2, 2], data: [[[1, 2], [3, 4]], [[5, 6], [7, 8]]] });
    expect(Array.from(input.data as Int32Array)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('accepts an empty tensor', () => {
    const [input] = decodeInputs({ name: 'X', datatype: 'FP32', shape: [0, 4], data: [] });
    expect(input.data).toEqual(new Float32Array(0));
  });

  it('keeps request id, parameters and requested outputs; drops the binary extension flags', () => {
    const { request, outputEncoding } = decodeJson({
      id: 'req-1',
      parameters: { priority: 2, timeout: 100, binary_data_output: true, custom: 'x' },
      inputs: [{ name: 'X', datatype: 'INT32', shape: [1], data: [1], parameters: { note: 'n' } }],
      outputs: [{ name: 'A', parameters: { binary_data: false, classification: 2 } }, { name: 'B' }],
    });
    expect(request).toEqual({
      model: 'm',
      version: '1',
      id: 'req-1',
      parameters: { priority: 2, timeout: 100, custom: 'x' },
      inputs: [{ name: 'X', datatype: 'INT32', shape: [1], data: new Int32Array([1]), parameters: { note: 'n' } }],
      outputs: [{ name: 'A', parameters: { classification: 2 } }, { name: 'B' }],
    });
    expect(outputEncoding.binaryByDefault).toBe(true);
    expect([...outputEncoding.binaryByName]).toEqual([['A', false]]);
  });

  it('omits version when the URL has none', () => {
    const { request } = decodeInferRequest(Buffer.from('{"inputs":[]}'), { model: 'm' });
    expect(request).toEqual({ model: 'm', inputs: [] });
  });
});

describe('decodeInferRequest: JSON errors (INVALID_ARG, Triton wording)', () => {
  const input = (overrides: Record<string, unknown>) => ({ name: 'X', datatype: 'INT32', shape: [2], data: [1, 2], ...overrides });
  const cases: [string, () => unknown, RegExp][] = [
    ['bad JSON', () => decodeInferRequest(Buffer.from('{"inputs": ['), TARGET), /^failed to parse the request JSON buffer: /],
    ['empty body', () => decodeInferRequest(Buffer.alloc(0), TARGET), /The document is empty/],
    ['JSON that is not an object', () => decodeInferRequest(Buffer.from('[1,2]'), TARGET), /expected a JSON object/],
    ['missing inputs', () => decodeJson({}), /^Unable to parse 'inputs'/],
    ['input not an object', () => decodeInputs(5), /^Unable to parse 'inputs'/],
    ['missing name', () => decodeInputs(input({ name: undefined })), /^Unable to parse 'name'/],
    ['missing datatype', () => decodeInputs(input({ datatype: undefined })), /^Unable to parse 'datatype'/],
    ['unknown datatype', () => decodeInputs(input({ datatype: 'FLOAT' })), /^invalid datatype 'FLOAT'/],
    ['missing shape', () => decodeInputs(input({ shape: undefined })), /^Unable to parse 'shape'/],
    ['no data', () => decodeInputs(input({ data: undefined })), /must set only one of .* But no field is set/],
    ['data and binary', () => decodeInputs(input({ parameters: { binary_data_size: 8 } })), /But set 'data' 'binary_data_size'/],
    ['too few elements', () => decodeInputs(input({ shape: [3] })), /shape implies 3, data holds 2/],
    ['too many elements', () => decodeInputs(input({ shape: [1] })), /shape implies 1, data holds 2/],
    ['non-numeric element', () => decodeInputs(input({ data: [1, 'two'] })), /^Unable to parse 'data': attempt to access JSON non-signed-integer as signed-integer \(input 'X'\)/],
    ['fractional integer', () => decodeInputs(input({ data: [1, 2.5] })), /non-signed-integer as signed-integer/],
    ['out of range', () => decodeInputs(input({ datatype: 'UINT8', data: [1, 256] })), /not a valid UINT8/],
    ['negative unsigned', () => decodeInputs(input({ datatype: 'UINT64', data: [1, -1] })), /non-unsigned-integer as unsigned-integer/],
    ['INT64 overflow', () => decodeInputs(input({ datatype: 'INT64', data: [1, '9223372036854775808'] })), /not a valid INT64/],
    ['BOOL as number', () => decodeInputs(input({ datatype: 'BOOL', data: [1, 0] })), /attempt to access JSON non-boolean as boolean/],
    ['BYTES as number', () => decodeInputs(input({ datatype: 'BYTES', data: ['a', 1] })), /attempt to access JSON non-string as string/],
    ['null element', () => decodeInputs(input({ datatype: 'FP32', data: [1, null] })), /attempt to access JSON non-number as double/],
    ['data not an array', () => decodeInputs(input({ data: 'abc' })), /expected an array/],
    ['BF16 via JSON', () => decodeInputs(input({ datatype: 'BF16' })), /receiving BF16 data via JSON is not supported/],
    ['id not a string', () => decodeJson({ id: 5, inputs: [] }), /^Unable to parse 'id'/],
    ['object parameter', () => decodeJson({ parameters: { a: {} }, inputs: [] }), /parameter 'a' has invalid type/],
    ['binary_data_output not bool', () => decodeJson({ parameters: { binary_data_output: 1 }, inputs: [] }), /'binary_data_output'/],
    ['outputs not an array', () => decodeJson({ inputs: [], outputs: {} }), /^Unable to parse 'outputs'/],
    ['output without name', () => decodeJson({ inputs: [], outputs: [{}] }), /^Unable to parse 'name'/],
    ['binary_data not bool', () => decodeJson({ inputs: [], outputs: [{ name: 'A', parameters: { binary_data: 'yes' } }] }), /'binary_data'/],
    ['absurd nesting', () => decodeInputs(input({ shape: [1], data: JSON.parse('['.repeat(101) + '1' + ']'.repeat(101)) })), /^JSON nesting depth exceeds maximum allowed limit \(100\)$/],
  ];
  it.each(cases)('%s', (_name, fn, message) => {
    const error = errorOf(fn);
    expect(error.code).toBe('INVALID_ARG');
    expect(error.message).toMatch(message);
  });

  it.each([
    ['negative', [2, -5]],
    ['fractional', [1.5]],
  ])('a %s dimension is INTERNAL with TritonJson\'s words, as Triton answers it (500)', (_name, shape) => {
    const error = errorOf(() => decodeInputs(input({ shape })));
    expect(error.code).toBe('INTERNAL');
    expect(error.message).toBe("Unable to parse 'shape': attempt to access JSON non-unsigned-integer as unsigned-integer");
  });

  it('an element 99 arrays deep is read, one at depth 100 is refused (Triton counts the data array as depth 0)', () => {
    const nested = (depth: number) => JSON.parse('['.repeat(depth) + '7' + ']'.repeat(depth)) as unknown[];
    const [decoded] = decodeInputs(input({ shape: [1], data: nested(99) }));
    expect(Array.from(decoded.data as Int32Array)).toEqual([7]);
    expect(errorOf(() => decodeInputs(input({ shape: [1], data: nested(100) }))).message).toMatch(/nesting depth/);
  });

  it('a shared memory input becomes a region reference for the facade to read', () => {
    const [decoded] = decodeInputs(input({ data: undefined, parameters: { shared_memory_region: 'r', shared_memory_byte_size: 12, x: 1 } }));
    expect(decoded).toEqual(expect.objectContaining({ sharedMemory: { region: 'r', offset: 0, byteSize: 12 }, parameters: { x: 1 } }));
    expect(decoded.data).toBeUndefined();
  });

  it.each([
    [{ shared_memory_region: 'r' }, "'shared_memory_byte_size' must be specified along with 'shared_memory_region'"],
    [{ shared_memory_region: 3, shared_memory_byte_size: 4 }, "invalid value type for 'shared_memory_region'"],
    [{ shared_memory_region: 'r', shared_memory_byte_size: -4 }, "invalid value type for 'shared_memory_byte_size'"],
    [{ shared_memory_region: 'r', shared_memory_byte_size: 4, shared_memory_offset: 1.5 }, "invalid value type for 'shared_memory_offset'"],
  ])('shared memory parameters %j are refused', (parameters, message) => {
    const error = errorOf(() => decodeInputs(input({ data: undefined, parameters })));
    expect(error.code).toBe('INVALID_ARG');
    expect(error.message).toContain(message);
  });

  it('shared_memory_offset without a region is refused', () => {
    const error = errorOf(() => decodeInputs(input({ parameters: { shared_memory_offset: 0 } })));
    expect(error.message).toContain("'shared_memory_offset' can not be specified without 'shared_memory_region'");
  });
});

describe('decodeInferRequest: binary tensor data extension', () => {
  it.each(FIXED_CASES)('decodes $datatype from raw bytes', ({ datatype, expected }) => {
    const json = { inputs: [{ name: 'X', datatype, shape: [3], parameters: { binary_data_size: expected.byteLength } }] };
    const { body, jsonLength } = binaryBody(json, bytesOf(expected));
    const [input] = decodeInferRequest(body, TARGET, jsonLength).request.inputs;
    expect(input.data).toEqual(expected);
    expect(input.parameters).toBeUndefined();
  });

  it('BF16 raw bytes pass through as 16-bit words (the backend decides whether it can run them)', () => {
    const words = new Uint16Array([0x3f80, 0xc000]);
    const json = { inputs: [{ name: 'X', datatype: 'BF16', shape: [2], parameters: { binary_data_size: 4 } }] };
    const { body, jsonLength } = binaryBody(json, bytesOf(words));
    expect(decodeInferRequest(body, TARGET, jsonLength).request.inputs[0].data).toEqual(words);
  });

  it('views the request body without copying when aligned, copies correctly when not', () => {
    const values = new Float32Array([1, 2, 3, 4]);
    for (const pad of [0, 1, 2, 3]) {
      const json = { id: 'x'.repeat(pad), inputs: [{ name: 'X', datatype: 'FP32', shape: [4], parameters: { binary_data_size: 16 } }] };
      const header = Buffer.from(JSON.stringify(json));
      const body = Buffer.alloc(header.length + 16 + 8); // own ArrayBuffer, offset 0
      header.copy(body);
      Buffer.from(bytesOf(values)).copy(body, header.length);
      const view = body.subarray(0, header.length + 16);
      const data = decodeInferRequest(view, TARGET, header.length).request.inputs[0].data as Float32Array;
      expect(Array.from(data)).toEqual([1, 2, 3, 4]);
      expect(data.buffer === body.buffer).toBe(header.length % 4 === 0);
    }
  });

  it('decodes BYTES with 4-byte little-endian length framing, mixed with JSON inputs', () => {
    const strings = ['', 'a', 'grüße'].map((s) => Buffer.from(s));
    const framed = serializeBytesElements(strings);
    const ints = new Int32Array([7, 8]);
    const json = {
      inputs: [
        { name: 'S', datatype: 'BYTES', shape: [3], parameters: { binary_data_size: framed.length } },
        { name: 'J', datatype: 'INT32', shape: [2], data: [1, 2] },
        { name: 'I', datatype: 'INT32', shape: [2], parameters: { binary_data_size: 8 } },
      ],
    };
    const { body, jsonLength } = binaryBody(json, framed, bytesOf(ints));
    const [s, j, i] = decodeInferRequest(body, TARGET, jsonLength).request.inputs;
    expect(utf8(s.data!)).toEqual(['', 'a', 'grüße']);
    expect(j.data).toEqual(new Int32Array([1, 2]));
    expect(i.data).toEqual(ints);
  });

  it('accepts a zero-size binary input without the header', () => {
    const json = { inputs: [{ name: 'X', datatype: 'FP32', shape: [0], parameters: { binary_data_size: 0 } }] };
    expect(decodeJson(json).request.inputs[0].data).toEqual(new Float32Array(0));
  });

  const binaryInput = (size: number, datatype = 'INT32', shape = [2]) => ({
    inputs: [{ name: 'X', datatype, shape, parameters: { binary_data_size: size } }],
  });
  const cases: [string, () => unknown, RegExp][] = [
    ['size does not match the shape', () => {
      const { body, jsonLength } = binaryBody(binaryInput(4), new Uint8Array(4));
      return decodeInferRequest(body, TARGET, jsonLength);
    }, /input byte size mismatch for input 'X' for model 'm'. Expected 8, got 4/],
    ['body shorter than binary_data_size', () => {
      const { body, jsonLength } = binaryBody(binaryInput(8), new Uint8Array(5));
      return decodeInferRequest(body, TARGET, jsonLength);
    }, /unexpected size for input 'X', expecting 3 additional bytes for model 'm'/],
    ['bytes left over', () => {
      const { body, jsonLength } = binaryBody(binaryInput(8), new Uint8Array(9));
      return decodeInferRequest(body, TARGET, jsonLength);
    }, /unexpected additional input data for model 'm'/],
    ['binary input without the header', () => decodeJson(binaryInput(8)), /must specify valid 'Inference-Header-Content-Length'/],
    ['binary_data_size not an integer', () => decodeJson(binaryInput(-1)), /^Unable to parse 'binary_data_size'/],
    ['broken BYTES framing', () => {
      const { body, jsonLength } = binaryBody(binaryInput(6, 'BYTES', [1]), new Uint8Array([9, 0, 0, 0, 1, 2]));
      return decodeInferRequest(body, TARGET, jsonLength);
    }, /malformed BYTES data for input 'X'/],
    ['BYTES element count', () => {
      const framed = serializeBytesElements([Buffer.from('a')]);
      const { body, jsonLength } = binaryBody(binaryInput(framed.length, 'BYTES', [2]), framed);
      return decodeInferRequest(body, TARGET, jsonLength);
    }, /expected 2 string elements for inference input 'X' for model 'm', got 1/],
    ['JSON header cut short', () => {
      const { body, jsonLength } = binaryBody(binaryInput(8), new Uint8Array(8));
      return decodeInferRequest(body, TARGET, jsonLength - 1);
    }, /^failed to parse the request JSON buffer/],
  ];
  it.each(cases)('refuses %s', (_name, fn, message) => {
    const error = errorOf(fn);
    expect(error.code).toBe('INVALID_ARG');
    expect(error.message).toMatch(message);
  });
});

describe('parseInferenceHeaderLength', () => {
  it('is undefined without the header and a number within the body', () => {
    expect(parseInferenceHeaderLength(undefined, 10)).toBeUndefined();
    expect(parseInferenceHeaderLength('10', 10)).toBe(10);
    expect(parseInferenceHeaderLength(' 0 ', 10)).toBe(0);
  });
  it.each(['abc', '-1', '11', '1.5', '', '1e3', '99999999999999999999'])('refuses %j', (value) => {
    expect(errorOf(() => parseInferenceHeaderLength(value, 10)).message).toMatch(/Inference-Header-Content-Length/);
  });
});

describe('decodeRawInferRequest (Inference-Header-Content-Length: 0)', () => {
  const model = (inputs: { name: string; datatype: DataType; shape: number[] }[], batched = false) => ({ inputs, batched });

  it('takes the batch dimension as 1 and the variable dimension from the body size, and answers in binary', () => {
    const data = new Float32Array(8);
    const { request, outputEncoding } = decodeRawInferRequest(Buffer.from(bytesOf(data)), TARGET, model([{ name: 'IN', datatype: 'FP32', shape: [-1, -1, 4] }], true));
    expect(request.inputs[0]).toMatchObject({ name: 'IN', datatype: 'FP32', shape: [1, 2, 4] });
    expect(outputEncoding.binaryByDefault).toBe(true);
  });
  it('deduces a variable dimension that is not the first (Triton: any one dimension may vary)', () => {
    const { request } = decodeRawInferRequest(Buffer.alloc(24), TARGET, model([{ name: 'IN', datatype: 'INT32', shape: [2, -1] }]));
    expect(request.inputs[0].shape).toEqual([2, 3]);
  });
  it('takes fixed shapes as they are', () => {
    const { request } = decodeRawInferRequest(Buffer.alloc(16), TARGET, model([{ name: 'IN', datatype: 'FP32', shape: [4] }]));
    expect(request.inputs[0].shape).toEqual([4]);
  });
  it('reads a BYTES input of shape [1] as one element, the whole body without a length prefix', () => {
    const body = Buffer.from('raw \u0000 bytes');
    const { request } = decodeRawInferRequest(body, TARGET, model([{ name: 'S', datatype: 'BYTES', shape: [-1, 1] }], true));
    expect(request.inputs[0].shape).toEqual([1, 1]);
    expect(utf8(request.inputs[0].data!)).toEqual(['raw \u0000 bytes']);
  });
  it("refuses with Triton's texts: several inputs, several variable dimensions, BYTES not of shape [1], sizes that do not divide", () => {
    const two = model([
      { name: 'A', datatype: 'FP32', shape: [4] },
      { name: 'B', datatype: 'FP32', shape: [4] },
    ]);
    expect(errorOf(() => decodeRawInferRequest(Buffer.alloc(16), TARGET, two)).message).toBe(
      `Raw request must only have 1 input (found 1) to be deduced but got 2 inputs in '${TARGET.model}' model configuration`,
    );
    expect(errorOf(() => decodeRawInferRequest(Buffer.alloc(16), TARGET, model([{ name: 'INPUT0', datatype: 'FP16', shape: [-1, -1] }]))).message).toBe(
      "The shape of the raw input 'INPUT0' can not be deduced because there are more than one variable-sized dimension",
    );
    expect(errorOf(() => decodeRawInferRequest(Buffer.alloc(16), TARGET, model([{ name: 'INPUT0', datatype: 'BYTES', shape: [-1] }]))).message).toBe(
      "For BYTE datatype raw input 'INPUT0', the model must have input shape [1]",
    );
    const one = model([{ name: 'A', datatype: 'FP32', shape: [-1, 4] }], true);
    expect(errorOf(() => decodeRawInferRequest(Buffer.alloc(20), TARGET, one)).message).toBe("input byte size mismatch for input 'A' for model 'm'. Expected 16, got 20");
  });
});

function response(outputs: Tensor[], extra: Partial<InferResponse> = {}): InferResponse {
  return { model: 'm', version: '3', outputs, ...extra };
}

describe('encodeInferResponse: JSON', () => {
  it('writes Triton JSON: model_name, model_version as a string, flat data, no id when absent', () => {
    const encoded = encodeInferResponse(
      response([{ name: 'OUTPUT0', datatype: 'INT32', shape: [1, 3], data: new Int32Array([1, -2, 3]) }]),
      JSON_OUTPUTS,
    );
    expect(encoded.contentType).toBe('application/json');
    expect(encoded.inferenceHeaderLength).toBeUndefined();
    expect(encoded.body).toBe(
      '{"model_name":"m","model_version":"3","outputs":[{"name":"OUTPUT0","datatype":"INT32","shape":[1,3],"data":[1,-2,3]}]}',
    );
  });

  it('includes id and parameters when present', () => {
    const encoded = encodeInferResponse(response([], { id: 'abc"', parameters: { p: 1 } }), JSON_OUTPUTS);
    expect(JSON.parse(encoded.body as string)).toEqual({
      id: 'abc"',
      model_name: 'm',
      model_version: '3',
      parameters: { p: 1 },
      outputs: [],
    });
  });

  it.each(FIXED_CASES)('writes $datatype data as JSON values', ({ datatype, json, expected }) => {
    const encoded = encodeInferResponse(response([{ name: 'O', datatype, shape: [3], data: expected }]), JSON_OUTPUTS);
    const data = (JSON.parse(encoded.body as string) as { outputs: { data: unknown[] }[] }).outputs[0].data;
    const asNumbers = json.map((value) => (typeof value === 'string' ? Number(value) : value));
    if (datatype === 'FP32') expect(data).toEqual(Array.from(expected as Float32Array));
    else expect(data).toEqual(asNumbers);
  });

  it('writes 64-bit integers as exact decimal numbers', () => {
    const encoded = encodeInferResponse(
      response([{ name: 'O', datatype: 'INT64', shape: [2], data: new BigInt64Array([2n ** 62n + 1n, -1n]) }]),
      JSON_OUTPUTS,
    );
    expect(encoded.body).toContain('"data":[4611686018427387905,-1]');
  });

  it('writes BYTES as UTF-8 strings and non-finite floats as null', () => {
    const encoded = encodeInferResponse(
      response([
        { name: 'S', datatype: 'BYTES', shape: [2], data: BytesData.fromStrings(['HELLO', 'ü "q"']) },
        { name: 'F', datatype: 'FP32', shape: [3], data: new Float32Array([NaN, Infinity, 1]) },
        { name: 'H', datatype: 'FP16', shape: [2], data: new Uint16Array([0x7c00, 0x3c00]) },
        { name: 'B', datatype: 'BF16', shape: [1], data: new Uint16Array([0x3fc0]) },
      ]),
      JSON_OUTPUTS,
    );
    const outputs = (JSON.parse(encoded.body as string) as { outputs: { data: unknown[] }[] }).outputs;
    expect(outputs.map((o) => o.data)).toEqual([['HELLO', 'ü "q"'], [null, null, 1], [null, 1], [1.5]]);
  });

  it('refuses an output whose data does not fill its shape (INTERNAL)', () => {
    const error = errorOf(() =>
      encodeInferResponse(response([{ name: 'O', datatype: 'INT32', shape: [4], data: new Int32Array(3) }]), JSON_OUTPUTS),
    );
    expect(error.code).toBe('INTERNAL');
  });
});

describe('BYTES outputs in JSON that are not UTF-8', () => {
  it("keeps their bytes, as Triton's JSON writer does, escaping only quotes, backslashes and control characters", () => {
    const data = BytesData.fromElements([Buffer.from('ok'), Buffer.from([0xff, 0x22, 0x5c, 0x0a, 0x41]), Buffer.from('ü')]);
    const encoded = encodeInferResponse(response([{ name: 'S', datatype: 'BYTES', shape: [3], data }]), JSON_OUTPUTS);
    expect(Buffer.isBuffer(encoded.body)).toBe(true);
    const body = encoded.body as Buffer;
    const expected = Buffer.concat([Buffer.from('"data":["ok","'), Buffer.from([0xff]), Buffer.from('\\"\\\\\\nA","ü"]')]);
    expect(body.includes(expected)).toBe(true);
    expect(encoded.contentType).toBe('application/json');
    // Every element valid UTF-8: JSON.stringify's text.
    const strings = ['ü', 'tab\tquote"back\\slash\u0001', '\u2028'];
    const valid = encodeInferResponse(response([{ name: 'S', datatype: 'BYTES', shape: [3], data: BytesData.fromStrings(strings) }]), JSON_OUTPUTS);
    expect(valid.body.toString()).toContain(`"data":${JSON.stringify(strings)}`);
  });

  it('writes the same text as JSON.stringify for any valid string', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'grapheme' }), { maxLength: 8 }), (strings) => {
        const encoded = encodeInferResponse(response([{ name: 'S', datatype: 'BYTES', shape: [strings.length], data: BytesData.fromStrings(strings) }]), JSON_OUTPUTS);
        expect(encoded.body.toString()).toContain(`"data":${JSON.stringify(strings)}`);
      }),
    );
  });
});

describe('decodeInferRequest: the early check', () => {
  it('sees every input header before any tensor is decoded, so its refusal wins over bad data', () => {
    const seen: string[] = [];
    const refuse = (_rid: string | undefined, inputs: readonly { name: string }[]) => {
      seen.push(...inputs.map((input) => input.name));
      throw new InferenceError('NOT_FOUND', 'refused early');
    };
    const body = Buffer.from(JSON.stringify({ id: 'r', inputs: [{ name: 'A', datatype: 'INT32', shape: [2], data: ['not', 'numbers'] }, { name: 'B', datatype: 'BYTES', shape: [1], data: ['x'] }] }));
    expect(errorOf(() => decodeInferRequest(body, TARGET, undefined, refuse)).message).toBe('refused early');
    expect(seen).toEqual(['A', 'B']);
  });
});

describe('encodeInferResponse: binary outputs', () => {
  it('puts binary outputs after the JSON header, in order, JSON ones inline', () => {
    const a = new Float32Array([1.5, 2.5]);
    const encoded = encodeInferResponse(
      response([
        { name: 'A', datatype: 'FP32', shape: [2], data: a },
        { name: 'J', datatype: 'INT8', shape: [1], data: new Int8Array([-3]) },
        { name: 'S', datatype: 'BYTES', shape: [1], data: BytesData.fromStrings(['xy']) },
      ]),
      { binaryByDefault: true, binaryByName: new Map([['J', false]]) },
    );
    expect(encoded.contentType).toBe('application/octet-stream');
    const body = encoded.body as Buffer;
    const { json, raw } = splitBinaryResponse(body, encoded.inferenceHeaderLength!);
    expect(json.outputs.map((o) => o.parameters?.binary_data_size)).toEqual([8, undefined, 6]);
    expect(json.outputs[1].data).toEqual([-3]);
    expect(new Float32Array(new Uint8Array(raw.get('A')!).buffer)).toEqual(a);
    expect([...raw.get('S')!]).toEqual([2, 0, 0, 0, 0x78, 0x79]);
  });

  it('stays JSON when no output asks for binary', () => {
    const encoded = encodeInferResponse(
      response([{ name: 'A', datatype: 'FP32', shape: [1], data: new Float32Array([1]) }]),
      { binaryByDefault: true, binaryByName: new Map([['A', false]]) },
    );
    expect(typeof encoded.body).toBe('string');
  });

  it('round-trips every fixed datatype through binary encode → binary decode', () => {
    const arbitraries: Record<string, fc.Arbitrary<FixedTypedArray>> = {
      BOOL: fc.uint8Array({ min: 0, max: 1, maxLength: 20 }),
      UINT8: fc.uint8Array({ maxLength: 20 }),
      UINT16: fc.uint16Array({ maxLength: 20 }),
      UINT32: fc.uint32Array({ maxLength: 20 }),
      UINT64: fc.bigUint64Array({ maxLength: 20 }),
      INT8: fc.int8Array({ maxLength: 20 }),
      INT16: fc.int16Array({ maxLength: 20 }),
      INT32: fc.int32Array({ maxLength: 20 }),
      INT64: fc.bigInt64Array({ maxLength: 20 }),
      FP16: fc.uint16Array({ maxLength: 20 }),
      FP32: fc.float32Array({ maxLength: 20 }),
      FP64: fc.float64Array({ maxLength: 20 }),
    };
    fc.assert(
      fc.property(
        fc.constantFrom(...(Object.keys(arbitraries) as DataType[])).chain((datatype) =>
          arbitraries[datatype].map((data) => ({ datatype, data })),
        ),
        ({ datatype, data }) => {
          const encoded = encodeInferResponse(
            response([{ name: 'O', datatype, shape: [data.length], data }]),
            BINARY_OUTPUTS,
          );
          const { raw } = splitBinaryResponse(encoded.body as Buffer, encoded.inferenceHeaderLength!);
          const json = { inputs: [{ name: 'O', datatype, shape: [data.length], parameters: { binary_data_size: raw.get('O')!.length } }] };
          const { body, jsonLength } = binaryBody(json, raw.get('O')!);
          const decoded = decodeInferRequest(body, TARGET, jsonLength).request.inputs[0].data as FixedTypedArray;
          expect(Buffer.from(bytesOf(decoded))).toEqual(Buffer.from(bytesOf(data)));
          expect(decoded.constructor).toBe(DATATYPES[datatype].arrayType);
        },
      ),
    );
  });

  it('round-trips JSON for integers and finite floats', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -2147483648, max: 2147483647 })), fc.array(fc.double({ noNaN: true, noDefaultInfinity: true })), (ints, doubles) => {
        const encoded = encodeInferResponse(
          response([
            { name: 'I', datatype: 'INT32', shape: [ints.length], data: Int32Array.from(ints) },
            { name: 'D', datatype: 'FP64', shape: [doubles.length], data: Float64Array.from(doubles) },
          ]),
          JSON_OUTPUTS,
        );
        const outputs = (JSON.parse(encoded.body as string) as { outputs: { data: number[] }[] }).outputs;
        expect(outputs[0].data).toEqual(ints);
        expect(outputs[1].data).toEqual(doubles.map((d) => (Object.is(d, -0) ? 0 : d)));
      }),
    );
  });
});

describe('FP16 / BF16 conversions', () => {
  it.each([
    [1, 0x3c00],
    [-2, 0xc000],
    [0, 0x0000],
    [-0, 0x8000],
    [65504, 0x7bff],
    [65520, 0x7c00],
    [1e6, 0x7c00],
    [-Infinity, 0xfc00],
    [2 ** -24, 0x0001],
    [2 ** -25, 0x0000], // tie between 0 and the smallest subnormal: to even
    [2 ** -14, 0x0400],
    [0.1, 0x2e66],
    [1 + 2 ** -11, 0x3c00], // tie: to even
    [1 + 3 * 2 ** -11, 0x3c02], // tie: to even (up)
    [1 + 2 ** -10, 0x3c01],
  ])('%p → %p', (value, bits) => {
    expect(float16BitsFromNumber(value)).toBe(bits);
  });

  it('maps NaN to a NaN pattern and back', () => {
    expect(Number.isNaN(numberFromFloat16Bits(float16BitsFromNumber(NaN)))).toBe(true);
  });

  it('every finite half survives half → number → half', () => {
    const mismatches: number[] = [];
    for (let bits = 0; bits < 0x10000; bits++) {
      const value = numberFromFloat16Bits(bits);
      if (!Number.isNaN(value) && float16BitsFromNumber(value) !== bits) mismatches.push(bits);
    }
    expect(mismatches).toEqual([]);
  });

  it('reads bfloat16 as the upper half of a float32', () => {
    expect(numberFromBfloat16Bits(0x3f80)).toBe(1);
    expect(numberFromBfloat16Bits(0xc040)).toBe(-3);
  });
});
