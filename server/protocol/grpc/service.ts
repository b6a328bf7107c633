/**
 * inference.GRPCInferenceService handlers over the core facade. Every handler decodes, calls the facade, encodes;
 * failures go through toGrpcError (errors.ts), the one place core error codes become gRPC status codes.
 */
import type { sendUnaryData, ServerUnaryCall, UntypedServiceImplementation } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { attachSignal, Cancellation } from '../../core/cancellation';
import { Errors, InferenceError } from '../../core/errors';
import type { LogSettings } from '../../core/log-settings';
import type { InferenceServiceApi } from '../../core/service-api';
import type { SystemSharedMemoryRegionStatus } from '../../core/shared-memory';
import type { ModelStatistics } from '../../core/statistics';
import { LOAD_FILE_PARAMETER_PREFIX, type InferRequest } from '../../core/types';
import { checkWith, decodeInferRequest, encodeInferResponse } from './codec';
import { toGrpcError } from './errors';
import { CallMetadata, received, StreamInferCall, streamInferHandler, withMetadata } from './stream-infer';
import type {
  LogSettingValueMessage,
  ModelInferRequestMessage,
  ModelInferResponseMessage,
  ModelMetadataResponseMessage,
  NameVersionRequest,
  RepositoryIndexRequestMessage,
  RepositoryModelIndexMessage,
  RepositoryModelRequestMessage,
  SystemSharedMemoryRegisterMessage,
} from './messages';

export interface GrpcServiceOptions {
  /** Unexpected (non-InferenceError) failures are logged here. */
  readonly logger?: Logger;
  /** --grpc-header-forward-pattern: matching metadata becomes parameters of ModelInfer / ModelStreamInfer requests. */
  readonly headerForwardPattern?: RegExp;
}

type Unary<Req, Res> = (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => void;

/** A unary handler from a function of the request; sync throws and rejections both become gRPC errors. */
function unary<Req, Res>(log: Logger | undefined, body: (request: Req) => Res | Promise<Res>): Unary<Req, Res> {
  return (call, callback) => {
    let result: Res | Promise<Res>;
    try {
      result = body(call.request);
    } catch (error) {
      fail(log, callback, error);
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (value) => callback(null, value),
        (error: unknown) => fail(log, callback, error),
      );
    } else {
      callback(null, result);
    }
  };
}

function fail<Res>(log: Logger | undefined, callback: sendUnaryData<Res>, error: unknown): void {
  if (!(error instanceof InferenceError)) log?.error({ err: error }, 'unexpected error while handling a gRPC call');
  callback(toGrpcError(error), null);
}

const version = (value: string | undefined): string | undefined => (value ? value : undefined);

/** The request with its GRPC_WAITREAD timestamps when tracing was on as it arrived. */
interface TraceSettingRequestMessage {
  readonly settings?: Record<string, { value?: string[] }>;
  readonly model_name?: string;
}

function statisticsMessage(stats: ModelStatistics): ModelStatistics {
  return { ...stats, response_stats: {}, memory_usage: [] };
}

/** The settings in Triton's LogSettingsResponse shape. */
function logSettingsMessage(settings: LogSettings): Record<string, LogSettingValueMessage> {
  return {
    log_file: { string_param: settings.log_file },
    log_info: { bool_param: settings.log_info },
    log_warning: { bool_param: settings.log_warning },
    log_error: { bool_param: settings.log_error },
    log_verbose_level: { uint32_param: settings.log_verbose_level },
    log_format: { string_param: settings.log_format },
  };
}

/** The value of the oneof field that is set (undefined when none is: the core refuses it with the expected type). */
function settingValue(value: LogSettingValueMessage): unknown {
  return value.parameter_choice === undefined ? undefined : value[value.parameter_choice];
}

/** The part of a unary ModelInfer call the handler uses: grpc-js's ServerUnaryCall or the lean path's call. */
export interface InferCall {
  readonly request: ModelInferRequestMessage;
  readonly metadata: CallMetadata;
  /** The client is gone (RST_STREAM, closed connection, deadline). */
  on(event: 'cancelled', listener: () => void): unknown;
}

export type InferCallback = sendUnaryData<ModelInferResponseMessage>;

/** The two inference handlers, shared by grpc-js's service and the lean path (lean-infer.ts). */
export interface InferHandlers {
  readonly modelInfer: (call: InferCall, callback: InferCallback) => void;
  readonly modelStreamInfer: (call: StreamInferCall) => void;
}

export function createInferHandlers(service: InferenceServiceApi, options: GrpcServiceOptions = {}): InferHandlers {
  const log = options.logger;
  const modelInfer = (call: InferCall, callback: InferCallback) => {
    const startNs = service.isTracing() ? process.hrtime.bigint() : undefined;
    let request: InferRequest;
    try {
      request = withMetadata(received(decodeInferRequest(call.request, checkWith(service, call.request)).request, startNs), call, options.headerForwardPattern);
    } catch (error) {
      fail(log, callback, error);
      return;
    }
    // As Triton's gRPC frontend: a cancelled call cancels its request (docs/user_guide/request_cancellation.md).
    // grpc-js 1.14 also emits 'cancelled' after every status it sends (sendStatus calls notifyOnCancel on success
    // too): once answered, that is not a client gone, and work the request left running (an ensemble's sibling steps
    // after a failed one) must not be cancelled by it.
    let answered = false;
    const cancellation = new Cancellation();
    // `on`, not `once` (no wrapper per call: the call and its listeners go together); the request was decoded for this
    // call alone, so it takes its signal in place instead of being copied whole.
    call.on('cancelled', () => {
      if (!answered) cancellation.cancel();
    });
    attachSignal(request, cancellation);
    service.infer(request, 'grpc').then(
      (response) => {
        answered = true;
        response.trace?.capture('GRPC_SEND_START');
        let message: ModelInferResponseMessage;
        try {
          message = encodeInferResponse(response);
        } catch (error) {
          fail(log, callback, error);
          response.trace?.finish();
          return;
        }
        callback(null, message);
        if (response.trace) {
          response.trace.capture('GRPC_SEND_END');
          response.trace.finish();
        }
      },
      (error: unknown) => {
        answered = true;
        fail(log, callback, error);
      },
    );
  };
  return { modelInfer, modelStreamInfer: streamInferHandler(service, log, options.headerForwardPattern) };
}

export function createServiceImplementation(
  service: InferenceServiceApi,
  options: GrpcServiceOptions = {},
  { modelInfer, modelStreamInfer }: InferHandlers = createInferHandlers(service, options),
): UntypedServiceImplementation {
  const log = options.logger;
  return {
    ServerLive: unary(log, () => ({ live: service.isLive() })),
    ServerReady: unary(log, () => ({ ready: service.isReady() })),
    ModelReady: unary(log, (request: NameVersionRequest) => ({ ready: service.isModelReady(request.name, version(request.version)) })),
    ServerMetadata: unary(log, () => service.serverMetadata()),
    ModelMetadata: unary(log, (request: NameVersionRequest): ModelMetadataResponseMessage => {
      const metadata = service.modelMetadata(request.name, version(request.version));
      return { ...metadata, inputs: metadata.inputs.map((t) => ({ ...t })), outputs: metadata.outputs.map((t) => ({ ...t })) };
    }),
    ModelInfer: modelInfer as Unary<ModelInferRequestMessage, ModelInferResponseMessage>,
    ModelStreamInfer: modelStreamInfer as UntypedServiceImplementation[string],
    ModelConfig: unary(log, (request: NameVersionRequest) => ({ config: service.modelConfig(request.name, version(request.version)) })),
    ModelStatistics: unary(log, (request: NameVersionRequest) => ({
      model_stats: service.modelStatistics(request.name || undefined, version(request.version)).map(statisticsMessage),
    })),
    RepositoryIndex: unary(log, async (request: RepositoryIndexRequestMessage) => {
      const entries = await service.repositoryIndex(request.ready);
      const models: RepositoryModelIndexMessage[] = entries.map((entry) => ({
        name: entry.name,
        version: entry.version ?? '',
        state: entry.state ?? '',
        reason: entry.reason ?? '',
      }));
      return { models };
    }),
    RepositoryModelLoad: unary(log, async (request: RepositoryModelRequestMessage) => {
      let config: string | undefined;
      const files = new Map<string, Uint8Array>();
      for (const [key, value] of Object.entries(request.parameters ?? {})) {
        if (key === 'config' && value.parameter_choice === 'string_param') config = value.string_param;
        else if (key.startsWith(LOAD_FILE_PARAMETER_PREFIX) && value.parameter_choice === 'bytes_param') files.set(key.slice(LOAD_FILE_PARAMETER_PREFIX.length), value.bytes_param!);
        else throw Errors.badLoadParameter(key);
      }
      await service.loadModel(request.model_name, { ...(config !== undefined ? { config } : {}), ...(files.size > 0 ? { files } : {}) });
      return {};
    }),
    RepositoryModelUnload: unary(log, async (request: RepositoryModelRequestMessage) => {
      const dependents = request.parameters?.unload_dependents;
      await service.unloadModel(request.model_name, { unloadDependents: dependents?.bool_param === true });
      return {};
    }),
    SystemSharedMemoryStatus: unary(log, (request: { name?: string }) => {
      const regions: Record<string, SystemSharedMemoryRegionStatus> = {};
      for (const region of service.systemSharedMemoryStatus(request.name || undefined)) regions[region.name] = region;
      return { regions };
    }),
    SystemSharedMemoryRegister: unary(log, (request: SystemSharedMemoryRegisterMessage) => {
      service.registerSystemSharedMemory(request.name, request.key, Number(request.offset ?? 0), Number(request.byte_size ?? 0));
      return {};
    }),
    SystemSharedMemoryUnregister: unary(log, (request: { name?: string }) => {
      service.unregisterSystemSharedMemory(request.name || undefined);
      return {};
    }),
    CudaSharedMemoryStatus: unary(log, (request: { name?: string }) => {
      service.cudaSharedMemoryStatus(request.name || undefined);
      return { regions: {} };
    }),
    CudaSharedMemoryRegister: unary(log, (request: { name: string }) => service.registerCudaSharedMemory(request.name)),
    CudaSharedMemoryUnregister: unary(log, (request: { name?: string }) => {
      service.unregisterCudaSharedMemory(request.name || undefined);
      return {};
    }),
    TraceSetting: unary(log, (request: TraceSettingRequestMessage) => {
      const model = request.model_name || undefined;
      // An empty value list clears the setting (it follows the global one again), as in Triton.
      const changes = Object.fromEntries(Object.entries(request.settings ?? {}).map(([name, value]) => [name, value.value ?? []]));
      const settings = Object.keys(changes).length === 0 ? service.traceSettings(model) : service.updateTraceSettings(model, changes);
      return { settings: Object.fromEntries(Object.entries(settings).map(([name, value]) => [name, { value: Array.isArray(value) ? value : [value] }])) };
    }),
    LogSettings: unary(log, (request: { settings?: Record<string, LogSettingValueMessage> }) => {
      const changes = Object.fromEntries(Object.entries(request.settings ?? {}).map(([name, value]) => [name, settingValue(value)]));
      return { settings: logSettingsMessage(service.updateLogSettings(changes)) };
    }),
  };
}
