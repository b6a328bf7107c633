/** InferenceServerClient: one API over HTTP/REST (undici) or gRPC (@grpc/grpc-js). */
import type {
  InferStream,
  ModelConfig,
  ModelMetadata,
  ModelStatistics,
  RepositoryIndexEntry,
  ServerMetadata,
  SystemSharedMemoryRegion,
  Transport,
} from './api';
import { GrpcClientOptions, GrpcTransport } from './grpc';
import { HttpClientOptions, HttpTransport } from './http';
import type { InferInput, InferOptions, InferResult } from './tensor';

export type Protocol = 'http' | 'grpc';

export interface InferenceServerClientOptions {
  /** host:port (http:// optional for HTTP). @default 'localhost:8000' for HTTP, 'localhost:8001' for gRPC */
  readonly url?: string;
  /** @default 'http' */
  readonly protocol?: Protocol;
  readonly http?: HttpClientOptions;
  readonly grpc?: GrpcClientOptions;
}

export class InferenceServerClient {
  readonly protocol: Protocol;
  readonly url: string;
  private readonly transport: Transport;

  constructor(options: InferenceServerClientOptions = {}) {
    this.protocol = options.protocol ?? 'http';
    this.url = options.url ?? (this.protocol === 'grpc' ? 'localhost:8001' : 'localhost:8000');
    this.transport = this.protocol === 'grpc' ? new GrpcTransport(this.url, options.grpc) : new HttpTransport(this.url, options.http);
  }

  isServerLive(): Promise<boolean> {
    return this.transport.isServerLive();
  }

  isServerReady(): Promise<boolean> {
    return this.transport.isServerReady();
  }

  isModelReady(model: string, version?: string): Promise<boolean> {
    return this.transport.isModelReady(model, version);
  }

  serverMetadata(): Promise<ServerMetadata> {
    return this.transport.serverMetadata();
  }

  modelMetadata(model: string, version?: string): Promise<ModelMetadata> {
    return this.transport.modelMetadata(model, version);
  }

  modelConfig(model: string, version?: string): Promise<ModelConfig> {
    return this.transport.modelConfig(model, version);
  }

  /** Statistics of every model, of one model, or of one model version. */
  modelStatistics(model?: string, version?: string): Promise<ModelStatistics[]> {
    return this.transport.modelStatistics(model, version);
  }

  repositoryIndex(readyOnly = false): Promise<RepositoryIndexEntry[]> {
    return this.transport.repositoryIndex(readyOnly);
  }

  /** Load or reload a model (explicit model control); `config` overrides its config.pbtxt. */
  loadModel(model: string, options?: { config?: string | object }): Promise<void> {
    return this.transport.loadModel(model, options);
  }

  unloadModel(model: string, options?: { unloadDependents?: boolean }): Promise<void> {
    return this.transport.unloadModel(model, options);
  }

  infer(model: string, inputs: readonly InferInput[], options?: InferOptions): Promise<InferResult> {
    return this.transport.infer(model, inputs, options);
  }

  /** Every registered system shared memory region, or the named one. */
  systemSharedMemoryStatus(name?: string): Promise<SystemSharedMemoryRegion[]> {
    return this.transport.systemSharedMemoryStatus(name);
  }

  /** Register `byteSize` bytes at `offset` of the POSIX shared memory object `key` (e.g. '/input0') as region `name`. */
  registerSystemSharedMemory(name: string, key: string, byteSize: number, offset = 0): Promise<void> {
    return this.transport.registerSystemSharedMemory(name, key, byteSize, offset);
  }

  /** Unregister one region, or every region when no name is given. */
  unregisterSystemSharedMemory(name?: string): Promise<void> {
    return this.transport.unregisterSystemSharedMemory(name);
  }

  /** A bidirectional inference stream (gRPC only): `send` requests, `for await` the responses. */
  stream(options?: { timeoutMs?: number }): InferStream {
    if (!(this.transport instanceof GrpcTransport)) throw new Error('streaming inference needs the gRPC protocol');
    return this.transport.stream(options);
  }

  close(): Promise<void> {
    return this.transport.close();
  }
}
