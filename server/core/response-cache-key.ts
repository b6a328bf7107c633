import { createHash } from 'node:crypto';
import { isBytesData, Tensor } from './tensor';

/**
 * The response cache key of a request. Triton hashes the model name, version and each input's name and bytes (inputs
 * sorted by name); this adds each input's datatype and shape and the requested outputs, so requests that differ in
 * any of them never share an entry. The bytes are the decoded tensor's, so JSON and binary encodings of the same
 * tensor (and shared-memory inputs, resolved before this) hash alike. SHA-256 rather than Triton's 64-bit hash: a
 * collision would answer one request with another's result.
 */
export function responseCacheKey(
  model: string,
  version: string,
  inputs: readonly Tensor[],
  outputNames: readonly string[],
): string {
  const hash = createHash('sha256');
  const length = Buffer.alloc(4);
  const field = (text: string) => {
    const bytes = Buffer.from(text, 'utf8');
    length.writeUInt32LE(bytes.byteLength);
    hash.update(length);
    hash.update(bytes);
  };
  field(model);
  field(version);
  const sorted = [...inputs].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  length.writeUInt32LE(sorted.length);
  hash.update(length);
  for (const input of sorted) {
    field(input.name);
    field(input.datatype);
    field(input.shape.join(','));
    if (isBytesData(input.data)) {
      length.writeUInt32LE(input.data.length);
      hash.update(length);
      // Serialised form: each element's 4-byte length, then its bytes (what the loop over elements hashed).
      hash.update(input.data.serialized);
    } else {
      const data = input.data;
      hash.update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    }
  }
  // Only the requested outputs are stored, so the selection is part of what the entry answers.
  const outputs = [...outputNames].sort();
  length.writeUInt32LE(outputs.length);
  hash.update(length);
  for (const name of outputs) field(name);
  return hash.digest('base64');
}
