/** Typed inputs, requested outputs and results of the client, independent of the protocol that carries them. */
import { DATATYPES, DataType, elementCount, FixedTypedArray, isDataType, TensorData } from '../server/core/datatypes';
import { BytesData } from '../server/core/bytes-data';

export type { DataType } from '../server/core/datatypes';

/** Tensor data as the client API shows it: a typed array, or one Uint8Array per BYTES element. */
export type ClientTensorData = FixedTypedArray | Uint8Array[];

/** The server codecs' data (BYTES as BytesData) as the client shows it. */
export function clientData(data: TensorData): ClientTensorData {
  return data instanceof BytesData ? data.toArray() : data;
}

/** Client data as the server codecs take it. */
export function codecData(data: ClientTensorData): TensorData {
  return Array.isArray(data) ? BytesData.fromElements(data) : data;
}
export type TypedArray = FixedTypedArray;

/** The datatype a typed array carries when none is named (Uint8Array → UINT8; name BOOL to send booleans). */
export function datatypeOf(array: TypedArray): DataType {
  if (array instanceof Float32Array) return 'FP32';
  if (array instanceof Float64Array) return 'FP64';
  if (array instanceof Int32Array) return 'INT32';
  if (array instanceof Int16Array) return 'INT16';
  if (array instanceof Int8Array) return 'INT8';
  if (array instanceof BigInt64Array) return 'INT64';
  if (array instanceof BigUint64Array) return 'UINT64';
  if (array instanceof Uint32Array) return 'UINT32';
  if (array instanceof Uint16Array) return 'UINT16';
  return 'UINT8';
}

/** A window of a registered system shared memory region (the shared_memory_* tensor parameters). */
export interface SharedMemoryWindow {
  readonly region: string;
  readonly byteSize: number;
  /** Bytes from the start of the registered region. @default 0 */
  readonly offset?: number;
}

/** The shared_memory_* parameters that name a window. */
export function sharedMemoryParameters(window: SharedMemoryWindow): Record<string, string | number> {
  return {
    shared_memory_region: window.region,
    shared_memory_byte_size: window.byteSize,
    ...(window.offset ? { shared_memory_offset: window.offset } : {}),
  };
}

function checkCount(name: string, shape: readonly number[], length: number): void {
  const count = elementCount(shape);
  if (count !== length) throw new Error(`input '${name}': shape [${shape.join(',')}] holds ${count} elements, data has ${length}`);
}

/** One input tensor of a request. */
export class InferInput {
  /** A fixed-size input from a typed array; the datatype follows the array unless given (FP16, BF16, BOOL use 8/16-bit arrays). */
  static fromTypedArray(name: string, data: TypedArray, shape: readonly number[], datatype?: DataType): InferInput {
    const type = datatype ?? datatypeOf(data);
    const info = DATATYPES[type];
    if (!info.arrayType || data.BYTES_PER_ELEMENT !== info.byteSize) {
      throw new Error(`input '${name}': a ${data.constructor.name} cannot carry ${type}`);
    }
    checkCount(name, shape, data.length);
    return new InferInput(name, type, [...shape], data);
  }

  /** A BYTES input from strings (UTF-8) or raw byte strings. */
  static fromStrings(name: string, values: readonly (string | Uint8Array)[], shape?: readonly number[]): InferInput {
    const elements = values.map((v) => (typeof v === 'string' ? Buffer.from(v, 'utf8') : v));
    const dims = shape ? [...shape] : [elements.length];
    checkCount(name, dims, elements.length);
    return new InferInput(name, 'BYTES', dims, elements);
  }

  /**
   * An input the server reads from a registered system shared memory region (the client wrote its bytes there);
   * the request itself carries no data for it.
   */
  static fromSharedMemory(name: string, datatype: DataType, shape: readonly number[], window: SharedMemoryWindow): InferInput {
    return new InferInput(name, datatype, [...shape], [], undefined, window);
  }

  constructor(
    readonly name: string,
    readonly datatype: DataType,
    readonly shape: number[],
    /** Empty for a shared memory input. */
    readonly data: ClientTensorData,
    /** Input parameters (not binary_data_size, which the HTTP transport sets itself). */
    readonly parameters?: Record<string, string | number | boolean>,
    /** Set: the data is in this shared memory window, not in the request. */
    readonly sharedMemory?: SharedMemoryWindow,
  ) {
    if (!isDataType(datatype)) throw new Error(`unknown datatype '${datatype}'`);
  }

  /** Parameters as sent: the input's own, plus the shared memory window's. */
  get requestParameters(): Record<string, string | number | boolean> | undefined {
    if (!this.sharedMemory) return this.parameters;
    return { ...this.parameters, ...sharedMemoryParameters(this.sharedMemory) };
  }

  get byteSize(): number {
    if (Array.isArray(this.data)) return this.data.reduce((sum, e) => sum + 4 + e.byteLength, 0);
    return (this.data as TypedArray).byteLength;
  }
}

/** An output to return (absent list: every output). */
export interface InferRequestedOutput {
  readonly name: string;
  readonly parameters?: Record<string, string | number | boolean>;
  /** Have the server write the output into this window of a registered region instead of the response. */
  readonly sharedMemory?: SharedMemoryWindow;
}

/** The parameters a requested output is sent with (its own, plus its shared memory window's). */
export function outputParameters(output: InferRequestedOutput): Record<string, string | number | boolean> | undefined {
  if (!output.sharedMemory) return output.parameters;
  return { ...output.parameters, ...sharedMemoryParameters(output.sharedMemory) };
}

export interface OutputTensor {
  readonly name: string;
  readonly datatype: DataType;
  readonly shape: number[];
  /** Empty when the output was written to shared memory. */
  readonly data: ClientTensorData;
  /** Set when the server wrote the output into this window: read it there (datatype and shape are here). */
  readonly sharedMemory?: SharedMemoryWindow;
}

/** The shared memory window a response output's parameters name, if any. */
export function sharedMemoryWindowOf(parameters: Record<string, unknown> | undefined): SharedMemoryWindow | undefined {
  const region = parameters?.shared_memory_region;
  if (typeof region !== 'string') return undefined;
  return { region, byteSize: Number(parameters?.shared_memory_byte_size ?? 0), offset: Number(parameters?.shared_memory_offset ?? 0) };
}

/** A response: model, version, id and typed outputs. */
export class InferResult {
  private readonly byName: Map<string, OutputTensor>;

  constructor(
    readonly model: string,
    readonly version: string,
    readonly id: string | undefined,
    readonly outputs: readonly OutputTensor[],
    readonly parameters: Record<string, string | number | boolean> = {},
  ) {
    this.byName = new Map(outputs.map((o) => [o.name, o]));
  }

  output(name: string): OutputTensor {
    const output = this.byName.get(name);
    if (!output) throw new Error(`the result has no output '${name}' (outputs: ${[...this.byName.keys()].join(', ')})`);
    return output;
  }

  shape(name: string): number[] {
    return this.output(name).shape;
  }

  /** Fixed-size output as its typed array (Float32Array for FP32, Int32Array for INT32, Uint16Array words for FP16...). */
  asTypedArray(name: string): TypedArray {
    const output = this.output(name);
    if (output.sharedMemory) throw new Error(`output '${name}' was written to shared memory region '${output.sharedMemory.region}'`);
    if (Array.isArray(output.data)) throw new Error(`output '${name}' is BYTES: use asStrings or asBytes`);
    return output.data as TypedArray;
  }

  /** BYTES output elements as raw bytes. */
  asBytes(name: string): Uint8Array[] {
    const output = this.output(name);
    if (!Array.isArray(output.data)) throw new Error(`output '${name}' is ${output.datatype}, not BYTES`);
    return output.data;
  }

  /** BYTES output elements decoded as UTF-8. */
  asStrings(name: string): string[] {
    return this.asBytes(name).map((e) => Buffer.from(e.buffer, e.byteOffset, e.byteLength).toString('utf8'));
  }
}

/** Options of one inference call. */
export interface InferOptions {
  readonly version?: string;
  readonly id?: string;
  readonly outputs?: readonly (string | InferRequestedOutput)[];
  /** Request parameters: priority, timeout (microseconds), ... */
  readonly parameters?: Record<string, string | number | boolean>;
  /** Abort the call. */
  readonly signal?: AbortSignal;
  /** Milliseconds before the call fails. */
  readonly timeoutMs?: number;
}

export function requestedOutputs(outputs: InferOptions['outputs']): InferRequestedOutput[] | undefined {
  return outputs?.map((o) => (typeof o === 'string' ? { name: o } : o));
}
