/** The local cache on its own: LRU eviction by bytes, entries too large, reloads and unloads, counters. */
import { BytesData } from '../../server/core/bytes-data';
import { executeWithCache } from '../../server/core/cached-execution';
import { entryByteSize, LocalResponseCache } from '../../server/core/response-cache';
import type { Tensor } from '../../server/core/tensor';

const owner = (model = 'm', version = '1', token: object = {}) => ({ model, version, token });

/** One INT32 output of `n` elements named OUT: 3 + 5 + 8 + 4n bytes. */
function outputs(n: number, fill = 1): Tensor[] {
  return [{ name: 'OUT', datatype: 'INT32', shape: [n], data: new Int32Array(n).fill(fill) }];
}

it('counts an entry as Triton serialises it: name, datatype, 8 bytes a dimension, data (BYTES with 4-byte lengths)', () => {
  expect(entryByteSize(outputs(4))).toBe(3 + 5 + 8 + 16);
  const text: Tensor = { name: 'T', datatype: 'BYTES', shape: [2], data: BytesData.fromStrings(['ab', '']) };
  expect(entryByteSize([text])).toBe(1 + 5 + 8 + (4 + 2) + 4);
});

it('answers a stored key, misses an unknown one, and stores a copy detached from the given buffers', () => {
  const cache = new LocalResponseCache(1000);
  const o = owner();
  const given = outputs(4, 7);
  expect(cache.insert('k', o, given)).toBe('inserted');
  (given[0].data as Int32Array).fill(0); // a worker reusing its buffer must not change the cached answer
  expect(Array.from(cache.lookup('k', o)![0].data as Int32Array)).toEqual([7, 7, 7, 7]);
  expect(cache.lookup('other', o)).toBeUndefined();
  expect(cache.stats()).toMatchObject({ entries: 1, lookups: 2, hits: 1, misses: 1, evictions: 0, bytesUsed: 32, byteSize: 1000 });
});

it('evicts the least recently used entries until the new one fits', () => {
  const size = entryByteSize(outputs(4)); // 32
  const cache = new LocalResponseCache(size * 3);
  const o = owner();
  for (const key of ['a', 'b', 'c']) cache.insert(key, o, outputs(4));
  expect(cache.lookup('a', o)).toBeDefined(); // a is now the most recent: b is the oldest
  cache.insert('d', o, outputs(4));
  expect(cache.lookup('b', o)).toBeUndefined();
  for (const key of ['a', 'c', 'd']) expect(cache.lookup(key, o)).toBeDefined();
  // One entry as big as two: both oldest go.
  cache.insert('big', o, outputs(12)); // 3+5+8+48 = 64
  expect(cache.stats()).toMatchObject({ entries: 2, evictions: 3, bytesUsed: 96 });
  expect(cache.lookup('d', o)).toBeDefined();
  expect(cache.lookup('big', o)).toBeDefined();
});

it('does not store an entry larger than the whole cache, and keeps what it holds', () => {
  const warnings: string[] = [];
  const cache = new LocalResponseCache(40, (message) => warnings.push(message));
  const o = owner('simple', '1');
  expect(cache.insert('small', o, outputs(4))).toBe('inserted');
  expect(cache.insert('huge', o, outputs(100))).toBe('too_large');
  expect(cache.lookup('huge', o)).toBeUndefined();
  expect(cache.lookup('small', o)).toBeDefined();
  expect(warnings).toEqual([expect.stringContaining("model 'simple' version 1")]);
  expect(warnings[0]).toContain('416 bytes exceed the cache size of 40 bytes');
});

it('keeps the first answer when two identical requests both missed', () => {
  const cache = new LocalResponseCache(1000);
  const o = owner();
  expect(cache.insert('k', o, outputs(2, 1))).toBe('inserted');
  expect(cache.insert('k', o, outputs(2, 2))).toBe('exists');
  expect(Array.from(cache.lookup('k', o)![0].data as Int32Array)).toEqual([1, 1]);
  expect(cache.stats().bytesUsed).toBe(entryByteSize(outputs(2)));
});

it('drops a version on unload, and a reloaded version never sees the entries of its earlier load', () => {
  const cache = new LocalResponseCache(1000);
  const v1 = owner('m', '1');
  const other = owner('n', '1');
  cache.insert('a', v1, outputs(2));
  cache.insert('b', v1, outputs(2));
  cache.insert('c', other, outputs(2));
  cache.removeVersion('m', '1');
  expect(cache.stats()).toMatchObject({ entries: 1, bytesUsed: entryByteSize(outputs(2)) });
  expect(cache.lookup('c', other)).toBeDefined();

  cache.insert('a', v1, outputs(2, 5));
  const reloaded = owner('m', '1', {});
  expect(cache.lookup('a', reloaded)).toBeUndefined();
  expect(cache.stats().entries).toBe(1); // the old load's entry went with the miss
  cache.insert('x', v1, outputs(2));
  cache.insert('y', reloaded, outputs(2)); // the first insert of the new load clears what the old one left
  expect(cache.lookup('x', v1)).toBeUndefined();
  expect(cache.lookup('y', reloaded)).toBeDefined();
});

it('each hit hands out its own buffers: a consumer that moves one (an ensemble step to a worker) leaves the entry intact', async () => {
  const cache = new LocalResponseCache(1 << 20);
  const o = owner();
  const inputs = outputs(2, 1);
  const run = async () => ({ outputs: outputs(32768, 5), queueNs: 0, timings: { batchSize: 1, computeInputNs: 0, computeInferNs: 0, computeOutputNs: 0 } });
  await executeWithCache(cache, o, inputs, ['OUT'], run); // miss: stored
  for (let hit = 0; hit < 3; hit++) {
    const { result, cache: outcome } = await executeWithCache(cache, o, inputs, ['OUT'], run);
    expect(outcome.hit).toBe(true);
    const data = result.outputs[0].data as Int32Array;
    expect(data.length).toBe(32768);
    expect(data[32767]).toBe(5);
    structuredClone(data, { transfer: [data.buffer as ArrayBuffer] }); // detaches it, as a transfer to a worker does
    expect(data.length).toBe(0);
  }
});
