import type { DataType } from './datatypes';
import type { FrontendReceipt, RequestTrace } from './request-trace';
import type { CancelSignal } from './cancellation';
import type { Tensor } from './tensor';

/** Values a KServe `parameters` object may hold; bigint for 64-bit integers past 2^53 (e.g. a uint64 sequence_id). */
export type ParameterValue = string | number | boolean | bigint;
export type Parameters = Record<string, ParameterValue>;

export interface InferInputTensor extends Tensor {
  readonly parameters?: Parameters;
}

/** A window of a registered system shared memory region (Triton's shared_memory_* tensor parameters). */
export interface SharedMemoryRef {
  readonly region: string;
  /**
   * Bytes from the start of the registered region (default 0). Offsets and sizes are uint64 as in Triton: a bigint only
   * past 2^53, which no region can hold, so acquiring it fails with Triton's offset/overflow errors.
   */
  readonly offset: number | bigint;
  readonly byteSize: number | bigint;
}

/** An input whose bytes are in a shared memory region: the facade reads them before validation. */
export interface SharedMemoryInputTensor {
  readonly name: string;
  readonly datatype: DataType;
  readonly shape: number[];
  readonly parameters?: Parameters;
  readonly sharedMemory: SharedMemoryRef;
  readonly data?: undefined;
}

/** What a frontend hands the facade: data inline, or a reference into shared memory. */
export type InferRequestInput = InferInputTensor | SharedMemoryInputTensor;

export interface RequestedOutput {
  readonly name: string;
  /** e.g. binary_data (HTTP binary extension), classification. */
  readonly parameters?: Parameters;
  /** Write the output into this window of a shared memory region instead of the response. */
  readonly sharedMemory?: SharedMemoryRef;
}

/** A response output; `sharedMemory` set: its data was written there and the response carries only its metadata. */
export interface InferOutputTensor extends Tensor {
  readonly sharedMemory?: SharedMemoryRef;
}

/** One inference request as the facade sees it, independent of the frontend that decoded it. */
export interface InferRequest {
  readonly model: string;
  /** Empty or absent: the version the policy marks latest and ready. */
  readonly version?: string;
  readonly id?: string;
  readonly parameters?: Parameters;
  readonly inputs: InferRequestInput[];
  /** Absent: every output of the model. */
  readonly outputs?: RequestedOutput[];
  /**
   * Set by a frontend only while tracing is on: when it read the request. A request that carries it is traced to
   * the end by that frontend (it adds its send timestamps and finishes the response's trace).
   */
  readonly received?: FrontendReceipt;
  /**
   * Aborted when the client is gone (a cancelled gRPC stream, an HTTP connection closed before its response): a
   * streaming ensemble then starts no further steps, and a Python model's request reports is_cancelled().
   */
  readonly signal?: CancelSignal;
}

export interface InferResponse {
  readonly model: string;
  readonly version: string;
  readonly id?: string;
  readonly parameters?: Parameters;
  readonly outputs: InferOutputTensor[];
  /** The request's trace when it was sampled and its frontend finishes it (see InferRequest.received). */
  readonly trace?: RequestTrace;
}

export interface TensorMetadata {
  readonly name: string;
  readonly datatype: DataType;
  /** -1 for a variable dimension; a leading -1 is the batch dimension when max_batch_size > 0. */
  readonly shape: number[];
}

export interface ServerMetadata {
  readonly name: string;
  readonly version: string;
  readonly extensions: string[];
}

export interface ModelMetadata {
  readonly name: string;
  readonly versions: string[];
  readonly platform: string;
  readonly inputs: TensorMetadata[];
  readonly outputs: TensorMetadata[];
}

/** Triton's model states in the repository index. */
export type ModelState = 'UNKNOWN' | 'LOADING' | 'READY' | 'UNLOADING' | 'UNAVAILABLE';

export interface RepositoryIndexEntry {
  readonly name: string;
  readonly version?: string;
  readonly state?: ModelState;
  readonly reason?: string;
}

/** The parameter name prefix Triton gives model files in a load request (`file:1/model.onnx`). */
export const LOAD_FILE_PARAMETER_PREFIX = 'file:';

export interface LoadOptions {
  /** A model configuration in JSON that replaces config.pbtxt for this load (Triton's "config" parameter). */
  readonly config?: string;
  /** Model files sent with the load (Triton's `file:<path>` parameters): path in the model folder → contents. */
  readonly files?: ReadonlyMap<string, Uint8Array>;
}

export interface UnloadOptions {
  readonly unloadDependents?: boolean;
}
