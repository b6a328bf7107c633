/** What both transports offer, and the shapes they return (the same JSON shapes the server's HTTP API uses). */
import type { ModelStatistics, StatDuration } from '../server/core/statistics';
import type { InferInput, InferOptions, InferResult } from './tensor';

/** A failed call: the server's message, with the HTTP status or the gRPC status code. */
export class InferenceServerError extends Error {
  constructor(
    message: string,
    /** HTTP status (HTTP transport). */
    readonly httpStatus?: number,
    /** gRPC status code (gRPC transport), e.g. 5 NOT_FOUND, 3 INVALID_ARGUMENT. */
    readonly grpcCode?: number,
  ) {
    super(message);
    this.name = 'InferenceServerError';
  }
}

export interface ServerMetadata {
  name: string;
  version: string;
  extensions: string[];
}

export interface TensorMetadata {
  name: string;
  datatype: string;
  shape: number[];
}

export interface ModelMetadata {
  name: string;
  versions: string[];
  platform: string;
  inputs: TensorMetadata[];
  outputs: TensorMetadata[];
}

/** A model configuration in protobuf JSON with proto field names (max_batch_size, input, output, ...). */
export type ModelConfig = { name: string; max_batch_size?: number; [field: string]: unknown };

/** Statistics have the server's shape (Triton's statistics extension). */
export type { ModelStatistics, StatDuration };

/** One registered system shared memory region (Triton's status fields). */
export interface SystemSharedMemoryRegion {
  name: string;
  key: string;
  offset: number;
  byte_size: number;
}

export interface RepositoryIndexEntry {
  name: string;
  version?: string;
  state?: string;
  reason?: string;
}

/** One response of a stream: a result, or the error the server reported for one request (the stream goes on). */
export type StreamResponse =
  | { readonly ok: true; readonly id?: string; readonly result: InferResult }
  | { readonly ok: false; readonly id?: string; readonly error: InferenceServerError };

/** A bidirectional inference stream (gRPC ModelStreamInfer). Iterate it for responses, in completion order. */
export interface InferStream extends AsyncIterable<StreamResponse> {
  send(model: string, inputs: readonly InferInput[], options?: Omit<InferOptions, 'signal' | 'timeoutMs'>): void;
  /** No more requests: iteration ends after the last response. */
  end(): void;
  /** Abort the stream. */
  cancel(): void;
}

export interface Transport {
  isServerLive(): Promise<boolean>;
  isServerReady(): Promise<boolean>;
  isModelReady(model: string, version?: string): Promise<boolean>;
  serverMetadata(): Promise<ServerMetadata>;
  modelMetadata(model: string, version?: string): Promise<ModelMetadata>;
  modelConfig(model: string, version?: string): Promise<ModelConfig>;
  modelStatistics(model?: string, version?: string): Promise<ModelStatistics[]>;
  repositoryIndex(readyOnly?: boolean): Promise<RepositoryIndexEntry[]>;
  loadModel(model: string, options?: { config?: string | object }): Promise<void>;
  unloadModel(model: string, options?: { unloadDependents?: boolean }): Promise<void>;
  infer(model: string, inputs: readonly InferInput[], options?: InferOptions): Promise<InferResult>;
  /** Every registered system shared memory region, or the named one. */
  systemSharedMemoryStatus(name?: string): Promise<SystemSharedMemoryRegion[]>;
  /** Register `byteSize` bytes at `offset` of the shared memory object `key` (shm_open's name) under `name`. */
  registerSystemSharedMemory(name: string, key: string, byteSize: number, offset?: number): Promise<void>;
  /** Unregister one region, or every region when no name is given. */
  unregisterSystemSharedMemory(name?: string): Promise<void>;
  close(): Promise<void>;
}
