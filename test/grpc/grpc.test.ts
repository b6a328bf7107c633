/**
 * Every RPC of inference.GRPCInferenceService, grpc.health.v1.Health and reflection against the real server
 * (examples/model_repository, explicit model control) over loopback gRPC on an ephemeral port.
 */
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protobuf from 'protobufjs';
import {
  int32Raw,
  int32sOf,
  loadProto,
  ONES_16,
  RANGE_16,
  rawClient,
  simpleRawRequest,
  simpleTypedRequest,
  startServer,
  unary,
  unaryError,
} from './helpers';
import { serverForSuite } from '../server/suite-server';

const SUMS = RANGE_16.map((v) => v + 1);
const DIFFERENCES = RANGE_16.map((v) => v - 1);

const server = serverForSuite();

describe('health and metadata RPCs', () => {
  it('ServerLive, ServerReady', async () => {
    expect(await unary(server.client, 'ServerLive', {})).toEqual({ live: true });
    expect(await unary(server.client, 'ServerReady', {})).toEqual({ ready: true });
  });

  it('ServerMetadata names the server and its extensions', async () => {
    const metadata = await unary(server.client, 'ServerMetadata', {});
    expect(metadata.name).toBe('triton');
    expect(metadata.extensions).toEqual(expect.arrayContaining(['model_repository', 'statistics']));
  });

  it('ModelReady: ready model, unready version, unknown model', async () => {
    expect(await unary(server.client, 'ModelReady', { name: 'simple' })).toEqual({ ready: true });
    expect(await unary(server.client, 'ModelReady', { name: 'simple', version: '2' })).toEqual({ ready: true });
    expect(await unary(server.client, 'ModelReady', { name: 'simple', version: '1' })).toEqual({ ready: false });
    expect(await unary(server.client, 'ModelReady', { name: 'nope' })).toEqual({ ready: false });
  });

  it('ModelMetadata shows the batch dimension as -1', async () => {
    const metadata = await unary(server.client, 'ModelMetadata', { name: 'simple' });
    expect(metadata).toMatchObject({ name: 'simple', versions: ['2'], platform: 'onnxruntime_onnx' });
    expect(metadata.inputs).toEqual([
      { name: 'INPUT0', datatype: 'INT32', shape: ['-1', '16'] },
      { name: 'INPUT1', datatype: 'INT32', shape: ['-1', '16'] },
    ]);
    expect(metadata.outputs.map((o: { name: string }) => o.name)).toEqual(['OUTPUT0', 'OUTPUT1']);
  });

  it('ModelMetadata of an unknown model is NOT_FOUND with Triton\'s message', async () => {
    const error = await unaryError(server.client, 'ModelMetadata', { name: 'nope' });
    expect(error.code).toBe(grpc.status.NOT_FOUND);
    expect(error.details).toBe("Request for unknown model: 'nope' is not found");
  });

  it('ModelConfig returns the typed ModelConfig message', async () => {
    const { config } = await unary(server.client, 'ModelConfig', { name: 'simple' });
    expect(config).toMatchObject({ name: 'simple', platform: 'onnxruntime_onnx', max_batch_size: 8 });
    expect(config.input[0]).toMatchObject({ name: 'INPUT0', data_type: 'TYPE_INT32', dims: ['16'] });
    expect(config.output.map((o: { name: string }) => o.name)).toEqual(['OUTPUT0', 'OUTPUT1']);
  });

  it('ModelConfig of the auto-completed model', async () => {
    const { config } = await unary(server.client, 'ModelConfig', { name: 'add_sub_autocomplete' });
    expect(config.name).toBe('add_sub_autocomplete');
    expect(config.input.length).toBeGreaterThan(0);
    expect(config.input[0].data_type).toBe('TYPE_FP32');
  });
});

describe('ModelInfer', () => {
  it('raw inputs → raw outputs, id and version echoed', async () => {
    const response = await unary(server.client, 'ModelInfer', simpleRawRequest('req-1'));
    expect(response).toMatchObject({ model_name: 'simple', model_version: '2', id: 'req-1' });
    expect(response.outputs.map((o: { name: string; shape: string[] }) => [o.name, o.shape])).toEqual([
      ['OUTPUT0', ['1', '16']],
      ['OUTPUT1', ['1', '16']],
    ]);
    expect(response.outputs[0].contents).toBeNull();
    expect(int32sOf(response.raw_output_contents[0])).toEqual(SUMS);
    expect(int32sOf(response.raw_output_contents[1])).toEqual(DIFFERENCES);
  });

  it('typed contents in → raw_output_contents out, as Triton answers', async () => {
    const response = await unary(server.client, 'ModelInfer', simpleTypedRequest());
    expect(response.id).toBe('');
    expect(response.outputs[0].contents).toBeNull();
    expect(int32sOf(response.raw_output_contents[0])).toEqual(SUMS);
    expect(int32sOf(response.raw_output_contents[1])).toEqual(DIFFERENCES);
  });

  it('a batch of 3 and one requested output', async () => {
    const request = { ...simpleRawRequest('', 3), outputs: [{ name: 'OUTPUT1' }] };
    const response = await unary(server.client, 'ModelInfer', request);
    expect(response.outputs.map((o: { name: string }) => o.name)).toEqual(['OUTPUT1']);
    expect(response.outputs[0].shape).toEqual(['3', '16']);
    expect(int32sOf(response.raw_output_contents[0])).toEqual([...DIFFERENCES, ...DIFFERENCES, ...DIFFERENCES]);
  });

  it('an explicit version', async () => {
    const response = await unary(server.client, 'ModelInfer', { ...simpleRawRequest(), model_version: '2' });
    expect(response.model_version).toBe('2');
  });

  it('BYTES in bytes_contents and in raw form', async () => {
    const typed = await unary(server.client, 'ModelInfer', {
      model_name: 'string_upper',
      inputs: [{ name: 'INPUT0', datatype: 'BYTES', shape: [2], contents: { bytes_contents: [Buffer.from('hello'), Buffer.from('grpc')] } }],
    });
    const framedOut = Buffer.concat([Buffer.from([5, 0, 0, 0]), Buffer.from('HELLO'), Buffer.from([4, 0, 0, 0]), Buffer.from('GRPC')]);
    expect(Buffer.from(typed.raw_output_contents[0])).toEqual(framedOut);

    const framed = Buffer.concat([Buffer.from([5, 0, 0, 0]), Buffer.from('hello'), Buffer.from([2, 0, 0, 0]), Buffer.from('ok')]);
    const raw = await unary(server.client, 'ModelInfer', {
      model_name: 'string_upper',
      inputs: [{ name: 'INPUT0', datatype: 'BYTES', shape: [2] }],
      raw_input_contents: [framed],
    });
    const expected = Buffer.concat([Buffer.from([5, 0, 0, 0]), Buffer.from('HELLO'), Buffer.from([2, 0, 0, 0]), Buffer.from('OK')]);
    expect(Buffer.from(raw.raw_output_contents[0])).toEqual(expected);
  });

  it('FP32 mlp with fp32_contents', async () => {
    const data = Array.from({ length: 2 * 784 }, (_, i) => ((i % 17) - 8) / 8);
    const response = await unary(server.client, 'ModelInfer', {
      model_name: 'mlp',
      inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [2, 784], contents: { fp32_contents: data } }],
    });
    expect(response.outputs[0]).toMatchObject({ name: 'OUTPUT0', datatype: 'FP32', shape: ['2', '10'] });
    const raw = Buffer.from(response.raw_output_contents[0]);
    const values = Array.from(new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength)));
    expect(values).toHaveLength(20);
    expect(values.every(Number.isFinite)).toBe(true);
  });

  it('request parameters of every kind are accepted', async () => {
    const request = {
      ...simpleRawRequest(),
      parameters: { priority: { int64_param: 1 }, timeout: { uint64_param: 5_000_000 }, note: { string_param: 'x' }, flag: { bool_param: true } },
    };
    const response = await unary(server.client, 'ModelInfer', request);
    expect(int32sOf(response.raw_output_contents[0])).toEqual(SUMS);
  });

  it('the hand-encoded wire format of Triton\'s field numbers', async () => {
    // ModelInferRequest: model_name = 1, inputs = 5 {name = 1, datatype = 2, shape = 3 (packed int64)}, raw_input_contents = 7.
    const writer = protobuf.Writer.create();
    writer.uint32((1 << 3) | 2).string('simple');
    for (const name of ['INPUT0', 'INPUT1']) {
      const input = protobuf.Writer.create();
      input.uint32((1 << 3) | 2).string(name);
      input.uint32((2 << 3) | 2).string('INT32');
      input.uint32((3 << 3) | 2).fork().int64(1).int64(16).ldelim();
      writer.uint32((5 << 3) | 2).bytes(input.finish());
    }
    writer.uint32((7 << 3) | 2).bytes(int32Raw(RANGE_16));
    writer.uint32((7 << 3) | 2).bytes(int32Raw(ONES_16));
    const bytes: Buffer = await new Promise((resolve, reject) => {
      server.client.makeUnaryRequest(
        '/inference.GRPCInferenceService/ModelInfer',
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.from(writer.finish()),
        (error, value) => (error ? reject(error) : resolve(value!)),
      );
    });
    // ModelInferResponse: model_name = 1, model_version = 2, outputs = 5, raw_output_contents = 6.
    const reader = protobuf.Reader.create(bytes);
    const fields: Record<number, Uint8Array[]> = {};
    while (reader.pos < reader.len) {
      const tag = reader.uint32();
      const field = tag >>> 3;
      if ((tag & 7) !== 2) throw new Error(`unexpected wire type for field ${field}`);
      (fields[field] ??= []).push(reader.bytes());
    }
    expect(Buffer.from(fields[1][0]).toString()).toBe('simple');
    expect(Buffer.from(fields[2][0]).toString()).toBe('2');
    expect(fields[5]).toHaveLength(2);
    expect(int32sOf(fields[6][0])).toEqual(SUMS);
    expect(int32sOf(fields[6][1])).toEqual(DIFFERENCES);
  });
});

describe('ModelInfer errors', () => {
  it.each([
    ['unknown model', { ...simpleRawRequest(), model_name: 'nope' }, grpc.status.NOT_FOUND, "Request for unknown model: 'nope' is not found"],
    ['a version that is not served', { ...simpleRawRequest(), model_version: '1' }, grpc.status.NOT_FOUND, "'simple' version 1"],
    [
      'raw content of the wrong size',
      { ...simpleRawRequest(), raw_input_contents: [int32Raw(RANGE_16), int32Raw([1, 2, 3])] },
      grpc.status.INVALID_ARGUMENT,
      "input byte size mismatch for input 'INPUT1' for model 'simple'. Expected 64, got 12",
    ],
    [
      'fewer raw contents than inputs',
      { ...simpleRawRequest(), raw_input_contents: [int32Raw(RANGE_16)] },
      grpc.status.INVALID_ARGUMENT,
      'expected 2 entries in raw_input_contents',
    ],
    [
      'contents together with raw contents',
      (() => {
        const request = simpleRawRequest();
        return { ...request, inputs: [{ ...request.inputs[0], contents: { int_contents: RANGE_16 } }, request.inputs[1]] };
      })(),
      grpc.status.INVALID_ARGUMENT,
      'contents field must not be specified',
    ],
    [
      'typed contents with the wrong element count',
      (() => {
        const request = simpleTypedRequest();
        return { ...request, inputs: [request.inputs[0], { ...request.inputs[1], contents: { int_contents: [1, 2] } }] };
      })(),
      grpc.status.INVALID_ARGUMENT,
      "unexpected number of elements for input 'INPUT1'",
    ],
    [
      'typed contents in the wrong field',
      (() => {
        const request = simpleTypedRequest();
        return { ...request, inputs: [request.inputs[0], { ...request.inputs[1], contents: { fp32_contents: ONES_16 } }] };
      })(),
      grpc.status.INVALID_ARGUMENT,
      'must be in int_contents',
    ],
    [
      'an input with no data',
      { model_name: 'simple', inputs: [{ name: 'INPUT0', datatype: 'INT32', shape: [1, 16] }, { name: 'INPUT1', datatype: 'INT32', shape: [1, 16] }] },
      grpc.status.INVALID_ARGUMENT,
      'has no data',
    ],
    [
      'the wrong datatype',
      (() => {
        const request = simpleRawRequest();
        return { ...request, inputs: [{ ...request.inputs[0], datatype: 'FP32' }, request.inputs[1]] };
      })(),
      grpc.status.INVALID_ARGUMENT,
      "data-type is 'FP32'",
    ],
    ['an unknown datatype', { ...simpleRawRequest(), inputs: [{ name: 'INPUT0', datatype: 'INT33', shape: [1] }, simpleRawRequest().inputs[1]] }, grpc.status.INVALID_ARGUMENT, "invalid datatype 'INT33'"],
    ['a batch over max_batch_size', simpleRawRequest('', 9), grpc.status.INVALID_ARGUMENT, 'batch-size must be <= 8'],
    ['an unknown output', { ...simpleRawRequest(), outputs: [{ name: 'OUTPUT9' }] }, grpc.status.INVALID_ARGUMENT, "unexpected inference output 'OUTPUT9'"],
    ['a reserved parameter', { ...simpleRawRequest(), parameters: { triton_x: { bool_param: true } } }, grpc.status.INVALID_ARGUMENT, 'reserved'],
    ['a shared-memory input without its byte size', (() => {
      const request = simpleRawRequest();
      return { ...request, inputs: [{ ...request.inputs[0], parameters: { shared_memory_region: { string_param: 'r' } } }, request.inputs[1]] };
    })(), grpc.status.INVALID_ARGUMENT, "'shared_memory_byte_size' must be specified"],
    [
      'FP16 in typed contents',
      { model_name: 'simple', inputs: [{ name: 'INPUT0', datatype: 'FP16', shape: [1], contents: { fp32_contents: [1] } }] },
      grpc.status.INVALID_ARGUMENT,
      'raw_input_contents',
    ],
  ])('%s', async (_name, request, code, message) => {
    const error = await unaryError(server.client, 'ModelInfer', request);
    expect(error.code).toBe(code);
    expect(error.details).toContain(message);
  });
});

describe('ModelStreamInfer', () => {
  it('answers every request, errors in error_message, ids echoed, stream kept open', async () => {
    const call = (server.client.ModelStreamInfer as () => grpc.ClientDuplexStream<unknown, any>).call(server.client);
    const responses: any[] = [];
    const done = new Promise<void>((resolve, reject) => {
      call.on('data', (response: unknown) => responses.push(response));
      call.on('end', resolve);
      call.on('error', reject);
    });
    call.write(simpleRawRequest('a'));
    call.write({ ...simpleRawRequest('b'), model_name: 'nope' });
    call.write(simpleTypedRequest('c'));
    call.write({ ...simpleRawRequest('d'), raw_input_contents: [int32Raw(RANGE_16), int32Raw([1])] });
    call.write(simpleRawRequest('e', 2));
    call.end();
    await done;

    // In the order the requests came, refusals included (Triton's stream handler queues an error behind earlier
    // requests' answers); 'b' is refused while 'a' is still running.
    expect(responses.map((r) => r.infer_response.id)).toEqual(['a', 'b', 'c', 'd', 'e']);
    const byId = new Map(responses.map((r) => [r.infer_response.id, r]));
    expect(byId.get('a').error_message).toBe('');
    expect(int32sOf(byId.get('a').infer_response.raw_output_contents[0])).toEqual(SUMS);
    expect(byId.get('b').error_message).toBe("Request for unknown model: 'nope' is not found");
    expect(int32sOf(byId.get('c').infer_response.raw_output_contents[1])).toEqual(DIFFERENCES);
    expect(byId.get('d').error_message).toContain("input byte size mismatch for input 'INPUT1' for model 'simple'. Expected 64, got 4");
    expect(byId.get('e').infer_response.outputs[0].shape).toEqual(['2', '16']);
  });

  it('many requests in flight on one stream', async () => {
    const call = (server.client.ModelStreamInfer as () => grpc.ClientDuplexStream<unknown, any>).call(server.client);
    const ids = new Set<string>();
    const done = new Promise<void>((resolve, reject) => {
      call.on('data', (response: any) => {
        expect(response.error_message).toBe('');
        ids.add(response.infer_response.id);
      });
      call.on('end', resolve);
      call.on('error', reject);
    });
    for (let i = 0; i < 50; i++) call.write(simpleRawRequest(`r${i}`));
    call.end();
    await done;
    expect(ids.size).toBe(50);
  });
});

describe('grpc.health.v1 and reflection', () => {
  it('Health/Check reflects readiness', async () => {
    const health = loadProto('health/v1/health.proto', [path.dirname(require.resolve('grpc-health-check/package.json')) + '/proto']) as any;
    const healthClient = new health.grpc.health.v1.Health(`127.0.0.1:${server.grpcPort}`, grpc.credentials.createInsecure());
    const check = (service: string) =>
      new Promise<any>((resolve, reject) => healthClient.Check({ service }, (e: Error | null, v: unknown) => (e ? reject(e) : resolve(v))));
    expect(await unary(server.client, 'ServerReady', {})).toEqual({ ready: true });
    expect(await check('')).toEqual({ status: 'SERVING' });
    expect(await check('inference.GRPCInferenceService')).toEqual({ status: 'SERVING' });
    await expect(check('other.Service')).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    healthClient.close();
  });

  it('reflection lists the services', async () => {
    const reflectionDir = path.join(path.dirname(require.resolve('@grpc/reflection/package.json')), 'build/proto');
    const reflection = loadProto('grpc/reflection/v1/reflection.proto', [reflectionDir]) as any;
    const reflectionClient = new reflection.grpc.reflection.v1.ServerReflection(`127.0.0.1:${server.grpcPort}`, grpc.credentials.createInsecure());
    const call = reflectionClient.ServerReflectionInfo();
    const response: any = await new Promise((resolve, reject) => {
      call.on('data', resolve);
      call.on('error', reject);
      call.write({ list_services: '' });
    });
    call.end();
    reflectionClient.close();
    const names = response.list_services_response.service.map((s: { name: string }) => s.name);
    expect(names).toContain('inference.GRPCInferenceService');
  });
});

describe('statistics and repository RPCs', () => {
  it('ModelStatistics of one model, of all, and of an unknown one', async () => {
    await unary(server.client, 'ModelInfer', simpleRawRequest());
    const { model_stats } = await unary(server.client, 'ModelStatistics', { name: 'simple' });
    expect(model_stats).toHaveLength(1);
    expect(model_stats[0]).toMatchObject({ name: 'simple', version: '2' });
    expect(Number(model_stats[0].inference_count)).toBeGreaterThan(0);
    expect(Number(model_stats[0].inference_stats.success.count)).toBeGreaterThan(0);
    expect(Number(model_stats[0].inference_stats.queue.ns)).toBeGreaterThanOrEqual(0);
    expect(model_stats[0].batch_stats.length).toBeGreaterThan(0);

    const all = await unary(server.client, 'ModelStatistics', {});
    expect(all.model_stats.map((s: { name: string }) => s.name)).toEqual(expect.arrayContaining(['simple', 'mlp', 'string_upper']));

    const error = await unaryError(server.client, 'ModelStatistics', { name: 'nope' });
    expect(error.code).toBe(grpc.status.NOT_FOUND);
  });

  it('RepositoryIndex lists every model with its state', async () => {
    const { models } = await unary(server.client, 'RepositoryIndex', {});
    const simple = models.find((m: { name: string }) => m.name === 'simple');
    expect(simple).toMatchObject({ name: 'simple', state: 'READY' });
    const ready = await unary(server.client, 'RepositoryIndex', { ready: true });
    expect(ready.models.every((m: { state: string }) => m.state === 'READY')).toBe(true);
  });

  it('RepositoryModelUnload then RepositoryModelLoad', async () => {
    await unary(server.client, 'RepositoryModelUnload', { model_name: 'string_upper' });
    expect(await unary(server.client, 'ModelReady', { name: 'string_upper' })).toEqual({ ready: false });
    const error = await unaryError(server.client, 'ModelMetadata', { name: 'string_upper' });
    expect(error.code).toBe(grpc.status.NOT_FOUND);
    await unary(server.client, 'RepositoryModelLoad', { model_name: 'string_upper' });
    expect(await unary(server.client, 'ModelReady', { name: 'string_upper' })).toEqual({ ready: true });
  });

  it('RepositoryModelLoad with a config override, and with an unknown parameter', async () => {
    const config = server.app.service.modelConfig('string_upper');
    await unary(server.client, 'RepositoryModelLoad', {
      model_name: 'string_upper',
      parameters: { config: { string_param: JSON.stringify({ ...config, max_batch_size: 0 }) } },
    });
    expect(await unary(server.client, 'ModelReady', { name: 'string_upper' })).toEqual({ ready: true });
    const error = await unaryError(server.client, 'RepositoryModelLoad', { model_name: 'string_upper', parameters: { file: { bool_param: true } } });
    expect(error.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(error.details).toContain("unexpected load parameter 'file'");
  });

  it('RepositoryModelLoad of an unknown model fails', async () => {
    const error = await unaryError(server.client, 'RepositoryModelLoad', { model_name: 'nope' });
    expect([grpc.status.INVALID_ARGUMENT, grpc.status.NOT_FOUND]).toContain(error.code);
  });
});

describe('settings RPCs', () => {
  it('TraceSetting answers the trace settings (test/server/trace-settings.test.ts covers the rest)', async () => {
    const { settings } = await unary(server.client, 'TraceSetting', {});
    expect(settings.trace_level).toEqual({ value: ['OFF'] });
    expect(settings.trace_rate).toEqual({ value: ['1000'] });
  });

  it('LogSettings reports the settings and refuses what it cannot change', async () => {
    const { settings } = await unary(server.client, 'LogSettings', {});
    expect(settings.log_verbose_level).toMatchObject({ uint32_param: 0 });
    expect(settings.log_info).toMatchObject({ bool_param: true });
    const error = await unaryError(server.client, 'LogSettings', { settings: { log_file: { string_param: '/tmp/x' } } });
    expect(error.code).toBe(grpc.status.UNIMPLEMENTED);
  });
});

describe('transport settings', () => {
  it('accepts gzip-compressed requests', async () => {
    const gzipClient = rawClient(server.grpcPort, { 'grpc.default_compression_algorithm': 2 });
    const response = await unary(gzipClient, 'ModelInfer', simpleRawRequest('gz'));
    expect(int32sOf(response.raw_output_contents[0])).toEqual(SUMS);
    gzipClient.close();
  });

  it('health turns NOT_SERVING when the server stops, and stop() closes the port', async () => {
    const other = await startServer({ allowHttp: false, loadModels: ['simple'] });
    const otherClient = rawClient(other.grpcPort);
    expect(await unary(otherClient, 'ServerReady', {})).toEqual({ ready: true });
    other.app.grpc!.refreshHealth();
    other.app.service.beginShutdown();
    expect(await unary(otherClient, 'ServerReady', {})).toEqual({ ready: false });
    const error = await unaryError(otherClient, 'ModelInfer', { ...simpleRawRequest(), model_name: 'simple' });
    expect(error.code).toBe(grpc.status.UNAVAILABLE);
    await other.app.stop();
    const closed = await unaryError(otherClient, 'ServerLive', {});
    expect(closed.code).toBe(grpc.status.UNAVAILABLE);
    otherClient.close();
  });

  it('refuses a message over --grpc-max-message-bytes with RESOURCE_EXHAUSTED', async () => {
    const small = await startServer({ allowHttp: false, grpcMaxMessageBytes: 4096, loadModels: ['mlp'] });
    const smallClient = rawClient(small.grpcPort);
    try {
      const data = Buffer.alloc(4 * 784 * 4);
      const error = await unaryError(smallClient, 'ModelInfer', {
        model_name: 'mlp',
        inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [4, 784] }],
        raw_input_contents: [data],
      });
      expect(error.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      // Within the limit it works.
      const ok = await unary(smallClient, 'ModelInfer', {
        model_name: 'mlp',
        inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 784] }],
        raw_input_contents: [Buffer.alloc(784 * 4)],
      });
      expect(ok.outputs[0].shape).toEqual(['1', '10']);
    } finally {
      smallClient.close();
      await small.app.stop();
    }
  });
});
