/** The generate extension's request mapping: shapes from the input metadata, repeated keys, parameters. */
import fc from 'fast-check';
import { InferenceError } from '../../server/core/errors';
import type { ModelMetadata } from '../../server/core/types';
import { decodeGenerateRequest, generateShape, repeatedTopLevelKeys } from '../../server/protocol/http/generate-codec';

const METADATA: ModelMetadata = {
  name: 'chat',
  versions: ['1'],
  platform: 'python',
  inputs: [
    { name: 'PROMPT', datatype: 'BYTES', shape: [1, 1] },
    { name: 'STREAM', datatype: 'BOOL', shape: [-1, 1] },
    { name: 'IDS', datatype: 'INT32', shape: [1, -1] },
  ],
  outputs: [],
};

function decode(text: string) {
  return decodeGenerateRequest(Buffer.from(text), { model: 'chat' }, METADATA);
}

function errorOf(fn: () => unknown): InferenceError {
  try {
    fn();
  } catch (error) {
    if (error instanceof InferenceError) return error;
    throw error;
  }
  throw new Error('expected an InferenceError');
}

describe('generateShape: Triton pads a value to the input dims', () => {
  it.each([
    [[1, 1], 1, [1, 1]],
    [[-1, 1], 1, [1, 1]],
    [[1, -1], 3, [1, 3]],
    [[-1, -1], 5, [1, 5]],
    [[-1, 4], 8, [2, 4]],
    [[16], 16, [16]],
    [[], 1, []],
    [[-1], 0, [0]],
  ])('dims %j with %i values → %j', (dims, count, shape) => {
    expect(generateShape('X', dims, count)).toEqual(shape);
  });

  it.each([
    [[1, 1], 2],
    [[16], 3],
    [[-1, 4], 6],
    [[], 2],
  ])('dims %j cannot hold %i values', (dims, count) => {
    expect(errorOf(() => generateShape('X', dims, count)).message).toBe("The schema can not convert input 'X' to tensor with proper shape");
  });
});

describe('decodeGenerateRequest', () => {
  it('maps inputs by name with their metadata shapes, the rest to parameters', () => {
    const request = decode('{"PROMPT": "hi", "STREAM": true, "IDS": [1, 2, 3], "temperature": 0.5, "parameters": {"top_k": 4}, "id": "r"}');
    expect(request.inputs.map((input) => [input.name, input.shape])).toEqual([
      ['PROMPT', [1, 1]],
      ['STREAM', [1, 1]],
      ['IDS', [1, 3]],
    ]);
    expect(request.parameters).toEqual({ temperature: 0.5, top_k: 4 });
    expect(request.id).toBe('r');
  });

  it('refuses an input given twice, naming the first repeated one', () => {
    expect(errorOf(() => decode('{"PROMPT": "a", "STREAM": false, "STREAM": true, "PROMPT": "b"}')).message).toBe(
      "input 'STREAM' already exists in request",
    );
    // A repeated key that is no input is left to JSON's last-one-wins, and nested objects are not looked into.
    expect(decode('{"PROMPT": "a", "STREAM": true, "x": 1, "x": 2, "parameters": {"y": 1, "y": 2}}').parameters).toEqual({ x: 2, y: 2 });
  });
});

describe('repeatedTopLevelKeys', () => {
  it('finds top-level repeats only, escapes and nesting included', () => {
    expect(repeatedTopLevelKeys('{"a\\"b": 1, "c": {"a\\"b": 2, "c": [{"c": 1}]}, "a\\"b": "}{,\\"c\\":"}')).toEqual(['a"b']);
    expect(repeatedTopLevelKeys('{}')).toEqual([]);
  });

  it('fuzz: JSON.stringify never repeats a key; a key appended again is found', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), fc.string(), (object, extra) => {
        const text = JSON.stringify(object);
        expect(repeatedTopLevelKeys(text)).toEqual([]);
        const withRepeat = `${text.slice(0, -1)}${text === '{}' ? '' : ','}${JSON.stringify(extra)}:1,${JSON.stringify(extra)}:2}`;
        expect(repeatedTopLevelKeys(withRepeat)).toEqual([extra]);
      }),
    );
  });
});
