/**
 * Triton's trace extension settings over both frontends against one server: GET/POST /v2[/models/{m}]/trace/setting
 * and gRPC TraceSetting share the core settings; per-model settings override the global ones field by field and are
 * cleared with null (HTTP) or an empty value list (gRPC); bad values get Triton's messages and change nothing; fuzzed
 * bodies get a settings answer or an error, never a crash.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import { SERVER_EXTENSIONS } from '../../server/core/inference-service';
import { unary, unaryError } from '../grpc/helpers';
import { httpRequest } from '../http/helpers';
import { EXAMPLES } from './repo-fixture';
import { serverForSuite } from './suite-server';

let traceFile: string;

beforeAll(() => {
  traceFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'trace-settings-')), 'trace.json');
});

const server = serverForSuite(() => ({
  modelRepositories: [EXAMPLES],
  loadModels: ['simple'],
  allowMetrics: false,
  trace: { file: traceFile, rate: 1000 },
}));

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const json = (response: { json(): unknown }) => response.json() as Json;

const url = (model?: string) => (model ? `/v2/models/${model}/trace/setting` : '/v2/trace/setting');
const get = async (model?: string) => json(await httpRequest(server.httpPort, { method: 'GET', url: url(model) }));
const post = (body: unknown, model?: string) =>
  httpRequest(server.httpPort, { method: 'POST', url: url(model), payload: typeof body === 'string' ? body : JSON.stringify(body) });

/** Put the global settings back and drop simple's own settings. */
async function reset(): Promise<void> {
  await post({ trace_level: ['OFF'], trace_rate: '1000', trace_count: '-1', log_frequency: '0' });
  await post({ trace_level: null, trace_rate: null, trace_count: null, log_frequency: null }, 'simple');
}

afterEach(reset);

describe('HTTP trace settings', () => {
  it('answers the command line settings in Triton\'s shape, and the server lists the extension', async () => {
    expect(await get()).toEqual({
      trace_level: ['OFF'],
      trace_rate: '1000',
      trace_count: '-1',
      log_frequency: '0',
      trace_file: traceFile,
      trace_mode: 'triton',
    });
    expect(SERVER_EXTENSIONS).toContain('trace');
    const metadata = json(await httpRequest(server.httpPort, { method: 'GET', url: '/v2' }));
    expect(metadata.extensions).toContain('trace');
  });

  it('updates the named settings only and answers all of them', async () => {
    const response = await post({ trace_level: ['TIMESTAMPS'], trace_rate: '5' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ trace_level: ['TIMESTAMPS'], trace_rate: '5', trace_count: '-1', log_frequency: '0' });
    expect(await get()).toMatchObject({ trace_level: ['TIMESTAMPS'], trace_rate: '5' });
    expect(json(await post({ trace_level: ['TENSORS', 'TIMESTAMPS'] })).trace_level).toEqual(['TIMESTAMPS', 'TENSORS']);
    expect(server.app.service.isTracing()).toBe(true);
    expect(json(await post({ trace_level: ['OFF'] })).trace_level).toEqual(['OFF']);
    expect(server.app.service.isTracing()).toBe(false);
  });

  it('a model setting overrides the global one field by field; null clears it back to the global value', async () => {
    await post({ trace_rate: '7' });
    const model = json(await post({ trace_level: ['TIMESTAMPS'], trace_count: '3' }, 'simple'));
    expect(model).toMatchObject({ trace_level: ['TIMESTAMPS'], trace_rate: '7', trace_count: '3' });
    expect(await get()).toMatchObject({ trace_level: ['OFF'], trace_rate: '7', trace_count: '-1' });
    // Unspecified model fields follow later global changes; specified ones do not.
    await post({ trace_rate: '9', trace_count: '100' });
    expect(await get('simple')).toMatchObject({ trace_level: ['TIMESTAMPS'], trace_rate: '9', trace_count: '3' });
    expect(json(await post({ trace_count: null }, 'simple'))).toMatchObject({ trace_level: ['TIMESTAMPS'], trace_count: '100' });
    expect(json(await post({ trace_level: null }, 'simple'))).toMatchObject({ trace_level: ['OFF'], trace_rate: '9' });
  });

  it('clearing a global setting returns it to the command line value', async () => {
    await post({ trace_rate: '3', trace_level: ['TIMESTAMPS'] });
    expect(json(await post({ trace_rate: null }))).toMatchObject({ trace_rate: '1000', trace_level: ['TIMESTAMPS'] });
  });

  it.each([
    [{ trace_file: '/tmp/elsewhere.json' }, 501, 'trace file location can not be updated through network protocol'],
    [{ trace_level: ['OFF', 'TIMESTAMPS'] }, 400, "Expect only one trace level 'OFF' is specified"],
    [{ trace_rate: 'abc' }, 400, "Unable to parse 'trace_rate', got: abc"],
    [{ trace_rate: '99999999999' }, 400, "Unable to parse 'trace_rate', value is out of range [ 0, 4294967295 ], got: 99999999999"],
    [{ trace_count: '-2' }, 400, "Unable to parse 'trace_count'. Expecting value >= -1, got:-2"],
    [{ trace_count: 'x' }, 400, "Unable to parse 'trace_count', got: x"],
    [{ log_frequency: '' }, 400, "Unable to parse 'log_frequency', got: "],
    [{ trace_rate: 5 }, 400, 'attempt to access JSON non-string as string'],
    [{ trace_level: 'TIMESTAMPS' }, 400, 'attempt to access JSON non-array as array'],
    [{ trace_level: ['TIMESTAMPS'], trace_rate: '0' }, 400, 'Attempting to set invalid trace setting :sample rate must be non-zero'],
  ])('refuses %j with Triton\'s message and changes nothing', async (body, status, message) => {
    const before = await get();
    const response = await post(body);
    expect(response.statusCode).toBe(status);
    expect(response.json()).toEqual({ error: message });
    expect(await get()).toEqual(before);
  });

  it('reads numbers the way std::stoi does', async () => {
    expect(json(await post({ trace_rate: '  12abc' })).trace_rate).toBe('12');
  });

  it('a model that is not ready is refused with Triton\'s message', async () => {
    for (const response of [
      await httpRequest(server.httpPort, { method: 'GET', url: url('nope') }),
      await post({ trace_rate: '1' }, 'nope'),
    ]) {
      expect(response.statusCode).toBe(400);
      expect(response.json()).toEqual({ error: 'Request for unknown model : nope' });
    }
  });

  it('an empty or malformed body is a JSON error', async () => {
    expect((await post('')).statusCode).toBe(400);
    expect((await post('{"trace_rate":')).statusCode).toBe(400);
    expect((await post('[1]')).statusCode).toBe(400);
  });
});

describe('gRPC TraceSetting', () => {
  const values = (settings: Record<string, { value: string[] }>) =>
    Object.fromEntries(Object.entries(settings).map(([name, setting]) => [name, setting.value]));

  it('reads, updates and clears the same settings as HTTP', async () => {
    const initial = await unary(server.client, 'TraceSetting', {});
    expect(values(initial.settings)).toEqual({
      trace_level: ['OFF'],
      trace_rate: ['1000'],
      trace_count: ['-1'],
      log_frequency: ['0'],
      trace_file: [traceFile],
      trace_mode: ['triton'],
    });
    const updated = await unary(server.client, 'TraceSetting', { settings: { trace_level: { value: ['TIMESTAMPS'] }, trace_rate: { value: ['4'] } } });
    expect(values(updated.settings)).toMatchObject({ trace_level: ['TIMESTAMPS'], trace_rate: ['4'] });
    expect(await get()).toMatchObject({ trace_level: ['TIMESTAMPS'], trace_rate: '4' });
    const model = await unary(server.client, 'TraceSetting', { model_name: 'simple', settings: { trace_rate: { value: ['2'] } } });
    expect(values(model.settings)).toMatchObject({ trace_level: ['TIMESTAMPS'], trace_rate: ['2'] });
    // An empty value list clears the model's own value.
    const cleared = await unary(server.client, 'TraceSetting', { model_name: 'simple', settings: { trace_rate: { value: [] } } });
    expect(values(cleared.settings)).toMatchObject({ trace_rate: ['4'] });
  });

  it('bad values get Triton\'s messages as INVALID_ARGUMENT, the trace file UNIMPLEMENTED, unknown models INVALID_ARGUMENT', async () => {
    const bad = await unaryError(server.client, 'TraceSetting', { settings: { trace_count: { value: ['-5'] } } });
    expect(bad.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(bad.details).toBe("Unable to parse 'trace_count'. Expecting value >= -1, got:-5");
    const file = await unaryError(server.client, 'TraceSetting', { settings: { trace_file: { value: ['/tmp/x'] } } });
    expect(file.code).toBe(grpc.status.UNIMPLEMENTED);
    const unknown = await unaryError(server.client, 'TraceSetting', { model_name: 'nope' });
    expect(unknown.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(unknown.details).toBe('Request for unknown model : nope');
  });
});

describe('fuzzed settings', () => {
  const NAMES = ['trace_file', 'trace_level', 'trace_rate', 'trace_count', 'log_frequency', 'trace_mode', 'other'];
  const KEYS = ['trace_level', 'trace_rate', 'trace_count', 'log_frequency', 'trace_file', 'trace_mode'].sort();
  const level = fc.constantFrom('OFF', 'TIMESTAMPS', 'TENSORS', 'MAX', '');
  const number = fc.oneof(fc.integer({ min: -3, max: 2 ** 33 }).map(String), fc.string(), fc.constantFrom('1', '0', '-1', ' 7x'));

  it('HTTP: a full settings answer or a Triton error, never a crash', async () => {
    const value = fc.oneof(number, fc.array(level, { maxLength: 3 }), fc.constant(null), fc.integer(), fc.boolean(), fc.array(fc.nat(), { maxLength: 2 }));
    await fc.assert(
      fc.asyncProperty(fc.dictionary(fc.constantFrom(...NAMES), value, { maxKeys: 4 }), fc.boolean(), async (body, perModel) => {
        const response = await post(body, perModel ? 'simple' : undefined);
        expect([200, 400, 501]).toContain(response.statusCode);
        const answer = response.json() as Record<string, unknown>;
        if (response.statusCode === 200) expect(Object.keys(answer).sort()).toEqual(KEYS);
        else expect(Object.keys(answer)).toEqual(['error']);
      }),
      { numRuns: 80 },
    );
    expect((await httpRequest(server.httpPort, { method: 'GET', url: '/v2/health/live' })).statusCode).toBe(200);
  });

  it('gRPC: a full settings answer or a Triton error, never a crash', async () => {
    const value = fc.oneof(number.map((v) => [v]), fc.array(level, { maxLength: 3 })).map((list) => ({ value: list }));
    await fc.assert(
      fc.asyncProperty(fc.dictionary(fc.constantFrom(...NAMES), value, { maxKeys: 4 }), fc.boolean(), async (settings, perModel) => {
        try {
          const response = await unary(server.client, 'TraceSetting', { settings, model_name: perModel ? 'simple' : '' });
          expect(Object.keys(response.settings).sort()).toEqual(KEYS);
        } catch (error) {
          expect([grpc.status.INVALID_ARGUMENT, grpc.status.UNIMPLEMENTED]).toContain((error as grpc.ServiceError).code);
        }
      }),
      { numRuns: 80 },
    );
  });
});
