/**
 * What tracing writes, against real servers on loopback: Triton's trace objects with every frontend and core
 * timestamp in order for HTTP, gRPC and gRPC streaming requests; one trace per request of a merged batch sharing the
 * batch's compute timestamps; sampling by rate, stopping after count, flushing every log_frequency traces to
 * `<file>.<index>`, or to `<file>` when settings change and at shutdown; per-model settings; TENSORS; OFF writes nothing.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { createInferenceServer, InferenceServerApp, InferenceServerOptions } from '../../server/app';
import { rawClient, RawClient, simpleRawRequest, unary } from '../grpc/helpers';
import { httpRequest, simpleInputs } from '../http/helpers';
import { EXAMPLES, simpleConfigJson } from './repo-fixture';

interface TraceObject {
  id: number;
  model_name?: string;
  model_version?: number;
  request_id?: string;
  parent_id?: number;
  timestamps?: Array<{ name: string; ns: number }>;
  activity?: string;
  tensor?: { name: string; data: string; shape: string; dtype: string };
}

const HTTP_NAMES = [
  'HTTP_RECV_START',
  'HTTP_RECV_END',
  'REQUEST_START',
  'QUEUE_START',
  'COMPUTE_START',
  'COMPUTE_INPUT_END',
  'COMPUTE_OUTPUT_START',
  'COMPUTE_END',
  'REQUEST_END',
  'HTTP_SEND_START',
  'HTTP_SEND_END',
];
const GRPC_NAMES = HTTP_NAMES.map((name) =>
  name.replace('HTTP_RECV_START', 'GRPC_WAITREAD_START').replace('HTTP_RECV_END', 'GRPC_WAITREAD_END').replace('HTTP_', 'GRPC_'),
);

interface Server {
  app: InferenceServerApp;
  httpPort: number;
  client: RawClient;
  dir: string;
  file: string;
}

const servers: Server[] = [];

async function start(trace: InferenceServerOptions['trace'] = {}, file = 'trace.json', models = ['simple']): Promise<Server> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trace-output-'));
  const app = createInferenceServer({
    modelRepositories: [EXAMPLES],
    modelControlMode: 'explicit',
    loadModels: models,
    httpPort: 0,
    grpcPort: 0,
    host: '127.0.0.1',
    allowMetrics: false,
    trace: { file: path.join(dir, file), ...trace },
  });
  const started = await app.start();
  const server = { app, httpPort: started.httpPort!, client: rawClient(started.grpcPort!), dir, file: path.join(dir, file) };
  servers.push(server);
  return server;
}

async function stop(server: Server): Promise<void> {
  server.client.close();
  await server.app.stop();
  servers.splice(servers.indexOf(server), 1);
}

afterEach(async () => {
  for (const server of [...servers]) await stop(server);
});

function inferHttp(server: Server, id: string, model = 'simple') {
  return httpRequest(server.httpPort, {
    method: 'POST',
    url: `/v2/models/${model}/infer`,
    payload: JSON.stringify({ id, inputs: simpleInputs() }),
  });
}

const setTrace = (server: Server, body: Record<string, unknown>, model?: string) =>
  httpRequest(server.httpPort, {
    method: 'POST',
    url: model ? `/v2/models/${model}/trace/setting` : '/v2/trace/setting',
    payload: JSON.stringify(body),
  });

const readArray = (file: string): TraceObject[] => JSON.parse(fs.readFileSync(file, 'utf8')) as TraceObject[];

/** Wait (bounded) for a file: traces are written once the response has gone out, which may be after the client saw it. */
async function waitForFile(file: string): Promise<TraceObject[]> {
  for (let i = 0; i < 500; i++) {
    if (fs.existsSync(file)) return readArray(file);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`${file} was never written`);
}

function expectOrdered(trace: TraceObject, names: string[]): void {
  expect(trace.timestamps!.map((t) => t.name)).toEqual(names);
  const times = trace.timestamps!.map((t) => t.ns);
  for (let i = 1; i < times.length; i++) expect(times[i]).toBeGreaterThanOrEqual(times[i - 1]);
  expect(times.every((ns) => Number.isInteger(ns) && ns > 0)).toBe(true);
}

describe('trace content', () => {
  it('an HTTP request: Triton\'s trace object with every timestamp, in order', async () => {
    const server = await start({ levels: ['TIMESTAMPS'], rate: 1, logFrequency: 1 });
    expect((await inferHttp(server, 'req-1')).statusCode).toBe(200);
    const [trace, ...rest] = await waitForFile(`${server.file}.0`);
    expect(rest).toEqual([]);
    expect(trace).toMatchObject({ id: expect.any(Number), model_name: 'simple', model_version: 2, request_id: 'req-1' });
    expectOrdered(trace, HTTP_NAMES);
  });

  it('gRPC unary and streaming requests: GRPC_WAITREAD and GRPC_SEND timestamps around the core ones', async () => {
    const server = await start({ levels: ['TIMESTAMPS'], rate: 1, logFrequency: 1 });
    await unary(server.client, 'ModelInfer', simpleRawRequest('unary'));
    const call = (server.client.ModelStreamInfer as () => grpc.ClientDuplexStream<unknown, unknown>).call(server.client);
    const done = new Promise<void>((resolve, reject) => {
      call.on('data', () => undefined);
      call.on('end', resolve);
      call.on('error', reject);
    });
    call.write(simpleRawRequest('stream'));
    call.end();
    await done;
    const traces = [...(await waitForFile(`${server.file}.0`)), ...(await waitForFile(`${server.file}.1`))];
    expect(traces.map((t) => t.request_id).sort()).toEqual(['stream', 'unary']);
    for (const trace of traces) expectOrdered(trace, GRPC_NAMES);
    expect(new Set(traces.map((t) => t.id)).size).toBe(2);
  });

  it('requests merged into one batch each get a trace with the batch\'s compute timestamps', async () => {
    const server = await start({ levels: ['TIMESTAMPS'], rate: 1, logFrequency: 3 });
    // The batch runs only once three requests wait (preferred size 3, an hour of queue delay).
    const config = simpleConfigJson({ dynamic_batching: { max_queue_delay_microseconds: 3_600_000_000, preferred_batch_size: [3] } });
    await server.app.service.loadModel('simple', { config });
    const responses = await Promise.all(['a', 'b', 'c'].map((id) => inferHttp(server, id)));
    expect(responses.map((r) => r.statusCode)).toEqual([200, 200, 200]);
    const traces = await waitForFile(`${server.file}.0`);
    expect(traces.map((t) => t.request_id).sort()).toEqual(['a', 'b', 'c']);
    const computeOf = (trace: TraceObject) => trace.timestamps!.filter((t) => t.name.startsWith('COMPUTE_')).map((t) => t.ns);
    for (const trace of traces) expectOrdered(trace, HTTP_NAMES);
    expect(computeOf(traces[1])).toEqual(computeOf(traces[0]));
    expect(computeOf(traces[2])).toEqual(computeOf(traces[0]));
  });

  it('a sequence model\'s requests get the sequence batcher\'s queue and compute timestamps', async () => {
    const server = await start({ levels: ['TIMESTAMPS'], rate: 1, logFrequency: 2 });
    await server.app.service.loadModel('sequence_accumulate');
    for (const [id, flags] of [['s1', '"sequence_start":true'], ['s2', '"sequence_end":true']]) {
      const response = await httpRequest(server.httpPort, {
        method: 'POST',
        url: '/v2/models/sequence_accumulate/infer',
        payload: `{"id":"${id}","parameters":{"sequence_id":42,${flags}},"inputs":[{"name":"INPUT","datatype":"INT32","shape":[1,1],"data":[3]}]}`,
      });
      expect(response.statusCode).toBe(200);
    }
    const traces = await waitForFile(`${server.file}.0`);
    expect(traces.map((t) => t.request_id)).toEqual(['s1', 's2']);
    for (const trace of traces) expectOrdered(trace, HTTP_NAMES);
  });

  it('level TENSORS adds the input and output tensors; a failed request still gets its trace', async () => {
    const server = await start({ levels: ['TIMESTAMPS', 'TENSORS'], rate: 1, logFrequency: 1 });
    await inferHttp(server, 'tensors');
    const objects = await waitForFile(`${server.file}.0`);
    const tensors = objects.filter((o) => o.activity);
    expect(tensors.map((o) => `${o.activity}:${o.tensor!.name}`)).toEqual([
      'TENSOR_QUEUE_INPUT:INPUT0',
      'TENSOR_QUEUE_INPUT:INPUT1',
      'TENSOR_BACKEND_OUTPUT:OUTPUT0',
      'TENSOR_BACKEND_OUTPUT:OUTPUT1',
    ]);
    expect(tensors[0].tensor).toEqual({ name: 'INPUT0', data: Array.from({ length: 16 }, (_, i) => i).join(','), shape: '1,16', dtype: 'INT32' });
    expect(tensors[2].tensor!.data).toBe(Array.from({ length: 16 }, (_, i) => i + 1).join(','));

    const bad = await httpRequest(server.httpPort, {
      method: 'POST',
      url: '/v2/models/simple/infer',
      payload: JSON.stringify({ id: 'bad', inputs: [{ name: 'INPUT0', datatype: 'INT32', shape: [1, 16], data: new Array(16).fill(0) }] }),
    });
    expect(bad.statusCode).toBe(400);
    const [failed] = await waitForFile(`${server.file}.1`);
    expect(failed.request_id).toBe('bad');
    expect(failed.timestamps!.map((t) => t.name)).toEqual(['HTTP_RECV_START', 'HTTP_RECV_END', 'REQUEST_START', 'REQUEST_END']);
  });
});

describe('ensembles', () => {
  it('an ensemble request is sampled once; each step is traced as its child (parent_id), as Triton traces them', async () => {
    const server = await start({ levels: ['TIMESTAMPS'], rate: 1, logFrequency: 3 }, 'trace.json', ['simple', 'simple_chain']);
    expect((await inferHttp(server, 'chain-1', 'simple_chain')).statusCode).toBe(200);
    const traces = (await waitForFile(`${server.file}.0`)).filter((t) => t.timestamps);
    const parent = traces.find((t) => t.model_name === 'simple_chain')!;
    const steps = traces.filter((t) => t.model_name === 'simple');
    expect(traces).toHaveLength(3);
    expect(parent.parent_id).toBeUndefined();
    expect(steps.map((t) => t.parent_id)).toEqual([parent.id, parent.id]);
    expect(steps.every((t) => t.request_id === 'chain-1')).toBe(true);
    for (const step of steps) expect(step.timestamps!.map((t) => t.name)).toEqual(HTTP_NAMES.slice(2, 9));
  });
});

describe('sampling and writing', () => {
  it('rate N traces every N-th request', async () => {
    const server = await start({ levels: ['TIMESTAMPS'], rate: 3, logFrequency: 1 });
    for (let i = 1; i <= 7; i++) await inferHttp(server, `r${i}`);
    const traced = [...(await waitForFile(`${server.file}.0`)), ...(await waitForFile(`${server.file}.1`))];
    expect(traced.map((t) => t.request_id)).toEqual(['r3', 'r6']);
    expect(fs.existsSync(`${server.file}.2`)).toBe(false);
  });

  it('count N stops after N traces, writes them to <file>.0 and answers trace_count 0', async () => {
    const server = await start({ levels: ['TIMESTAMPS'], rate: 1, count: 2 });
    for (let i = 1; i <= 4; i++) await inferHttp(server, `c${i}`);
    const traced = await waitForFile(`${server.file}.0`);
    expect(traced.map((t) => t.request_id)).toEqual(['c1', 'c2']);
    const settings = (await httpRequest(server.httpPort, { method: 'GET', url: '/v2/trace/setting' })).json() as Record<string, unknown>;
    expect(settings.trace_count).toBe('0');
    expect(server.app.service.isTracing()).toBe(false);
    // A new count starts sampling again.
    await setTrace(server, { trace_count: '1' });
    await inferHttp(server, 'c5');
    expect((await waitForFile(`${server.file}.1`)).map((t) => t.request_id)).toEqual(['c5']);
  });

  it('log_frequency N writes <file>.<index> every N traces, and the rest when the setting changes', async () => {
    const server = await start({ levels: ['TIMESTAMPS'], rate: 1, logFrequency: 2 });
    for (let i = 1; i <= 5; i++) await inferHttp(server, `f${i}`);
    expect((await waitForFile(`${server.file}.0`)).map((t) => t.request_id)).toEqual(['f1', 'f2']);
    expect((await waitForFile(`${server.file}.1`)).map((t) => t.request_id)).toEqual(['f3', 'f4']);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(fs.existsSync(`${server.file}.2`)).toBe(false);
    await setTrace(server, { trace_rate: '2' });
    expect((await waitForFile(`${server.file}.2`)).map((t) => t.request_id)).toEqual(['f5']);
    expect(fs.existsSync(server.file)).toBe(false);
  });

  it('log_frequency 0 writes <file> when the setting changes and at shutdown, one valid JSON array', async () => {
    const server = await start({ levels: ['TIMESTAMPS'], rate: 1, logFrequency: 0 });
    await inferHttp(server, 'm1');
    await unary(server.client, 'ModelInfer', simpleRawRequest('m2'));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(fs.existsSync(server.file)).toBe(false);
    await setTrace(server, { trace_rate: '1' });
    expect((await waitForFile(server.file)).map((t) => t.request_id)).toEqual(['m1', 'm2']);
    await inferHttp(server, 'm3');
    await stop(server);
    expect(readArray(server.file).map((t) => t.request_id)).toEqual(['m1', 'm2', 'm3']);
    expect(fs.readdirSync(server.dir)).toEqual(['trace.json']);
  });

  it('level OFF traces nothing and writes no file', async () => {
    const server = await start({ levels: [], rate: 1, logFrequency: 1 });
    expect(server.app.service.isTracing()).toBe(false);
    for (let i = 0; i < 3; i++) await inferHttp(server, `off${i}`);
    await unary(server.client, 'ModelInfer', simpleRawRequest('off-grpc'));
    await setTrace(server, { trace_rate: '2' });
    await stop(server);
    expect(fs.readdirSync(server.dir)).toEqual([]);
  });

  it('a model\'s own setting overrides the global one', async () => {
    const server = await start({ levels: [], rate: 1, logFrequency: 1 });
    await setTrace(server, { trace_level: ['TIMESTAMPS'] }, 'simple');
    expect(server.app.service.isTracing()).toBe(true);
    await inferHttp(server, 'model-on');
    expect((await waitForFile(`${server.file}.0`)).map((t) => t.request_id)).toEqual(['model-on']);
    // Global on, the model's own level OFF: the model is not traced.
    await setTrace(server, { trace_level: ['TIMESTAMPS'] });
    await setTrace(server, { trace_level: ['OFF'] }, 'simple');
    await inferHttp(server, 'model-off');
    await stop(server);
    expect(fs.readdirSync(server.dir).sort()).toEqual(['trace.json.0']);
  });
});
