import type { ModelConfig } from '../config/model-config';
import type { LogSettings, LogSettingValue } from './log-settings';
import type { SystemSharedMemoryRegionStatus } from './shared-memory';
import type { InferCaller, InferStreamListener } from './streaming';

export type { InferCaller } from './streaming';
import type { InputHeader } from './request-validation';
import type { ModelStatistics } from './statistics';
import type { TraceSettingChanges } from './trace-changes';
import type { TraceSettingsView } from './trace-manager';
import type {
  InferRequest,
  InferResponse,
  LoadOptions,
  ModelMetadata,
  RepositoryIndexEntry,
  ServerMetadata,
  UnloadOptions,
} from './types';

/**
 * The one facade both frontends (HTTP, gRPC) call: one behaviour, two encodings.
 * Methods throw or reject with InferenceError from core/errors.ts only.
 */
export interface InferenceServiceApi {
  isLive(): boolean;
  /** Strict readiness: every model the server was asked to serve is ready (Triton's --strict-readiness). */
  isReady(): boolean;
  serverMetadata(): ServerMetadata;
  /** Whether the model (the given version, or any ready version) can serve; never throws. */
  isModelReady(model: string, version?: string): boolean;
  modelMetadata(model: string, version?: string): ModelMetadata;
  /** The effective configuration (after defaults and auto-complete) in protobuf JSON with proto field names. */
  modelConfig(model: string, version?: string): ModelConfig;
  /** Statistics of every ready version of every model, of one model, or of one model version. */
  modelStatistics(model?: string, version?: string): ModelStatistics[];
  repositoryIndex(readyOnly?: boolean): Promise<RepositoryIndexEntry[]>;
  loadModel(model: string, options?: LoadOptions): Promise<void>;
  unloadModel(model: string, options?: UnloadOptions): Promise<void>;
  /**
   * Refuse a request before its tensors are decoded: the model and version must be ready, and each input's name and
   * datatype the model's (the same errors infer gives, counted as failures the same way). Frontends call it with the
   * input headers, then decode the data.
   */
  checkInferTarget(model: string, version: string | undefined, rid: string | undefined, inputs: readonly InputHeader[]): void;
  /**
   * One request, one response. `caller` picks the refusal a decoupled model gets (Triton words it per endpoint):
   * 'http' (default), 'grpc' (ModelInfer), 'bls', 'stream' (never refused: a stream takes any model).
   */
  infer(request: InferRequest, caller?: InferCaller): Promise<InferResponse>;
  /** Whether the ready version of the model is decoupled; false when it has none. Never throws. */
  isDecoupled(model: string, version?: string): boolean;
  /** Streaming inference (decoupled models): see InferenceService.inferStream. */
  inferStream(request: InferRequest, listener: InferStreamListener): Promise<void>;
  /** Triton's logging extension: the settings in force. */
  logSettings(): LogSettings;
  /** Change some log settings (all validated before any applies); returns the settings now in force. */
  updateLogSettings(changes: Readonly<Record<string, LogSettingValue>>): LogSettings;
  /** Whether a request may be traced now (frontends take their receive timestamps only then). */
  isTracing(): boolean;
  /** Triton's trace extension: the global settings, or those in force for a model (INVALID_ARG when not ready). */
  traceSettings(model?: string): TraceSettingsView;
  /** Change the global or a model's trace settings (null / empty list clears one); returns the settings now in force. */
  updateTraceSettings(model: string | undefined, changes: TraceSettingChanges): TraceSettingsView;
  /** Triton's system_shared_memory extension: every region, or the named one (NOT_FOUND when unknown). */
  systemSharedMemoryStatus(name?: string): SystemSharedMemoryRegionStatus[];
  /** Fails with UNSUPPORTED (Triton's text) unless the server allows client shared memory (--allow-client-shm). */
  checkClientSharedMemoryAllowed(): void;
  registerSystemSharedMemory(name: string, key: string, offset: number, byteSize: number): void;
  /** One region, or all when no name is given; an unknown name is no error. */
  unregisterSystemSharedMemory(name?: string): void;
  /** CUDA shared memory is not supported: status is always empty, register always fails with UNSUPPORTED. */
  cudaSharedMemoryStatus(name?: string): [];
  registerCudaSharedMemory(name: string): never;
  /** Allowed or not as system shared memory is; there is never a region to remove. */
  unregisterCudaSharedMemory(name?: string): void;
}
