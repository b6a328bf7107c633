/**
 * HTTP/REST transport (KServe v2 + Triton extensions) on undici. Tensors at or above `binaryThresholdBytes` travel
 * with Triton's binary tensor data extension (and so do BYTES, FP16, BF16 and 64-bit integers); outputs are asked for
 * in binary unless `binaryOutputs` is false.
 */
import { Pool } from 'undici';
import { DataType, elementCount, isDataType } from '../server/core/datatypes';
import { tensorDataFromJson, tensorDataToJson } from '../server/protocol/http/tensor-json';
import { tensorDataFromRaw } from '../server/core/raw-tensor';
import { rawFromData } from '../server/protocol/grpc/tensor-contents';
import {
  InferenceServerError,
  ModelConfig,
  ModelMetadata,
  ModelStatistics,
  RepositoryIndexEntry,
  ServerMetadata,
  SystemSharedMemoryRegion,
  Transport,
} from './api';
import { clientData, codecData, InferInput, InferOptions, InferResult, OutputTensor, outputParameters, requestedOutputs, sharedMemoryWindowOf } from './tensor';

export interface HttpClientOptions {
  /** Inputs of at least this many bytes go binary. 0: every input binary; Infinity: JSON unless impossible. @default 0 */
  readonly binaryThresholdBytes?: number;
  /** Ask for binary outputs. @default true */
  readonly binaryOutputs?: boolean;
  /** Connections kept to the server. @default 16 */
  readonly connections?: number;
  /** Milliseconds before a call fails, unless the call sets its own. @default none */
  readonly timeoutMs?: number;
}

const ALWAYS_BINARY: ReadonlySet<DataType> = new Set(['BYTES', 'FP16', 'BF16', 'INT64', 'UINT64']);

interface JsonOutput {
  name: string;
  datatype: string;
  shape: number[];
  data?: unknown;
  parameters?: { binary_data_size?: number; [key: string]: unknown };
}

interface JsonResponse {
  model_name: string;
  model_version: string;
  id?: string;
  parameters?: Record<string, string | number | boolean>;
  outputs?: JsonOutput[];
}

function origin(url: string): string {
  return /^https?:\/\//.test(url) ? url.replace(/\/+$/, '') : `http://${url.replace(/\/+$/, '')}`;
}

const enc = encodeURIComponent;

function modelPath(model: string, version?: string): string {
  return `/v2/models/${enc(model)}${version ? `/versions/${enc(version)}` : ''}`;
}

export class HttpTransport implements Transport {
  private readonly pool: Pool;
  private readonly binaryThreshold: number;
  private readonly binaryOutputs: boolean;

  constructor(
    url: string,
    private readonly options: HttpClientOptions = {},
  ) {
    this.pool = new Pool(origin(url), { connections: options.connections ?? 16, pipelining: 1 });
    this.binaryThreshold = options.binaryThresholdBytes ?? 0;
    this.binaryOutputs = options.binaryOutputs ?? true;
  }

  private async request(
    method: 'GET' | 'POST',
    path: string,
    body?: string | Buffer,
    headers: Record<string, string> = {},
    signal?: AbortSignal,
    timeoutMs?: number,
  ): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
    const timeout = timeoutMs ?? this.options.timeoutMs;
    const response = await this.pool.request({
      method,
      path,
      body,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      signal,
      ...(timeout !== undefined ? { headersTimeout: timeout, bodyTimeout: timeout } : {}),
    });
    const bytes = Buffer.from(await response.body.arrayBuffer());
    return { status: response.statusCode, headers: response.headers, body: bytes };
  }

  private async json<T>(method: 'GET' | 'POST', path: string, body?: object): Promise<T> {
    const response = await this.request(method, path, body === undefined ? undefined : JSON.stringify(body));
    if (response.status >= 400) throw errorOf(response.status, response.body);
    return (response.body.length === 0 ? {} : JSON.parse(response.body.toString('utf8'))) as T;
  }

  private async status(path: string): Promise<boolean> {
    const response = await this.request('GET', path);
    return response.status === 200;
  }

  isServerLive(): Promise<boolean> {
    return this.status('/v2/health/live');
  }

  isServerReady(): Promise<boolean> {
    return this.status('/v2/health/ready');
  }

  isModelReady(model: string, version?: string): Promise<boolean> {
    return this.status(`${modelPath(model, version)}/ready`);
  }

  serverMetadata(): Promise<ServerMetadata> {
    return this.json('GET', '/v2');
  }

  modelMetadata(model: string, version?: string): Promise<ModelMetadata> {
    return this.json('GET', modelPath(model, version));
  }

  modelConfig(model: string, version?: string): Promise<ModelConfig> {
    return this.json('GET', `${modelPath(model, version)}/config`);
  }

  async modelStatistics(model?: string, version?: string): Promise<ModelStatistics[]> {
    const path = model ? `${modelPath(model, version)}/stats` : '/v2/models/stats';
    const body = await this.json<{ model_stats: ModelStatistics[] }>('GET', path);
    return body.model_stats;
  }

  repositoryIndex(readyOnly = false): Promise<RepositoryIndexEntry[]> {
    return this.json('POST', '/v2/repository/index', readyOnly ? { ready: true } : {});
  }

  async loadModel(model: string, options: { config?: string | object } = {}): Promise<void> {
    const config = options.config === undefined ? undefined : typeof options.config === 'string' ? options.config : JSON.stringify(options.config);
    await this.json('POST', `/v2/repository/models/${enc(model)}/load`, config === undefined ? {} : { parameters: { config } });
  }

  async unloadModel(model: string, options: { unloadDependents?: boolean } = {}): Promise<void> {
    await this.json(
      'POST',
      `/v2/repository/models/${enc(model)}/unload`,
      options.unloadDependents ? { parameters: { unload_dependents: true } } : {},
    );
  }

  async infer(model: string, inputs: readonly InferInput[], options: InferOptions = {}): Promise<InferResult> {
    const binaryParts: Buffer[] = [];
    let json = '{';
    if (options.id) json += `"id":${JSON.stringify(options.id)},`;
    const outputs = requestedOutputs(options.outputs);
    const parameters: Record<string, unknown> = { ...options.parameters };
    if (!outputs && this.binaryOutputs) parameters.binary_data_output = true;
    if (Object.keys(parameters).length > 0) json += `"parameters":${JSON.stringify(parameters)},`;
    json += '"inputs":[';
    inputs.forEach((input, i) => {
      const binary = ALWAYS_BINARY.has(input.datatype) || input.byteSize >= this.binaryThreshold;
      json += `${i === 0 ? '' : ','}{"name":${JSON.stringify(input.name)},"datatype":"${input.datatype}","shape":[${input.shape.join(',')}]`;
      if (input.sharedMemory) {
        json += `,"parameters":${JSON.stringify(input.requestParameters)}}`;
      } else if (binary) {
        const raw = rawFromData(input.data);
        binaryParts.push(raw);
        json += `,"parameters":${JSON.stringify({ ...input.parameters, binary_data_size: raw.byteLength })}}`;
      } else {
        if (input.parameters) json += `,"parameters":${JSON.stringify(input.parameters)}`;
        json += `,"data":${tensorDataToJson(input.datatype, codecData(input.data)).toString()}}`;
      }
    });
    json += ']';
    if (outputs) {
      const list = outputs.map((o) => ({ name: o.name, parameters: { binary_data: this.binaryOutputs, ...outputParameters(o) } }));
      json += `,"outputs":${JSON.stringify(list)}`;
    }
    json += '}';

    let body: string | Buffer = json;
    const headers: Record<string, string> = {};
    if (binaryParts.length > 0) {
      const header = Buffer.from(json, 'utf8');
      body = Buffer.concat([header, ...binaryParts]);
      headers['inference-header-content-length'] = String(header.byteLength);
      headers['content-type'] = 'application/octet-stream';
    }
    const response = await this.request('POST', `${modelPath(model, options.version)}/infer`, body, headers, options.signal, options.timeoutMs);
    if (response.status >= 400) throw errorOf(response.status, response.body);
    return decodeHttpInferResponse(response.body, response.headers['inference-header-content-length']);
  }

  systemSharedMemoryStatus(name?: string): Promise<SystemSharedMemoryRegion[]> {
    return this.json('GET', name ? `/v2/systemsharedmemory/region/${enc(name)}/status` : '/v2/systemsharedmemory/status');
  }

  async registerSystemSharedMemory(name: string, key: string, byteSize: number, offset = 0): Promise<void> {
    await this.json('POST', `/v2/systemsharedmemory/region/${enc(name)}/register`, { key, offset, byte_size: byteSize });
  }

  async unregisterSystemSharedMemory(name?: string): Promise<void> {
    await this.json('POST', name ? `/v2/systemsharedmemory/region/${enc(name)}/unregister` : '/v2/systemsharedmemory/unregister');
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}

function errorOf(status: number, body: Buffer): InferenceServerError {
  let message = body.toString('utf8');
  try {
    const parsed = JSON.parse(message) as { error?: string };
    if (typeof parsed.error === 'string') message = parsed.error;
  } catch {
    // not JSON: keep the text
  }
  return new InferenceServerError(message || `HTTP ${status}`, status);
}

/** A response body (JSON, or JSON + binary outputs) → InferResult. */
export function decodeHttpInferResponse(body: Buffer, headerLength: string | string[] | undefined): InferResult {
  const length = headerLength === undefined ? body.length : Number(Array.isArray(headerLength) ? headerLength[0] : headerLength);
  const json = JSON.parse(body.toString('utf8', 0, length)) as JsonResponse;
  let offset = length;
  const outputs = (json.outputs ?? []).map((output): OutputTensor => {
    if (!isDataType(output.datatype)) throw new InferenceServerError(`unknown datatype '${output.datatype}' in the response`);
    const count = elementCount(output.shape);
    const window = sharedMemoryWindowOf(output.parameters);
    if (window) return { name: output.name, datatype: output.datatype, shape: output.shape, data: [], sharedMemory: window };
    const size = output.parameters?.binary_data_size;
    if (size !== undefined) {
      const slice = body.subarray(offset, offset + size);
      offset += size;
      // Copy so the typed array is aligned and owns its memory.
      return { name: output.name, datatype: output.datatype, shape: output.shape, data: clientData(tensorDataFromRaw(output.name, json.model_name, output.datatype, count, Buffer.from(slice))) };
    }
    return { name: output.name, datatype: output.datatype, shape: output.shape, data: clientData(tensorDataFromJson(output.name, output.datatype, count, output.data)) };
  });
  return new InferResult(json.model_name, json.model_version, json.id, outputs, json.parameters ?? {});
}
