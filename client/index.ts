/** The client package: InferenceServerClient for HTTP and gRPC, typed tensors, and the shapes the server returns. */
export { InferenceServerClient } from './client';
export type { InferenceServerClientOptions, Protocol } from './client';
export { InferenceServerError } from './api';
export type {
  InferStream,
  ModelConfig,
  ModelMetadata,
  ModelStatistics,
  RepositoryIndexEntry,
  ServerMetadata,
  StatDuration,
  StreamResponse,
  SystemSharedMemoryRegion,
  TensorMetadata,
} from './api';
export { InferInput, InferResult, datatypeOf } from './tensor';
export type { DataType, InferOptions, InferRequestedOutput, OutputTensor, SharedMemoryWindow, TypedArray } from './tensor';
export type { HttpClientOptions } from './http';
export type { GrpcClientOptions } from './grpc';
