/**
 * The example ensemble `simple_chain` over both frontends, as Triton clients call it: KServe v2 HTTP (JSON and binary)
 * and gRPC (raw contents); metadata, config, statistics; unload with `unload_dependents` over HTTP and gRPC.
 */
import * as grpc from '@grpc/grpc-js';
import { createInferenceServer } from '../../server/app';
import { parseExposition, value } from '../metrics/exposition';
import { binaryRequest, httpRequest, int32s, parseBinaryResponse, rawBytes } from '../http/helpers';
import {
  int32Raw,
  int32sOf,
  MODEL_REPOSITORY,
  ONES_16,
  RANGE_16,
  unary,
  unaryError,
} from './helpers';
import { serverForSuite } from '../server/suite-server';

/** simple_chain = simple applied twice: OUTPUT0 = 2 * INPUT0, OUTPUT1 = 2 * INPUT1. */
const DOUBLE_RANGE = RANGE_16.map((v) => 2 * v);
const TWOS = ONES_16.map((v) => 2 * v);

const server = serverForSuite({ loadModels: ['simple_chain'] });

const http = (method: string, url: string, body?: unknown) =>
  httpRequest(server.httpPort, { method, url, payload: body === undefined ? undefined : JSON.stringify(body) });

describe('simple_chain over HTTP', () => {
  it('infers with JSON tensors and returns only the requested outputs', async () => {
    const response = await http('POST', '/v2/models/simple_chain/infer', {
      id: 'chain-1',
      inputs: [
        { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], data: RANGE_16 },
        { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], data: ONES_16 },
      ],
      outputs: [{ name: 'OUTPUT0' }],
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      model_name: 'simple_chain',
      model_version: '1',
      id: 'chain-1',
      // Triton echoes the sequence id and flags on every ensemble response.
      parameters: { sequence_id: 0, sequence_start: false, sequence_end: false },
      outputs: [{ name: 'OUTPUT0', datatype: 'INT32', shape: [1, 16], data: DOUBLE_RANGE }],
    });
  });

  it('infers with binary tensors', async () => {
    const { body, headers } = binaryRequest(
      {
        inputs: [
          { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], parameters: { binary_data_size: 64 } },
          { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], parameters: { binary_data_size: 64 } },
        ],
        outputs: [{ name: 'OUTPUT1', parameters: { binary_data: true } }],
      },
      rawBytes(Int32Array.from(RANGE_16)),
      rawBytes(Int32Array.from(ONES_16)),
    );
    const response = await httpRequest(server.httpPort, { method: 'POST', url: '/v2/models/simple_chain/infer', headers, payload: body });
    expect(response.statusCode).toBe(200);
    const parsed = parseBinaryResponse(response.rawPayload, Number(response.headers['inference-header-content-length']));
    expect(parsed.json.outputs.map((o) => o.name)).toEqual(['OUTPUT1']);
    expect(int32s(parsed.raw.get('OUTPUT1')!)).toEqual(TWOS);
  });

  it('serves metadata and config with platform "ensemble"; a bad input gets a Triton-shaped 400', async () => {
    const metadata = (await http('GET', '/v2/models/simple_chain')).json() as { platform: string; inputs: { shape: number[] }[] };
    expect(metadata.platform).toBe('ensemble');
    expect(metadata.inputs[0].shape).toEqual([-1, 16]);
    const config = (await http('GET', '/v2/models/simple_chain/config')).json() as Record<string, any>;
    expect(config.platform).toBe('ensemble');
    expect(config.ensemble_scheduling.step[1].input_map).toEqual({ INPUT0: 'SUM', INPUT1: 'DIFFERENCE' });
    const bad = await http('POST', '/v2/models/simple_chain/infer', {
      inputs: [
        { name: 'INPUT0', datatype: 'FP32', shape: [1, 16], data: RANGE_16 },
        { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], data: ONES_16 },
      ],
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toEqual({
      error: "[request id: <id_unknown>] inference input 'INPUT0' data-type is 'FP32', but model 'simple_chain' expects 'INT32'",
    });
  });
});

describe('simple_chain over gRPC', () => {
  it('infers with raw contents', async () => {
    const response = await unary(server.client, 'ModelInfer', {
      model_name: 'simple_chain',
      id: 'g1',
      inputs: [
        { name: 'INPUT0', datatype: 'INT32', shape: [1, 16] },
        { name: 'INPUT1', datatype: 'INT32', shape: [1, 16] },
      ],
      raw_input_contents: [int32Raw(RANGE_16), int32Raw(ONES_16)],
    });
    expect(response.model_name).toBe('simple_chain');
    expect(response.id).toBe('g1');
    expect(response.outputs.map((o: { name: string }) => o.name)).toEqual(['OUTPUT0', 'OUTPUT1']);
    expect(int32sOf(response.raw_output_contents[0])).toEqual(DOUBLE_RANGE);
    expect(int32sOf(response.raw_output_contents[1])).toEqual(TWOS);
  });

  it('statistics: the ensemble and its composing model count their own requests', async () => {
    const before = await unary(server.client, 'ModelStatistics', { name: 'simple' });
    const simpleBefore = Number(before.model_stats[0].inference_stats.success.count);
    const chainBefore = Number((await unary(server.client, 'ModelStatistics', { name: 'simple_chain' })).model_stats[0].inference_stats.success.count);
    await Promise.all(
      [0, 1, 2].map(() =>
        unary(server.client, 'ModelInfer', {
          model_name: 'simple_chain',
          inputs: [
            { name: 'INPUT0', datatype: 'INT32', shape: [1, 16] },
            { name: 'INPUT1', datatype: 'INT32', shape: [1, 16] },
          ],
          raw_input_contents: [int32Raw(RANGE_16), int32Raw(ONES_16)],
        }),
      ),
    );
    const chain = (await unary(server.client, 'ModelStatistics', { name: 'simple_chain' })).model_stats[0];
    const simple = (await unary(server.client, 'ModelStatistics', { name: 'simple' })).model_stats[0];
    expect(Number(chain.inference_stats.success.count)).toBe(chainBefore + 3);
    expect(Number(chain.execution_count)).toBe(0);
    expect(Number(simple.inference_stats.success.count)).toBe(simpleBefore + 6);
  });
});

describe('unload_dependents', () => {
  it('over gRPC and HTTP unloads the ensemble and its composing model; a plain unload leaves the composing model', async () => {
    await unary(server.client, 'RepositoryModelUnload', { model_name: 'simple_chain' });
    expect(await unary(server.client, 'ModelReady', { name: 'simple' })).toEqual({ ready: true });
    const error = await unaryError(server.client, 'ModelInfer', {
      model_name: 'simple_chain',
      inputs: [
        { name: 'INPUT0', datatype: 'INT32', shape: [1, 16] },
        { name: 'INPUT1', datatype: 'INT32', shape: [1, 16] },
      ],
      raw_input_contents: [int32Raw(RANGE_16), int32Raw(ONES_16)],
    });
    expect(error.code).toBe(grpc.status.NOT_FOUND);

    await unary(server.client, 'RepositoryModelLoad', { model_name: 'simple_chain' });
    await unary(server.client, 'RepositoryModelUnload', { model_name: 'simple_chain', parameters: { unload_dependents: { bool_param: true } } });
    expect(await unary(server.client, 'ModelReady', { name: 'simple' })).toEqual({ ready: false });
    expect(await unary(server.client, 'ModelReady', { name: 'simple_chain' })).toEqual({ ready: false });

    // HTTP: loading the ensemble brings its composing model back; unload_dependents takes both away again.
    expect((await http('POST', '/v2/repository/models/simple_chain/load')).statusCode).toBe(200);
    expect((await http('GET', '/v2/models/simple/ready')).statusCode).toBe(200);
    const unload = await http('POST', '/v2/repository/models/simple_chain/unload', { parameters: { unload_dependents: true } });
    expect(unload.statusCode).toBe(200);
    expect((await http('GET', '/v2/models/simple/ready')).statusCode).toBe(400);
    expect((await http('GET', '/v2/models/simple_chain/ready')).statusCode).toBe(400);
  });
});

describe('Prometheus metrics', () => {
  it('count ensemble requests under the ensemble and each step under the composing model', async () => {
    const app = createInferenceServer({
      modelRepositories: [MODEL_REPOSITORY],
      modelControlMode: 'explicit',
      loadModels: ['simple_chain'],
      httpPort: 0,
      metricsPort: 0,
      allowGrpc: false,
      host: '127.0.0.1',
    });
    try {
      const started = await app.start();
      const body = JSON.stringify({
        inputs: [
          { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], data: RANGE_16 },
          { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], data: ONES_16 },
        ],
      });
      for (let i = 0; i < 2; i++) {
        const response = await httpRequest(started.httpPort!, { method: 'POST', url: '/v2/models/simple_chain/infer', payload: body });
        expect(response.statusCode).toBe(200);
      }
      const scrape = await httpRequest(started.metricsPort!, { method: 'GET', url: '/metrics' });
      const metrics = parseExposition(scrape.body);
      expect(value(metrics, 'nv_inference_request_success', { model: 'simple_chain', version: '1' })).toBe(2);
      expect(value(metrics, 'nv_inference_request_duration_us', { model: 'simple_chain', version: '1' })).toBeGreaterThan(0);
      expect(value(metrics, 'nv_inference_request_success', { model: 'simple', version: '2' })).toBe(4);
      // Executions belong to the composing model: the ensemble has no instances.
      expect(value(metrics, 'nv_inference_count', { model: 'simple', version: '2' })).toBe(4);
      expect(value(metrics, 'nv_inference_exec_count', { model: 'simple_chain', version: '1' })).toBe(0);
    } finally {
      await app.stop();
    }
  });
});
