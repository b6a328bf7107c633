import { modelConfigToJson } from '../config/config-json';
import { parseModelConfigJson } from '../config/config-from-json';
import { configToKserve } from '../config/datatypes';
import type { ModelConfig, NormalizedModelConfig } from '../config/model-config';
import type { LoadedModelVersion } from '../repository/loaded-version';
import type { ModelManager } from '../repository/model-manager';
import { classCount, classify } from './classification';
import { DATATYPES, elementCount } from './datatypes';
import { Errors, toInferenceError } from './errors';
import { LogSettings, LogSettingsController, LogSettingValue } from './log-settings';
import { ObserverHub } from './observer';
import { schedulingParameters } from './request-parameters';
import { sequenceFlags } from './sequence-parameters';
import type { InferenceServiceApi } from './service-api';
import { decoupledRefusal, toStreamEvent } from './streaming';
import type { InferCaller, InferStreamListener } from './streaming';
import { SystemSharedMemoryRegionStatus, SystemSharedMemoryRegistry } from './shared-memory';
import { RequestSharedMemory } from './shared-memory-tensors';
import type { ModelStatistics } from './statistics';
import type { Tensor } from './tensor';
import type {
  InferInputTensor,
  InferRequest,
  InferResponse,
  LoadOptions,
  ModelMetadata,
  RepositoryIndexEntry,
  ServerMetadata,
  TensorMetadata,
  UnloadOptions,
} from './types';
import type { ModelControlMode } from '../contract';

export const SERVER_NAME = 'cdk8s-inference-server';
export const SERVER_VERSION = '0.1.0';
/** Triton's extension names, for the ones this server implements. */
export const SERVER_EXTENSIONS = [
  'classification',
  'model_repository',
  'model_configuration',
  'binary_tensor_data',
  'statistics',
  'logging',
  'system_shared_memory',
  'sequence',
  'schedule_policy',
  'generate',
];

export interface InferenceServiceOptions {
  readonly manager: ModelManager;
  readonly controlMode: ModelControlMode;
  /** Triton's --strict-readiness: ready only when every model is ready (else: when the server is live). */
  readonly strictReadiness: boolean;
  /** Receives one RequestEvent per inference request. */
  readonly observers?: ObserverHub;
  /** Triton's logging extension settings (and the logger they drive); default: settings that drive no logger. */
  readonly logSettings?: LogSettingsController;
  /** Registered system shared memory regions (default: a fresh, empty registry). */
  readonly sharedMemory?: SystemSharedMemoryRegistry;
}

/** The facade under both frontends: validates requests against the model config and hands them to the scheduler. */
export class InferenceService implements InferenceServiceApi {
  private stopping = false;
  private readonly observers: ObserverHub;
  private readonly logging: LogSettingsController;
  readonly sharedMemory: SystemSharedMemoryRegistry;

  constructor(private readonly options: InferenceServiceOptions) {
    this.observers = options.observers ?? new ObserverHub();
    this.logging = options.logSettings ?? new LogSettingsController();
    this.sharedMemory = options.sharedMemory ?? new SystemSharedMemoryRegistry();
  }

  logSettings(): LogSettings {
    return this.logging.current();
  }

  updateLogSettings(changes: Readonly<Record<string, LogSettingValue>>): LogSettings {
    return this.logging.update(changes);
  }

  /** Refuse new inferences (shutdown); readiness turns false at once. */
  beginShutdown(): void {
    this.stopping = true;
  }

  isLive(): boolean {
    return true;
  }

  isReady(): boolean {
    if (this.stopping) return false;
    return this.options.strictReadiness ? this.options.manager.allReady() : true;
  }

  serverMetadata(): ServerMetadata {
    return { name: SERVER_NAME, version: SERVER_VERSION, extensions: [...SERVER_EXTENSIONS] };
  }

  isModelReady(model: string, version?: string): boolean {
    try {
      this.options.manager.getReady(model, version);
      return true;
    } catch {
      return false;
    }
  }

  modelMetadata(model: string, version?: string): ModelMetadata {
    const loaded = this.options.manager.getReady(model, version);
    const config = loaded.config;
    const batchDim = config.max_batch_size > 0 ? [-1] : [];
    const versions = this.options.manager.readyVersions(model).map((v) => String(v.version));
    return {
      name: model,
      versions: version ? [version] : versions,
      platform: config.platform,
      inputs: config.input.map(
        (input): TensorMetadata => ({
          name: input.name,
          datatype: configToKserve(input.data_type),
          shape: [...batchDim, ...input.dims],
        }),
      ),
      outputs: config.output.map(
        (output): TensorMetadata => ({
          name: output.name,
          datatype: configToKserve(output.data_type),
          shape: [...batchDim, ...output.dims],
        }),
      ),
    };
  }

  modelConfig(model: string, version?: string): ModelConfig {
    return modelConfigToJson(this.options.manager.getReady(model, version).config);
  }

  modelStatistics(model?: string, version?: string): ModelStatistics[] {
    if (model !== undefined && version !== undefined && version !== '') {
      return [this.options.manager.getReady(model, version).stats.snapshot()];
    }
    if (model !== undefined) this.options.manager.getReady(model);
    return this.options.manager.readyVersions(model).map((v) => v.stats.snapshot());
  }

  repositoryIndex(readyOnly = false): Promise<RepositoryIndexEntry[]> {
    return this.options.manager.index(readyOnly);
  }

  async loadModel(model: string, options: LoadOptions = {}): Promise<void> {
    this.checkModelControl();
    let override: ModelConfig | undefined;
    if (options.config !== undefined) {
      try {
        override = parseModelConfigJson(options.config, 'config');
      } catch (error) {
        throw Errors.loadFailed(model, (error as Error).message);
      }
    }
    await this.options.manager.load(model, override);
  }

  async unloadModel(model: string, options: UnloadOptions = {}): Promise<void> {
    void options.unloadDependents; // no ensembles yet: nothing depends on a model
    this.checkModelControl();
    await this.options.manager.unload(model);
  }

  systemSharedMemoryStatus(name?: string): SystemSharedMemoryRegionStatus[] {
    return this.sharedMemory.status(name);
  }

  registerSystemSharedMemory(name: string, key: string, offset: number, byteSize: number): void {
    this.sharedMemory.register(name, key, offset, byteSize);
  }

  unregisterSystemSharedMemory(name?: string): void {
    this.sharedMemory.unregister(name);
  }

  /** No CUDA here: nothing is ever registered, and registering is refused (UNSUPPORTED). */
  cudaSharedMemoryStatus(name?: string): [] {
    if (name) throw Errors.cudaShmStatusNotFound(name);
    return [];
  }

  registerCudaSharedMemory(): never {
    throw Errors.cudaSharedMemoryUnsupported();
  }

  async infer(request: InferRequest, caller: InferCaller = 'http'): Promise<InferResponse> {
    const started = process.hrtime.bigint();
    let loaded: LoadedModelVersion | undefined;
    const shm = new RequestSharedMemory(this.sharedMemory);
    try {
      if (this.stopping) throw Errors.serverShuttingDown();
      const scheduling = schedulingParameters(request.parameters);
      loaded = this.options.manager.getReady(request.model, request.version);
      if (loaded.config.model_transaction_policy?.decoupled) throw decoupledRefusal(caller, request.model);
      const { inputs, batchSize } = validateInputs(loaded.config, await shm.resolveInputs(request.inputs), request.id);
      const outputNames = selectOutputs(loaded.config, request);
      shm.reserveOutputs(request.outputs);
      // Parsed for every model, as Triton's frontends do; only the sequence batcher reads them.
      const sequence = sequenceFlags(request.parameters);
      const result = await loaded.scheduler.enqueue({
        inputs,
        outputNames,
        batchSize,
        ...scheduling,
        ...(loaded.config.sequence_batching ? { sequence, requestId: request.id } : {}),
      });
      const byName = new Map(result.outputs.map((output) => [output.name, output]));
      const requested = new Map((request.outputs ?? []).map((output) => [output.name, output.parameters]));
      const outputs: Tensor[] = [];
      for (const name of outputNames) {
        const tensor = byName.get(name);
        if (!tensor) continue;
        const k = classCount(requested.get(name), name);
        outputs.push(k === undefined ? tensor : classify(tensor, k, loaded.config.max_batch_size > 0, loaded.labels.get(name)));
      }
      const written = await shm.writeOutputs(outputs);
      const requestNs = Number(process.hrtime.bigint() - started);
      loaded.stats.recordSuccess(requestNs, result.queueNs, batchSize, result.timings);
      this.observers.onRequest({
        model: request.model,
        version: String(loaded.version),
        ok: true,
        batchSize,
        requestNs,
        queueNs: result.queueNs,
        computeInputNs: result.timings.computeInputNs,
        computeInferNs: result.timings.computeInferNs,
        computeOutputNs: result.timings.computeOutputNs,
      });
      return {
        model: request.model,
        version: String(loaded.version),
        ...(request.id !== undefined ? { id: request.id } : {}),
        outputs: written,
      };
    } catch (error) {
      const failure = toInferenceError(error);
      const requestNs = Number(process.hrtime.bigint() - started);
      if (loaded) loaded.stats.recordFailure(requestNs);
      this.observers.onRequest({
        model: request.model,
        version: loaded ? String(loaded.version) : (request.version ?? ''),
        ok: false,
        reason: failure.failureReason,
        batchSize: 1,
        requestNs,
      });
      throw failure;
    } finally {
      shm.release();
    }
  }

  /** InferenceRunner for backends (Python BLS): the normal path, with BLS's refusal of decoupled targets. */
  inferForBackend(request: InferRequest): Promise<InferResponse> {
    return this.infer(request, 'bls');
  }

  /**
   * Every response of a request as it comes (gRPC ModelStreamInfer, HTTP generate_stream, BLS exec(decoupled=True)):
   * a decoupled model's any number, then the final flag; any other model's one response, final. Resolves after the
   * final flag; rejects (InferenceError) when the request fails as a whole.
   */
  async inferStream(request: InferRequest, listener: InferStreamListener): Promise<void> {
    const loaded = this.stopping ? undefined : this.options.manager.getReady(request.model, request.version);
    if (!loaded?.config.model_transaction_policy?.decoupled) {
      listener({ response: await this.infer(request, 'stream') }, true);
      return;
    }
    const started = process.hrtime.bigint();
    const shm = new RequestSharedMemory(this.sharedMemory);
    try {
      if (loaded.config.sequence_batching) throw Errors.decoupledSequenceUnsupported(request.model);
      const scheduling = schedulingParameters(request.parameters);
      const { inputs, batchSize } = validateInputs(loaded.config, await shm.resolveInputs(request.inputs), request.id);
      const outputNames = selectOutputs(loaded.config, request);
      const header = { model: request.model, version: String(loaded.version), ...(request.id !== undefined ? { id: request.id } : {}) };
      const result = await loaded.scheduler.enqueue({
        inputs,
        outputNames,
        batchSize,
        ...scheduling,
        sink: (streamed, final) => listener(streamed && toStreamEvent(streamed, header), final),
      });
      const requestNs = Number(process.hrtime.bigint() - started);
      loaded.stats.recordSuccess(requestNs, result.queueNs, batchSize, result.timings);
      this.observers.onRequest({
        ...header,
        ok: true,
        batchSize,
        requestNs,
        queueNs: result.queueNs,
        computeInputNs: result.timings.computeInputNs,
        computeInferNs: result.timings.computeInferNs,
        computeOutputNs: result.timings.computeOutputNs,
      });
    } catch (error) {
      const failure = toInferenceError(error);
      const requestNs = Number(process.hrtime.bigint() - started);
      loaded.stats.recordFailure(requestNs);
      this.observers.onRequest({ model: request.model, version: String(loaded.version), ok: false, reason: failure.failureReason, batchSize: 1, requestNs });
      throw failure;
    } finally {
      shm.release();
    }
  }

  private checkModelControl(): void {
    if (this.options.controlMode === 'none') throw Errors.modelControlNone();
    if (this.options.controlMode === 'poll') throw Errors.modelControlDisabled();
  }
}

/** Check every input against the configuration: names, datatypes, shapes, batch size, element counts. */
function validateInputs(
  config: NormalizedModelConfig,
  inputs: readonly InferInputTensor[],
  rid: string | undefined,
): { inputs: Tensor[]; batchSize: number } {
  const model = config.name;
  const expected = new Map(config.input.map((input) => [input.name, input]));
  const seen = new Set<string>();
  let batchSize: number | undefined;
  for (const input of inputs) {
    const spec = expected.get(input.name);
    if (!spec) throw Errors.unexpectedInput(rid, model, input.name, [...expected.keys()]);
    if (seen.has(input.name)) throw Errors.duplicateInput(input.name);
    seen.add(input.name);
    const want = configToKserve(spec.data_type);
    if (input.datatype !== want) throw Errors.datatypeMismatch(rid, model, input.name, want, input.datatype);
    if (DATATYPES[input.datatype].ortType === null) throw Errors.datatypeNotRunnable(input.datatype, config.backend);
    const dims = spec.dims;
    let shape = input.shape;
    if (config.max_batch_size > 0) {
      if (shape.length === 0) throw Errors.shapeMismatch(rid, model, input.name, fmt([-1, ...dims]), fmt(shape));
      const batch = shape[0];
      if (batchSize !== undefined && batch !== batchSize) {
        throw Errors.batchMismatch(rid, input.name, batch, batchSize);
      }
      if (batch < 1 || batch > config.max_batch_size) throw Errors.batchTooLarge(rid, model, batch, config.max_batch_size);
      batchSize = batch;
      shape = shape.slice(1);
    }
    if (!shapeMatches(dims, shape)) {
      const expectedShape = config.max_batch_size > 0 ? [-1, ...dims] : dims;
      throw Errors.shapeMismatch(rid, model, input.name, fmt(expectedShape), fmt(input.shape));
    }
    const count = elementCount(input.shape);
    if (input.data.length !== count) throw Errors.elementCountMismatch(input.name, count, input.data.length);
  }
  const missing = config.input.filter((spec) => !seen.has(spec.name) && !spec.optional).map((spec) => spec.name);
  if (missing.length > 0) throw Errors.missingInputs(rid, model, config.input.length, [...seen], missing);
  return { inputs: inputs as Tensor[], batchSize: batchSize ?? 1 };
}

function shapeMatches(dims: readonly number[], shape: readonly number[]): boolean {
  if (dims.length !== shape.length) return false;
  return dims.every((dim, i) => dim === -1 || dim === shape[i]);
}

function fmt(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

function selectOutputs(config: NormalizedModelConfig, request: InferRequest): string[] {
  const all = config.output.map((output) => output.name);
  if (!request.outputs || request.outputs.length === 0) return all;
  const known = new Set(all);
  for (const output of request.outputs) {
    if (!known.has(output.name)) throw Errors.unexpectedOutput(config.name, output.name);
  }
  // A name requested twice is answered once, as Triton keeps requested outputs by name.
  return [...new Set(request.outputs.map((output) => output.name))];
}


