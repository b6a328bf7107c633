/** A BYTES tensor's bytes as the server receives them: 4-byte little-endian length, then the element, per element. */
export function framed(count: number, element: string): Buffer {
  const bytes = Buffer.from(element);
  const out = Buffer.alloc(count * (4 + bytes.length));
  for (let i = 0, offset = 0; i < count; i++, offset += 4 + bytes.length) {
    out.writeUInt32LE(bytes.length, offset);
    bytes.copy(out, offset + 4);
  }
  return out;
}
