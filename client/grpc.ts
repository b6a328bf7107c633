/**
 * gRPC transport: inference.GRPCInferenceService from the server's own grpc_service.proto, tensors always in
 * raw_input_contents (as Triton's clients send them); results read from raw_output_contents or typed contents.
 */
import * as grpc from '@grpc/grpc-js';
import { elementCount, isDataType } from '../server/core/datatypes';
import { encodeParameters } from '../server/protocol/grpc/codec';
import { withInferWire } from '../server/protocol/grpc/infer-wire';
import { inferenceServiceDefinition } from '../server/protocol/grpc/proto';
import { tensorDataFromRaw } from '../server/core/raw-tensor';
import { dataFromContents, rawFromData } from '../server/protocol/grpc/tensor-contents';
import type {
  InferParameterMessage,
  ModelInferRequestMessage,
  ModelInferResponseMessage,
  ModelStreamInferResponseMessage,
  ParameterMap,
} from '../server/protocol/grpc/messages';
import {
  InferenceServerError,
  InferStream,
  ModelConfig,
  ModelMetadata,
  ModelStatistics,
  RepositoryIndexEntry,
  ServerMetadata,
  StreamResponse,
  SystemSharedMemoryRegion,
  Transport,
} from './api';
import {
  clientData,
  InferInput,
  InferOptions,
  InferResult,
  OutputTensor,
  outputParameters,
  requestedOutputs,
  sharedMemoryWindowOf,
} from './tensor';

export interface GrpcClientOptions {
  /** Largest message sent or received. @default 2147483647 (Triton's) */
  readonly maxMessageBytes?: number;
  /** Compress requests. @default 'none' */
  readonly compression?: 'none' | 'gzip' | 'deflate';
  /** Milliseconds before a call fails, unless the call sets its own. @default none */
  readonly timeoutMs?: number;
  /** Extra grpc-js channel options (keepalive, ...). */
  readonly channelOptions?: grpc.ChannelOptions;
}

type UnaryMethod = (
  request: unknown,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: (error: grpc.ServiceError | null, response: unknown) => void,
) => grpc.ClientUnaryCall;

const COMPRESSION = { none: 0, deflate: 1, gzip: 2 } as const;

let clientConstructor: grpc.ServiceClientConstructor | undefined;

function serviceClient(): grpc.ServiceClientConstructor {
  clientConstructor ??= grpc.makeGenericClientConstructor(
    withInferWire(inferenceServiceDefinition('number')) as grpc.ServiceDefinition,
    'GRPCInferenceService',
  );
  return clientConstructor;
}

/** Client parameters → InferParameter map (the server's own encoder), absent when there are none. */
function toParameterMap(parameters: Record<string, string | number | boolean> | undefined): ParameterMap | undefined {
  return parameters ? encodeParameters(parameters) : undefined;
}

function fromParameterMap(map: ParameterMap | undefined): Record<string, string | number | boolean> {
  const result: Record<string, string | number | boolean> = {};
  for (const [key, p] of Object.entries(map ?? {})) {
    const value = p[(p.parameter_choice ?? 'string_param') as keyof InferParameterMessage];
    result[key] = typeof value === 'boolean' || typeof value === 'string' ? value : Number(value);
  }
  return result;
}

/** A ModelInferRequest message with every tensor in raw_input_contents. */
export function buildInferRequest(model: string, inputs: readonly InferInput[], options: InferOptions = {}): ModelInferRequestMessage {
  const outputs = requestedOutputs(options.outputs);
  return {
    model_name: model,
    model_version: options.version ?? '',
    id: options.id ?? '',
    parameters: toParameterMap(options.parameters),
    inputs: inputs.map((input) => ({
      name: input.name,
      datatype: input.datatype,
      shape: input.shape,
      parameters: toParameterMap(input.requestParameters),
    })),
    outputs: outputs?.map((o) => ({ name: o.name, parameters: toParameterMap(outputParameters(o)) })),
    // One entry per input that is not in shared memory, as Triton's clients send them.
    raw_input_contents: inputs.filter((input) => !input.sharedMemory).map((input) => rawFromData(input.data)),
  };
}

/** A ModelInferResponse message → InferResult. */
export function decodeInferResponse(message: ModelInferResponseMessage): InferResult {
  const raw = message.raw_output_contents ?? [];
  const outputs = message.outputs.map((output, index): OutputTensor => {
    if (!isDataType(output.datatype)) throw new InferenceServerError(`unknown datatype '${output.datatype}' in the response`);
    const shape = output.shape.map(Number);
    const window = sharedMemoryWindowOf(fromParameterMap(output.parameters));
    if (window) return { name: output.name, datatype: output.datatype, shape, data: [], sharedMemory: window };
    const data =
      index < raw.length
        ? clientData(tensorDataFromRaw(output.name, message.model_name, output.datatype, elementCount(shape), raw[index]))
        : clientData(dataFromContents(output.name, output.datatype, output.contents ?? {}));
    return { name: output.name, datatype: output.datatype, shape, data };
  });
  return new InferResult(message.model_name, message.model_version, message.id || undefined, outputs, fromParameterMap(message.parameters));
}

function errorOf(error: grpc.ServiceError): InferenceServerError {
  return new InferenceServerError(error.details || error.message, undefined, error.code);
}

export class GrpcTransport implements Transport {
  private readonly client: grpc.Client;

  constructor(
    url: string,
    private readonly options: GrpcClientOptions = {},
  ) {
    const max = options.maxMessageBytes ?? 2 ** 31 - 1;
    const Client = serviceClient();
    this.client = new Client(url.replace(/^grpc:\/\//, ''), grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': max,
      'grpc.max_send_message_length': max,
      'grpc.default_compression_algorithm': COMPRESSION[options.compression ?? 'none'],
      // Nothing reads channelz data from this client; its per-call bookkeeping is pure cost (channelOptions may enable it).
      'grpc.enable_channelz': 0,
      ...options.channelOptions,
    });
  }

  private call<Res>(method: string, request: unknown, options: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<Res> {
    return new Promise((resolve, reject) => {
      const fn = (this.client as unknown as Record<string, UnaryMethod>)[method];
      const timeout = options.timeoutMs ?? this.options.timeoutMs;
      const callOptions: grpc.CallOptions = timeout !== undefined ? { deadline: Date.now() + timeout } : {};
      // grpc-js builds `new Error()` on every unary call, to give a failed call the caller's stack; errorOf() keeps only
      // the code and details, so that stack capture is pure cost (bench/README.md "bench:grpc"). The limit is restored
      // before anything else runs (the call starts synchronously).
      const stackTraceLimit = Error.stackTraceLimit;
      Error.stackTraceLimit = 0;
      let call: grpc.ClientUnaryCall;
      try {
        call = fn.call(this.client, request, new grpc.Metadata(), callOptions, (error, response) => {
          options.signal?.removeEventListener('abort', abort);
          if (error) reject(errorOf(error));
          else resolve(response as Res);
        });
      } finally {
        Error.stackTraceLimit = stackTraceLimit;
      }
      const abort = () => call.cancel();
      if (options.signal?.aborted) call.cancel();
      else options.signal?.addEventListener('abort', abort, { once: true });
    });
  }

  async isServerLive(): Promise<boolean> {
    return (await this.call<{ live: boolean }>('ServerLive', {})).live;
  }

  async isServerReady(): Promise<boolean> {
    return (await this.call<{ ready: boolean }>('ServerReady', {})).ready;
  }

  async isModelReady(model: string, version?: string): Promise<boolean> {
    return (await this.call<{ ready: boolean }>('ModelReady', { name: model, version: version ?? '' })).ready;
  }

  serverMetadata(): Promise<ServerMetadata> {
    return this.call('ServerMetadata', {});
  }

  async modelMetadata(model: string, version?: string): Promise<ModelMetadata> {
    const metadata = await this.call<ModelMetadata>('ModelMetadata', { name: model, version: version ?? '' });
    const tensors = (list: ModelMetadata['inputs']) => list.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape.map(Number) }));
    return { ...metadata, inputs: tensors(metadata.inputs), outputs: tensors(metadata.outputs) };
  }

  async modelConfig(model: string, version?: string): Promise<ModelConfig> {
    const response = await this.call<{ config: ModelConfig }>('ModelConfig', { name: model, version: version ?? '' });
    return response.config;
  }

  async modelStatistics(model?: string, version?: string): Promise<ModelStatistics[]> {
    const response = await this.call<{ model_stats: ModelStatistics[] }>('ModelStatistics', { name: model ?? '', version: version ?? '' });
    return response.model_stats;
  }

  async repositoryIndex(readyOnly = false): Promise<RepositoryIndexEntry[]> {
    const response = await this.call<{ models: Required<RepositoryIndexEntry>[] }>('RepositoryIndex', { repository_name: '', ready: readyOnly });
    return response.models.map((m) => ({
      name: m.name,
      ...(m.version ? { version: m.version } : {}),
      ...(m.state ? { state: m.state } : {}),
      ...(m.reason ? { reason: m.reason } : {}),
    }));
  }

  async loadModel(model: string, options: { config?: string | object } = {}): Promise<void> {
    const config = options.config === undefined ? undefined : typeof options.config === 'string' ? options.config : JSON.stringify(options.config);
    await this.call('RepositoryModelLoad', {
      repository_name: '',
      model_name: model,
      parameters: config === undefined ? {} : { config: { string_param: config } },
    });
  }

  async unloadModel(model: string, options: { unloadDependents?: boolean } = {}): Promise<void> {
    await this.call('RepositoryModelUnload', {
      repository_name: '',
      model_name: model,
      parameters: options.unloadDependents ? { unload_dependents: { bool_param: true } } : {},
    });
  }

  async systemSharedMemoryStatus(name?: string): Promise<SystemSharedMemoryRegion[]> {
    const response = await this.call<{ regions: Record<string, { name: string; key: string; offset: number; byte_size: number }> }>(
      'SystemSharedMemoryStatus',
      { name: name ?? '' },
    );
    return Object.values(response.regions ?? {}).map((r) => ({ name: r.name, key: r.key, offset: Number(r.offset), byte_size: Number(r.byte_size) }));
  }

  async registerSystemSharedMemory(name: string, key: string, byteSize: number, offset = 0): Promise<void> {
    await this.call('SystemSharedMemoryRegister', { name, key, offset, byte_size: byteSize });
  }

  async unregisterSystemSharedMemory(name?: string): Promise<void> {
    await this.call('SystemSharedMemoryUnregister', { name: name ?? '' });
  }

  async infer(model: string, inputs: readonly InferInput[], options: InferOptions = {}): Promise<InferResult> {
    const response = await this.call<ModelInferResponseMessage>('ModelInfer', buildInferRequest(model, inputs, options), options);
    return decodeInferResponse(response);
  }

  /** Open a ModelStreamInfer stream. */
  stream(options: { timeoutMs?: number } = {}): InferStream {
    const callOptions: grpc.CallOptions = options.timeoutMs !== undefined ? { deadline: Date.now() + options.timeoutMs } : {};
    const call = (this.client as unknown as Record<string, (m: grpc.Metadata, o: grpc.CallOptions) => grpc.ClientDuplexStream<ModelInferRequestMessage, ModelStreamInferResponseMessage>>)
      .ModelStreamInfer.call(this.client, new grpc.Metadata(), callOptions);
    const queue: StreamResponse[] = [];
    let waiting: ((value: IteratorResult<StreamResponse>) => void) | undefined;
    let failWaiting: ((error: unknown) => void) | undefined;
    let done = false;
    let failure: InferenceServerError | undefined;
    const push = (item: StreamResponse) => {
      if (waiting) {
        const resolve = waiting;
        waiting = failWaiting = undefined;
        resolve({ value: item, done: false });
      } else {
        queue.push(item);
      }
    };
    call.on('data', (message: ModelStreamInferResponseMessage) => {
      const id = message.infer_response?.id || undefined;
      if (message.error_message) {
        push({ ok: false, id, error: new InferenceServerError(message.error_message) });
        return;
      }
      try {
        push({ ok: true, id, result: decodeInferResponse(message.infer_response!) });
      } catch (error) {
        push({ ok: false, id, error: new InferenceServerError((error as Error).message) });
      }
    });
    const finish = (error?: InferenceServerError) => {
      if (done) return;
      done = true;
      failure = error;
      if (waiting) {
        const [resolve, reject] = [waiting, failWaiting!];
        waiting = failWaiting = undefined;
        if (error) reject(error);
        else resolve({ value: undefined, done: true });
      }
    };
    call.on('end', () => finish());
    call.on('error', (error: grpc.ServiceError) => finish(error.code === grpc.status.CANCELLED ? undefined : errorOf(error)));

    return {
      send(model, inputs, sendOptions = {}) {
        call.write(buildInferRequest(model, inputs, sendOptions));
      },
      end() {
        call.end();
      },
      cancel() {
        call.cancel();
      },
      [Symbol.asyncIterator](): AsyncIterator<StreamResponse> {
        return {
          next(): Promise<IteratorResult<StreamResponse>> {
            const item = queue.shift();
            if (item) return Promise.resolve({ value: item, done: false });
            if (done) return failure ? Promise.reject(failure) : Promise.resolve({ value: undefined, done: true });
            return new Promise((resolve, reject) => {
              waiting = resolve;
              failWaiting = reject;
            });
          },
          return(): Promise<IteratorResult<StreamResponse>> {
            if (!done) call.cancel();
            return Promise.resolve({ value: undefined, done: true });
          },
        };
      },
    };
  }

  async close(): Promise<void> {
    this.client.close();
  }
}
