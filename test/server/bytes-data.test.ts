import fc from 'fast-check';
import { BytesBuilder, BytesData, countSerializedElements } from '../../server/core/bytes-data';

const elements = fc.array(fc.uint8Array({ maxLength: 12 }), { maxLength: 40 });
const asArrays = (data: BytesData) => data.toArray().map((element) => Array.from(element));

describe('BytesData: BYTES elements in one buffer', () => {
  it("round-trips any elements through Triton's serialised form, one buffer, no object per element", () => {
    fc.assert(
      fc.property(elements, (list) => {
        const data = BytesData.fromElements(list);
        expect(data.length).toBe(list.length);
        expect(data.byteLength).toBe(list.reduce((sum, element) => sum + 4 + element.length, 0));
        const parsed = BytesData.fromSerialized(data.serialized)!;
        expect(asArrays(parsed)).toEqual(list.map((element) => Array.from(element)));
        list.forEach((element, index) => expect(Array.from(parsed.element(index))).toEqual(Array.from(element)));
      }),
    );
  });

  it('subarray is a view and slice a copy of an element range, as typed arrays', () => {
    fc.assert(
      fc.property(elements, fc.nat(), fc.nat(), (list, a, b) => {
        const data = BytesData.fromElements(list);
        const start = list.length === 0 ? 0 : a % (list.length + 1);
        const end = start + (list.length === 0 ? 0 : b % (list.length - start + 1));
        const expected = list.slice(start, end).map((element) => Array.from(element));
        const view = data.subarray(start, end);
        const copy = data.slice(start, end);
        expect(asArrays(view)).toEqual(expected);
        expect(asArrays(copy)).toEqual(expected);
        if (view.byteLength > 0) expect(view.serialized.buffer).toBe(data.serialized.buffer);
        if (copy.byteLength > 0) expect(copy.serialized.buffer).not.toBe(data.serialized.buffer);
      }),
    );
  });

  it('refuses any framing whose lengths run past the end, and never throws on hostile bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const data = BytesData.fromSerialized(bytes);
        expect(countSerializedElements(bytes)).toBe(data?.length);
        if (data) expect(data.toArray().reduce((sum, element) => sum + 4 + element.length, 0)).toBe(bytes.length);
      }),
    );
    expect(BytesData.fromSerialized(new Uint8Array([5, 0, 0, 0, 1]))).toBeUndefined();
    expect(BytesData.fromSerialized(new Uint8Array([0, 0, 0]))).toBeUndefined();
  });

  it('builds from strings as UTF-8 and concatenates', () => {
    const builder = new BytesBuilder(1);
    for (const text of ['', 'grüße ✓', 'x'.repeat(1000)]) builder.addString(text);
    builder.addBytes(new Uint8Array([0xff]));
    const built = builder.finish();
    expect(built.length).toBe(4);
    expect(built.toStrings().slice(0, 3)).toEqual(['', 'grüße ✓', 'x'.repeat(1000)]);
    const joined = BytesData.concat([built, BytesData.fromStrings(['a'])]);
    expect(joined.length).toBe(5);
    expect(Buffer.from(joined.element(4)).toString()).toBe('a');
    expect(Array.from(joined.element(3))).toEqual([0xff]);
  });

  it('encodes strings as UTF-8 exactly, sized for ASCII and grown only for wider text', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 40 })), { maxLength: 60 }), (strings) => {
        const data = BytesData.fromStrings(strings);
        expect(data.length).toBe(strings.length);
        expect(Buffer.from(data.serialized)).toEqual(Buffer.from(BytesData.fromElements(strings.map((text) => Buffer.from(text, 'utf8'))).serialized));
        expect(countSerializedElements(data.serialized)).toBe(strings.length);
      }),
      { numRuns: 300 },
    );
  });
});
