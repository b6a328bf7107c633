/**
 * Raw tensor bytes (gRPC raw_input_contents, the HTTP binary extension) → in-memory data, checked against the element
 * count the shape implies, with Triton core's error texts (ValidateRequestInputs / ValidateBytesInputs).
 */
import { DATATYPES, DataType, TensorData } from './datatypes';
import { BytesData, countSerializedElements } from './bytes-data';
import { Errors } from './errors';
import { typedArrayFromBytes } from './tensor';

export function tensorDataFromRaw(input: string, model: string, datatype: DataType, count: number, bytes: Uint8Array): TensorData {
  if (datatype === 'BYTES') {
    const elements = BytesData.fromSerialized(bytes);
    if (!elements) throw Errors.badBytesFraming(input);
    if (elements.length !== count) throw Errors.bytesElementCount(input, model, count, elements.length);
    return elements;
  }
  const expected = count * DATATYPES[datatype].byteSize;
  if (bytes.byteLength !== expected) throw Errors.inputByteSizeMismatch(input, model, expected, bytes.byteLength);
  return typedArrayFromBytes(datatype, bytes);
}

/**
 * The element-count error Triton gives for a request's raw BYTES inputs, or undefined. Triton checks a request's
 * inputs in the iteration order of its std::unordered_map of them, which (libstdc++) is the reverse of the order they
 * were added: with several inputs short of elements, the last one is named. `raw` pairs each input with its bytes.
 */
export function bytesCountError(model: string, raw: readonly { name: string; datatype: string; count: number; bytes: Uint8Array }[]) {
  for (let i = raw.length - 1; i >= 0; i--) {
    const { name, datatype, count, bytes } = raw[i];
    if (datatype !== 'BYTES') continue;
    const got = countSerializedElements(bytes);
    if (got !== undefined && got !== count) return Errors.bytesElementCount(name, model, count, got);
  }
  return undefined;
}
