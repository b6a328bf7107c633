/** Triton's reshaping of tensors between batching and non-batching ensemble members (core's ReshapeTensorDims). */
import fc from 'fast-check';
import { batchSizeOf, reshapeForModel, shapeStepInputs } from '../../server/scheduler/ensemble-reshape';

describe('reshapeForModel', () => {
  it('adds a batch dimension of 1 for a batching model when the shape is exactly its dims (wildcards match)', () => {
    expect(reshapeForModel([1], true, 0, [1])).toEqual([1, 1]);
    expect(reshapeForModel([-1, 3], true, 0, [5, 3])).toEqual([1, 5, 3]);
    // Not the model's dims: taken as already batched.
    expect(reshapeForModel([1], true, 0, [4, 1])).toEqual([4, 1]);
  });

  it('takes a batch of 1 off for a model without batching unless the shape already fits its dims', () => {
    expect(reshapeForModel([1], false, 1, [1, 1])).toEqual([1]);
    expect(reshapeForModel([1, 1], false, 1, [1, 1])).toEqual([1, 1]);
    // A larger batch cannot lose its batch dimension.
    expect(reshapeForModel([1], false, 2, [2, 1])).toEqual([2, 1]);
  });

  it('leaves the shape alone when both sides batch or neither does', () => {
    expect(reshapeForModel([1], true, 3, [3, 1])).toEqual([3, 1]);
    expect(reshapeForModel([1], false, 0, [1])).toEqual([1]);
  });

  it('only ever adds or removes one leading 1, and a batch dimension added is taken off again on the way back', () => {
    const dims = fc.array(fc.oneof(fc.constant(-1), fc.integer({ min: 0, max: 6 })), { maxLength: 4 });
    const shape = fc.array(fc.integer({ min: 0, max: 6 }), { maxLength: 5 });
    fc.assert(
      fc.property(dims, fc.boolean(), fc.integer({ min: 0, max: 3 }), shape, (configDims, batching, made, rest) => {
        // A tensor made with a batch size has it as its first dimension.
        const given = made > 0 ? [made, ...rest] : rest;
        const result = reshapeForModel(configDims, batching, made, given);
        const same = JSON.stringify(result) === JSON.stringify(given);
        const added = JSON.stringify(result) === JSON.stringify([1, ...given]);
        const removed = given[0] === 1 && JSON.stringify(result) === JSON.stringify(given.slice(1));
        expect(same || added || removed).toBe(true);
        if (added) expect(reshapeForModel(given.map((d) => d), false, 1, result)).toEqual(given);
      }),
    );
  });
});

describe('shapeStepInputs', () => {
  const model = { max_batch_size: 4, input: [{ name: 'IN', dims: [2] }] };

  it('shapes the inputs it knows the batch size of, and reports the batch size of the request it makes', () => {
    const { inputs, batchSize } = shapeStepInputs(
      model,
      [
        { name: 'IN', shape: [2] },
        { name: 'OTHER', shape: [2] },
      ],
      new Map([['IN', 0]]),
    );
    expect(inputs.map((input) => input.shape)).toEqual([[1, 2], [2]]);
    expect(batchSize).toBe(1);
  });

  it('a model without batching makes tensors of batch size 0', () => {
    expect(batchSizeOf(0, [[3, 2]])).toBe(0);
    expect(batchSizeOf(4, [[3, 2]])).toBe(3);
    expect(batchSizeOf(4, [])).toBe(0);
  });
});
