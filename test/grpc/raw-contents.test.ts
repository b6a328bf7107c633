/**
 * raw_input_contents checked against the shapes with Triton core's texts: BYTES element counts (fewer, more, the
 * input Triton names when several are wrong) and fixed-size byte sizes (HTTP binary data: test/http/codec.test.ts).
 */
import fc from 'fast-check';
import { BytesData } from '../../server/core/bytes-data';
import { isInferenceError } from '../../server/core/errors';
import { decodeInferRequest } from '../../server/protocol/grpc/codec';
import type { ModelInferRequestMessage } from '../../server/protocol/grpc/messages';

const MODEL = 'strings_model';

function stringsRequest(elements: number, shapeCount = 16): ModelInferRequestMessage {
  const raw = BytesData.fromStrings(Array.from({ length: elements }, (_, i) => String(i))).serialized;
  return {
    model_name: MODEL,
    inputs: ['INPUT0', 'INPUT1'].map((name) => ({ name, datatype: 'BYTES', shape: [1, shapeCount] })),
    raw_input_contents: [raw, raw],
  } as unknown as ModelInferRequestMessage;
}

function messageOf(decode: () => unknown): string {
  try {
    decode();
  } catch (error) {
    if (isInferenceError(error)) return (error as Error).message;
    throw error;
  }
  throw new Error('decoded without an error');
}

test('fewer BYTES elements than the shape: Triton names the last such input (its inputs map order)', () => {
  expect(messageOf(() => decodeInferRequest(stringsRequest(14)))).toBe(
    `expected 16 string elements for inference input 'INPUT1' for model '${MODEL}', got 14`,
  );
});

test('more BYTES elements than the shape: Triton counts one past the shape and says so', () => {
  expect(messageOf(() => decodeInferRequest(stringsRequest(18)))).toBe(
    `unexpected number of string elements 17 for inference input 'INPUT1' for model '${MODEL}', expecting 16`,
  );
});

test('only the first input wrong: that one is named', () => {
  const request = stringsRequest(16);
  (request.raw_input_contents as Uint8Array[])[0] = BytesData.fromStrings(['a']).serialized;
  expect(messageOf(() => decodeInferRequest(request))).toBe(`expected 16 string elements for inference input 'INPUT0' for model '${MODEL}', got 1`);
});

test("fixed-size raw input of the wrong size: Triton's byte size text", () => {
  const request = {
    model_name: MODEL,
    inputs: [{ name: 'X', datatype: 'INT32', shape: [2] }],
    raw_input_contents: [new Uint8Array(4)],
  } as unknown as ModelInferRequestMessage;
  expect(messageOf(() => decodeInferRequest(request))).toBe(`input byte size mismatch for input 'X' for model '${MODEL}'. Expected 8, got 4`);
});

test('fuzz: any element count against the shape decodes exactly when they agree, else a Triton text', () => {
  fc.assert(
    fc.property(fc.nat(40), fc.nat(40), (elements, shapeCount) => {
      if (elements === shapeCount) {
        expect(decodeInferRequest(stringsRequest(elements, shapeCount)).request.inputs).toHaveLength(2);
      } else {
        expect(messageOf(() => decodeInferRequest(stringsRequest(elements, shapeCount)))).toMatch(/string elements( \d+)? for inference input 'INPUT1' for model/);
      }
    }),
  );
});
