import { modelConfigToJson } from '../config/config-json';
import { parseModelConfigJson } from '../config/config-from-json';
import { composingModelNames } from '../config/ensemble-graph';
import type { ModelConfig, NormalizedModelConfig } from '../config/model-config';
import type { LoadedModelVersion } from '../repository/loaded-version';
import type { ModelManager } from '../repository/model-manager';
import type { ComposingModelRunner, StepRequest, StepResult } from '../scheduler/ensemble-scheduler';
import { shapeStepInputs, type SourceBatchSize } from '../scheduler/ensemble-reshape';
import { CacheOutcome, executeWithCache } from './cached-execution';
import { classCount, classify } from './classification';
import { Errors, InferenceError, toInferenceError } from './errors';
import { LogSettings, LogSettingsController, LogSettingValue } from './log-settings';
import { ObserverHub } from './observer';
import { recordFailed, recordServed, RequestAccount } from './request-accounting';
import { backendParameters, schedulingParameters } from './request-parameters';
import { checkInputHeaders, checkLoadableModelName, InputHeader, selectOutputs, validateInputs } from './request-validation';
import type { ResponseCache } from './response-cache';
import { inSequence, sequenceFlags } from './sequence-parameters';
import type { InferenceServiceApi } from './service-api';
import { runDecoupled } from './decoupled-execution';
import { modelMetadataOf } from './model-metadata';
import { decoupledRefusal } from './streaming';
import type { InferCaller, InferStreamListener } from './streaming';
import { SystemSharedMemoryRegionStatus, SystemSharedMemoryRegistry } from './shared-memory';
import { RequestSharedMemory } from './shared-memory-tensors';
import type { ExecutionTimings, ModelStatistics } from './statistics';
import type { Tensor } from './tensor';
import { RequestTrace } from './request-trace';
import type { TraceSettingChanges } from './trace-changes';
import { TraceManager, TraceSettingsView } from './trace-manager';
import type {
  InferRequest,
  InferResponse,
  LoadOptions,
  ModelMetadata,
  Parameters,
  RepositoryIndexEntry,
  ServerMetadata,
  UnloadOptions,
} from './types';
import type { ModelControlMode } from '../contract';
import type { JobResult, SchedulerJob } from '../scheduler/scheduler';

/** Server metadata `name` unless --id says otherwise: Triton's default server id. */
export const DEFAULT_SERVER_ID = 'triton';
export const SERVER_VERSION = '0.1.0';
/** Triton's extension names, for the ones this server implements. */
export const SERVER_EXTENSIONS = [
  'classification',
  'model_repository',
  'model_repository(unload_dependents)',
  'model_configuration',
  'binary_tensor_data',
  'statistics',
  'logging',
  'system_shared_memory',
  'sequence',
  'schedule_policy',
  'trace',
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
  /** The server's response cache (--cache-config); absent: no model caches, whatever its config says. */
  readonly responseCache?: ResponseCache;
  /** Triton's trace extension settings (default: tracing OFF, settings changeable at run time). */
  readonly tracer?: TraceManager;
  /** Server metadata `name` (Triton's --id). @default DEFAULT_SERVER_ID */
  readonly serverId?: string;
  /**
   * Triton's --allow-client-shm: clients may register and unregister shared memory regions. Status stays readable
   * either way; backends' own shared memory (the Python backend's) is not affected. @default false, as Triton
   */
  readonly allowClientSharedMemory?: boolean;
}

/** The facade under both frontends: validates requests against the model config and hands them to the scheduler. */
export class InferenceService implements InferenceServiceApi, ComposingModelRunner {
  private stopping = false;
  private readonly observers: ObserverHub;
  private readonly logging: LogSettingsController;
  readonly sharedMemory: SystemSharedMemoryRegistry;
  readonly tracer: TraceManager;

  constructor(private readonly options: InferenceServiceOptions) {
    this.tracer = options.tracer ?? new TraceManager();
    this.observers = options.observers ?? new ObserverHub();
    this.logging = options.logSettings ?? new LogSettingsController();
    this.sharedMemory = options.sharedMemory ?? new SystemSharedMemoryRegistry();
    options.manager.attachComposingRunner(this);
  }

  logSettings(): LogSettings {
    return this.logging.current();
  }

  updateLogSettings(changes: Readonly<Record<string, LogSettingValue>>): LogSettings {
    return this.logging.update(changes);
  }

  /** Whether a request may be traced now: frontends take their receive timestamps only then. */
  isTracing(): boolean {
    return this.tracer.active;
  }

  /** Triton's trace extension: the global settings, or those in force for a ready model. */
  traceSettings(model?: string): TraceSettingsView {
    if (model !== undefined) this.checkTraceModel(model);
    return this.tracer.settings(model);
  }

  updateTraceSettings(model: string | undefined, changes: TraceSettingChanges): TraceSettingsView {
    if (model !== undefined) this.checkTraceModel(model);
    return this.tracer.update(model, changes);
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
    return { name: this.options.serverId ?? DEFAULT_SERVER_ID, version: SERVER_VERSION, extensions: [...SERVER_EXTENSIONS] };
  }

  isModelReady(model: string, version?: string): boolean {
    try {
      this.options.manager.getReady(model, version);
      return true;
    } catch {
      return false;
    }
  }

  isDecoupled(model: string, version?: string): boolean {
    try {
      return streamsResponses(this.options.manager.getReady(model, version));
    } catch {
      return false;
    }
  }

  modelMetadata(model: string, version?: string): ModelMetadata {
    const versions = this.options.manager.readyVersions(model).map((v) => String(v.version));
    return modelMetadataOf(model, this.options.manager.getReady(model, version).config, version ? [version] : versions);
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
    checkLoadableModelName(model);
    let override: ModelConfig | undefined;
    if (options.config !== undefined) {
      try {
        override = parseModelConfigJson(options.config, 'config');
      } catch (error) {
        throw Errors.loadFailed(model, (error as Error).message);
      }
    }
    await this.options.manager.load(model, override, options.files && options.files.size > 0 ? options.files : undefined);
  }

  async unloadModel(model: string, options: UnloadOptions = {}): Promise<void> {
    this.checkModelControl();
    const composing = this.options.manager.composingModels(model);
    await this.options.manager.unload(model);
    // Triton's unload_dependents: an ensemble's composing models go too, unless another loaded ensemble still uses
    // them (those not served are skipped).
    if (options.unloadDependents) {
      const inUse = new Set(this.options.manager.readyVersions().flatMap((version) => composingModelNames(version.config)));
      const unused = composing.filter((name) => !inUse.has(name));
      await Promise.all(unused.map((name) => this.unloadModel(name, options).catch(() => undefined)));
    }
  }

  systemSharedMemoryStatus(name?: string): SystemSharedMemoryRegionStatus[] {
    return this.sharedMemory.status(name);
  }

  registerSystemSharedMemory(name: string, key: string, offset: number, byteSize: number): void {
    this.checkClientSharedMemoryAllowed();
    this.sharedMemory.register(name, key, offset, byteSize);
  }

  unregisterSystemSharedMemory(name?: string): void {
    this.checkClientSharedMemoryAllowed();
    this.sharedMemory.unregister(name);
  }

  /** Triton refuses client registration and unregistration (never status) unless --allow-client-shm=true. */
  checkClientSharedMemoryAllowed(): void {
    if (this.options.allowClientSharedMemory !== true) throw Errors.clientSharedMemoryDisabled();
  }

  /** No CUDA here: nothing is ever registered, and registering is refused (UNSUPPORTED). */
  cudaSharedMemoryStatus(name?: string): [] {
    if (name) throw Errors.cudaShmStatusNotFound(name);
    return [];
  }

  registerCudaSharedMemory(): never {
    this.checkClientSharedMemoryAllowed();
    throw Errors.cudaSharedMemoryUnsupported();
  }

  /** Nothing can be registered, so there is nothing to unregister: success, as Triton answers for unknown names. */
  unregisterCudaSharedMemory(): void {
    this.checkClientSharedMemoryAllowed();
  }

  checkInferTarget(model: string, version: string | undefined, rid: string | undefined, inputs: readonly InputHeader[]): void {
    let loaded: LoadedModelVersion | undefined;
    try {
      loaded = this.options.manager.getReady(model, version);
      // No headers yet (the frontends' first call, before the body is parsed): only the model is checked.
      if (inputs.length > 0) checkInputHeaders(loaded.config, inputs, rid);
    } catch (error) {
      const failure = toInferenceError(error);
      const account = loaded ? this.accountOf(loaded) : { observers: this.observers, model, version: version ?? '' };
      recordFailed(account, failure.failureReason, 0);
      throw failure;
    }
  }

  async infer(request: InferRequest, caller: InferCaller = 'http'): Promise<InferResponse> {
    return (await this.serve(request, true, caller)).response;
  }

  /** One ensemble step: a request of its own to the composing model, counted in its statistics and metrics. */
  async runStep(step: StepRequest): Promise<StepResult> {
    const { request, batchSize } = this.shapeStep(step);
    const { response, queueNs, timings } = await this.serve(request, false, 'ensemble', step.trace instanceof RequestTrace ? step.trace : undefined);
    return { outputs: response.outputs, batchSize, queueNs, timings };
  }

  /** One ensemble step on a decoupled composing model: its responses' outputs as they come; a failed one throws. */
  async runStepStream(step: StepRequest, onResponse: (outputs: Tensor[], batchSize: SourceBatchSize) => void): Promise<void> {
    const { request, batchSize } = this.shapeStep(step);
    let failure: InferenceError | undefined;
    await this.stream(request, (event) => {
      if (!event || failure) return;
      if ('error' in event) failure = event.error;
      else onResponse(event.response.outputs, batchSize);
    }, false);
    if (failure) throw failure;
  }

  /** A step's request, its inputs shaped for the composing model as Triton's ensemble scheduler shapes them. */
  private shapeStep(step: StepRequest): { request: InferRequest; batchSize: SourceBatchSize } {
    let config: NormalizedModelConfig | undefined;
    try {
      config = this.options.manager.getReady(step.model, step.version).config;
    } catch {
      // serve() meets the same error again, and answers it.
      return { request: stepInferRequest(step, step.inputs), batchSize: 0 };
    }
    const { inputs, batchSize } = shapeStepInputs(config, step.inputs, step.inputBatchSizes);
    return { request: stepInferRequest(step, inputs), batchSize };
  }

  /** A client's request (`external`: refused once shutdown began) or an ensemble step (finishes during the drain). */
  private async serve(
    request: InferRequest,
    external: boolean,
    caller: InferCaller,
    /** An ensemble step's: the ensemble request's trace, which the step's trace hangs under (never sampled alone). */
    parentTrace?: RequestTrace,
  ): Promise<{ response: InferResponse; queueNs: number; timings: ExecutionTimings }> {
    const started = process.hrtime.bigint();
    const trace = parentTrace
      ? this.tracer.childOf(parentTrace, request.model)
      : caller !== 'ensemble' && this.tracer.active
        ? this.startTrace(request)
        : undefined;
    trace?.capture('REQUEST_START', started);
    let loaded: LoadedModelVersion | undefined;
    const shm = new RequestSharedMemory(this.sharedMemory);
    try {
      if (external && this.stopping) throw Errors.serverShuttingDown();
      const scheduling = schedulingParameters(request.parameters);
      loaded = this.options.manager.getReady(request.model, request.version);
      if (streamsResponses(loaded)) throw decoupledRefusal(caller, request.model);
      if (trace) trace.version = loaded.version;
      const { inputs, batchSize } = validateInputs(loaded.config, shm.resolveInputs(request.model, request.inputs), request.id);
      if (trace?.tracesTensors) for (const input of inputs) trace.captureTensor('TENSOR_QUEUE_INPUT', input);
      const outputNames = selectOutputs(loaded.config, request);
      shm.reserveOutputs(request.outputs);
      // Parsed for every model, as Triton's frontends do; only the sequence batcher reads them.
      const sequence = sequenceFlags(request.parameters);
      const job: SchedulerJob = {
        inputs,
        outputNames,
        batchSize,
        ...scheduling,
        // Read by the sequence batcher, and by the ensemble scheduler, which gives them to every step (as Triton).
        sequence,
        requestId: request.id,
        parameters: backendParameters(request.parameters),
        trace,
        signal: request.signal,
      };
      let result: JobResult;
      let cache: CacheOutcome | undefined;
      const responseCache = this.options.responseCache;
      if (responseCache !== undefined && loaded.config.response_cache?.enable === true) {
        const version = loaded;
        const owner = { model: version.name, version: String(version.version), token: version };
        ({ result, cache } = await executeWithCache(responseCache, owner, inputs, outputNames, () => version.scheduler.enqueue(job)));
      } else {
        result = await loaded.scheduler.enqueue(job);
      }
      if (trace?.tracesTensors) for (const output of result.outputs) trace.captureTensor('TENSOR_BACKEND_OUTPUT', output);
      const requested = request.outputs && new Map(request.outputs.map((output) => [output.name, output.parameters]));
      const outputs: Tensor[] = [];
      // Backends answer in the order asked (ONNX Runtime always): a map by name only for one that does not.
      let byName: Map<string, Tensor> | undefined;
      for (let i = 0; i < outputNames.length; i++) {
        const name = outputNames[i];
        let tensor: Tensor | undefined = result.outputs[i];
        if (tensor?.name !== name) tensor = (byName ??= new Map(result.outputs.map((output) => [output.name, output]))).get(name);
        if (!tensor) continue;
        const k = requested && classCount(requested.get(name), name);
        outputs.push(k === undefined ? tensor : classify(tensor, k, loaded.config.max_batch_size > 0, loaded.labels.get(name)));
      }
      const written = shm.writeOutputs(outputs);
      const requestNs = Number(process.hrtime.bigint() - started);
      recordServed(this.accountOf(loaded), batchSize, requestNs, result, cache);
      const response: InferResponse = {
        model: request.model,
        version: String(loaded.version),
        ...(request.id !== undefined ? { id: request.id } : {}),
        ...(result.parameters ? { parameters: result.parameters } : {}),
        outputs: written,
      };
      if (trace) {
        trace.capture('REQUEST_END');
        // A frontend that took receive timestamps adds its send timestamps, then finishes the trace.
        if (request.received) return { response: { ...response, trace }, queueNs: result.queueNs, timings: result.timings };
        trace.finish();
      }
      return { response, queueNs: result.queueNs, timings: result.timings };
    } catch (error) {
      if (trace) {
        trace.capture('REQUEST_END');
        trace.finish();
      }
      const failure = toInferenceError(error);
      const requestNs = Number(process.hrtime.bigint() - started);
      const account = loaded ? this.accountOf(loaded) : { observers: this.observers, model: request.model, version: request.version ?? '' };
      recordFailed(account, failure.failureReason, requestNs);
      throw failure;
    } finally {
      shm.release();
    }
  }

  /** Sample the request; a sampled one starts with its frontend's receive timestamps (REQUEST_START comes next). */
  private startTrace(request: InferRequest): RequestTrace | undefined {
    const trace = this.tracer.sample(request.model, request.id);
    if (!trace) return undefined;
    const received = request.received;
    if (received?.protocol === 'HTTP') {
      trace.capture('HTTP_RECV_START', received.startNs);
      trace.capture('HTTP_RECV_END', received.endNs);
    } else if (received?.protocol === 'GRPC') {
      trace.capture('GRPC_WAITREAD_START', received.startNs);
      trace.capture('GRPC_WAITREAD_END', received.endNs);
    }
    return trace;
  }

  /** Triton answers trace settings only for a ready model, with its own wording. */
  private checkTraceModel(model: string): void {
    if (!this.isModelReady(model)) throw Errors.traceUnknownModel(model);
  }

  /** InferenceRunner for backends (Python BLS): the normal path, with BLS's refusal of decoupled targets. */
  inferForBackend(request: InferRequest): Promise<InferResponse> {
    // A backend's call (BLS) belongs to a request already accepted: served during shutdown's drain, as ensemble steps.
    return this.serve(request, false, 'bls').then((served) => served.response);
  }

  /**
   * Every response of a request as it comes (gRPC ModelStreamInfer, HTTP generate_stream): a decoupled model's any
   * number, then the final flag; any other model's one response, final. Resolves after the final flag; rejects
   * (InferenceError) when the request fails as a whole.
   */
  inferStream(request: InferRequest, listener: InferStreamListener): Promise<void> {
    return this.stream(request, listener, true);
  }

  /** BLS `exec(decoupled=True)`: as inferStream, for a request already accepted (served during the drain). */
  inferStreamForBackend(request: InferRequest, listener: InferStreamListener): Promise<void> {
    return this.stream(request, listener, false);
  }

  private async stream(request: InferRequest, listener: InferStreamListener, external: boolean): Promise<void> {
    let loaded: LoadedModelVersion | undefined;
    if (!(external && this.stopping)) {
      try {
        loaded = this.options.manager.getReady(request.model, request.version);
      } catch {
        loaded = undefined; // serve() meets the same error again, and counts it
      }
    }
    if (!loaded || !streamsResponses(loaded)) {
      listener({ response: (await this.serve(request, external, 'stream')).response }, true);
      return;
    }
    await runDecoupled(loaded, request, listener, { sharedMemory: this.sharedMemory, observers: this.observers });
  }

  private accountOf(loaded: LoadedModelVersion): RequestAccount {
    return { stats: loaded.stats, observers: this.observers, model: loaded.name, version: String(loaded.version) };
  }

  private checkModelControl(): void {
    if (this.options.controlMode !== 'explicit') throw Errors.modelControlDisabled();
  }
}

/** A decoupled model, or an ensemble with one among its steps (Triton makes that ensemble decoupled too). */
function streamsResponses(loaded: LoadedModelVersion): boolean {
  return loaded.config.model_transaction_policy?.decoupled === true || loaded.scheduler.hasDecoupledStep?.() === true;
}

/** The request an ensemble step makes of its composing model: the ensemble request's parameters go with it. */
function stepInferRequest(step: StepRequest, inputs: Tensor[]): InferRequest {
  const parameters: Parameters = { ...step.parameters };
  if (step.priority !== undefined) parameters.priority = step.priority;
  if (step.timeoutUs !== undefined) parameters.timeout = step.timeoutUs;
  if (step.sequence && inSequence(step.sequence.id)) {
    parameters.sequence_id = step.sequence.id;
    parameters.sequence_start = step.sequence.start;
    parameters.sequence_end = step.sequence.end;
  }
  return {
    model: step.model,
    version: step.version,
    ...(step.requestId !== undefined ? { id: step.requestId } : {}),
    parameters,
    inputs,
    outputs: step.outputNames.map((name) => ({ name })),
    // The ensemble request's cancellation reaches its composing models' requests (as Triton's ensemble forwards it).
    ...(step.signal ? { signal: step.signal } : {}),
  };
}
