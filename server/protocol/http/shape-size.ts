/**
 * The element count and byte size a JSON input's shape implies, refused as Triton's HTTP frontend refuses them when
 * they pass 64-bit integers (a shape like [16, 2^60] would otherwise reach the data check as a huge count).
 */
import { DATATYPES, DataType } from '../../core/datatypes';
import { Errors } from '../../core/errors';

const INT64_MAX = 2n ** 63n - 1n;

/** The element count of `shape` for input `input` of `datatype`; throws Triton's overflow errors. */
export function jsonInputElementCount(input: string, datatype: DataType, shape: readonly number[]): number {
  let count = 1n;
  for (const dim of shape) {
    if (dim === 0) return 0;
    count *= BigInt(dim);
    if (count > INT64_MAX) throw Errors.shapeCountOverflow(input, shape);
  }
  const byteSize = DATATYPES[datatype].byteSize;
  if (datatype !== 'BYTES' && byteSize > 1 && count * BigInt(byteSize) > INT64_MAX) {
    throw Errors.shapeByteSizeOverflow(input, count, byteSize);
  }
  return Number(count);
}
