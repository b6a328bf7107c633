/**
 * Tensors that live in system shared memory: the shared_memory_* parameters both frontends parse, and the per-request
 * reads (inputs, before validation) and writes (outputs, after inference) the facade does.
 */
import { DATATYPES, elementCount } from './datatypes';
import { Errors } from './errors';
import type { SharedMemoryLease, SystemSharedMemoryRegistry } from './shared-memory';
import { BytesData, rawBytesOf, Tensor, typedArrayFromBytes } from './tensor';
import type { InferInputTensor, InferOutputTensor, InferRequestInput, Parameters, RequestedOutput, SharedMemoryRef } from './types';

export const SHM_REGION = 'shared_memory_region';
export const SHM_OFFSET = 'shared_memory_offset';
export const SHM_BYTE_SIZE = 'shared_memory_byte_size';

export interface ParsedSharedMemoryParameters {
  /** Set when the tensor names a region. */
  readonly sharedMemory?: SharedMemoryRef;
  /** The other parameters (undefined when none are left). */
  readonly parameters?: Parameters;
}

const UINT64_MAX = (1n << 64n) - 1n;

/** A uint64 as Triton parses these parameters: non-negative integers up to 2^64 - 1 (bigint past 2^53). */
function asUint64(value: unknown): number | bigint | undefined {
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value)) return value >= 0 ? value : undefined;
    // A rounded integer past 2^53 whose exact digits the frontend could not recover.
    return Number.isInteger(value) && value > 0 ? asUint64(BigInt(value)) : undefined;
  }
  if (typeof value === 'bigint') {
    if (value < 0n || value > UINT64_MAX) return undefined;
    return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
  }
  return undefined;
}

/** Split a tensor's parameters into its shared memory reference (checked as Triton does) and the rest. */
export function parseSharedMemoryParameters(tensor: string, parameters: Parameters | undefined): ParsedSharedMemoryParameters {
  if (!parameters || !(SHM_REGION in parameters || SHM_OFFSET in parameters || SHM_BYTE_SIZE in parameters)) {
    return { parameters };
  }
  const { [SHM_REGION]: region, [SHM_OFFSET]: offset, [SHM_BYTE_SIZE]: byteSize, ...rest } = parameters;
  if (region === undefined) {
    throw Errors.shmParameterWithoutRegion(offset !== undefined ? SHM_OFFSET : SHM_BYTE_SIZE, tensor);
  }
  if (typeof region !== 'string') throw Errors.shmParameterType(SHM_REGION, tensor, 'a string');
  const start = offset === undefined ? 0 : asUint64(offset);
  if (start === undefined) throw Errors.shmParameterType(SHM_OFFSET, tensor, 'a non-negative integer');
  if (byteSize === undefined) throw Errors.shmByteSizeMissing(tensor);
  const size = asUint64(byteSize);
  if (size === undefined) throw Errors.shmParameterType(SHM_BYTE_SIZE, tensor, 'a non-negative integer');
  return {
    sharedMemory: { region, offset: start, byteSize: size },
    ...(Object.keys(rest).length > 0 ? { parameters: rest } : {}),
  };
}

/** The parameters a response shows for an output written to shared memory. */
export function sharedMemoryParameters(ref: SharedMemoryRef): Parameters {
  return {
    [SHM_REGION]: ref.region,
    [SHM_BYTE_SIZE]: ref.byteSize,
    ...(ref.offset !== 0 ? { [SHM_OFFSET]: ref.offset } : {}),
  };
}

function isSharedMemoryInput(input: InferRequestInput): input is Extract<InferRequestInput, { sharedMemory: SharedMemoryRef }> {
  return 'sharedMemory' in input && input.sharedMemory !== undefined;
}

/** The shared memory one inference request uses; release() once the request is done, whatever its outcome. */
export class RequestSharedMemory {
  // Made on first use: most requests use no shared memory and pay for nothing here.
  private leases: SharedMemoryLease[] | undefined;
  private outputLeases: Map<string, { lease: SharedMemoryLease; ref: SharedMemoryRef }> | undefined;

  constructor(private readonly registry: SystemSharedMemoryRegistry) {}

  /** Inputs with their data: the shared memory ones read from their regions, the others as they came. */
  resolveInputs(model: string, inputs: readonly InferRequestInput[]): InferInputTensor[] {
    if (!inputs.some(isSharedMemoryInput)) return inputs as InferInputTensor[];
    return inputs.map((input): InferInputTensor => {
      if (!isSharedMemoryInput(input)) return input;
      const { name, datatype, shape, parameters, sharedMemory: ref } = input;
      const lease = this.hold(ref);
      const count = elementCount(shape);
      if (datatype !== 'BYTES') {
        const expected = count * DATATYPES[datatype].byteSize;
        if (lease.byteSize !== expected) throw Errors.inputByteSizeMismatch(name, model, expected, lease.byteSize);
      }
      const bytes = lease.read();
      let data: Tensor['data'];
      if (datatype === 'BYTES') {
        const elements = BytesData.fromSerialized(bytes);
        if (!elements) throw Errors.badBytesFraming(name);
        if (elements.length !== count) throw Errors.elementCountMismatch(name, count, elements.length);
        data = elements;
      } else {
        data = typedArrayFromBytes(datatype, bytes);
      }
      return parameters ? { name, datatype, shape, data, parameters } : { name, datatype, shape, data };
    });
  }

  /** Check every requested shared memory output's window now, before the model runs (as Triton does). */
  reserveOutputs(outputs: readonly RequestedOutput[] | undefined): void {
    for (const output of outputs ?? []) {
      const ref = output.sharedMemory;
      if (!ref) continue;
      if (output.parameters && 'classification' in output.parameters) throw Errors.shmWithClassification();
      this.outputLeases ??= new Map();
      if (this.outputLeases.has(output.name)) continue;
      this.outputLeases.set(output.name, { lease: this.hold(ref), ref });
    }
  }

  /** Write the outputs that asked for shared memory into their windows; those come back tagged with it. */
  writeOutputs(outputs: readonly Tensor[]): InferOutputTensor[] {
    const targets = this.outputLeases;
    if (!targets) return outputs as Tensor[];
    return outputs.map((output): InferOutputTensor => {
      const target = targets.get(output.name);
      if (!target) return output;
      const bytes = rawBytesOf(output.data);
      if (bytes.byteLength > target.lease.byteSize) throw Errors.shmOutputTooSmall(output.name, target.lease.byteSize, bytes.byteLength);
      target.lease.write(bytes);
      return { ...output, sharedMemory: target.ref };
    });
  }

  release(): void {
    if (!this.leases) return;
    for (const lease of this.leases) lease.release();
    this.leases.length = 0;
  }

  private hold(ref: SharedMemoryRef): SharedMemoryLease {
    const lease = this.registry.acquire(ref.region, ref.offset, ref.byteSize);
    (this.leases ??= []).push(lease);
    return lease;
  }
}
