/** The response cache key: equal requests share it, any difference in what the entry answers changes it. */
import { BytesData } from '../../server/core/bytes-data';
import fc from 'fast-check';
import { responseCacheKey } from '../../server/core/response-cache-key';
import type { Tensor } from '../../server/core/tensor';

const int32 = (name: string, values: number[], shape = [values.length]): Tensor => ({
  name,
  datatype: 'INT32',
  shape,
  data: Int32Array.from(values),
});

it('is the same for equal requests, whatever the order of inputs, outputs or the buffers behind them', () => {
  const a = [int32('A', [1, 2, 3]), int32('B', [4])];
  const backing = new Int32Array([9, 1, 2, 3]); // same values at an offset in a larger buffer
  const b = [int32('B', [4]), { ...int32('A', [1, 2, 3]), data: backing.subarray(1) }];
  expect(responseCacheKey('m', '1', a, ['X', 'Y'])).toBe(responseCacheKey('m', '1', b, ['Y', 'X']));
});

it('differs by model, version, requested outputs, datatype and shape with the same bytes', () => {
  const inputs = [int32('A', [1, 2, 3, 4])];
  const key = responseCacheKey('m', '1', inputs, ['X']);
  expect(responseCacheKey('n', '1', inputs, ['X'])).not.toBe(key);
  expect(responseCacheKey('m', '2', inputs, ['X'])).not.toBe(key);
  expect(responseCacheKey('m', '1', inputs, ['X', 'Y'])).not.toBe(key);
  expect(responseCacheKey('m', '1', [int32('A', [1, 2, 3, 4], [2, 2])], ['X'])).not.toBe(key);
  const asUint32: Tensor = { name: 'A', datatype: 'UINT32', shape: [4], data: Uint32Array.from([1, 2, 3, 4]) };
  expect(responseCacheKey('m', '1', [asUint32], ['X'])).not.toBe(key);
  // Field boundaries are framed: moving a character from the model name into the version is a different request.
  expect(responseCacheKey('m1', '', inputs, ['X'])).not.toBe(responseCacheKey('m', '11', inputs, ['X']));
});

it('frames BYTES elements: ["ab", "c"] and ["a", "bc"] are different requests', () => {
  const text = (...values: string[]): Tensor => ({ name: 'T', datatype: 'BYTES', shape: [values.length], data: BytesData.fromStrings(values) });
  expect(responseCacheKey('m', '1', [text('ab', 'c')], [])).not.toBe(responseCacheKey('m', '1', [text('a', 'bc')], []));
  expect(responseCacheKey('m', '1', [text('ab', 'c')], [])).toBe(responseCacheKey('m', '1', [text('ab', 'c')], []));
});

it('fuzz: two requests get the same key exactly when their names, datatypes, shapes, bytes and outputs are equal', () => {
  interface TensorSpec {
    name: string;
    values: number[];
    datatype: 'INT32' | 'UINT32';
    reshape: boolean;
  }
  interface RequestSpec {
    inputs: TensorSpec[];
    outputs: string[];
  }
  const name = fc.constantFrom('A', 'B', 'C');
  const tensor: fc.Arbitrary<TensorSpec> = fc.record({
    name,
    values: fc.array(fc.integer({ min: -3, max: 3 }), { maxLength: 4 }),
    datatype: fc.constantFrom('INT32' as const, 'UINT32' as const),
    reshape: fc.boolean(),
  });
  const request: fc.Arbitrary<RequestSpec> = fc.record({
    inputs: fc.uniqueArray(tensor, { selector: (t) => t.name, maxLength: 3 }),
    outputs: fc.uniqueArray(fc.constantFrom('X', 'Y'), { maxLength: 2 }),
  });
  const build = (r: TensorSpec): Tensor => ({
    name: r.name,
    datatype: r.datatype,
    shape: r.reshape ? [1, r.values.length] : [r.values.length],
    data: r.datatype === 'INT32' ? Int32Array.from(r.values) : Uint32Array.from(r.values.map((v) => v >>> 0)),
  });
  const canonical = (r: RequestSpec) =>
    JSON.stringify({
      inputs: [...r.inputs].sort((a, b) => a.name.localeCompare(b.name)).map((t) => [t.name, t.datatype, t.reshape, t.values]),
      outputs: [...r.outputs].sort(),
    });
  fc.assert(
    fc.property(request, request, (a, b) => {
      const keyA = responseCacheKey('m', '1', a.inputs.map(build), a.outputs);
      const keyB = responseCacheKey('m', '1', b.inputs.map(build), b.outputs);
      expect(keyA === keyB).toBe(canonical(a) === canonical(b));
    }),
    { numRuns: 500 },
  );
});
